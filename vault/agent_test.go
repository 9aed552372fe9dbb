package vault

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/secret"
)

func TestAgentsRoundTrip(t *testing.T) {
	v, dir := newTestVault(t)
	ctx := t.Context()
	tok := secret.New("agent-token-SENTINEL-0123456789")
	before, err := v.State()
	if err != nil {
		t.Fatal(err)
	}
	err = v.EditAgent(ctx, "sales-bot", func(cur Agent, exists bool) (Agent, error) {
		if exists {
			t.Error("new agent reported as existing")
		}
		return Agent{Grants: map[string]string{"customers": "read"}, Confirm: "destructive", Enabled: true, TokenHash: HashToken(tok), Created: time.Now()}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after, err := v.State()
	if err != nil {
		t.Fatal(err)
	}
	if before.Same(after) {
		t.Error("State did not change after a write")
	}
	raw, err := os.ReadFile(v.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "sales-bot") || strings.Contains(string(raw), HashToken(tok)) {
		t.Error("agent stored in clear")
	}
	// another process sees it
	a, err := openTest(t, dir, "correct horse").Agent(ctx, "sales-bot")
	if err != nil {
		t.Fatal(err)
	}
	if a.Grants["customers"] != "read" || a.Confirm != "destructive" || !a.Enabled || !a.MatchesToken(tok) || a.MatchesToken(secret.New("other")) {
		t.Errorf("agent = %+v", a)
	}
	// a second agent may not reuse the token
	err = v.EditAgent(ctx, "copy", func(Agent, bool) (Agent, error) { return Agent{TokenHash: HashToken(tok)}, nil })
	if !errors.Is(err, ErrInvalidAgent) {
		t.Errorf("duplicate token: %v", err)
	}
	if err := v.EditAgent(ctx, "bad name!", func(Agent, bool) (Agent, error) { return Agent{}, nil }); !errors.Is(err, ErrInvalidAgent) {
		t.Errorf("bad name: %v", err)
	}
	if err := v.EditAgent(ctx, "nohash", func(Agent, bool) (Agent, error) { return Agent{}, nil }); !errors.Is(err, ErrInvalidAgent) {
		t.Errorf("no token hash: %v", err)
	}
	if err := v.RemoveAgent(ctx, "sales-bot"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Agent(ctx, "sales-bot"); !errors.Is(err, ErrAgentNotFound) {
		t.Errorf("after rm: %v", err)
	}
	if err := v.RemoveAgent(ctx, "sales-bot"); !errors.Is(err, ErrAgentNotFound) {
		t.Errorf("second rm: %v", err)
	}
}

func TestSealer(t *testing.T) {
	v, dir := newTestVault(t)
	s, err := v.Sealer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal([]byte("account 123456789012 SENTINEL"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "SENTINEL") {
		t.Error("sealed text in clear")
	}
	s2, err := openTest(t, dir, "correct horse").Sealer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := s2.Open(sealed); err != nil || string(plain) != "account 123456789012 SENTINEL" {
		t.Errorf("Open = %q, %v", plain, err)
	}
	other, _ := newTestVault(t)
	s3, err := other.Sealer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Open(sealed); !errors.Is(err, ErrDamaged) {
		t.Errorf("another vault opened it: %v", err)
	}
}

func TestLockLoginWaitIsBounded(t *testing.T) {
	_, c, dir := newTestCache(t)
	unlock, err := c.LockLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	c2, err := openTest(t, dir, "correct horse").SessionCache("p")
	if err != nil {
		t.Fatal(err)
	}
	c2.SetLoginLockWait(100 * time.Millisecond)
	if _, err := c2.LockLogin(t.Context()); !errors.Is(err, ErrLoginLockTimeout) || !strings.Contains(err.Error(), "probably hung") {
		t.Errorf("LockLogin on a held lock: %v", err)
	}
}
