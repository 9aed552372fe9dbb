// Package emulator is an in-memory BILL v2 server for customers, customer
// contacts and customer bank accounts: an http.Handler that answers the v2
// wire format at /api/v2/... the way BILL does (envelope, BDC error codes,
// id prefixes, timestamps, nulls), enforces BILL's rules (sessions with idle
// expiry, 3 requests in flight per devKey and org, hourly budgets, required
// fields, unique customer names, soft delete, list filters, bulk limits,
// account-number masking, one active bank account per customer) and injects
// latency and seeded faults for tests.
//
// It is a second, independent reading of ../shared/reference/bill-v2/WIRE.md
// and WIRE-DECISIONS.md: it shares no code with the billapi client.
package emulator

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log"
	mrand "math/rand/v2"
	"mime"
	"net"
	"net/http"
	"strings"
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

type session struct {
	org  string
	last time.Time
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
		store:    newStore(),
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

// ExpireSessions drops every session now; the next call with any of them
// gets BDC_1109.
func (e *Emulator) ExpireSessions() {
	e.mu.Lock()
	clear(e.sessions)
	e.mu.Unlock()
}

// SetFaults replaces the fault spec; the random source continues.
func (e *Emulator) SetFaults(f FaultSpec) {
	e.faultMu.Lock()
	e.faults = f
	e.faultMu.Unlock()
}

// drawFault draws one fault for an API call: "" for none. While faults are
// on, every call draws from the seeded source, so a seed and a call order
// repeat the faults.
func (e *Emulator) drawFault(login bool) FaultKind {
	e.faultMu.Lock()
	defer e.faultMu.Unlock()
	if !e.faults.Enabled() {
		return ""
	}
	if e.faultRNG.Float64() >= e.faults.P {
		return ""
	}
	k := e.faults.Kinds[e.faultRNG.IntN(len(e.faults.Kinds))]
	if login && k == FaultSession {
		return ""
	}
	return k
}

func (e *Emulator) countFault(k FaultKind) {
	e.mu.Lock()
	e.stats.Faults[string(k)]++
	e.mu.Unlock()
}

// now is the clock in BILL's timestamp format.
func (e *Emulator) now() string { return e.cfg.Now().UTC().Format(timeFormat) }

// writeJSON answers body with status, counting error envelopes.
func (e *Emulator) writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// fail answers an error envelope and counts it.
func (e *Emulator) fail(w http.ResponseWriter, aerr *apiError) {
	e.mu.Lock()
	e.stats.Errors[aerr.code]++
	e.mu.Unlock()
	e.writeJSON(w, aerr.httpStatus(), appendError(make([]byte, 0, 192), aerr))
}

// abort closes the connection without an answer. reset=true makes the
// peer see a TCP reset rather than a clean close. When w cannot be
// hijacked (httptest.ResponseRecorder), it panics with http.ErrAbortHandler,
// which net/http turns into an aborted response.
func abort(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// answerFaultBeforeApply answers the fault kinds that strike before
// anything is applied (system, concurrency, ratelimit, reset) and reports
// whether it answered; session and lost-response are the callers' to handle.
func (e *Emulator) answerFaultBeforeApply(w http.ResponseWriter, fault FaultKind, login bool) bool {
	switch fault {
	case FaultSystem:
		e.fail(w, errf(codeSystem, "An unexpected system error occurred. Please try again."))
	case FaultConcurrency:
		e.fail(w, e.inFlightError())
	case FaultRateLimit:
		e.fail(w, e.hourlyError(login))
	case FaultReset:
		abort(w, true)
	default:
		return false
	}
	return true
}

// ServeHTTP answers BILL's v2 surface at /api/v2/{Path}.json and the
// emulator's own GET /__emulator/stats and POST /__emulator/reset.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/__emulator/stats":
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		body, _ := json.Marshal(e.Stats())
		e.writeJSON(w, http.StatusOK, body)
		return
	case "/__emulator/reset":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		e.Reset()
		e.writeJSON(w, http.StatusOK, []byte(`{"reset":true}`))
		return
	}

	e.mu.Lock()
	e.stats.Requests++
	e.mu.Unlock()

	path, okPrefix := strings.CutPrefix(r.URL.Path, "/api/v2/")
	path, okSuffix := strings.CutSuffix(path, ".json")
	rt, found := e.routes[path]
	if !okPrefix || !okSuffix || !found {
		e.fail(w, &apiError{code: codeNotSupported, msg: "API not supported.", status: http.StatusNotFound})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		e.fail(w, &apiError{code: codeNotSupported, msg: "API not supported: BILL v2 calls are POST with a form-encoded body, not " + r.Method + ".", status: http.StatusMethodNotAllowed})
		return
	}
	form, aerr := e.readForm(w, r)
	if aerr != nil {
		e.fail(w, aerr)
		return
	}

	devKey, ok := form["devKey"]
	if !ok || devKey == "" {
		e.fail(w, errf(codeMissingParam, "Missing required parameter: devKey."))
		return
	}
	if subtle.ConstantTimeCompare([]byte(devKey), []byte(e.cfg.Identity.DevKey)) != 1 {
		e.fail(w, errf(codeBadDevKey, "Developer key is invalid."))
		return
	}
	org := e.cfg.Identity.OrgID
	if rt.op == opLogin {
		org = form["orgId"]
	}

	// Admission: in-flight cap, then the hourly budget. The emulator accepts
	// one devKey, so counting per org is counting per devKey and org.
	key := org
	if aerr := e.admit(key, rt.op == opLogin); aerr != nil {
		e.fail(w, aerr)
		return
	}
	defer e.release(key)

	if e.cfg.Latency > 0 {
		t := time.NewTimer(e.cfg.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	if rt.op == opLogin {
		e.serveLogin(w, r, form)
		return
	}

	sid, ok := form["sessionId"]
	if !ok || sid == "" {
		e.fail(w, errf(codeMissingParam, "Missing required parameter: sessionId."))
		return
	}
	if aerr := e.touchSession(sid); aerr != nil {
		e.fail(w, aerr)
		return
	}

	fault := e.drawFault(false)
	if fault != "" {
		e.countFault(fault)
	}
	if fault == FaultSession {
		e.mu.Lock()
		delete(e.sessions, sid)
		e.mu.Unlock()
		e.fail(w, errf(codeSession, "Session is invalid. Please log in."))
		return
	}
	if e.answerFaultBeforeApply(w, fault, false) {
		return
	}

	var body []byte
	switch rt.op {
	case opSessionInfo:
		b := append(make([]byte, 0, 160), successHead...)
		b = append(b, `{"organizationId":`...)
		b = appendString(b, org)
		b = append(b, `,"userId":`...)
		b = appendString(b, e.usersID)
		body = append(b, "}}"...)
	case opLogout:
		e.mu.Lock()
		delete(e.sessions, sid)
		e.mu.Unlock()
		body = append([]byte(successHead), "{}}"...)
	default:
		body, aerr = e.serveData(rt, form)
		if aerr != nil {
			if fault == FaultLostResponse {
				abort(w, false)
				return
			}
			e.fail(w, aerr)
			return
		}
	}
	if fault == FaultLostResponse {
		abort(w, false)
		return
	}
	e.writeJSON(w, http.StatusOK, body)
}

// readForm reads the form-encoded body (never the query string) into a map
// of single values.
func (e *Emulator) readForm(w http.ResponseWriter, r *http.Request) (map[string]string, *apiError) {
	q := r.URL.Query()
	for _, k := range []string{"devKey", "sessionId", "userName", "password", "data"} {
		if q.Has(k) {
			return nil, errf(codeMissingParam, "Parameter %s must travel in the form-encoded POST body, never in the URL (URLs end up in logs).", k)
		}
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errf(codeMissingParam, "Missing required parameters: the body must be application/x-www-form-urlencoded (got Content-Type %q).", ct)
	}
	r.Body = http.MaxBytesReader(w, r.Body, e.cfg.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{code: codeBadParam, msg: "Invalid parameter: the request body is larger than the limit of " + itoa(mbe.Limit) + " bytes. Send fewer items per call.", status: http.StatusRequestEntityTooLarge}
		}
		return nil, errf(codeMissingParam, "Missing required parameters: the form-encoded body could not be read.")
	}
	form := make(map[string]string, len(r.PostForm))
	for k, v := range r.PostForm {
		if len(v) > 0 {
			form[k] = v[0]
		}
	}
	return form, nil
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// admit counts the call against the in-flight cap and the hourly budget.
func (e *Emulator) admit(key string, login bool) *apiError {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inFlight[key] >= int64(e.cfg.MaxInFlight) {
		return e.inFlightError()
	}
	now := e.cfg.Now().UTC()
	if h := now.Truncate(time.Hour); !h.Equal(e.hour) {
		e.hour, e.hourReqs, e.hourLogins = h, 0, 0
	}
	if login {
		e.stats.Logins++
		e.hourLogins++
		if e.hourLogins > e.cfg.LoginLimit {
			return e.hourlyError(true)
		}
	} else {
		e.hourReqs++
		if e.hourReqs > e.cfg.HourlyLimit {
			return e.hourlyError(false)
		}
	}
	e.inFlight[key]++
	e.stats.InFlight++
	if e.stats.InFlight > e.stats.MaxInFlight {
		e.stats.MaxInFlight = e.stats.InFlight
	}
	return nil
}

func (e *Emulator) release(key string) {
	e.mu.Lock()
	e.inFlight[key]--
	if e.inFlight[key] <= 0 {
		delete(e.inFlight, key)
	}
	e.stats.InFlight--
	e.mu.Unlock()
}

func (e *Emulator) inFlightError() *apiError {
	return errf(codeInFlight, "Too many requests in flight: at most %d requests may run at once for one developer key and organization. Retry after a request completes.", e.cfg.MaxInFlight)
}

func (e *Emulator) hourlyError(login bool) *apiError {
	if login {
		return errf(codeHourly, "Max number of allowed login requests per hour reached: %d. All subsequent login requests must wait until the beginning of the next hour.", e.cfg.LoginLimit)
	}
	return errf(codeHourly, "Max number of allowed requests per hour reached: %d. All subsequent API requests must wait until the beginning of the next hour.", e.cfg.HourlyLimit)
}

// touchSession checks sid and restarts its idle clock.
func (e *Emulator) touchSession(sid string) *apiError {
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[sid]
	if ok && now.Sub(s.last) > e.cfg.SessionIdle {
		delete(e.sessions, sid)
		ok = false
	}
	if !ok {
		return errf(codeSession, "Session is invalid. Please log in.")
	}
	s.last = now
	return nil
}

func (e *Emulator) serveLogin(w http.ResponseWriter, r *http.Request, form map[string]string) {
	for _, k := range []string{"userName", "password", "orgId"} {
		if form[k] == "" {
			e.fail(w, errf(codeMissingParam, "Missing required parameter: %s.", k))
			return
		}
	}
	fault := e.drawFault(true)
	if fault != "" {
		e.countFault(fault)
	}
	if e.answerFaultBeforeApply(w, fault, true) {
		return
	}
	id := e.cfg.Identity
	userOK := subtle.ConstantTimeCompare([]byte(form["userName"]), []byte(id.UserName)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(form["password"]), []byte(id.Password)) == 1
	if !userOK || !passOK {
		e.fail(w, errf(codeBadCredentials, "Wrong user name or password."))
		return
	}
	if form["orgId"] != id.OrgID {
		e.fail(w, errf(codeBadOrg, "Invalid organization id: this user has no access to that organization."))
		return
	}
	sid := rand.Text()
	now := e.cfg.Now()
	e.mu.Lock()
	// Forget idle sessions here so the map stays as small as the login budget.
	for k, s := range e.sessions {
		if now.Sub(s.last) > e.cfg.SessionIdle {
			delete(e.sessions, k)
		}
	}
	e.sessions[sid] = &session{org: id.OrgID, last: now}
	e.mu.Unlock()
	if fault == FaultLostResponse {
		abort(w, false)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	b := append(make([]byte, 0, 256), successHead...)
	b = append(b, `{"sessionId":`...)
	b = appendString(b, sid)
	b = append(b, `,"orgId":`...)
	b = appendString(b, id.OrgID)
	b = append(b, `,"apiEndPoint":`...)
	b = appendString(b, scheme+"://"+r.Host+"/api/v2")
	b = append(b, `,"usersId":`...)
	b = appendString(b, e.usersID)
	e.writeJSON(w, http.StatusOK, append(b, "}}"...))
}

// parseData decodes the data form field: a JSON object.
func parseData(form map[string]string) (map[string]any, *apiError) {
	raw, ok := form["data"]
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, errf(codeMissingParam, "Missing required parameter: data (a JSON object).")
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, errf(codeBadJSON, "Unable to parse the JSON in data: %s.", jsonProblem(err))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errf(codeBadJSON, "Unable to parse data: expected a JSON object, got %s.", jsonKind(v))
	}
	return m, nil
}

// jsonProblem describes a JSON syntax error without echoing the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at byte " + itoa(se.Offset)
	}
	return "invalid JSON"
}

