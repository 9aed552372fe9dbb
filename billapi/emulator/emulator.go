// Package emulator is an in-memory BILL v2 server for customers, customer
// contacts and customer bank accounts: an http.Handler that answers the v2
// wire format at /api/v2/... the way BILL does (envelope, BDC error codes,
// id prefixes, timestamps, nulls), enforces BILL's rules (sessions with idle
// expiry, 3 requests in flight per devKey and org, hourly budgets, required
// fields, unique customer names, soft delete, list filters, bulk limits,
// account-number masking, one active bank account per customer) and injects
// latency and seeded faults for tests.
//
// It is a second, independent reading of BILL's v2 wire facts and of
// WIRE-DECISIONS.md: it shares no code with the billapi client.
package emulator

import (
	"context"
	"io"
	"log"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// Identity is the one user the emulator accepts at Login.
type Identity struct {
	UserName, Password, OrgID, DevKey string
}

// DemoIdentity is the identity accepted by default.
func DemoIdentity() Identity {
	return Identity{
		UserName: "demo@bill-mcp.local",
		Password: "demo-password",
		OrgID:    "00801DEMO00000000001",
		DevKey:   "demo-dev-key",
	}
}

// Defaults for Config's zero values.
const (
	DefaultSessionIdle  = 35 * time.Minute
	DefaultHourlyLimit  = 20000
	DefaultLoginLimit   = 200
	DefaultMaxInFlight  = 3
	DefaultMaxBodyBytes = 4 << 20
	// MaxBulkItems is the most items one Bulk call may carry.
	MaxBulkItems = 100
)

// Config configures an Emulator. Zero values take the defaults above.
type Config struct {
	Identity     Identity         // zero value => DemoIdentity()
	Latency      time.Duration    // fixed delay added to every API call
	Faults       FaultSpec        // see ParseFaults
	Seed         int64            // makes faults and generated ids repeatable
	SessionIdle  time.Duration    // default 35m
	HourlyLimit  int              // requests per clock hour per devKey; default 20000
	LoginLimit   int              // logins per clock hour per devKey; default 200
	MaxInFlight  int              // per devKey+org; default 3 (BDC_1322 beyond)
	MaxBodyBytes int64            // default 4 MiB; larger bodies get HTTP 413 + BDC_1129
	Now          func() time.Time // clock; nil => time.Now

	// Where BILL's behaviour is unknown, the emulator can be set either
	// way, so the client is tested against both.

	// DuplicateNames lets customers share a name (nothing documents that
	// BILL refuses a duplicate, and open-source clients create the same name
	// repeatedly against the sandbox). Off: a duplicate name is BDC_1119.
	DuplicateNames bool
	// MaskRoutingNumbers answers routingNumber masked ("*****0358"), as in
	// BILL's support article; off, unmasked, as in a 2024 sandbox capture.
	MaskRoutingNumbers bool
	// RefuseInFilter answers BDC_1131 to the List operators in and nin
	// (their value format is undocumented).
	RefuseInFilter bool
	// CountWhileAnswering keeps a call counted against the in-flight cap
	// until its whole answer has been written to the connection, so that a
	// client can read a large answer, send its next call and meet
	// BDC_1322 while the first is still counted. Off, a call stops counting
	// when its answer is ready, as an app server behind a front end that
	// buffers answers would: no client reads an answer to a call still
	// counted.
	CountWhileAnswering bool
}

// Stats is what GET /__emulator/stats answers.
type Stats struct {
	Requests    int64            `json:"requests"`    // HTTP calls to /api/v2/..., Login included
	Logins      int64            `json:"logins"`      // Login calls (successful or not)
	MaxInFlight int64            `json:"maxInFlight"` // most calls ever admitted in flight at once
	InFlight    int64            `json:"inFlight"`    // calls admitted and not yet answered
	Errors      map[string]int64 `json:"errors"`      // error envelopes by BDC code, bulk items included
	Faults      map[string]int64 `json:"faults"`      // injected faults by kind
	Objects     map[string]int   `json:"objects"`     // stored objects per entity, inactive included
}

// opKind is what a path does.
type opKind uint8

const (
	opLogin opKind = iota
	opSessionInfo
	opLogout
	opCreate
	opRead
	opUpdate
	opDelete
	opUndelete
	opList
)

type route struct {
	op   opKind
	bulk bool
	def  *entityDef
}

// Emulator is an in-memory BILL v2 server. It is safe for concurrent use.
type Emulator struct {
	cfg     Config
	usersID string
	routes  map[string]route
	store   *store

	// mu guards sessions, limits and counters.
	mu         sync.Mutex
	sessions   map[string]*session
	inFlight   map[string]int64 // calls in flight by org
	hour       time.Time
	hourReqs   int
	hourLogins int
	stats      Stats

	// faultMu guards the fault spec and its random source.
	faultMu  sync.Mutex
	faults   FaultSpec
	faultRNG *mrand.Rand

	// idRNG and seq are guarded by store.mu (held for writing).
	idRNG *mrand.Rand
	seq   uint64
}

// New returns an emulator with an empty store.
func New(cfg Config) *Emulator {
	if cfg.Identity == (Identity{}) {
		cfg.Identity = DemoIdentity()
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.HourlyLimit <= 0 {
		cfg.HourlyLimit = DefaultHourlyLimit
	}
	if cfg.LoginLimit <= 0 {
		cfg.LoginLimit = DefaultLoginLimit
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Latency < 0 {
		cfg.Latency = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	seed := uint64(cfg.Seed)
	e := &Emulator{
		cfg:      cfg,
		store:    newStore(cfg.DuplicateNames, cfg.MaskRoutingNumbers),
		sessions: make(map[string]*session),
		inFlight: make(map[string]int64),
		faults:   cfg.Faults,
		faultRNG: mrand.New(mrand.NewPCG(seed, 0x6661756c74)),
		idRNG:    mrand.New(mrand.NewPCG(seed, 0x6964)),
	}
	e.usersID = "006" + e.randChars(17)
	e.routes = make(map[string]route)
	for _, def := range e.store.defs {
		e.routes["Crud/Create/"+def.name] = route{op: opCreate, def: def}
		e.routes["Crud/Read/"+def.name] = route{op: opRead, def: def}
		e.routes["Crud/Delete/"+def.name] = route{op: opDelete, def: def}
		e.routes["List/"+def.name] = route{op: opList, def: def}
		if def.canEdit {
			e.routes["Crud/Update/"+def.name] = route{op: opUpdate, def: def}
			e.routes["Crud/Undelete/"+def.name] = route{op: opUndelete, def: def}
			for _, op := range []struct {
				name string
				op   opKind
			}{{"Create", opCreate}, {"Update", opUpdate}, {"Delete", opDelete}, {"Undelete", opUndelete}} {
				e.routes["Bulk/Crud/"+op.name+"/"+def.name] = route{op: op.op, bulk: true, def: def}
			}
		}
	}
	e.routes["Login"] = route{op: opLogin}
	e.routes["GetSessionInfo"] = route{op: opSessionInfo}
	e.routes["Logout"] = route{op: opLogout}
	e.resetCounters()
	return e
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randChars draws n base62 characters from the id source; the caller holds
// store.mu for writing (or is New).
func (e *Emulator) randChars(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base62[e.idRNG.IntN(len(base62))]
	}
	return string(b)
}

// newID makes a 20-character id: the prefix, a base62 sequence number (so
// ids sort in creation order) and random characters. store.mu is held.
func (e *Emulator) newID(prefix string) string {
	e.seq++
	var b [20]byte
	copy(b[:], prefix)
	n := e.seq
	for i := 10; i >= 3; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	for i := 11; i < 20; i++ {
		b[i] = base62[e.idRNG.IntN(len(base62))]
	}
	return string(b[:])
}

func (e *Emulator) resetCounters() {
	e.stats = Stats{
		Errors:      make(map[string]int64),
		Faults:      make(map[string]int64),
		InFlight:    e.stats.InFlight,
		MaxInFlight: e.stats.InFlight,
	}
	e.hour = time.Time{}
	e.hourReqs, e.hourLogins = 0, 0
}

// Stats returns a snapshot of the counters and object counts.
func (e *Emulator) Stats() Stats {
	e.mu.Lock()
	st := e.stats
	st.Errors = make(map[string]int64, len(e.stats.Errors))
	for k, v := range e.stats.Errors {
		st.Errors[k] = v
	}
	st.Faults = make(map[string]int64, len(e.stats.Faults))
	for k, v := range e.stats.Faults {
		st.Faults[k] = v
	}
	e.mu.Unlock()
	st.Objects = make(map[string]int, numKinds)
	e.store.mu.RLock()
	for _, def := range e.store.defs {
		st.Objects[def.name] = len(e.store.byID[def.kind])
	}
	e.store.mu.RUnlock()
	return st
}

// Reset empties the store and zeroes the counters and hourly budgets.
// Sessions survive, so a logged-in client carries on.
func (e *Emulator) Reset() {
	e.store.mu.Lock()
	e.store.clear()
	e.store.mu.Unlock()
	e.mu.Lock()
	e.resetCounters()
	e.mu.Unlock()
}

// now is the clock in BILL's timestamp format.
func (e *Emulator) now() string { return e.cfg.Now().UTC().Format(timeFormat) }

// Start serves a new emulator on addr (e.g. "127.0.0.1:0") until ctx ends
// or stop is called. baseURL is "http://HOST:PORT/api/v2".
func Start(ctx context.Context, addr string, cfg Config) (baseURL string, e *Emulator, stop func(), err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, nil, err
	}
	e = New(cfg)
	baseCtx, cancelBase := context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	stop = sync.OnceFunc(func() {
		cancelBase()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
		_ = srv.Close()
		<-done
	})
	context.AfterFunc(ctx, stop)
	return "http://" + ln.Addr().String() + "/api/v2", e, stop, nil
}
