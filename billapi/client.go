package billapi

import (
	"context"
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/rs/zerolog"
	"golang.org/x/sync/singleflight"
)

// Defaults for Config's zero values.
const (
	DefaultCallTimeout = 60 * time.Second
	// DefaultBulkCallTimeout bounds one Bulk attempt: a Bulk call of 100
	// items may run long at BILL, and a timed-out one may still be running.
	DefaultBulkCallTimeout = 180 * time.Second
	DefaultMaxAttempts     = 6
	DefaultBackoffBase     = time.Second
	DefaultBackoffMax      = 32 * time.Second
)

// Client is the one serialized BILL v2 client: every call passes its gate
// (in-flight cap, hourly budgets, backoff) and its session handling. It is
// safe for concurrent use.
type Client struct {
	base        string   // configured v2 base, no trailing slash
	baseURL     *url.URL // parsed base
	creds       Credentials
	http        *http.Client
	gate        *gate
	log         zerolog.Logger
	now         func() time.Time
	store       SessionStore
	locker      LoginLocker
	callTimeout time.Duration
	bulkTimeout time.Duration
	maxAttempts int
	backoffBase time.Duration
	backoffMax  time.Duration

	sf       singleflight.Group
	smu      sync.Mutex
	cur      *activeSession
	rejected secret.Secret
	sids     []secret.Secret // session ids used, for redacting upstream text

	known *knownIDs
	// inRefused is set once BILL refused a List filter with op "in": later
	// reconciliations and reads use "=" filters or reads by id instead.
	inRefused atomic.Bool
	observer  WriteObserver
}

// New validates cfg and returns a Client. It does not log in: the first call does.
func New(cfg Config) (*Client, error) {
	bad := func(format string, a ...any) (*Client, error) {
		return nil, fmt.Errorf("billapi: invalid config: "+format, a...)
	}
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		return bad("BaseURL is empty: set it to billapi.SandboxBaseURL, billapi.ProductionBaseURL or an emulator's http://HOST:PORT/api/v2")
	}
	u, err := url.Parse(base)
	if err == nil && (u.User != nil || u.RawQuery != "") {
		// Not echoed: user info or a query string may hold a credential.
		return bad("BaseURL must not carry user info or a query string (credentials travel only in request bodies); use e.g. %s", SandboxBaseURL)
	}
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return bad("BaseURL %q is not an http(s) URL like %s", base, SandboxBaseURL)
	}
	cr := cfg.Credentials
	var missing []string
	if cr.DevKey.IsZero() {
		missing = append(missing, "DevKey")
	}
	if cr.UserName.IsZero() {
		missing = append(missing, "UserName")
	}
	if cr.Password.IsZero() {
		missing = append(missing, "Password")
	}
	if strings.TrimSpace(cr.OrgID) == "" {
		missing = append(missing, "OrgID")
	}
	if len(missing) > 0 {
		return bad("Credentials lack %s", strings.Join(missing, ", "))
	}
	if cfg.MaxInFlight < 0 || cfg.MaxInFlight > MaxInFlightLimit {
		return bad("MaxInFlight %d is out of range: BILL allows at most %d requests in flight; use 1..%d (0 means %d)", cfg.MaxInFlight, MaxInFlightLimit, MaxInFlightLimit, MaxInFlightLimit)
	}
	if cfg.HourlyRequestBudget < 0 || cfg.HourlyLoginBudget < 0 {
		return bad("hourly budgets must not be negative (0 means BILL's limits %d and %d)", DefaultHourlyRequestLimit, DefaultHourlyLoginLimit)
	}
	if cfg.CallTimeout < 0 || cfg.BulkCallTimeout < 0 || cfg.MaxAttempts < 0 || cfg.BackoffBase < 0 || cfg.BackoffMax < 0 {
		return bad("CallTimeout, BulkCallTimeout, MaxAttempts, BackoffBase and BackoffMax must not be negative (0 means the default)")
	}
	c := &Client{
		base:        base,
		baseURL:     u,
		creds:       cr,
		http:        cfg.HTTPClient,
		now:         cfg.Now,
		store:       cfg.SessionStore,
		callTimeout: orDefault(cfg.CallTimeout, DefaultCallTimeout),
		bulkTimeout: max(orDefault(cfg.BulkCallTimeout, DefaultBulkCallTimeout), orDefault(cfg.CallTimeout, DefaultCallTimeout)),
		maxAttempts: orDefault(cfg.MaxAttempts, DefaultMaxAttempts),
		backoffBase: orDefault(cfg.BackoffBase, DefaultBackoffBase),
		backoffMax:  orDefault(cfg.BackoffMax, DefaultBackoffMax),
		known:       newKnownIDs(),
		observer:    cfg.Observer,
		log:         zerolog.Nop(),
	}
	if c.backoffBase > c.backoffMax {
		return bad("BackoffBase %s is larger than BackoffMax %s", c.backoffBase, c.backoffMax)
	}
	if cfg.Logger != nil {
		c.log = *cfg.Logger
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	if l, ok := cfg.SessionStore.(LoginLocker); ok {
		c.locker = l
	}
	if cfg.LoginLocker != nil {
		c.locker = cfg.LoginLocker
	}
	c.gate = newGate(orDefault(cfg.MaxInFlight, MaxInFlightLimit),
		orDefault(cfg.HourlyRequestBudget, DefaultHourlyRequestLimit),
		orDefault(cfg.HourlyLoginBudget, DefaultHourlyLoginLimit), c.now, cfg.Coordinator)
	return c, nil
}

