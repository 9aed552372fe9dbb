package billapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/secret"
)

// Test credentials: distinctive so a leak is easy to spot.
const (
	testDevKey   = "DEVKEY-s3cr3t-4c1d"
	testUser     = "user-s3cr3t@example.com"
	testPassword = "PASSWORD-s3cr3t-9f2e"
	testOrg      = "00801TESTORG00000001"
)

// reply is what the fake answers one call with.
type reply struct {
	status int    // HTTP status; 0 means 200
	body   string // raw body
	hangup bool   // close the connection without an answer
}

func okReply(data any) reply {
	b, err := json.Marshal(map[string]any{"response_status": 0, "response_message": "Success", "response_data": data})
	if err != nil {
		panic(err)
	}
	return reply{body: string(b)}
}

func bdcReply(code, msg string) reply {
	b, err := json.Marshal(map[string]any{"response_status": 1, "response_message": "Error",
		"response_data": map[string]string{"error_code": code, "error_message": msg}})
	if err != nil {
		panic(err)
	}
	return reply{body: string(b)}
}

// fakeBill is a tiny programmable BILL: it handles Login and session
// checks itself and hands every other call to handle.
type fakeBill struct {
	srv    *httptest.Server
	logins atomic.Int32

	mu       sync.Mutex
	sessions map[string]bool
	calls    map[string]int
	bodies   []string
	// loginReply, when set, answers Login instead of the default.
	loginReply func(n int) (reply, bool)
	// loginDelay slows Login down so concurrent callers pile up.
	loginDelay time.Duration
	// handle answers an authenticated call; n counts calls to op from 1.
	handle func(op string, data map[string]any, n int) reply
}

func newFakeBill(t *testing.T, handle func(op string, data map[string]any, n int) reply) *fakeBill {
	t.Helper()
	f := &fakeBill{sessions: make(map[string]bool), calls: make(map[string]int), handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBill) base() string { return f.srv.URL + "/api/v2" }

func (f *fakeBill) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeBill) expireSessions() {
	f.mu.Lock()
	clear(f.sessions)
	f.mu.Unlock()
}

func (f *fakeBill) allBodies() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.bodies, "\n")
}

func (f *fakeBill) serve(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v2/"), ".json")
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls[op]++
	n := f.calls[op]
	f.bodies = append(f.bodies, r.PostForm.Encode())
	f.mu.Unlock()

	var rep reply
	switch {
	case r.PostForm.Get("devKey") != testDevKey:
		rep = bdcReply(CodeBadDevKey, "Developer key is invalid.")
	case op == "Login":
		f.logins.Add(1)
		time.Sleep(f.loginDelay)
		handled := false
		if f.loginReply != nil {
			rep, handled = f.loginReply(n)
		}
		if !handled {
			if r.PostForm.Get("userName") != testUser || r.PostForm.Get("password") != testPassword {
				rep = bdcReply(CodeBadCredentials, "Wrong user name or password.")
				break
			}
			sid := fmt.Sprintf("SESSION-s3cr3t-%d", n)
			f.mu.Lock()
			f.sessions[sid] = true
			f.mu.Unlock()
			rep = okReply(map[string]string{"sessionId": sid, "orgId": testOrg, "apiEndPoint": f.base(), "usersId": "00601USER00000000001"})
		}
	default:
		f.mu.Lock()
		valid := f.sessions[r.PostForm.Get("sessionId")]
		f.mu.Unlock()
		if !valid {
			rep = bdcReply(CodeSessionInvalid, "Session is invalid. Please log in.")
			break
		}
		var data map[string]any
		if d := r.PostForm.Get("data"); d != "" {
			if err := json.Unmarshal([]byte(d), &data); err != nil {
				rep = bdcReply(CodeBadJSON, "Unable to parse data.")
				break
			}
		}
		rep = f.handle(op, data, n)
	}
	if rep.hangup {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		_ = conn.Close()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.status != 0 {
		w.WriteHeader(rep.status)
	}
	_, _ = w.Write([]byte(rep.body))
}

func testCreds() Credentials {
	return Credentials{DevKey: secret.New(testDevKey), UserName: secret.New(testUser), Password: secret.New(testPassword), OrgID: testOrg}
}

// newTestClient returns a client of f with tiny backoffs; mutate adjusts cfg.
func newTestClient(t *testing.T, f *fakeBill, mutate func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		BaseURL:     f.base(),
		Credentials: testCreds(),
		BackoffBase: time.Millisecond,
		BackoffMax:  2 * time.Millisecond,
		CallTimeout: 5 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// customerJSON is a minimal customer as BILL answers it.
func customerJSON(id, name string) map[string]any {
	return map[string]any{"entity": "Customer", "id": id, "name": name, "isActive": "1", "createdTime": FormatTime(time.Now())}
}

const (
	testCustomerID = "0cu01TESTCUSTOMER001"
	testContactID  = "cpu01TESTCONTACT0001"
)
