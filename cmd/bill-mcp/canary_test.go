package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/credentials"
	"github.com/bill-mcp/bill-mcp/internal/logging"
	"github.com/bill-mcp/bill-mcp/internal/server"
	"github.com/bill-mcp/bill-mcp/secret"
)

// Sentinel credentials: distinctive values with characters that change
// under URL and JSON escaping, so every encoded form can be looked for.
const (
	canaryDevKey   = "CANARYdevKEY-7f3a9c01"
	canaryUser     = "canary+user@sentinel.example"
	canaryPassword = `C4nary pass"word&x=1/%<ok>`
	canaryWrongPW  = `Wr0ng canary&pw="9"`
	canaryToken    = "CANARY-bearer-token-5e1d2c"
	canaryOrg      = "00801CANARY000000001"
)

// leakForms returns s and the encodings under which it could hide in output.
func leakForms(s string) []string {
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s), (&url.URL{Path: s}).EscapedPath()}
	b, _ := json.Marshal(s) // escapes <, > and & as \u003c ...
	forms = append(forms, strings.Trim(string(b), `"`))
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	forms = append(forms, strings.Trim(strings.TrimSpace(sb.String()), `"`))
	return forms
}

// findLeaks lists every form of every secret found in any output.
func findLeaks(secrets map[string]string, outputs map[string]string) []string {
	var leaks []string
	for what, secret := range secrets {
		for _, form := range leakForms(secret) {
			for where, out := range outputs {
				if strings.Contains(out, form) {
					leaks = append(leaks, fmt.Sprintf("%s leaked (as %q) into %s", what, form, where))
				}
			}
		}
	}
	return leaks
}

// assertNoLeak fails if any form of any secret appears in any output.
func assertNoLeak(t *testing.T, secrets map[string]string, outputs map[string]string) {
	t.Helper()
	for _, leak := range findLeaks(secrets, outputs) {
		t.Error(leak)
	}
}

