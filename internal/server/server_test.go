package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/server"
	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/tools"
)

const protocolVersion = "2025-11-25"

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newServer(t testing.TB, o server.Options) *mcpserver.MCPServer {
	t.Helper()
	hs := httptest.NewServer(emulator.New(emulator.Config{}))
	t.Cleanup(hs.Close)
	id := emulator.DemoIdentity()
	c, err := billapi.New(billapi.Config{
		BaseURL: hs.URL + "/api/v2",
		Credentials: billapi.Credentials{
			DevKey: secret.New(id.DevKey), UserName: secret.New(id.UserName), Password: secret.New(id.Password), OrgID: id.OrgID,
		},
		MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	o.Client = c
	o.Version = "test"
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func inProcess(t *testing.T, s *mcpserver.MCPServer) *client.Client {
	t.Helper()
	c, err := client.NewInProcessClientWithOptions(s, client.WithProtocolVersion(protocolVersion))
	if err != nil {
		t.Fatal(err)
	}
	initialize(t, c)
	return c
}

func initialize(t *testing.T, c *client.Client) *mcp.InitializeResult {
	t.Helper()
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = protocolVersion
	req.Params.ClientInfo = mcp.Implementation{Name: "server-test", Version: "1"}
	res, err := c.Initialize(t.Context(), req)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return res
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return c.CallTool(t.Context(), req)
}

func TestInstructions(t *testing.T) {
	tests := []struct {
		name       string
		toolsets   []string
		readOnly   bool
		emulator   bool
		want       []string
		wantNoneOf []string
	}{
		{"full", tools.ToolsetNames(), false, false,
			[]string{"0cu", "cpu", "cba", "undelete", "bulk_*", "list_customers"}, []string{"emulator", "read-only"}},
		{"emulator", tools.ToolsetNames(), false, true,
			[]string{"emulator, not BILL"}, nil},
		{"read-only contacts", []string{tools.ToolsetContacts}, true, false,
			[]string{"read-only", "list_customer_contacts"}, []string{"bulk_*", "create_customer,", "_customer_bank_account"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := server.Instructions(tt.toolsets, tt.readOnly, tt.emulator)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("instructions lack %q:\n%s", w, got)
				}
			}
			for _, w := range tt.wantNoneOf {
				if strings.Contains(got, w) {
					t.Errorf("instructions mention %q:\n%s", w, got)
				}
			}
			if n := strings.Count(got, "\n"); n > 10 {
				t.Errorf("instructions run to %d lines; keep them to a few", n)
			}
		})
	}
}

func TestInitializeAnnouncesInstructions(t *testing.T) {
	s := newServer(t, server.Options{Emulator: true})
	c, err := client.NewInProcessClientWithOptions(s, client.WithProtocolVersion(protocolVersion))
	if err != nil {
		t.Fatal(err)
	}
	res := initialize(t, c)
	if res.ServerInfo.Name != "bill-mcp" || !strings.Contains(res.Instructions, "emulator, not BILL") {
		t.Errorf("initialize = %+v", res)
	}
	if res.Capabilities.Tools == nil {
		t.Errorf("no tools capability")
	}
}

func TestToolCallLogLines(t *testing.T) {
	var logs syncBuffer
	s := newServer(t, server.Options{Logger: zerolog.New(&logs)})
	c := inProcess(t, s)

	const secretName = "Zanzibar Quietly Ltd"
	res, err := callTool(t, c, "create_customer", map[string]any{"name": secretName, "email": "q@zanzibar.example"})
	if err != nil || res.IsError {
		t.Fatalf("create: %v %+v", err, res)
	}
	if _, err := callTool(t, c, "get_customer", map[string]any{"customerId": "0cuAAAAAAAAAAAAAAAAA"}); err != nil {
		t.Fatal(err)
	}
	if _, err := callTool(t, c, "get_customer", map[string]any{"customerId": "nope"}); err != nil {
		t.Fatal(err)
	}
	if _, err := callTool(t, c, "no_such_tool", nil); err == nil {
		t.Fatal("unknown tool answered")
	}

	want := []struct{ tool, outcome, code string }{
		{"create_customer", server.OutcomeOK, ""},
		{"get_customer", server.OutcomeError, "BDC_1120"},
		{"get_customer", server.OutcomeInvalidInput, tools.CodeInvalidArgument},
		{"no_such_tool", server.OutcomeError, "JSONRPC"},
	}
	var calls []map[string]any
	for _, l := range logs.lines(t) {
		if l["message"] == "tool call" {
			calls = append(calls, l)
		}
	}
	if len(calls) != len(want) {
		t.Fatalf("%d tool call lines, want %d:\n%s", len(calls), len(want), logs.String())
	}
	for i, w := range want {
		l := calls[i]
		if l["tool"] != w.tool || l["outcome"] != w.outcome || (w.code != "" && l["bill_code"] != w.code) || (w.code == "" && l["bill_code"] != nil) {
			t.Errorf("line %d = %v, want tool %s outcome %s code %q", i, l, w.tool, w.outcome, w.code)
		}
		if _, ok := l["duration_ms"].(float64); !ok {
			t.Errorf("line %d has no duration_ms: %v", i, l)
		}
	}
	if strings.Contains(logs.String(), "Zanzibar") || strings.Contains(logs.String(), "zanzibar.example") {
		t.Errorf("log holds argument values:\n%s", logs.String())
	}
}

// A tool the server does not offer answers an isError result with a code
// and a hint (not a JSON-RPC error), is logged as refused, sends nothing to
// BILL, and is not listed.
func TestRefusalIsToolResult(t *testing.T) {
	tests := []struct {
		name     string
		opts     server.Options
		tool     string
		args     map[string]any
		wantCode string
		wantHint string
	}{
		{"write on read-only", server.Options{ReadOnly: true}, "delete_customer", map[string]any{"customerId": "0cuAAAAAAAAAAAAAAAAA"}, tools.CodeReadOnly, "without --read-only"},
		{"bad arguments on read-only", server.Options{ReadOnly: true}, "create_customer", map[string]any{"nme": 3}, tools.CodeReadOnly, "without --read-only"},
		{"toolset off", server.Options{Toolsets: []string{tools.ToolsetContacts}}, "get_customer", map[string]any{"customerId": "0cuAAAAAAAAAAAAAAAAA"}, tools.CodeToolsetOff, "--toolsets including customers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			tt.opts.Logger = zerolog.New(&logs)
			s := newServer(t, tt.opts)
			c := inProcess(t, s)
			listed, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tool := range listed.Tools {
				if tool.Name == tt.tool {
					t.Errorf("%s is listed", tt.tool)
				}
			}
			res, err := callTool(t, c, tt.tool, tt.args)
			if err != nil {
				t.Fatalf("refusal came as a protocol error: %v", err)
			}
			text := ""
			if tc, ok := mcp.AsTextContent(res.Content[0]); ok {
				text = tc.Text
			}
			if !res.IsError || !strings.HasPrefix(text, tt.wantCode+": ") || !strings.Contains(text, "Next: ") || !strings.Contains(text, tt.wantHint) {
				t.Errorf("refusal = %q (isError %v)", text, res.IsError)
			}
			lines := logs.lines(t)
			if len(lines) != 1 || lines[0]["outcome"] != server.OutcomeRefused || lines[0]["bill_code"] != tt.wantCode {
				t.Errorf("log = %v", lines)
			}
		})
	}
	// a read tool still works on a read-only server
	s := newServer(t, server.Options{ReadOnly: true})
	res, err := callTool(t, inProcess(t, s), "list_customers", map[string]any{})
	if err != nil || res.IsError {
		t.Errorf("list on a read-only server: %v %+v", err, res)
	}
}

