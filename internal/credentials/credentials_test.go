package credentials

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/vault"
)

const (
	sentDevKey = "DEVKEY-SENTINEL-1"
	sentUser   = "user-sentinel@example.com"
	sentPass   = "PASS-SENTINEL-1"
)

type recorder struct {
	mu   sync.Mutex
	seen []secret.Secret
}

func (r *recorder) Add(s ...secret.Secret) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, s...)
}

func (r *recorder) has(v string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.seen {
		if s.Reveal() == v {
			return true
		}
	}
	return false
}

// newVault makes a vault with profiles "default" (sandbox) and "live" (production).
func newVault(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{vault.EnvDir: filepath.Join(t.TempDir(), "v"), vault.EnvPassphrase: "pw"}
	v, err := vault.Open(vault.Options{Getenv: func(k string) string { return env[k] }, ScryptWorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]vault.Environment{"default": vault.Sandbox, "live": vault.Production} {
		p := vault.Profile{DevKey: secret.New(sentDevKey + name), UserName: secret.New(sentUser), Password: secret.New(sentPass), OrgID: "00801" + name, Environment: e}
		if err := v.SetProfile(t.Context(), name, p); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestResolve(t *testing.T) {
	venv := newVault(t)
	fullEnv := map[string]string{EnvDevKey: sentDevKey, EnvUserName: sentUser, EnvPassword: sentPass, EnvOrgID: "00801ENV"}
	tests := []struct {
		name       string
		opts       Options
		env        map[string]string
		wantSource string
		wantOrg    string
		wantURL    string
		wantStore  bool
		wantErr    error
		errSays    []string
	}{
		{"default profile", Options{}, venv, "profile default", "00801default", billapi.SandboxBaseURL, true, nil, nil},
		{"--profile", Options{Profile: "live"}, venv, "profile live", "00801live", billapi.ProductionBaseURL, true, nil, nil},
		{"BILL_MCP_PROFILE", Options{}, with(venv, EnvProfile, "live"), "profile live", "00801live", billapi.ProductionBaseURL, true, nil, nil},
		{"--profile beats BILL_MCP_PROFILE", Options{Profile: "default"}, with(venv, EnvProfile, "live"), "profile default", "00801default", billapi.SandboxBaseURL, true, nil, nil},
		{"--base-url beats BILL_BASE_URL", Options{Profile: "live", BaseURL: "http://127.0.0.1:9/api/v2/"}, with(venv, EnvBaseURL, "http://other/api/v2"), "profile live", "00801live", "http://127.0.0.1:9/api/v2", true, nil, nil},
		{"BILL_BASE_URL", Options{}, with(venv, EnvBaseURL, "http://127.0.0.1:8809/api/v2"), "profile default", "00801default", "http://127.0.0.1:8809/api/v2", true, nil, nil},
		{"missing profile", Options{Profile: "x"}, venv, "", "", "", false, vault.ErrProfileNotFound, []string{`no profile "x" in vault at `, "create it with: bill-mcp vault set x"}},
		{"bad profile name", Options{Profile: "../x"}, venv, "", "", "", false, vault.ErrInvalidProfile, []string{"profile name"}},
		{"no vault", Options{}, map[string]string{vault.EnvDir: filepath.Join(t.TempDir(), "none"), vault.EnvPassphrase: "pw"}, "", "", "", false, vault.ErrNotInitialized, []string{"bill-mcp vault init"}},
		{"wrong passphrase", Options{}, with(venv, vault.EnvPassphrase, "bad"), "", "", "", false, vault.ErrWrongKey, nil},
		{"env, sandbox default", Options{Env: true}, fullEnv, "environment", "00801ENV", billapi.SandboxBaseURL, true, nil, nil},
		{"env, production", Options{Env: true}, with(fullEnv, EnvBILLEnv, "Production"), "environment", "00801ENV", billapi.ProductionBaseURL, true, nil, nil},
		{"env, bad BILL_ENV", Options{Env: true}, with(fullEnv, EnvBILLEnv, "prod"), "", "", "", false, nil, []string{"BILL_ENV", "sandbox or production"}},
		{"env, missing vars", Options{Env: true}, map[string]string{EnvDevKey: sentDevKey, EnvOrgID: "00801ENV"}, "", "", "", false, ErrMissingEnv, []string{"missing: BILL_USERNAME, BILL_PASSWORD"}},
		{"env, bad org", Options{Env: true}, with(fullEnv, EnvOrgID, "008 123"), "", "", "", false, vault.ErrInvalidProfile, []string{"orgId"}},
		{"env and profile", Options{Env: true, Profile: "live"}, fullEnv, "", "", "", false, nil, []string{"not both"}},
		{"bad base URL", Options{Env: true, BaseURL: "ftp://x"}, fullEnv, "", "", "", false, nil, []string{"--base-url", "http(s)"}},
		{"base URL with credentials", Options{Env: true}, with(fullEnv, EnvBaseURL, "https://u:p@h/api/v2"), "", "", "", false, nil, []string{EnvBaseURL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			o := tt.opts
			o.Getenv = func(k string) string { return tt.env[k] }
			o.Redactor = rec
			res, err := Resolve(t.Context(), o)
			if tt.errSays != nil || tt.wantErr != nil {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				for _, s := range tt.errSays {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("err %q does not say %q", err, s)
					}
				}
				if strings.Contains(err.Error(), "SENTINEL") || strings.Contains(err.Error(), "sentinel") {
					t.Errorf("error carries a credential: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != tt.wantSource || res.Credentials.OrgID != tt.wantOrg || res.BaseURL != tt.wantURL || (res.SessionStore != nil) != tt.wantStore {
				t.Errorf("got source %q org %q url %q store %v", res.Source, res.Credentials.OrgID, res.BaseURL, res.SessionStore != nil)
			}
			if !strings.HasPrefix(res.Credentials.DevKey.Reveal(), sentDevKey) || !res.Credentials.Password.Equal(secret.New(sentPass)) || !res.Credentials.UserName.Equal(secret.New(sentUser)) {
				t.Error("credentials not resolved")
			}
			if !rec.has(res.Credentials.DevKey.Reveal()) || !rec.has(sentPass) || !rec.has(sentUser) {
				t.Error("the redactor was not taught the credentials")
			}
		})
	}
}

func TestSessionStoreAdapter(t *testing.T) {
	venv := newVault(t)
	rec := &recorder{}
	res, err := Resolve(t.Context(), Options{Getenv: func(k string) string { return venv[k] }, Redactor: rec})
	if err != nil {
		t.Fatal(err)
	}
	store := res.SessionStore
	locker, ok := store.(billapi.LoginLocker)
	if !ok {
		t.Fatal("the vault session store is not a LoginLocker")
	}
	ctx := t.Context()
	if _, ok, err := store.Load(ctx); ok || err != nil {
		t.Fatalf("fresh: ok=%v err=%v", ok, err)
	}
	unlock, err := locker.LockLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := billapi.Session{ID: secret.New("SESSION-SENTINEL"), APIEndPoint: "http://127.0.0.1:1/api/v2", OrgID: "00801default", UsersID: "006U"}
	if err := store.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	unlock()
	if !rec.has("SESSION-SENTINEL") {
		t.Error("the redactor did not learn the saved session id")
	}
	// A second process resolving the same profile finds the session.
	rec2 := &recorder{}
	res2, err := Resolve(t.Context(), Options{Getenv: func(k string) string { return venv[k] }, Redactor: rec2})
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := res2.SessionStore.Load(ctx)
	if err != nil || !ok || !got.ID.Equal(want.ID) || got.APIEndPoint != want.APIEndPoint || got.OrgID != want.OrgID || got.UsersID != want.UsersID {
		t.Fatalf("Load = %+v ok=%v err=%v", got, ok, err)
	}
	if !rec2.has("SESSION-SENTINEL") {
		t.Error("the redactor did not learn the loaded session id")
	}
	if err := res2.SessionStore.Invalidate(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := store.Load(ctx); ok {
		t.Error("session still stored after Invalidate")
	}
	// The other profile has its own cache.
	res3, err := Resolve(t.Context(), Options{Profile: "live", Getenv: func(k string) string { return venv[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := res3.SessionStore.Load(ctx); ok {
		t.Error("profile live sees profile default's session")
	}
}

// TestMemoryStoreTeachesRedactor: with --credentials env the session lives
// in memory, and the log's redactor still learns every session id.
func TestMemoryStoreTeachesRedactor(t *testing.T) {
	rec := &recorder{}
	m := NewMemoryStore(rec)
	if _, ok, _ := m.Load(t.Context()); ok {
		t.Fatal("a new store holds a session")
	}
	first := billapi.Session{ID: secret.New("SENTINEL-session-one"), OrgID: "00801X"}
	if err := m.Save(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	if !rec.has("SENTINEL-session-one") {
		t.Error("the redactor did not learn the saved session id")
	}
	if got, ok, _ := m.Load(t.Context()); !ok || !got.ID.Equal(first.ID) {
		t.Fatal("Load did not return the saved session")
	}
	// Invalidating another session leaves this one; invalidating it forgets it.
	_ = m.Invalidate(t.Context(), billapi.Session{ID: secret.New("other")})
	if _, ok, _ := m.Load(t.Context()); !ok {
		t.Fatal("invalidating a different session dropped the stored one")
	}
	_ = m.Invalidate(t.Context(), first)
	if _, ok, _ := m.Load(t.Context()); ok {
		t.Fatal("the invalidated session is still stored")
	}
}

func TestIndexStoreIsInTheVaultAndKeyedByOrg(t *testing.T) {
	venv := newVault(t)
	get := func(env map[string]string) func(string) string { return func(k string) string { return env[k] } }
	sandbox, err := Resolve(t.Context(), Options{Getenv: get(venv)})
	if err != nil {
		t.Fatal(err)
	}
	live, err := Resolve(t.Context(), Options{Profile: "live", Getenv: get(venv)})
	if err != nil {
		t.Fatal(err)
	}
	if sandbox.IndexStore == nil || live.IndexStore == nil {
		t.Fatal("a vault profile has no index store")
	}
	if !strings.HasPrefix(sandbox.IndexStore.Path(), venv[vault.EnvDir]) {
		t.Errorf("index file %s is outside the vault directory %s", sandbox.IndexStore.Path(), venv[vault.EnvDir])
	}
	if sandbox.IndexStore.Path() == live.IndexStore.Path() || sandbox.IndexKey == live.IndexKey {
		t.Error("two orgs share one index")
	}
	if strings.Contains(sandbox.IndexStore.Path(), "00801default") {
		t.Errorf("index file name %s reveals the org", sandbox.IndexStore.Path())
	}
	env, err := Resolve(t.Context(), Options{Env: true, Getenv: get(map[string]string{
		EnvDevKey: "k", EnvUserName: "u", EnvPassword: "p", EnvOrgID: "00801ENVORG",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if env.IndexStore != nil || env.IndexKey == "" {
		t.Errorf("environment credentials: store %v, key %q; want memory only, with a key", env.IndexStore, env.IndexKey)
	}
}