// toolDay drives every tool through success and failure, returning each
// raw result; failures are expected and collected like successes.
func toolDay(t *testing.T, c *client.Client, tag string) []string {
	t.Helper()
	var out []string
	call := func(name string, args map[string]any) map[string]any {
		sc, _, raw := callTool(t, c, name, args)
		out = append(out, raw)
		return sc
	}
	id := func(sc map[string]any, key string) string {
		if m, ok := sc[key].(map[string]any); ok {
			if s, ok := m["id"].(string); ok {
				return s
			}
		}
		t.Fatalf("%s: no %s.id in %v", tag, key, sc)
		return ""
	}
	firstID := func(sc map[string]any) string {
		if ids, ok := sc["ids"].([]any); ok && len(ids) > 0 {
			if s, ok := ids[0].(string); ok && s != "" {
				return s
			}
		}
		t.Fatalf("%s: no ids[0] in %v", tag, sc)
		return ""
	}

	cid := id(call("create_customer", map[string]any{"name": "Canary Co " + tag, "email": "ap@canary.example"}), "customer")
	call("get_customer", map[string]any{"customerId": cid})
	call("update_customer", map[string]any{"customerId": cid, "email": "new@canary.example"})
	call("list_customers", map[string]any{"max": 10})
	b1 := firstID(call("bulk_create_customers", map[string]any{"customers": []any{
		map[string]any{"name": "Canary Bulk A " + tag}, map[string]any{"name": "Canary Bulk B " + tag}}}))
	call("bulk_update_customers", map[string]any{"customers": []any{map[string]any{"customerId": b1, "phone": "555-0100"}}})
	call("bulk_delete_customers", map[string]any{"customerIds": []any{b1}})
	call("bulk_undelete_customers", map[string]any{"customerIds": []any{b1}})

	ct := id(call("create_customer_contact", map[string]any{"customerId": cid, "firstName": "Ann", "email": "ann@canary.example"}), "contact")
	call("get_customer_contact", map[string]any{"contactId": ct})
	call("update_customer_contact", map[string]any{"contactId": ct, "lastName": "Lee"})
	call("list_customer_contacts", map[string]any{"customerId": cid})
	bct := firstID(call("bulk_create_customer_contacts", map[string]any{"contacts": []any{
		map[string]any{"customerId": cid, "firstName": "Bob", "email": "bob@canary.example"}}}))
	call("bulk_update_customer_contacts", map[string]any{"contacts": []any{map[string]any{"contactId": bct, "lastName": "Ode"}}})
	call("bulk_delete_customer_contacts", map[string]any{"contactIds": []any{bct}})
	call("bulk_undelete_customer_contacts", map[string]any{"contactIds": []any{bct}})

	ba := id(call("create_customer_bank_account", map[string]any{"customerId": cid, "nameOnAccount": "Canary Co",
		"routingNumber": "021000021", "accountNumber": "123456789012", "agreedWithTOS": true}), "bankAccount")
	call("get_customer_bank_account", map[string]any{"bankAccountId": ba})
	call("list_customer_bank_accounts", map[string]any{"customerId": cid})
	// A second active account for the same customer: BILL refuses it.
	call("create_customer_bank_account", map[string]any{"customerId": cid, "nameOnAccount": "Canary Co",
		"routingNumber": "021000021", "accountNumber": "999988887777", "agreedWithTOS": true})
	call("delete_customer_bank_account", map[string]any{"bankAccountId": ba})
	call("delete_customer_contact", map[string]any{"contactId": ct})
	call("undelete_customer_contact", map[string]any{"contactId": ct})
	call("delete_customer", map[string]any{"customerId": cid})
	call("undelete_customer", map[string]any{"customerId": cid})

	// Bad input (refused by schema validation) and BILL errors.
	call("get_customer", map[string]any{"customerId": "not-an-id"})
	call("create_customer", map[string]any{})
	call("create_customer_contact", map[string]any{"customerId": cid, "firstName": "X", "email": "not-an-email"})
	call("create_customer_bank_account", map[string]any{"customerId": cid, "nameOnAccount": "N",
		"routingNumber": "021000021", "accountNumber": "1234", "agreedWithTOS": false})
	call("get_customer", map[string]any{"customerId": "0cu00000000000000000"[:3] + "ZZZZZZZZZZZZZZZZZ"})
	call("get_customer_contact", map[string]any{"contactId": "cpuZZZZZZZZZZZZZZZZZ"})
	call("create_customer", map[string]any{"name": "Canary Co " + tag}) // duplicate name
	call("list_customers", map[string]any{"filters": []any{map[string]any{"field": "name", "op": "=", "value": "x"}}})
	call("no_such_tool", map[string]any{})
	return out
}

// faultPass runs a few writes and reads under one kind of emulator fault.
func faultPass(t *testing.T, c *client.Client, tag string) []string {
	t.Helper()
	var out []string
	for i, args := range []struct {
		name string
		args map[string]any
	}{
		{"create_customer", map[string]any{"name": "Fault Co " + tag}},
		{"list_customers", map[string]any{"max": 5}},
		{"bulk_create_customers", map[string]any{"customers": []any{map[string]any{"name": "Fault Bulk 1 " + tag}, map[string]any{"name": "Fault Bulk 2 " + tag}}}},
	} {
		_ = i
		_, _, raw := callTool(t, c, args.name, args.args)
		out = append(out, raw)
	}
	return out
}

func canaryIdentity() emulator.Identity {
	return emulator.Identity{UserName: canaryUser, Password: canaryPassword, OrgID: canaryOrg, DevKey: canaryDevKey}
}

func canaryEnv(baseURL, password string) []string {
	return serverEnv(
		"BILL_DEV_KEY="+canaryDevKey, "BILL_USERNAME="+canaryUser, "BILL_PASSWORD="+password,
		"BILL_ORG_ID="+canaryOrg, "BILL_ENV=sandbox", "BILL_BASE_URL="+baseURL, "BILL_MCP_TOKEN="+canaryToken)
}

