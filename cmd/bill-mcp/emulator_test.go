package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestEmulatorCommandUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"unknown flag", []string{"--nope"}, "nope"},
		{"stray argument", []string{"extra"}, `unexpected argument "extra"`},
		{"negative latency", []string{"--latency", "-1s"}, "--latency"},
		{"zero session idle", []string{"--session-idle", "0s"}, "--session-idle"},
		{"zero hourly limit", []string{"--hourly-limit", "0"}, "--hourly-limit"},
		{"bad faults", []string{"--faults", "p=2"}, "--faults"},
		{"empty dev key", []string{"--dev-key", " "}, "--dev-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb lockedBuffer
			err := runEmulator(t.Context(), tt.args, stdio{Out: &out, Err: &errb, Getenv: func(string) string { return "" }})
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("err = %v, want a usage error mentioning %q", err, tt.says)
			}
		})
	}
}

// TestEmulatorCommandServes starts `bill-mcp emulator` with a password
// file, logs in with that password at the printed base URL, reads the stats
// endpoint, and checks that the password itself was never printed.
func TestEmulatorCommandServes(t *testing.T) {
	const password = "file-password-XYZ-123"
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runEmulator(ctx, []string{"--addr", "127.0.0.1:0", "--password-file", pwFile, "--org-id", "00801TEST0000000001X", "--user", "u@example.com"},
			stdio{Out: &out, Err: &out, Getenv: func(string) string { return "" }})
	}()
	re := regexp.MustCompile(`base URL:\s+(\S+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && base == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no base URL printed:\n%s", out.String())
	}
	resp, err := http.PostForm(base+"/Login.json", url.Values{"userName": {"u@example.com"}, "password": {password},
		"orgId": {"00801TEST0000000001X"}, "devKey": {"demo-dev-key"}})
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Status int `json:"response_status"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if env.Status != 0 {
		t.Errorf("login with the password from --password-file failed (status %d)", env.Status)
	}
	stats, err := http.Get(strings.TrimSuffix(base, "/api/v2") + "/__emulator/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Logins int `json:"logins"`
	}
	_ = json.NewDecoder(stats.Body).Decode(&st)
	stats.Body.Close()
	if st.Logins != 1 {
		t.Errorf("stats logins = %d, want 1", st.Logins)
	}
	if strings.Contains(out.String(), password) {
		t.Errorf("the password from the file was printed:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("emulator returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop after its context was cancelled")
	}
}