func orDefault[N int | time.Duration](v, def N) N {
	if v == 0 {
		return def
	}
	return v
}

// defaultHTTPClient has transport timeouts; per-call deadlines come from
// Config.CallTimeout. It never follows redirects: a redirected POST would
// resend the credentials somewhere BILL did not say.
func defaultHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 15 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConns:        10,
		MaxIdleConnsPerHost: MaxInFlightLimit,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// HourlyUsage reports the requests and logins counted in the current clock
// hour: by this client, or by every client sharing its Coordinator.
func (c *Client) HourlyUsage() (requests, logins int) { return c.gate.counts() }

// Limits reports the shared limits as the Client's Coordinator sees them.
func (c *Client) Limits(ctx context.Context) (Usage, error) { return c.gate.coord.Usage(ctx, c.now()) }

// CreateCustomer creates a customer. name is required and unique.
func (c *Client) CreateCustomer(ctx context.Context, obj Customer) (*Customer, error) {
	return noteOne(c.noteCustomers())(create(ctx, c, customerKind(), obj, wrapObj[Customer]))
}

// GetCustomer reads a customer by id (0cu...).
func (c *Client) GetCustomer(ctx context.Context, id string) (*Customer, error) {
	return byID(ctx, c, customerKind(), "Read", id)
}

// UpdateCustomer changes the fields set in obj (obj.ID required). Fields BILL
// requires on update (name) are filled from the current record when absent.
func (c *Client) UpdateCustomer(ctx context.Context, obj Customer) (*Customer, error) {
	return noteOne(c.noteCustomers())(update(ctx, c, customerKind(), obj))
}

// DeleteCustomer soft-deletes a customer (isActive becomes "2").
func (c *Client) DeleteCustomer(ctx context.Context, id string) (*Customer, error) {
	return noteOne(c.noteCustomers())(byID(ctx, c, customerKind(), "Delete", id))
}

// UndeleteCustomer restores a soft-deleted customer (isActive becomes "1").
func (c *Client) UndeleteCustomer(ctx context.Context, id string) (*Customer, error) {
	return noteOne(c.noteCustomers())(byID(ctx, c, customerKind(), "Undelete", id))
}

// ListCustomers returns one page.
func (c *Client) ListCustomers(ctx context.Context, p ListParams) ([]Customer, error) {
	return listPage[Customer](ctx, c, EntityCustomer, p)
}

// AllCustomers pages through every customer matching p (p.Start and p.Max
// set the first page and the page size).
func (c *Client) AllCustomers(ctx context.Context, p ListParams) iter.Seq2[Customer, error] {
	return listAll[Customer](ctx, c, EntityCustomer, p)
}

// BulkCreateCustomers creates any number of customers, 100 per call, one result per item in input order.
func (c *Client) BulkCreateCustomers(ctx context.Context, objs []Customer, o BulkOptions) ([]BulkResult[Customer], error) {
	return noteBulk(c.noteCustomers())(bulkCreate(ctx, c, customerKind(), objs, o, wrapObj[Customer]))
}

// BulkUpdateCustomers updates any number of customers, 100 per call.
func (c *Client) BulkUpdateCustomers(ctx context.Context, objs []Customer, o BulkOptions) ([]BulkResult[Customer], error) {
	return noteBulk(c.noteCustomers())(bulkUpdate(ctx, c, customerKind(), objs, o))
}

// BulkDeleteCustomers soft-deletes customers by id, 100 per call.
func (c *Client) BulkDeleteCustomers(ctx context.Context, ids []string, o BulkOptions) ([]BulkResult[Customer], error) {
	return noteBulk(c.noteCustomers())(bulkByID(ctx, c, customerKind(), "Delete", ids, o))
}

// BulkUndeleteCustomers restores customers by id, 100 per call.
func (c *Client) BulkUndeleteCustomers(ctx context.Context, ids []string, o BulkOptions) ([]BulkResult[Customer], error) {
	return noteBulk(c.noteCustomers())(bulkByID(ctx, c, customerKind(), "Undelete", ids, o))
}

// CreateCustomerContact creates a contact (customerId, firstName, email required).
func (c *Client) CreateCustomerContact(ctx context.Context, obj CustomerContact) (*CustomerContact, error) {
	return noteOne(c.noteContacts())(create(ctx, c, contactKind(), obj, wrapObj[CustomerContact]))
}

