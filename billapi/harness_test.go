package billapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/secret"
)

// emu is an in-process emulator behind an httptest server, optionally with
// a scripted fault layer in front.
type emu struct {
	*emulator.Emulator
	srv    *httptest.Server
	script *script
}

func (e *emu) base() string { return e.srv.URL + "/api/v2" }

// startEmu serves a fresh emulator with cfg.
func startEmu(t testing.TB, cfg emulator.Config) *emu {
	t.Helper()
	em := emulator.New(cfg)
	sc := &script{next: em, seen: make(map[string]int)}
	srv := httptest.NewServer(sc)
	t.Cleanup(srv.Close)
	return &emu{Emulator: em, srv: srv, script: sc}
}

// demoCreds are the emulator's demo identity as billapi credentials.
func demoCreds() billapi.Credentials {
	id := emulator.DemoIdentity()
	return billapi.Credentials{
		DevKey:   secret.New(id.DevKey),
		UserName: secret.New(id.UserName),
		Password: secret.New(id.Password),
		OrgID:    id.OrgID,
	}
}

// newClient returns a client of e with tiny backoffs; mutate adjusts cfg.
func newClient(t testing.TB, e *emu, mutate func(*billapi.Config)) *billapi.Client {
	t.Helper()
	cfg := billapi.Config{
		BaseURL:     e.base(),
		Credentials: demoCreds(),
		BackoffBase: time.Millisecond,
		BackoffMax:  4 * time.Millisecond,
		CallTimeout: 10 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := billapi.New(cfg)
	if err != nil {
		t.Fatalf("billapi.New: %v", err)
	}
	return c
}

// action is what the script does to one call.
type action int

const (
	pass       action = iota
	dropBefore        // close the connection; the emulator never sees the call
	dropAfter         // let the emulator apply the call, then close without an answer
	delayAfter        // let the emulator apply the call, hold the answer 150 ms, then send it
	errAfter          // let the emulator apply the call, then answer BDC_1001
	malformed         // answer BDC_1002; the emulator never sees the call
	busy              // answer BDC_1322; the emulator never sees the call
	hourly            // answer BDC_1144; the emulator never sees the call
	reverse           // let the emulator apply a Bulk call, then answer its items in reverse order
)

// bdc is an error envelope with code.
func bdc(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"response_status":1,"response_message":"Error","response_data":{"error_code":%q,"error_message":"scripted %s"}}`, code, code)
}

// script sits in front of the emulator and plays scripted faults on the
// n-th call to an op (the path between /api/v2/ and .json).
type script struct {
	next http.Handler

	mu    sync.Mutex
	seen  map[string]int
	rules map[string]map[int]action
	sids  map[string]bool // session ids the client sent
}

// sessions returns the session ids the client has sent.
func (s *script) sessions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.sids {
		out = append(out, id)
	}
	return out
}

// on makes the n-th call (from 1, counted from now on) to op do a.
func (s *script) on(op string, n int, a action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rules == nil {
		s.rules = make(map[string]map[int]action)
	}
	if s.rules[op] == nil {
		s.rules[op] = make(map[int]action)
	}
	s.rules[op][s.seen[op]+n] = a
}

func (s *script) count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[op]
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v2/"), ".json")
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	s.mu.Lock()
	if sid := form.Get("sessionId"); sid != "" {
		if s.sids == nil {
			s.sids = make(map[string]bool)
		}
		s.sids[sid] = true
	}
	s.seen[op]++
	a := s.rules[op][s.seen[op]]
	s.mu.Unlock()
	switch a {
	case dropBefore:
		hangUp(w)
	case dropAfter:
		s.next.ServeHTTP(httptest.NewRecorder(), r)
		hangUp(w)
	case delayAfter:
		rec := httptest.NewRecorder()
		s.next.ServeHTTP(rec, r)
		time.Sleep(150 * time.Millisecond)
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	case errAfter:
		s.next.ServeHTTP(httptest.NewRecorder(), r)
		bdc(w, billapi.CodeSystemError)
	case malformed:
		bdc(w, billapi.CodeUnknownError)
	case busy:
		bdc(w, billapi.CodeTooManyInFlight)
	case hourly:
		bdc(w, billapi.CodeHourlyLimit)
	case reverse:
		rec := httptest.NewRecorder()
		s.next.ServeHTTP(rec, r)
		var env struct {
			Status  int    `json:"response_status"`
			Message string `json:"response_message"`
			Data    struct {
				Bulk []json.RawMessage `json:"bulk"`
			} `json:"response_data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			panic(err)
		}
		slices.Reverse(env.Data.Bulk)
		b, _ := json.Marshal(env)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	default:
		s.next.ServeHTTP(w, r)
	}
}

func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// captured is one request the client sent.
type captured struct {
	op   string
	data string
}

// capture is an http.RoundTripper that records each request's op and data
// and may rewrite the form before it leaves (to provoke BILL's answers to
// requests the client itself never makes).
type capture struct {
	next    http.RoundTripper
	rewrite func(op string, form url.Values) string // returns a new op, or ""

	mu   sync.Mutex
	reqs []captured
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	_ = r.Body.Close()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("capture: body is not a form: %w", err)
	}
	op := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v2/"), ".json")
	c.mu.Lock()
	c.reqs = append(c.reqs, captured{op: op, data: form.Get("data")})
	c.mu.Unlock()
	if c.rewrite != nil {
		if newOp := c.rewrite(op, form); newOp != "" {
			r.URL.Path = "/api/v2/" + newOp + ".json"
		}
		body = []byte(form.Encode())
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	return c.next.RoundTrip(r2)
}

func (c *capture) requests() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.reqs...)
}

func newTransport() *http.Transport {
	return &http.Transport{MaxIdleConnsPerHost: 8}
}

// names returns n distinct customer names with a prefix.
func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %05d", prefix, i)
	}
	return out
}
