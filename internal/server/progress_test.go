package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/internal/notify"
	"github.com/bill-mcp/bill-mcp/internal/server"
	"github.com/bill-mcp/bill-mcp/secret"
)

// progressNotes is how many notifications the test tool sends per call.
const progressNotes = 30

// progressServer is an MCP server with one tool that sends progressNotes
// progress notifications through notify.Send, without any pause, and then
// returns: the shape of a bulk call.
func progressServer() *mcpserver.MCPServer {
	s := mcpserver.NewMCPServer("progress-test", "1", mcpserver.WithToolCapabilities(false))
	s.AddTool(mcp.NewToolWithRawSchema("chatty", "sends progress", json.RawMessage(`{"type":"object"}`)),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			token := req.Params.Meta.ProgressToken
			for i := 1; i <= progressNotes; i++ {
				if err := notify.Send(ctx, "notifications/progress", map[string]any{"progressToken": token, "progress": i, "total": progressNotes}); err != nil {
					return nil, err
				}
			}
			return mcp.NewToolResultText("done"), nil
		})
	return s
}

func callFrame(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"chatty","arguments":{},"_meta":{"progressToken":"tok-%d"}}}`, id, id)
}

// modernCallFrame is callFrame on protocol 2026-07-28, which carries the
// protocol version and client in every request's _meta.
func modernCallFrame(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"chatty","arguments":{},"_meta":{"progressToken":"tok-%d",`+
		`"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`, id, id)
}

// checkOrder checks that msgs hold, for request id, progressNotes
// notifications with progress 1..N in order, all before the result.
func checkOrder(t *testing.T, msgs []map[string]any, id int) {
	t.Helper()
	next := 1
	for _, m := range msgs {
		if m["method"] == "notifications/progress" {
			p, _ := m["params"].(map[string]any)
			if p["progressToken"] != fmt.Sprintf("tok-%d", id) {
				continue
			}
			if p["progress"] != float64(next) {
				t.Fatalf("call %d: progress %v arrived where %d was due", id, p["progress"], next)
			}
			next++
			continue
		}
		if m["id"] == float64(id) {
			if next != progressNotes+1 {
				t.Fatalf("call %d: result arrived after %d of %d notifications", id, next-1, progressNotes)
			}
			return
		}
	}
	t.Fatalf("call %d: no result", id)
}

// TestProgressPrecedesResultStdio runs 50 calls over the stdio transport
// and requires every notification of each, in order, before its result.
func TestProgressPrecedesResultStdio(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- server.ServeStdio(ctx, progressServer(), inR, outW, zerolog.Nop()) }()
	t.Cleanup(func() {
		cancel()
		_ = inW.Close()
		_ = outR.Close()
		<-done
	})
	lines := bufio.NewScanner(outR)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	read := func(id int) []map[string]any {
		var msgs []map[string]any
		for lines.Scan() {
			var m map[string]any
			if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
				t.Fatalf("stdout line is not JSON: %q", lines.Text())
			}
			msgs = append(msgs, m)
			if m["id"] == float64(id) {
				return msgs
			}
		}
		t.Fatalf("stdout ended: %v", lines.Err())
		return nil
	}
	write := func(s string) {
		if _, err := io.WriteString(inW, s+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"` + protocolVersion + `","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	read(0)
	write(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	for id := 1; id <= 50; id++ {
		write(callFrame(id))
		checkOrder(t, read(id), id)
	}
}

// TestProgressPrecedesResultHTTP runs 50 calls over streamable HTTP, on
// both protocol revisions clients speak, and requires every notification,
// in order, on the call's own response before its result.
func TestProgressPrecedesResultHTTP(t *testing.T) {
	token := secret.New("progress-test-token-0123456789")
	h, shutdown, err := server.Handler(progressServer(), server.TransportHTTP, token)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() { _ = shutdown(context.Background()); hs.Close() })
	post := func(body, session, version string) (*http.Response, []map[string]any) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, hs.URL+server.PathStreamable, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+token.Reveal())
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		if version != "" {
			req.Header.Set("Mcp-Protocol-Version", version)
		}
		if version == "2026-07-28" {
			req.Header.Set("Mcp-Method", "tools/call")
			req.Header.Set("Mcp-Name", "chatty")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []map[string]any
		if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			for _, line := range bytes.Split(raw, []byte("\n")) {
				if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
					var m map[string]any
					if err := json.Unmarshal(data, &m); err != nil {
						t.Fatalf("SSE data is not JSON: %q", data)
					}
					msgs = append(msgs, m)
				}
			}
		} else if len(bytes.TrimSpace(raw)) > 0 {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("body is not JSON: %q", raw)
			}
			msgs = append(msgs, m)
		}
		return res, msgs
	}
	res, _ := post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"`+protocolVersion+`","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`, "", "")
	session := res.Header.Get("Mcp-Session-Id")
	if session == "" {
		t.Fatal("no session id")
	}
	post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, session, protocolVersion)
	for id := 1; id <= 50; id++ {
		_, msgs := post(callFrame(id), session, protocolVersion)
		checkOrder(t, msgs, id)
	}
	// 2026-07-28: no session; each request stands alone.
	for id := 51; id <= 60; id++ {
		_, msgs := post(modernCallFrame(id), "", "2026-07-28")
		checkOrder(t, msgs, id)
	}
}

// TestProgressPrecedesResultSSE runs 50 calls over the legacy SSE
// transport: results and notifications share the session's stream, and
// every notification of a call arrives, in order, before its result.
func TestProgressPrecedesResultSSE(t *testing.T) {
	token := secret.New("progress-test-token-0123456789")
	h, shutdown, err := server.Handler(progressServer(), server.TransportSSE, token)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() { _ = shutdown(context.Background()); hs.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+server.PathSSE, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	events := bufio.NewScanner(stream.Body)
	events.Buffer(make([]byte, 1<<20), 1<<20)
	var endpoint string
	for events.Scan() && endpoint == "" {
		if data, ok := strings.CutPrefix(events.Text(), "data: "); ok {
			endpoint = data
		}
	}
	if endpoint == "" {
		t.Fatalf("no endpoint event: %v", events.Err())
	}
	if !strings.HasPrefix(endpoint, "http") {
		endpoint = hs.URL + endpoint
	}
	post := func(body string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token.Reveal())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %s", body, res.Status)
		}
	}
	read := func(id int) []map[string]any {
		var msgs []map[string]any
		for events.Scan() {
			data, ok := strings.CutPrefix(events.Text(), "data: ")
			if !ok {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				t.Fatalf("SSE data is not JSON: %q", data)
			}
			msgs = append(msgs, m)
			if m["id"] == float64(id) {
				return msgs
			}
		}
		t.Fatalf("stream ended: %v", events.Err())
		return nil
	}
	post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"` + protocolVersion + `","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	read(0)
	post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	for id := 1; id <= 50; id++ {
		post(callFrame(id))
		checkOrder(t, read(id), id)
	}
}