func TestHTTPTransports(t *testing.T) {
	token := secret.New("test-token-0123456789abcdefghijklmnop")
	for _, transportName := range []string{server.TransportHTTP, server.TransportSSE} {
		t.Run(transportName, func(t *testing.T) {
			s := newServer(t, server.Options{})
			h, closeSessions, err := server.Handler(s, transportName, token)
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(h)
			t.Cleanup(hs.Close)
			t.Cleanup(func() { _ = closeSessions(context.Background()) })
			path := server.PathStreamable
			if transportName == server.TransportSSE {
				path = server.PathSSE
			}

			// no token: 401
			resp, err := http.Get(hs.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("without a token: HTTP %d, want 401", resp.StatusCode)
			}

			// token but a foreign Host header: the DNS-rebinding guard answers 403
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, hs.URL+path, strings.NewReader(`{}`))
			req.Host = "attacker.example"
			req.Header.Set("Authorization", "Bearer "+token.Reveal())
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("foreign Host: HTTP %d, want 403", resp.StatusCode)
			}

			// a real client with the token lists the tools
			headers := map[string]string{"Authorization": "Bearer " + token.Reveal()}
			var c *client.Client
			if transportName == server.TransportHTTP {
				c, err = client.NewStreamableHttpClient(hs.URL+path, transport.WithHTTPHeaders(headers))
			} else {
				c, err = client.NewSSEMCPClient(hs.URL+path, client.WithHeaders(headers))
			}
			if err != nil {
				t.Fatal(err)
			}
			initialize(t, c)
			listed, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(listed.Tools) != 28 {
				t.Errorf("%d tools over %s, want 28", len(listed.Tools), transportName)
			}
		})
	}
}

