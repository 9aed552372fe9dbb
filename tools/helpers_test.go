package tools_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/index"
	"github.com/bill-mcp/bill-mcp/internal/journal"
	"github.com/bill-mcp/bill-mcp/internal/server"
	"github.com/bill-mcp/bill-mcp/secret"
)

// protocolVersion pins test clients to what today's real clients speak.
const protocolVersion = "2025-11-25"

// env is a server built on a billapi.Client pointed at an in-process
// emulator, and an in-process MCP client connected to it.
type env struct {
	t      *testing.T
	emu    *emulator.Emulator
	bill   *billapi.Client
	ix     *index.Index
	client *client.Client
	url    string // the emulator's base URL

	mu            sync.Mutex
	notifications []mcp.JSONRPCNotification
}

type envOptions struct {
	readOnly bool
	toolsets []string
	emu      emulator.Config
	logger   zerolog.Logger
	journal  *journal.Store
	wrap     func(http.Handler) http.Handler // wraps the emulator's handler, e.g. to lose an answer
}

// newBillClient returns a client of the emulator at baseURL; obs (may be
// nil) observes its writes, as the server's index does.
func newBillClient(t testing.TB, baseURL string, obs billapi.WriteObserver) *billapi.Client {
	t.Helper()
	id := emulator.DemoIdentity()
	c, err := billapi.New(billapi.Config{
		BaseURL: baseURL + "/api/v2",
		Credentials: billapi.Credentials{
			DevKey:   secret.New(id.DevKey),
			UserName: secret.New(id.UserName),
			Password: secret.New(id.Password),
			OrgID:    id.OrgID,
		},
		MaxAttempts: 1,
		// benchmarks make more calls than an hour's real budget
		HourlyRequestBudget: 100_000_000,
		BackoffBase:         time.Millisecond,
		BackoffMax:          time.Millisecond,
		CallTimeout:         10 * time.Second,
		Observer:            obs,
	})
	if err != nil {
		t.Fatalf("billapi.New: %v", err)
	}
	return c
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	emu := emulator.New(o.emu)
	var h http.Handler = emu
	if o.wrap != nil {
		h = o.wrap(emu)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	ix := index.New(index.Options{})
	bill := newBillClient(t, hs.URL, ix)
	s, err := server.New(server.Options{
		Client:   bill,
		Index:    ix,
		Version:  "test",
		Toolsets: o.toolsets,
		ReadOnly: o.readOnly,
		Logger:   o.logger,
		Journal:  o.journal,
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	e := &env{t: t, emu: emu, bill: bill, ix: ix, url: hs.URL}
	e.client = connect(t, s)
	e.client.OnNotification(func(n mcp.JSONRPCNotification) {
		e.mu.Lock()
		e.notifications = append(e.notifications, n)
		e.mu.Unlock()
	})
	return e
}

func connect(t testing.TB, s *mcpserver.MCPServer) *client.Client {
	t.Helper()
	c, err := client.NewInProcessClientWithOptions(s, client.WithProtocolVersion(protocolVersion))
	if err != nil {
		t.Fatalf("in-process client: %v", err)
	}
	ctx := t.Context()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = protocolVersion
	req.Params.ClientInfo = mcp.Implementation{Name: "tools-test", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

// call calls a tool and fails the test on a protocol error.
func (e *env) call(name string, args map[string]any) *mcp.CallToolResult {
	e.t.Helper()
	res, err := e.callErr(name, args, nil)
	if err != nil {
		e.t.Fatalf("%s: protocol error: %v", name, err)
	}
	return res
}

func (e *env) callErr(name string, args map[string]any, progressToken any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	if progressToken != nil {
		req.Params.Meta = &mcp.Meta{ProgressToken: progressToken}
	}
	return e.client.CallTool(e.t.Context(), req)
}

// ok calls a tool, requires success, and decodes its structured content.
func (e *env) ok(name string, args map[string]any) map[string]any {
	e.t.Helper()
	res := e.call(name, args)
	if res.IsError {
		e.t.Fatalf("%s(%v): unexpected error result: %s", name, args, text(res))
	}
	return structuredMap(e.t, res)
}

func structuredMap(t testing.TB, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatalf("marshal structured content: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("structured content is not an object: %s", raw)
	}
	// the text content carries the same JSON for text-only clients
	var fromText map[string]any
	if err := json.Unmarshal([]byte(text(res)), &fromText); err != nil {
		t.Fatalf("text content is not the result's JSON: %q", text(res))
	}
	return m
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := mcp.AsTextContent(c); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// obj digs a nested object out of a decoded result.
func obj(t testing.TB, m map[string]any, key string) map[string]any {
	t.Helper()
	v, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("result has no object %q: %v", key, m)
	}
	return v
}

func list(t testing.TB, m map[string]any, key string) []any {
	t.Helper()
	v, ok := m[key].([]any)
	if !ok {
		t.Fatalf("result has no array %q: %v", key, m)
	}
	return v
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// waitNotifications waits until n progress notifications arrived.
func (e *env) waitNotifications(n int) []mcp.JSONRPCNotification {
	e.t.Helper()
	return e.waitNotificationsFor(n, 5*time.Second)
}

// waitNotificationsFor waits up to d for n progress notifications.
func (e *env) waitNotificationsFor(n int, d time.Duration) []mcp.JSONRPCNotification {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		e.mu.Lock()
		var got []mcp.JSONRPCNotification
		for _, x := range e.notifications {
			if x.Method == "notifications/progress" {
				got = append(got, x)
			}
		}
		e.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// seeded creates one customer (and optionally a contact and a bank
// account) through the tools, returning their ids.
type seeded struct{ customerID, contactID, bankAccountID string }

func (e *env) seed(name string) seeded {
	e.t.Helper()
	var s seeded
	s.customerID = str(obj(e.t, e.ok("create_customer", map[string]any{"name": name, "email": "ap@" + strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".example"}), "customer"), "id")
	s.contactID = str(obj(e.t, e.ok("create_customer_contact", map[string]any{"customerId": s.customerID, "firstName": "Jane", "email": "jane@example.com"}), "contact"), "id")
	s.bankAccountID = str(obj(e.t, e.ok("create_customer_bank_account", map[string]any{
		"customerId": s.customerID, "nameOnAccount": name, "routingNumber": "021000021", "accountNumber": "1234567890", "agreedWithTOS": true,
	}), "bankAccount"), "id")
	return s
}
