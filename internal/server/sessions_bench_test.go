package server_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/bill-mcp/bill-mcp/internal/httpauth"
	"github.com/bill-mcp/bill-mcp/internal/httpguard"
	"github.com/bill-mcp/bill-mcp/internal/server"
	"github.com/bill-mcp/bill-mcp/secret"
)

// abandon opens n sessions on h (initialize, never closed) and returns the
// live heap growth in bytes.
func abandon(b *testing.B, h http.Handler, n int, token string) float64 {
	b.Helper()
	n = max(n, 1)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}`))
		req.Host = "127.0.0.1:8808"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("initialize: HTTP %d %s", rec.Code, rec.Body.String())
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(h) // the server lives on: measure what it holds, not its collection
	return float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
}

// BenchmarkAbandonedSessions: heap kept by 6,000 sessions a client opens
// and abandons: bill-mcp's HTTP handler (session cap and idle TTL) beside
// the same stack without the session tracker (the baseline), in which
// mcp-go keeps every initialized session registered for good.
func BenchmarkAbandonedSessions(b *testing.B) {
	const n = 6000
	tok := "bench-token-0123456789abcdefghij"
	for b.Loop() {
		s := newServer(b, server.Options{})
		ours, shutdown, err := server.Handler(s, server.TransportHTTP, secret.New(tok))
		if err != nil {
			b.Fatal(err)
		}
		abandon(b, ours, 0, tok) // one-time costs (schema compilation, first session) are not per session
		oursBytes := abandon(b, ours, n, tok)
		_ = shutdown(b.Context())
		s2 := newServer(b, server.Options{})
		// The same stack without the session tracker: guard, token, mcp-go as it comes.
		base := httpguard.Handler(httpguard.Options{AllowedHosts: httpguard.DefaultHosts(server.DefaultAddr)},
			httpauth.Middleware(secret.New(tok), mcpserver.NewStreamableHTTPServer(s2, mcpserver.WithEndpointPath(server.PathStreamable))))
		abandon(b, base, 0, tok)
		baseBytes := abandon(b, base, n, tok)
		b.ReportMetric(oursBytes/(1<<20), "ours-MB")
		b.ReportMetric(baseBytes/(1<<20), "mcpgo-MB")
		b.ReportMetric(baseBytes/max(oursBytes, 1), "mcpgo/ours")
	}
}