// GetCustomerContact reads a contact by id (cpu...).
func (c *Client) GetCustomerContact(ctx context.Context, id string) (*CustomerContact, error) {
	return byID(ctx, c, contactKind(), "Read", id)
}

// UpdateCustomerContact changes the fields set in obj (obj.ID required);
// required fields absent from obj are filled from the current record.
func (c *Client) UpdateCustomerContact(ctx context.Context, obj CustomerContact) (*CustomerContact, error) {
	return noteOne(c.noteContacts())(update(ctx, c, contactKind(), obj))
}

// DeleteCustomerContact soft-deletes a contact.
func (c *Client) DeleteCustomerContact(ctx context.Context, id string) (*CustomerContact, error) {
	return noteOne(c.noteContacts())(byID(ctx, c, contactKind(), "Delete", id))
}

// UndeleteCustomerContact restores a contact.
func (c *Client) UndeleteCustomerContact(ctx context.Context, id string) (*CustomerContact, error) {
	return noteOne(c.noteContacts())(byID(ctx, c, contactKind(), "Undelete", id))
}

// ListCustomerContacts returns one page.
func (c *Client) ListCustomerContacts(ctx context.Context, p ListParams) ([]CustomerContact, error) {
	return listPage[CustomerContact](ctx, c, EntityCustomerContact, p)
}

// AllCustomerContacts pages through every contact matching p.
func (c *Client) AllCustomerContacts(ctx context.Context, p ListParams) iter.Seq2[CustomerContact, error] {
	return listAll[CustomerContact](ctx, c, EntityCustomerContact, p)
}

// BulkCreateCustomerContacts creates any number of contacts, 100 per call.
func (c *Client) BulkCreateCustomerContacts(ctx context.Context, objs []CustomerContact, o BulkOptions) ([]BulkResult[CustomerContact], error) {
	return noteBulk(c.noteContacts())(bulkCreate(ctx, c, contactKind(), objs, o, wrapObj[CustomerContact]))
}

// BulkUpdateCustomerContacts updates any number of contacts, 100 per call.
func (c *Client) BulkUpdateCustomerContacts(ctx context.Context, objs []CustomerContact, o BulkOptions) ([]BulkResult[CustomerContact], error) {
	return noteBulk(c.noteContacts())(bulkUpdate(ctx, c, contactKind(), objs, o))
}

// BulkDeleteCustomerContacts soft-deletes contacts by id, 100 per call.
func (c *Client) BulkDeleteCustomerContacts(ctx context.Context, ids []string, o BulkOptions) ([]BulkResult[CustomerContact], error) {
	return noteBulk(c.noteContacts())(bulkByID(ctx, c, contactKind(), "Delete", ids, o))
}

// BulkUndeleteCustomerContacts restores contacts by id, 100 per call.
func (c *Client) BulkUndeleteCustomerContacts(ctx context.Context, ids []string, o BulkOptions) ([]BulkResult[CustomerContact], error) {
	return noteBulk(c.noteContacts())(bulkByID(ctx, c, contactKind(), "Undelete", ids, o))
}

// CreateCustomerBankAccount adds a bank account; agreedWithTOS must be true
// (the customer accepted BILL's payment terms). The answer's accountNumber is masked.
func (c *Client) CreateCustomerBankAccount(ctx context.Context, obj CustomerBankAccount, agreedWithTOS bool) (*CustomerBankAccount, error) {
	if e := requireTOS(agreedWithTOS); e != nil {
		return nil, e
	}
	return create(ctx, c, bankAccountKind(), obj, func(o CustomerBankAccount) any {
		return bankAccountCreateData{Obj: o, AgreedWithTOS: true}
	})
}

// GetCustomerBankAccount reads a bank account by id (cba...).
func (c *Client) GetCustomerBankAccount(ctx context.Context, id string) (*CustomerBankAccount, error) {
	return byID(ctx, c, bankAccountKind(), "Read", id)
}

// DeleteCustomerBankAccount soft-deletes a bank account.
func (c *Client) DeleteCustomerBankAccount(ctx context.Context, id string) (*CustomerBankAccount, error) {
	return byID(ctx, c, bankAccountKind(), "Delete", id)
}

// ListCustomerBankAccounts returns one page.
func (c *Client) ListCustomerBankAccounts(ctx context.Context, p ListParams) ([]CustomerBankAccount, error) {
	return listPage[CustomerBankAccount](ctx, c, EntityCustomerBankAccount, p)
}

// AllCustomerBankAccounts pages through every bank account matching p.
func (c *Client) AllCustomerBankAccounts(ctx context.Context, p ListParams) iter.Seq2[CustomerBankAccount, error] {
	return listAll[CustomerBankAccount](ctx, c, EntityCustomerBankAccount, p)
}