// TestCanaryNoSecretLeaks drives every tool through success and failure
// paths over stdio and streamable HTTP with sentinel credentials, and scans
// every tool result, notification and stderr line for the sentinels.
func TestCanaryNoSecretLeaks(t *testing.T) {
	emu := startRecordingEmulator(t, emulator.Config{Identity: canaryIdentity(), Seed: 7})
	outputs := map[string]string{}
	add := func(where string, parts ...string) { outputs[where] += strings.Join(parts, "\n") + "\n" }

	t.Run("stdio", func(t *testing.T) {
		// Each run has a cache of its own: processes on one devKey and org
		// share the session and BILL's limits through it, and each run here
		// must log in (its session id is a sentinel) and must not inherit the
		// hour-long BDC_1144 block of the ratelimit faults below.
		s := startStdioServer(t, append(canaryEnv(emu.URL, canaryPassword), "XDG_CACHE_HOME="+t.TempDir()), "--credentials", "env", "--log-level", "debug")
		add("stdio tool results", toolDay(t, s.Client, "stdio")...)
		// echo: an upstream whose error message quotes the request, form
		// body and credentials included; the redactor must catch it.
		for _, kind := range []string{"system", "concurrency", "session", "reset", "lost-response", "applied-error", "echo", "ratelimit"} {
			spec, err := emulator.ParseFaults("p=0.5,kinds=" + kind)
			if err != nil {
				t.Fatal(err)
			}
			emu.SetFaults(spec)
			add("stdio tool results under "+kind+" faults", faultPass(t, s.Client, "stdio-"+kind)...)
			emu.SetFaults(emulator.FaultSpec{})
		}
		if emu.Stats().Faults["echo"] == 0 {
			t.Error("the echo fault never struck: its pass proves nothing")
		}
		add("stdio notifications", s.Notifications.String())
		add("stdio stderr", s.Stderr.String())
		if !strings.Contains(s.Stderr.String(), "create_customer") {
			t.Errorf("stderr has no tool-call log line; the scan would prove nothing:\n%s", s.Stderr.String())
		}
	})

	t.Run("stdio wrong password", func(t *testing.T) {
		s := startStdioServer(t, append(canaryEnv(emu.URL, canaryWrongPW), "XDG_CACHE_HOME="+t.TempDir()), "--credentials", "env", "--log-level", "debug")
		sc, isErr, raw := callTool(t, s.Client, "list_customers", map[string]any{})
		if !isErr || !strings.Contains(raw, "BDC_1101") {
			t.Errorf("wrong password: want an isError result naming BDC_1101, got %v %s", sc, raw)
		}
		add("wrong-password tool results", raw)
		add("wrong-password stderr", s.Stderr.String())
	})

	t.Run("http", func(t *testing.T) {
		hs := startHTTPServer(t, append(canaryEnv(emu.URL, canaryPassword), "XDG_CACHE_HOME="+t.TempDir()), "--credentials", "env", "--log-level", "debug")
		notes := &lockedBuffer{}
		c := hs.client(t, canaryToken, notes)
		add("http tool results", toolDay(t, c, "http")...)
		spec, _ := emulator.ParseFaults("p=0.3,kinds=system+concurrency+session+reset+lost-response+applied-error+echo")
		emu.SetFaults(spec)
		add("http tool results under faults", faultPass(t, c, "http-mixed")...)
		emu.SetFaults(emulator.FaultSpec{})

		// Without the token: 401, and the answer holds no secret either.
		resp, err := http.Post("http://"+hs.Addr+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("no bearer token: status %d, want 401", resp.StatusCode)
		}
		add("http notifications", notes.String())
		add("http stderr", hs.Stderr.String())
	})

	secrets := map[string]string{
		"devKey": canaryDevKey, "userName": canaryUser, "password": canaryPassword,
		"wrong password": canaryWrongPW, "bearer token": canaryToken,
	}
	ids := emu.sessionIDs()
	if len(ids) < 2 {
		t.Fatalf("the emulator handed out %d session ids; the runs should have logged in at least twice", len(ids))
	}
	for i, id := range ids {
		secrets[fmt.Sprintf("sessionId #%d", i)] = id
	}
	assertNoLeak(t, secrets, outputs)
}

