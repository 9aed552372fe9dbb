package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// envelope is BILL's response envelope as the tests read it.
type envelope struct {
	Status  int             `json:"response_status"`
	Message string          `json:"response_message"`
	Data    json.RawMessage `json:"response_data"`
}

// errorData is response_data of an error envelope.
type errorData struct {
	Code    string `json:"error_code"`
	Message string `json:"error_message"`
}

// code returns the error code of an error envelope, "" on success.
func (env envelope) code() string {
	if env.Status == 0 {
		return ""
	}
	var e errorData
	_ = json.Unmarshal(env.Data, &e)
	return e.Code
}

// msg returns the error message of an error envelope.
func (env envelope) msg() string {
	var e errorData
	_ = json.Unmarshal(env.Data, &e)
	return e.Message
}

// object decodes a Crud answer's response_data.
func (env envelope) object(t testing.TB) map[string]any {
	t.Helper()
	if env.Status != 0 {
		t.Fatalf("expected success, got %s: %s", env.code(), env.msg())
	}
	var m map[string]any
	if err := json.Unmarshal(env.Data, &m); err != nil {
		t.Fatalf("response_data is not an object: %v: %s", err, env.Data)
	}
	return m
}

// list decodes a List answer's response_data.
func (env envelope) list(t testing.TB) []map[string]any {
	t.Helper()
	if env.Status != 0 {
		t.Fatalf("expected success, got %s: %s", env.code(), env.msg())
	}
	var l []map[string]any
	if err := json.Unmarshal(env.Data, &l); err != nil {
		t.Fatalf("response_data is not an array: %v: %s", err, env.Data)
	}
	return l
}

// bulk decodes a Bulk answer's per-item envelopes.
func (env envelope) bulk(t testing.TB) []envelope {
	t.Helper()
	if env.Status != 0 {
		t.Fatalf("expected success, got %s: %s", env.code(), env.msg())
	}
	var b struct {
		Bulk []envelope `json:"bulk"`
	}
	if err := json.Unmarshal(env.Data, &b); err != nil {
		t.Fatalf("response_data is not {bulk:[...]}: %v: %s", err, env.Data)
	}
	return b.Bulk
}

// exchange is one recorded request and answer.
type exchange struct {
	path   string
	status int
	body   []byte
}

// harness drives an emulator over real HTTP with a tiny form-post helper.
type harness struct {
	t    testing.TB
	e    *emulator.Emulator
	srv  *httptest.Server
	base string
	id   emulator.Identity
	sid  string

	mu  sync.Mutex
	log []exchange
}

// newHarness starts an emulator behind httptest and logs in.
func newHarness(t testing.TB, cfg emulator.Config) *harness {
	t.Helper()
	h := newServer(t, cfg)
	h.sid = h.login()
	return h
}

// newServer starts an emulator behind httptest without logging in.
func newServer(t testing.TB, cfg emulator.Config) *harness {
	t.Helper()
	e := emulator.New(cfg)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	id := cfg.Identity
	if id == (emulator.Identity{}) {
		id = emulator.DemoIdentity()
	}
	return &harness{t: t, e: e, srv: srv, base: srv.URL + "/api/v2", id: id}
}

// login logs in with the harness identity and returns the session id.
func (h *harness) login() string {
	h.t.Helper()
	env := h.post("/Login.json", url.Values{
		"userName": {h.id.UserName}, "password": {h.id.Password},
		"orgId": {h.id.OrgID}, "devKey": {h.id.DevKey},
	})
	if env.Status != 0 {
		h.t.Fatalf("login failed: %s %s", env.code(), env.msg())
	}
	var d struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil || d.SessionID == "" {
		h.t.Fatalf("login answer without sessionId: %s", env.Data)
	}
	return d.SessionID
}

// rawPost posts a form-encoded body and returns HTTP status and body.
func (h *harness) rawPost(path string, form url.Values) (int, []byte, error) {
	resp, err := h.srv.Client().Post(h.base+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	h.mu.Lock()
	h.log = append(h.log, exchange{path: path, status: resp.StatusCode, body: body})
	h.mu.Unlock()
	return resp.StatusCode, body, nil
}

// post posts form and decodes the envelope; the HTTP status must be 200.
func (h *harness) post(path string, form url.Values) envelope {
	h.t.Helper()
	status, env := h.postStatus(path, form)
	if status != http.StatusOK {
		h.t.Fatalf("%s: HTTP %d, want 200", path, status)
	}
	return env
}

// postStatus posts form and decodes the envelope, returning the HTTP status too.
func (h *harness) postStatus(path string, form url.Values) (int, envelope) {
	h.t.Helper()
	status, body, err := h.rawPost(path, form)
	if err != nil {
		h.t.Fatalf("%s: %v", path, err)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		h.t.Fatalf("%s: answer is not a JSON envelope: %v: %s", path, err, body)
	}
	return status, env
}

// form builds an authenticated form; data is a string (sent as is) or a
// value marshalled to JSON.
func (h *harness) form(data any) url.Values {
	h.t.Helper()
	f := url.Values{"devKey": {h.id.DevKey}, "sessionId": {h.sid}}
	switch d := data.(type) {
	case nil:
	case string:
		f.Set("data", d)
	default:
		b, err := json.Marshal(d)
		if err != nil {
			h.t.Fatalf("marshal data: %v", err)
		}
		f.Set("data", string(b))
	}
	return f
}

// call posts an authenticated call.
func (h *harness) call(path string, data any) envelope {
	h.t.Helper()
	return h.post(path, h.form(data))
}

// obj is shorthand for a JSON object.
type obj = map[string]any

// mustCreate creates an entity and returns its answer.
func (h *harness) mustCreate(entity string, fields obj) map[string]any {
	h.t.Helper()
	o := obj{"entity": entity}
	for k, v := range fields {
		o[k] = v
	}
	data := obj{"obj": o}
	if entity == "CustomerBankAccount" {
		data["agreedWithTOS"] = true
	}
	return h.call("/Crud/Create/"+entity+".json", data).object(h.t)
}

// customer creates a customer named name and returns its id.
func (h *harness) customer(name string) string {
	h.t.Helper()
	return h.mustCreate("Customer", obj{"name": name})["id"].(string)
}

// stats reads GET /__emulator/stats.
func (h *harness) stats() emulator.Stats {
	h.t.Helper()
	resp, err := h.srv.Client().Get(h.srv.URL + "/__emulator/stats")
	if err != nil {
		h.t.Fatalf("stats: %v", err)
	}
	defer resp.Body.Close()
	var st emulator.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		h.t.Fatalf("stats: %v", err)
	}
	return st
}

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
