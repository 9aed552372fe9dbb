package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// vaultCmd runs `bill-mcp vault ARGS` as a child with stdin.
func vaultCmd(t testing.TB, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"vault"}, args...)...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bill-mcp vault %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// demoVault makes the vault env names and in it the profile "acme" holding
// the emulator's demo identity.
func demoVault(t testing.TB, env []string) {
	t.Helper()
	id := emulator.DemoIdentity()
	vaultCmd(t, env, "", "init")
	vaultCmd(t, env, "devKey="+id.DevKey+"\nuserName="+id.UserName+"\npassword="+id.Password+
		"\norgId="+id.OrgID+"\nenvironment=sandbox\n", "set", "acme")
}

// TestRestartsShareOneLogin: five server starts on one vault profile cause
// one Login at BILL (the emulator's count); the cached session is reused.
// Then a changed credential voids the cached session: the next start must
// log in again rather than reuse it.
func TestRestartsShareOneLogin(t *testing.T) {
	id := emulator.DemoIdentity()
	emu := startRecordingEmulator(t, emulator.Config{Identity: id})
	env := serverEnv("BILL_MCP_VAULT_DIR="+t.TempDir()+"/vault", "BILL_MCP_VAULT_PASSPHRASE=restart-test-passphrase")

	demoVault(t, env)

	for i := range 5 {
		s := startStdioServer(t, env, "--profile", "acme", "--base-url", emu.URL)
		sc, isErr, raw := callTool(t, s.Client, "list_customers", map[string]any{"max": 1})
		if isErr || sc == nil {
			t.Fatalf("start %d: list_customers failed: %s\nstderr:\n%s", i+1, raw, s.Stderr.String())
		}
		_ = s.Client.Close()
	}
	if got := emu.Stats().Logins; got != 1 {
		t.Fatalf("five restarts caused %d logins, want 1", got)
	}

	// Change one credential (a wrong password): the cached session, bound to
	// the old credentials, must not be used; the server logs in and BILL says no.
	vaultCmd(t, env, "password=not-the-password\n", "set", "acme")
	s := startStdioServer(t, env, "--profile", "acme", "--base-url", emu.URL)
	_, isErr, raw := callTool(t, s.Client, "list_customers", map[string]any{"max": 1})
	if !isErr || !strings.Contains(raw, "BDC_1101") {
		t.Fatalf("after a credential change the cached session was reused (want a fresh login failing with BDC_1101), got %s", raw)
	}
	if got := emu.Stats().Logins; got != 2 {
		t.Fatalf("logins after the credential change: %d, want 2", got)
	}
}