func TestServeHTTPShutsDownOnCancel(t *testing.T) {
	s := newServer(t, server.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.ServeHTTP(ctx, s, server.HTTPOptions{
			Transport: server.TransportHTTP,
			Addr:      "127.0.0.1:0",
			Token:     secret.New("test-token-0123456789abcdefghijklmnop"),
			Ready:     func(a net.Addr) { ready <- a },
		})
	}()
	addr := <-ready
	resp, err := http.Get("http://" + addr.String() + server.PathStreamable)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("HTTP %d, want 401", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeHTTP after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeHTTP did not stop")
	}
	if _, _, err := server.Handler(s, "carrier-pigeon", secret.Secret{}); err == nil || !strings.Contains(err.Error(), "stdio, sse or http") {
		t.Errorf("unknown transport: %v", err)
	}
}

func TestServeStdioWritesOnlyFrames(t *testing.T) {
	var logs syncBuffer
	s := newServer(t, server.Options{Logger: zerolog.New(&logs)})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- server.ServeStdio(t.Context(), s, inR, outW, zerolog.New(&logs))
		outW.Close()
	}()
	frames := bufio.NewScanner(outR)
	frames.Buffer(make([]byte, 1<<20), 4<<20)
	send := func(msg string) map[string]any {
		t.Helper()
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			t.Fatal(err)
		}
		if !frames.Scan() {
			t.Fatalf("no answer to %s: %v", msg, frames.Err())
		}
		var m map[string]any
		if err := json.Unmarshal(frames.Bytes(), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line is not a JSON-RPC frame: %q", frames.Text())
		}
		return m
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + protocolVersion + `","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	if _, err := io.WriteString(inW, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	list := send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	result, _ := list["result"].(map[string]any)
	if ts, _ := result["tools"].([]any); len(ts) != 28 {
		t.Errorf("tools/list over stdio: %v", list)
	}
	call := send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_customers","arguments":{}}}`)
	if r, _ := call["result"].(map[string]any); r == nil || r["isError"] == true {
		t.Errorf("tools/call over stdio: %v", call)
	}
	inW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeStdio after stdin closed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeStdio did not stop when stdin closed")
	}
	if frames.Scan() {
		t.Errorf("extra stdout output: %q", frames.Text())
	}
	if !strings.Contains(logs.String(), `"tool":"list_customers"`) {
		t.Errorf("the call was not logged: %s", logs.String())
	}
}
