package billapi

import (
	"context"
	"net/http"
	"time"

	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/rs/zerolog"
)

// Hosts of BILL's v2 API.
const (
	ProductionBaseURL = "https://api.bill.com/api/v2"
	SandboxBaseURL    = "https://api-stage.bill.com/api/v2"
)

// BILL's published limits.
const (
	MaxInFlightLimit          = 3     // requests in flight per devKey and org
	DefaultHourlyRequestLimit = 20000 // requests an hour per devKey
	DefaultHourlyLoginLimit   = 200   // logins an hour per devKey
	MaxBulkItems              = 100   // items per Bulk call
	MaxListPage               = 999   // max per List call
)

// Credentials are what Login needs. DevKey, UserName and Password are
// Secrets: they are revealed only in the form encoding of Login's body.
type Credentials struct {
	DevKey   secret.Secret
	UserName secret.Secret
	Password secret.Secret
	OrgID    string
}

// Session is a logged-in BILL session. ID is a Secret.
type Session struct {
	ID          secret.Secret
	APIEndPoint string // base URL BILL told us to use, e.g. https://api-stage.bill.com/api/v2
	OrgID       string
	UsersID     string
}

// SessionStore keeps a session between runs (the vault's encrypted session
// cache implements it). A stored session is a hint: BDC_1109 voids it.
type SessionStore interface {
	// Load returns the stored session, ok=false when there is none.
	Load(ctx context.Context) (s Session, ok bool, err error)
	// Save stores a freshly logged-in session.
	Save(ctx context.Context, s Session) error
	// Invalidate forgets s, if s is still the stored session.
	Invalidate(ctx context.Context, s Session) error
}

// LoginLocker may also be implemented by a SessionStore shared between
// processes: the client holds the lock around "load, else log in and save",
// so several processes on one vault cause one login.
type LoginLocker interface {
	LockLogin(ctx context.Context) (unlock func(), err error)
}

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// BaseURL is the v2 base, e.g. SandboxBaseURL or an emulator's
	// http://127.0.0.1:8809/api/v2. Login's apiEndPoint overrides it for
	// later calls only when it is on the same host (an emulator answers its own).
	BaseURL     string
	Credentials Credentials
	// HTTPClient defaults to a client with sane transport timeouts.
	HTTPClient *http.Client
	// MaxInFlight caps requests in flight from this client: default 3
	// (BILL's cap), at most 3. It adapts down on BDC_1322.
	MaxInFlight int
	// HourlyRequestBudget and HourlyLoginBudget are the budgets per clock
	// hour (BILL resets at the top of the hour), counted by the Coordinator
	// over every client sharing it. Defaults 20,000 and 200.
	HourlyRequestBudget int
	HourlyLoginBudget   int
	// SessionStore keeps the session between runs; nil keeps it in memory only.
	SessionStore SessionStore
	// LoginLocker, if set, is held around "load, else log in and save" so
	// that clients sharing the SessionStore log in once between them. When
	// nil, a SessionStore that is also a LoginLocker is used as one.
	LoginLocker LoginLocker
	// Coordinator shares the in-flight slots and hourly budgets with other
	// clients on the same devKey and org; nil shares nothing beyond this
	// client (a ProcessCoordinator).
	Coordinator Coordinator
	// CallTimeout bounds one HTTP attempt; default 60s.
	CallTimeout time.Duration
	// BulkCallTimeout bounds one attempt of a Bulk call; default 180s (and
	// never less than CallTimeout). A Bulk call that times out may still be
	// running at BILL, so its items are reconciled before any is re-sent.
	BulkCallTimeout time.Duration
	// MaxAttempts bounds attempts of a call that is safe to repeat; default 6.
	MaxAttempts int
	// BackoffBase and BackoffMax shape exponential backoff with full jitter;
	// defaults 1s and 32s (BILL recommends 2^n seconds). Tests shrink them.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Logger receives debug lines (op, attempt, code, duration); never a secret.
	// nil logs nothing.
	Logger *zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Observer, if set, learns every customer and contact this client wrote.
	Observer WriteObserver
}

// Filter operators BILL's List accepts.
const (
	OpEq    = "="
	OpLt    = "<"
	OpGt    = ">"
	OpNe    = "!="
	OpLe    = "<="
	OpGe    = ">="
	OpIn    = "in"  // value is a comma-separated list
	OpNotIn = "nin" // value is a comma-separated list
)

// Filter is one List filter. Only the fields BILL marks filterable are accepted.
type Filter struct {
	Field string `json:"field"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

// Sort orders a List by one field.
type Sort struct {
	Field string
	Asc   bool
}

// ListParams selects one page of a List.
type ListParams struct {
	Start   int // index of the first result
	Max     int // page size, 1..999; 0 means 999
	Filters []Filter
	Sort    []Sort
}

// BulkResult is the outcome of one item of a bulk call, in input order.
// Exactly one of Object and Err is set.
type BulkResult[T any] struct {
	Index  int    // position in the input
	Object *T     // the entity BILL answered for this item
	Err    *Error // why this item failed
}

// BulkOptions tunes a bulk call.
type BulkOptions struct {
	// Progress, if set, is called after each chunk of up to 100 items with
	// the number of items finished so far and the total.
	Progress func(done, total int)
	// Settled, if set, is called once per chunk after its items settled,
	// with their outcomes (a crash journal records them as they land). It
	// may be called from several goroutines at once.
	Settled func([]ItemOutcome)
	// AllStarted, if set, is called once, as soon as every chunk has been
	// started (or will not be, after a failure that ends the bulk call), and
	// at the latest when the bulk call returns: a caller with more items can
	// start its next bulk call then, so the slots the last chunks leave
	// free do not stay idle.
	AllStarted func()
}

// ItemOutcome is one item's outcome as BulkOptions.Settled reports it.
type ItemOutcome struct {
	Index int    // position in the input
	ID    string // id of the object BILL answered; "" when the item failed
	Err   *Error // why the item failed; nil when ID is set
}
