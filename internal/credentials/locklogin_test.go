package credentials

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/vault"
)

// A login lock held by a hung process fails the call with a *billapi.Error
// that says so, after a bounded wait, instead of waiting forever.
func TestLockLoginHeldTooLong(t *testing.T) {
	env := newVault(t)
	open := func() *vault.SessionCache {
		v, err := vault.Open(vault.Options{Getenv: func(k string) string { return env[k] }})
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.SessionCache("default")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	hung := open()
	unlock, err := hung.LockLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	c := open()
	c.SetLoginLockWait(50 * time.Millisecond)
	_, err = NewSessionStore(c, nil).LockLogin(t.Context())
	var be *billapi.Error
	if !errors.As(err, &be) || be.Code != CodeLoginLockTimeout || !strings.Contains(be.Message, "probably hung") || !errors.Is(err, vault.ErrLoginLockTimeout) {
		t.Errorf("LockLogin = %v", err)
	}
}