// TestLeakScanCatchesEncodedForms proves the scan can fail: outputs that
// carry a sentinel the way real code would encode it (a form body, a query
// string, a JSON log field, a path) are each reported.
func TestLeakScanCatchesEncodedForms(t *testing.T) {
	jsonField, _ := json.Marshal(map[string]string{"password": canaryPassword})
	cases := map[string]string{
		"form body":  url.Values{"password": {canaryPassword}}.Encode(),
		"url path":   (&url.URL{Path: "/x/" + canaryPassword}).String(),
		"json field": string(jsonField),
		"plain text": "login failed for " + canaryPassword,
	}
	for name, out := range cases {
		t.Run(name, func(t *testing.T) {
			if leaks := findLeaks(map[string]string{"password": canaryPassword}, map[string]string{name: out}); len(leaks) == 0 {
				t.Errorf("a sentinel planted as %s (%s) was not detected", name, out)
			}
		})
	}
	if leaks := findLeaks(map[string]string{"password": canaryPassword}, map[string]string{"clean": "[REDACTED]"}); len(leaks) != 0 {
		t.Errorf("a clean output was reported: %v", leaks)
	}
}

// TestCanaryPanicPath: a tool handler that panics with a value carrying the
// credentials (formatted, and one raw by a hypothetical bug) must not leak
// them into the tool result or the log. In-process, because the real binary
// has no way to make a tool panic on purpose.
func TestCanaryPanicPath(t *testing.T) {
	emu := startRecordingEmulator(t, emulator.Config{Identity: canaryIdentity()})
	creds := billapi.Credentials{DevKey: secret.New(canaryDevKey), UserName: secret.New(canaryUser),
		Password: secret.New(canaryPassword), OrgID: canaryOrg}
	var stderr lockedBuffer
	redactor := logging.NewRedactingWriter(&stderr, creds.DevKey, creds.UserName, creds.Password)
	logger, err := logging.New(redactor, "json", "debug")
	if err != nil {
		t.Fatal(err)
	}
	bc, err := billapi.New(billapi.Config{BaseURL: emu.URL, Credentials: creds, Logger: &logger,
		SessionStore: credentials.NewMemoryStore(redactor)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Options{Client: bc, Version: "test", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	s.AddTool(mcp.NewToolWithRawSchema("explode", "panics", []byte(`{"type":"object","properties":{}}`)),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			_, _ = bc.ListCustomers(ctx, billapi.ListParams{Max: 1}) // log in, so there is a session id to leak
			panic(fmt.Sprintf("bug: creds=%+v raw=%s", creds, creds.Password.Reveal()))
		})
	c, err := client.NewInProcessClientWithOptions(s, client.WithProtocolVersion("2025-11-25"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	initialize(t, c)
	_, isErr, raw := callTool(t, c, "explode", map[string]any{})
	if !isErr {
		t.Fatalf("a panicking tool should answer an isError result, got %s", raw)
	}
	secrets := map[string]string{"devKey": canaryDevKey, "userName": canaryUser, "password": canaryPassword}
	for i, id := range emu.sessionIDs() {
		secrets[fmt.Sprintf("sessionId #%d", i)] = id
	}
	if len(secrets) < 4 {
		t.Fatal("the tool never logged in; the session id could not be checked")
	}
	assertNoLeak(t, secrets, map[string]string{"panic tool result": raw, "panic log": stderr.String()})
}
