package credentials

import (
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/vault"
)

// TestRestartsShareOneLogin plays several server processes on one vault
// against the emulator: three starting at once, then five restarts one
// after another. Every one makes a call; BILL sees one login.
func TestRestartsShareOneLogin(t *testing.T) {
	emu := emulator.New(emulator.Config{})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)

	env := map[string]string{vault.EnvDir: filepath.Join(t.TempDir(), "v"), vault.EnvPassphrase: "pw", EnvBaseURL: srv.URL + "/api/v2"}
	getenv := func(k string) string { return env[k] }
	v, err := vault.Open(vault.Options{Getenv: getenv, ScryptWorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	id := emulator.DemoIdentity()
	p := vault.Profile{DevKey: secret.New(id.DevKey), UserName: secret.New(id.UserName), Password: secret.New(id.Password), OrgID: id.OrgID, Environment: vault.Sandbox}
	if err := v.SetProfile(t.Context(), DefaultProfile, p); err != nil {
		t.Fatal(err)
	}

	serve := func() error {
		res, err := Resolve(t.Context(), Options{Getenv: getenv})
		if err != nil {
			return err
		}
		c, err := billapi.New(billapi.Config{BaseURL: res.BaseURL, Credentials: res.Credentials, SessionStore: res.SessionStore})
		if err != nil {
			return err
		}
		_, err = c.ListCustomers(t.Context(), billapi.ListParams{Max: 1})
		return err
	}

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() { errs <- serve() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent start: %v", err)
		}
	}
	for i := range 5 {
		if err := serve(); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
	}
	if st := emu.Stats(); st.Logins != 1 || st.Requests != 9 {
		t.Errorf("emulator saw %d logins and %d requests; want 1 login and 8 calls after it", st.Logins, st.Requests)
	}

	// Changing a credential voids the cached session: the next start logs
	// in again. (The environment is part of the fingerprint; BILL_BASE_URL
	// keeps the emulator as the host.)
	err = v.EditProfile(t.Context(), DefaultProfile, func(p vault.Profile, _ bool) (vault.Profile, error) {
		p.Environment = vault.Production
		return p, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := serve(); err != nil {
			t.Fatalf("start %d after the change: %v", i, err)
		}
	}
	if st := emu.Stats(); st.Logins != 2 {
		t.Errorf("after changing the profile: %d logins, want 2", st.Logins)
	}
}
