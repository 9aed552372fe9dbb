package vault

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/secret"
)

func newTestCache(t *testing.T) (*Vault, *SessionCache, string) {
	t.Helper()
	v, dir := newTestVault(t)
	if err := v.SetProfile(t.Context(), "p", testProfile("p")); err != nil {
		t.Fatal(err)
	}
	c, err := v.SessionCache("p")
	if err != nil {
		t.Fatal(err)
	}
	return v, c, dir
}

func TestSessionCacheRoundTrip(t *testing.T) {
	_, c, dir := newTestCache(t)
	ctx := t.Context()
	if _, ok, err := c.Load(ctx); err != nil || ok {
		t.Fatalf("empty cache: ok=%v err=%v", ok, err)
	}
	want := CachedSession{ID: secret.New("sess-SENTINEL-1"), APIEndPoint: "https://api-stage.bill.com/api/v2", OrgID: "00801P", UsersID: "006U1"}
	if err := c.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(c.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "SENTINEL") {
		t.Error("session cache holds the sessionId in plaintext")
	}
	if fi, _ := os.Stat(c.Path()); fi.Mode().Perm() != 0o600 {
		t.Errorf("session cache mode %v, want 0600", fi.Mode().Perm())
	}
	// Another process opening the same vault sees it.
	c2, err := openTest(t, dir, "correct horse").SessionCache("p")
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := c2.Load(ctx)
	if err != nil || !ok {
		t.Fatalf("Load: ok=%v err=%v", ok, err)
	}
	if !got.ID.Equal(want.ID) || got.APIEndPoint != want.APIEndPoint || got.OrgID != want.OrgID || got.UsersID != want.UsersID {
		t.Errorf("Load = %+v, want %+v", got, want)
	}
	if err := c.Save(ctx, CachedSession{}); err == nil {
		t.Error("saving a session without an id succeeded")
	}
}

func TestSessionCacheInvalidate(t *testing.T) {
	_, c, _ := newTestCache(t)
	ctx := t.Context()
	old := CachedSession{ID: secret.New("old")}
	newer := CachedSession{ID: secret.New("newer")}
	if err := c.Save(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if err := c.Invalidate(ctx, old); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := c.Load(ctx); !ok || !got.ID.Equal(newer.ID) {
		t.Fatal("invalidating a stale session removed the newer one")
	}
	if err := c.Invalidate(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Load(ctx); ok {
		t.Fatal("session still cached after Invalidate")
	}
	if err := c.Invalidate(ctx, newer); err != nil {
		t.Fatalf("invalidate with nothing cached: %v", err)
	}
}

// TestChangedCredentialVoidsSession changes each credential field in turn.
func TestChangedCredentialVoidsSession(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Profile)
	}{
		{"devKey", func(p *Profile) { p.DevKey = secret.New("other-dev-key") }},
		{"userName", func(p *Profile) { p.UserName = secret.New("other@example.com") }},
		{"password", func(p *Profile) { p.Password = secret.New("other-password") }},
		{"orgId", func(p *Profile) { p.OrgID = "00801OTHER" }},
		{"environment", func(p *Profile) { p.Environment = Production }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, c, dir := newTestCache(t)
			ctx := t.Context()
			if err := c.Save(ctx, CachedSession{ID: secret.New("s1")}); err != nil {
				t.Fatal(err)
			}
			err := v.EditProfile(ctx, "p", func(p Profile, _ bool) (Profile, error) { tt.edit(&p); return p, nil })
			if err != nil {
				t.Fatal(err)
			}
			c2, err := openTest(t, dir, "correct horse").SessionCache("p")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := c2.Load(ctx); ok || err != nil {
				t.Fatalf("after changing %s: ok=%v err=%v, want a void session", tt.name, ok, err)
			}
			// Unchanged credentials still see it: the fingerprint is what voids it.
			if _, ok, _ := c.Load(ctx); !ok {
				t.Error("the cache bound to the old credentials lost its session")
			}
		})
	}
}

func TestSessionCacheDamagedIsAHint(t *testing.T) {
	_, c, _ := newTestCache(t)
	ctx := t.Context()
	if err := c.Save(ctx, CachedSession{ID: secret.New("s")}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.Path(), []byte("age-encryption.org/v1\ngarbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Load(ctx); ok || err != nil {
		t.Fatalf("damaged cache: ok=%v err=%v, want no session and no error", ok, err)
	}
	if err := c.Save(ctx, CachedSession{ID: secret.New("s2")}); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := c.Load(ctx); !ok || !got.ID.Equal(secret.New("s2")) {
		t.Error("Save did not replace a damaged cache")
	}
}

func TestSessionCacheUnknownProfile(t *testing.T) {
	v, _ := newTestVault(t)
	if _, err := v.SessionCache("nope"); !errors.Is(err, ErrProfileNotFound) {
		t.Errorf("err = %v, want ErrProfileNotFound", err)
	}
	if _, err := v.SessionCache("../etc"); !errors.Is(err, ErrInvalidProfile) {
		t.Errorf("err = %v, want ErrInvalidProfile", err)
	}
}

func TestLockLoginExcludesGoroutine(t *testing.T) {
	_, c, _ := newTestCache(t)
	unlock, err := c.LockLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := c.LockLogin(t.Context())
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second LockLogin returned (%v) while the first held the lock", err)
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("second LockLogin after unlock: %v", err)
	}
}

func TestLockLoginExcludesProcess(t *testing.T) {
	_, c, dir := newTestCache(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=lock", "HELPER_DIR="+dir, "HELPER_PROFILE=p", EnvPassphrase+"=correct horse")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper did not lock: %q %v", line, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	if _, err := c.LockLogin(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockLogin while another process holds it: err = %v, want DeadlineExceeded", err)
	}
	_, _ = io.WriteString(stdin, "\n")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	unlock, err := c.LockLogin(t.Context())
	if err != nil {
		t.Fatalf("LockLogin after the other process let go: %v", err)
	}
	unlock()
	if _, err := os.Stat(filepath.Join(dir, sessionsDir, "p.login.lock")); err != nil {
		t.Errorf("login lock file: %v", err)
	}
}