// serveData runs a Crud, List or Bulk call and renders its envelope.
func (e *Emulator) serveData(rt route, form map[string]string) ([]byte, *apiError) {
	data, aerr := parseData(form)
	if aerr != nil {
		return nil, aerr
	}
	def := rt.def
	s := e.store
	if rt.op == opList {
		q, aerr := parseList(def, data)
		if aerr != nil {
			return nil, aerr
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		b := append(make([]byte, 0, 256), successHead...)
		b = s.list(b, def, q)
		return append(b, '}'), nil
	}
	if rt.bulk {
		items, aerr := bulkItems(data)
		if aerr != nil {
			return nil, aerr
		}
		now := e.now()
		s.mu.Lock()
		defer s.mu.Unlock()
		b := append(make([]byte, 0, 1024*len(items)), successHead...)
		b = append(b, `{"bulk":[`...)
		var itemErrs []string
		for i, it := range items {
			if i > 0 {
				b = append(b, ',')
			}
			m, ok := it.(map[string]any)
			var o *object
			if !ok {
				aerr = errf(codeDatatype, "Invalid datatype for bulk[%d]: expected an object, got %s.", i, jsonKind(it))
			} else {
				o, aerr = e.apply(rt.op, def, m, now)
			}
			if aerr != nil {
				itemErrs = append(itemErrs, aerr.code)
				b = appendError(b, aerr)
				continue
			}
			b = append(b, successHead...)
			b = s.appendObject(b, def, o)
			b = append(b, '}')
		}
		if len(itemErrs) > 0 {
			e.mu.Lock()
			for _, c := range itemErrs {
				e.stats.Errors[c]++
			}
			e.mu.Unlock()
		}
		return append(b, "]}}"...), nil
	}
	now := e.now()
	if rt.op == opRead {
		s.mu.RLock()
		defer s.mu.RUnlock()
		o, aerr := s.read(def, data)
		if aerr != nil {
			return nil, aerr
		}
		return append(s.appendObject(append(make([]byte, 0, 1024), successHead...), def, o), '}'), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, aerr := e.apply(rt.op, def, data, now)
	if aerr != nil {
		return nil, aerr
	}
	return append(s.appendObject(append(make([]byte, 0, 1024), successHead...), def, o), '}'), nil
}

// apply runs one write (or read) against the store; store.mu is held for
// writing.
func (e *Emulator) apply(op opKind, def *entityDef, data map[string]any, now string) (*object, *apiError) {
	s := e.store
	switch op {
	case opCreate:
		return s.create(def, data, now, e.newID)
	case opUpdate:
		return s.update(def, data, now)
	case opDelete:
		return s.setActive(def, data, inactive, now)
	case opUndelete:
		return s.setActive(def, data, active, now)
	default:
		return s.read(def, data)
	}
}

// bulkItems reads data.bulk: 1 to MaxBulkItems items.
func bulkItems(data map[string]any) ([]any, *apiError) {
	v, ok := data["bulk"]
	if !ok || v == nil {
		return nil, errf(codeMissingParam, "Missing required parameter: bulk (an array of items) in data.")
	}
	items, ok := v.([]any)
	if !ok {
		return nil, errf(codeDatatype, "Invalid datatype for bulk: expected an array, got %s.", jsonKind(v))
	}
	if len(items) == 0 || len(items) > MaxBulkItems {
		return nil, errf(codeBadParam, "Invalid parameter: bulk must hold 1 to %d items, got %d. Split larger sets into several calls.", MaxBulkItems, len(items))
	}
	return items, nil
}

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
