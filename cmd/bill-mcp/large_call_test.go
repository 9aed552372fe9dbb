package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/rawitems"
)

// TestLargeBulkCallOverStdio sends one bulk_create_customers frame larger
// than rawitems.MinFrame to the binary over stdio: its items travel
// stashed past mcp-go and back to the tool, every customer is created once,
// a bad item fails alone with its index, and the answer stays small.
func TestLargeBulkCallOverStdio(t *testing.T) {
	id := emulator.DemoIdentity()
	emu := startRecordingEmulator(t, emulator.Config{Identity: id, HourlyLimit: 1 << 30})
	env := serverEnv("BILL_DEV_KEY="+id.DevKey, "BILL_USERNAME="+id.UserName, "BILL_PASSWORD="+id.Password, "BILL_ORG_ID="+id.OrgID)
	srv := startRawServer(t, env, "--credentials", "env", "--base-url", emu.URL, "--hourly-limit", "100000000", "--log-level", "debug")
	const n = 30_000
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("Large Call Customer %05d", i), "email": fmt.Sprintf("large%d@call.example", i)}
	}
	items[12345] = map[string]any{"name": ""}
	if raw, err := json.Marshal(items); err != nil || len(raw) < rawitems.MinFrame {
		t.Fatalf("items of %d bytes (%v) would not be stashed", len(raw), err)
	}
	srv.send(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": map[string]any{
		"name": "bulk_create_customers", "arguments": map[string]any{"customers": items}}})
	res := srv.until(func(m map[string]any) bool { return m["id"] == float64(1) })
	result, _ := res["result"].(map[string]any)
	if result == nil || result["isError"] == true {
		t.Fatalf("the call failed: %v", res)
	}
	sc := result["structuredContent"].(map[string]any)
	sum := sc["summary"].(map[string]any)
	if sum["total"] != float64(n) || sum["succeeded"] != float64(n-1) || sum["failed"] != float64(1) {
		t.Errorf("summary %v", sum)
	}
	failures := sc["failures"].([]any)
	if f := failures[0].(map[string]any); f["index"] != float64(12345) {
		t.Errorf("failure %v, want item 12345", f)
	}
	if got := emu.Stats().Objects["Customer"]; got != n-1 {
		t.Errorf("%d customers at BILL, want %d", got, n-1)
	}
	text := result["content"].([]any)[0].(map[string]any)["text"].(string)
	if len(text) > 2000 {
		t.Errorf("answer text is %d bytes", len(text))
	}
	if log := srv.cmd.Stderr.(*lockedBuffer).String(); !strings.Contains(log, "bypassed mcp-go") {
		t.Errorf("the items went through mcp-go's decoding (no stash line in the log):\n%.2000s", log)
	}
}
