package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/bill-mcp/bill-mcp/secret"
)

func TestSessionTracker(t *testing.T) {
	now := time.Unix(1000, 0)
	tr := newSessionTracker(time.Minute, 3)
	tr.now = func() time.Time { return now }
	var released []string
	tr.gone = func(id string) { released = append(released, id) }
	a := tr.Generate()
	now = now.Add(10 * time.Second)
	b := tr.Generate()
	now = now.Add(10 * time.Second)
	c := tr.Generate()
	if term, err := tr.Validate(a); term || err != nil { // a is now the most recently used
		t.Fatalf("Validate(a) = %v, %v", term, err)
	}
	d := tr.Generate() // at the cap: b, idle longest, goes
	if tr.Len() != 3 {
		t.Errorf("%d sessions, want the cap 3", tr.Len())
	}
	if _, err := tr.Validate(b); err == nil {
		t.Error("the session idle longest survived eviction")
	}
	now = now.Add(2 * time.Minute)
	if term, _ := tr.Validate(c); !term {
		t.Error("an idle session did not expire")
	}
	if _, err := tr.Validate(c); err == nil {
		t.Error("an expired session came back")
	}
	if len(released) != 2 || released[0] != b || released[1] != c {
		t.Errorf("released %v, want the evicted then the expired session", released)
	}
	_, _ = tr.Terminate(d)
	if _, err := tr.Validate(d); err == nil {
		t.Error("a terminated session is still valid")
	}
	if _, err := tr.Validate("mcp-session-forged"); err == nil {
		t.Error("a foreign id was accepted")
	}
}

func TestSSEStreamsAreCapped(t *testing.T) {
	s := mcpserver.NewMCPServer("t", "1")
	h, shutdown, err := handler(s, HTTPOptions{Transport: TransportSSE, Token: secret.New("sse-token-0123456789abcdef"), MaxSessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = shutdown(t.Context()) }()
	hs := httptest.NewServer(h)
	defer hs.Close()
	open := func() *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+PathSSE, nil)
		req.Host = "127.0.0.1"
		req.Header.Set("Authorization", "Bearer sse-token-0123456789abcdef")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := open()
	defer first.Body.Close()
	if first.StatusCode != http.StatusOK {
		t.Fatalf("first stream: HTTP %d", first.StatusCode)
	}
	second := open()
	second.Body.Close()
	if second.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second stream past the cap: HTTP %d, want 503", second.StatusCode)
	}
}
