package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/secret"
)

// slowAnswerEmulator applies each call at once and answers it after delay,
// whatever happens to the caller meanwhile: a server killed in that window
// leaves records at BILL it never learned the ids of. From the holdFrom-th
// Bulk call on (0: never) calls are applied but not answered until the
// caller gives up; held is closed when the first of them is applied.
type slowAnswerEmulator struct {
	*emulator.Emulator
	URL      string
	holdFrom atomic.Int64
	held     chan struct{}
	heldOnce sync.Once
	bulks    atomic.Int64 // Bulk calls applied
	answered atomic.Int64 // Bulk calls answered
	dropped  atomic.Int64 // calls applied whose answer never left
	conns    atomic.Int64 // connections open
}

func startSlowAnswerEmulator(t *testing.T, cfg emulator.Config, delay time.Duration) *slowAnswerEmulator {
	t.Helper()
	e := &slowAnswerEmulator{Emulator: emulator.New(cfg), held: make(chan struct{})}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		e.Emulator.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
		wait := time.After(delay)
		if strings.Contains(r.URL.Path, "/Bulk/") {
			if k, from := e.bulks.Add(1), e.holdFrom.Load(); from > 0 && k >= from {
				e.heldOnce.Do(func() { close(e.held) })
				wait = nil
			}
		}
		select {
		case <-wait:
		case <-r.Context().Done():
			e.dropped.Add(1)
			return
		}
		replay(w, rec)
		if strings.Contains(r.URL.Path, "/Bulk/") {
			e.answered.Add(1)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			e.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			e.conns.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	e.URL = srv.URL + "/api/v2"
	return e
}

// TestKill9MidImportResumes kills the server (SIGKILL) at about 30% of a
// 1,000-contact import (3 chunks of 100 answered, the 4th applied at BILL
// and its answer still on its way), runs the same call again on a new
// server, and finds exactly 1,000 contacts at BILL and an answer that
// accounts for all 1,000. The contacts repeat 50 keys 20 times each, so
// reconciliation by content alone could not tell them apart: the journal
// must.
func TestKill9MidImportResumes(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("took %s", time.Since(start)) }()
	id := emulator.DemoIdentity()
	emu := startSlowAnswerEmulator(t, emulator.Config{Identity: id}, 40*time.Millisecond)
	env := serverEnv("BILL_MCP_VAULT_DIR="+t.TempDir()+"/vault", "BILL_MCP_VAULT_IDENTITY_FILE="+t.TempDir()+"/vault.key")
	demoVault(t, env)

	// no idle connections of its own: after the kill, open connections
	// are the dead server's
	bill, err := billapi.New(billapi.Config{BaseURL: emu.URL, HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, Credentials: billapi.Credentials{
		DevKey: secret.New(id.DevKey), UserName: secret.New(id.UserName), Password: secret.New(id.Password), OrgID: id.OrgID}})
	if err != nil {
		t.Fatal(err)
	}
	customers := make([]billapi.Customer, 10)
	for i := range customers {
		customers[i] = billapi.Customer{Name: billapi.String(fmt.Sprintf("Crash Customer %d", i))}
	}
	made, err := bill.BulkCreateCustomers(t.Context(), customers, billapi.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	contacts := make([]any, n)
	for i := range contacts {
		contacts[i] = map[string]any{
			"customerId": made[i%10].Object.ID, "firstName": "Pat", "lastName": fmt.Sprintf("Same%02d", i%50), "email": "pat@crash.example",
		}
	}
	call := map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": map[string]any{
		"name": "bulk_create_customer_contacts", "arguments": map[string]any{"contacts": contacts},
		"_meta": map[string]any{"progressToken": "crash"}}}

	t.Logf("%s: vault ready, customers made", time.Since(start))
	emu.bulks.Store(0)
	emu.answered.Store(0)
	emu.holdFrom.Store(4)
	first := startRawServer(t, env, "--profile", "acme", "--base-url", emu.URL)
	first.send(call)
	select {
	case <-emu.held:
	case <-time.After(30 * time.Second):
		t.Fatalf("the import never reached its 4th chunk; stderr:\n%s", first.cmd.Stderr)
	}
	waitUntil(t, 10*time.Second, "the first 3 chunks are answered", func() bool { return emu.answered.Load() >= 3 })
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	emu.holdFrom.Store(0)
	// Every request the dead server had sent is handled (applied) once its
	// connections are closed.
	waitUntil(t, 10*time.Second, "the dead server's connections close", func() bool { return emu.conns.Load() == 0 })
	before := emu.Stats().Objects["CustomerContact"]
	t.Logf("killed after %d chunks applied, %d answered, %d answers lost: %d contacts at BILL", emu.bulks.Load(), emu.answered.Load(), emu.dropped.Load(), before)
	if emu.dropped.Load() == 0 {
		t.Fatal("no applied chunk lost its answer: the kill did not leave BILL ahead of the journal")
	}
	if before < 400 || before >= n {
		t.Fatalf("%d contacts at BILL after the kill, want 3 answered chunks and at least one applied unanswered, not all", before)
	}

	t.Logf("%s: killed", time.Since(start))
	second := startRawServer(t, env, "--profile", "acme", "--base-url", emu.URL)
	second.send(call)
	res := second.until(func(m map[string]any) bool { return m["id"] == float64(1) })
	t.Logf("%s: re-run answered", time.Since(start))
	result, _ := res["result"].(map[string]any)
	if result == nil || result["isError"] == true {
		t.Fatalf("re-run failed: %v", res)
	}
	sc := result["structuredContent"].(map[string]any)
	sum := sc["summary"].(map[string]any)
	t.Logf("re-run summary: %v", sum)
	if sum["total"] != float64(n) || sum["succeeded"] != float64(n) || sum["failed"] != float64(0) {
		t.Errorf("summary %v does not account for all %d", sum, n)
	}
	if sum["resumed"] == nil || sum["resumed"].(float64) != float64(before) {
		t.Errorf("resumed %v, want the %d contacts made before the kill", sum["resumed"], before)
	}
	ids := sc["ids"].([]any)
	seen := map[string]bool{}
	for i, x := range ids {
		s, _ := x.(string)
		if s == "" || seen[s] {
			t.Fatalf("ids[%d] = %q: empty or repeated", i, s)
		}
		seen[s] = true
	}
	if got := emu.Stats().Objects["CustomerContact"]; got != n {
		t.Fatalf("%d contacts at BILL after the re-run, want exactly %d", got, n)
	}
	for c, err := range bill.AllCustomerContacts(t.Context(), billapi.ListParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		if !seen[c.ID] {
			t.Errorf("contact %s at BILL is not in the answer", c.ID)
		}
	}
}
