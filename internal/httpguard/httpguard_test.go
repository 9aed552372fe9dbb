package httpguard

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// remoteLocal is a non-loopback local address: the guard must hold on a
// connection that did not arrive on loopback (a container, 0.0.0.0).
var remoteLocal = &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 8808}

func TestHandler(t *testing.T) {
	var gotBody string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		gotBody = string(b)
		w.WriteHeader(http.StatusOK)
	})
	h := Handler(Options{AllowedHosts: DefaultHosts("0.0.0.0:8808", "mcp.example.com", "10.1.2.3:8808"), MaxBody: 100}, next)
	tests := []struct {
		name    string
		host    string
		origin  string
		body    string
		chunked bool
		want    int
	}{
		{"loopback name", "localhost:8808", "", "{}", false, 200},
		{"loopback ip", "127.0.0.1:8808", "", "{}", false, 200},
		{"ipv6 loopback", "[::1]:8808", "", "{}", false, 200},
		{"allowed name, any port", "MCP.example.com:443", "", "{}", false, 200},
		{"allowed host:port", "10.1.2.3:8808", "", "{}", false, 200},
		{"allowed host, other port", "10.1.2.3:9999", "", "{}", false, 403},
		{"wildcard bind address is not a host", "0.0.0.0:8808", "", "{}", false, 403},
		{"foreign host", "evil.example", "", "{}", false, 403},
		{"rebinding name", "attacker.localhost.evil", "", "{}", false, 403},
		{"allowed origin", "localhost:8808", "https://mcp.example.com", "{}", false, 200},
		{"foreign origin", "localhost:8808", "https://evil.example", "{}", false, 403},
		{"null origin", "localhost:8808", "null", "{}", false, 403},
		{"body at limit", "localhost", "", strings.Repeat("x", 100), false, 200},
		{"body past limit", "localhost", "", strings.Repeat("x", 101), false, 413},
		{"chunked body past limit", "localhost", "", strings.Repeat("x", 101), true, 413},
		{"chunked body within limit", "localhost", "", "chunked ok", true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotBody = ""
			req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(tt.body))
			req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, net.Addr(remoteLocal)))
			req.Host = tt.host
			if tt.chunked {
				req.ContentLength = -1
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("HTTP %d, want %d (%s)", rec.Code, tt.want, rec.Body.String())
			}
			if tt.want == 200 && gotBody != tt.body {
				t.Errorf("next read %q, want %q", gotBody, tt.body)
			}
			if tt.want != 200 && gotBody != "" {
				t.Error("a refused request reached the handler")
			}
		})
	}
}

func TestParseHosts(t *testing.T) {
	if got, err := ParseHosts(" a.example , b.example:8443 ,"); err != nil || len(got) != 2 || got[1] != "b.example:8443" {
		t.Errorf("ParseHosts = %v, %v", got, err)
	}
	if _, err := ParseHosts("https://a.example/"); err == nil {
		t.Error("a URL was accepted as a host")
	}
}
