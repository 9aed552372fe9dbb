package vault

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/bill-mcp/bill-mcp/secret"
)

// testWorkFactor keeps scrypt cheap in tests; production keeps age's default.
const testWorkFactor = 10

// helperEnv switches the test binary into a helper process (see TestMain).
const helperEnv = "BILL_MCP_VAULT_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := runHelper(mode); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHelper is the child side of the multi-process tests.
func runHelper(mode string) error {
	ctx := context.Background()
	v, err := Open(Options{Dir: os.Getenv("HELPER_DIR"), Getenv: os.Getenv, ScryptWorkFactor: testWorkFactor, Keyring: &fakeKeyring{unavailable: true}})
	if err != nil {
		return err
	}
	switch mode {
	case "set":
		return v.SetProfile(ctx, os.Getenv("HELPER_PROFILE"), testProfile(os.Getenv("HELPER_PROFILE")))
	case "lock":
		c, err := v.SessionCache(os.Getenv("HELPER_PROFILE"))
		if err != nil {
			return err
		}
		unlock, err := c.LockLogin(ctx)
		if err != nil {
			return err
		}
		fmt.Println("locked")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // hold the lock until the parent says so
		unlock()
		return nil
	default:
		return fmt.Errorf("unknown helper mode %q", mode)
	}
}

// fakeKeyring is an in-memory Keyring that can play "no keyring here".
type fakeKeyring struct {
	mu          sync.Mutex
	unavailable bool
	entries     map[string]secret.Secret
	gets        int
}

func (k *fakeKeyring) Get(_ context.Context, service, account string) (secret.Secret, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gets++
	if k.unavailable {
		return secret.Secret{}, errNoSecretService
	}
	s, ok := k.entries[service+"\x00"+account]
	if !ok {
		return secret.Secret{}, ErrKeyringNotFound
	}
	return s, nil
}

func (k *fakeKeyring) Set(_ context.Context, service, account string, v secret.Secret) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.unavailable {
		return errNoSecretService
	}
	if k.entries == nil {
		k.entries = map[string]secret.Secret{}
	}
	k.entries[service+"\x00"+account] = v
	return nil
}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func testProfile(seed string) Profile {
	return Profile{
		DevKey:      secret.New("dev-key-" + seed),
		UserName:    secret.New(seed + "@example.com"),
		Password:    secret.New("pw-" + seed + "-\"quoted\" & spaced"),
		OrgID:       "00801" + strings.ToUpper(seed),
		Environment: Sandbox,
	}
}

// openTest opens a vault in dir with a passphrase (none when pass is "").
func openTest(t *testing.T, dir, pass string) *Vault {
	t.Helper()
	v, err := Open(Options{Dir: dir, Getenv: envFunc(map[string]string{EnvPassphrase: pass}), ScryptWorkFactor: testWorkFactor, Keyring: &fakeKeyring{unavailable: true}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newTestVault(t *testing.T) (*Vault, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	v := openTest(t, dir, "correct horse")
	if err := v.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	return v, dir
}

func sameProfile(a, b Profile) bool {
	return a.DevKey.Equal(b.DevKey) && a.UserName.Equal(b.UserName) && a.Password.Equal(b.Password) && a.OrgID == b.OrgID && a.Environment == b.Environment
}

func TestRoundTrip(t *testing.T) {
	v, dir := newTestVault(t)
	ctx := t.Context()
	want := map[string]Profile{"default": testProfile("a"), "prod.main": testProfile("b")}
	want["prod.main"] = Profile{DevKey: want["prod.main"].DevKey, UserName: want["prod.main"].UserName, Password: want["prod.main"].Password, OrgID: want["prod.main"].OrgID, Environment: Production}
	for name, p := range want {
		if err := v.SetProfile(ctx, name, p); err != nil {
			t.Fatalf("SetProfile(%s): %v", name, err)
		}
	}
	v2 := openTest(t, dir, "correct horse") // a fresh process's view
	got, err := v2.Profiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d profiles, want %d", len(got), len(want))
	}
	for name, p := range want {
		if !sameProfile(got[name], p) {
			t.Errorf("profile %s did not round-trip", name)
		}
	}
	if names, _ := v2.ProfileNames(ctx); strings.Join(names, ",") != "default,prod.main" {
		t.Errorf("ProfileNames = %v", names)
	}
	if err := v2.RemoveProfile(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Profile(ctx, "default"); !errors.Is(err, ErrProfileNotFound) {
		t.Errorf("after rm: err = %v, want ErrProfileNotFound", err)
	}
	if err := v.RemoveProfile(ctx, "default"); !errors.Is(err, ErrProfileNotFound) {
		t.Errorf("rm twice: err = %v, want ErrProfileNotFound", err)
	}
	// The file on disk holds no plaintext.
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"dev-key-b", "b@example.com", "00801B"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("vault file contains plaintext %q", s)
		}
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	v, dir := newTestVault(t)
	if err := v.SetProfile(t.Context(), "x", testProfile("x")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, FileName))
	err := openTest(t, dir, "other").Init(t.Context())
	if !errors.Is(err, ErrExists) {
		t.Fatalf("Init over an existing vault: err = %v, want ErrExists", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !bytes.Equal(before, after) {
		t.Error("Init changed an existing vault")
	}
}

func TestNotInitialized(t *testing.T) {
	v := openTest(t, filepath.Join(t.TempDir(), "none"), "p")
	for name, f := range map[string]func() error{
		"Profile":    func() error { _, err := v.Profile(t.Context(), "x"); return err },
		"SetProfile": func() error { return v.SetProfile(t.Context(), "x", testProfile("x")) },
	} {
		err := f()
		if !errors.Is(err, ErrNotInitialized) || !strings.Contains(err.Error(), "bill-mcp vault init") {
			t.Errorf("%s on a missing vault: err = %v", name, err)
		}
	}
}

func TestWrongPassphrase(t *testing.T) {
	v, dir := newTestVault(t)
	if err := v.SetProfile(t.Context(), "x", testProfile("x")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	before, _ := os.ReadFile(path)
	wrong := openTest(t, dir, "wrong horse")
	if _, err := wrong.Profile(t.Context(), "x"); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("read with wrong passphrase: err = %v", err)
	}
	if err := wrong.SetProfile(t.Context(), "y", testProfile("y")); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("write with wrong passphrase: err = %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a write with the wrong passphrase changed the vault")
	}
	if strings.Contains(fmt.Sprint(wrong), "horse") {
		t.Error("Vault prints its passphrase")
	}
}

func TestDamagedVault(t *testing.T) {
	v, dir := newTestVault(t)
	if err := v.SetProfile(t.Context(), "x", testProfile("x")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	good, _ := os.ReadFile(path)
	hdrEnd := bytes.Index(good, []byte("\n--- ")) + 1
	tests := []struct {
		name   string
		mangle func([]byte) []byte
		want   error
	}{
		{"truncated body", func(b []byte) []byte { return b[:len(b)-10] }, ErrDamaged},
		{"truncated to header", func(b []byte) []byte { return b[:hdrEnd+10] }, ErrDamaged},
		{"truncated in header", func(b []byte) []byte { return b[:hdrEnd/2] }, ErrDamaged},
		{"empty", func([]byte) []byte { return nil }, ErrDamaged},
		{"flipped payload byte", func(b []byte) []byte { b[len(b)-5] ^= 1; return b }, ErrDamaged},
		{"flipped header MAC", func(b []byte) []byte { b[hdrEnd+5] ^= 1; return b }, ErrDamaged},
		{"appended garbage", func(b []byte) []byte { return append(b, "junk"...) }, ErrDamaged},
		{"not age at all", func([]byte) []byte { return []byte(`{"version":1}`) }, ErrDamaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := tt.mangle(bytes.Clone(good))
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			v := openTest(t, dir, "correct horse")
			_, err := v.Profile(t.Context(), "x")
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("read: err = %v, want %v naming the file", err, tt.want)
			}
			if err := v.SetProfile(t.Context(), "y", testProfile("y")); !errors.Is(err, tt.want) {
				t.Fatalf("write: err = %v, want %v", err, tt.want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, bad) {
				t.Error("a failed write changed the damaged file")
			}
		})
	}
}

// TestStrictFormat encrypts hand-made plaintexts with the right key: each
// must be refused as damaged with a reason.
func TestStrictFormat(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	key := id.String()
	prof := `{"devKey":"k","userName":"u","password":"p","orgId":"00801X","environment":"sandbox"}`
	tests := []struct {
		name, plain, reason string
	}{
		{"unknown top field", `{"version":1,"sessionKey":"` + key + `","profiles":{},"extra":1}`, "unknown field"},
		{"unknown profile field", `{"version":1,"sessionKey":"` + key + `","profiles":{"a":{"devKey":"k","userName":"u","password":"p","orgId":"00801X","environment":"sandbox","x":1}}}`, "unknown field"},
		{"future version", `{"version":2,"sessionKey":"` + key + `","profiles":{}}`, "version 2"},
		{"no version", `{"sessionKey":"` + key + `","profiles":{}}`, "version 0"},
		{"no profiles", `{"version":1,"sessionKey":"` + key + `"}`, "no profiles"},
		{"bad session key", `{"version":1,"sessionKey":"nope","profiles":{}}`, "sessionKey"},
		{"bad environment", `{"version":1,"sessionKey":"` + key + `","profiles":{"a":` + strings.Replace(prof, "sandbox", "staging", 1) + `}}`, "environment"},
		{"bad orgId", `{"version":1,"sessionKey":"` + key + `","profiles":{"a":` + strings.Replace(prof, "00801X", "008 01X", 1) + `}}`, "orgId"},
		{"missing password", `{"version":1,"sessionKey":"` + key + `","profiles":{"a":` + strings.Replace(prof, `"password":"p",`, "", 1) + `}}`, "password is required"},
		{"bad profile name", `{"version":1,"sessionKey":"` + key + `","profiles":{"../x":` + prof + `}}`, "profile name"},
		{"trailing data", `{"version":1,"sessionKey":"` + key + `","profiles":{}} {}`, "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "v")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			r, err := age.NewScryptRecipient("pw")
			if err != nil {
				t.Fatal(err)
			}
			r.SetWorkFactor(testWorkFactor)
			enc, err := encrypt([]byte(tt.plain), r)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, FileName), enc, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = openTest(t, dir, "pw").Profiles(t.Context())
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err = %v, want ErrDamaged mentioning %q", err, tt.reason)
			}
		})
	}
}

func TestSetProfileValidation(t *testing.T) {
	v, _ := newTestVault(t)
	good := testProfile("v")
	tests := []struct {
		name, profile string
		edit          func(*Profile)
		want          []string
	}{
		{"bad name", "a/b", func(*Profile) {}, []string{"profile name"}},
		{"empty name", "", func(*Profile) {}, []string{"profile name"}},
		{"missing devKey and password", "p", func(p *Profile) { p.DevKey, p.Password = secret.Secret{}, secret.Secret{} }, []string{"devKey is required", "password is required"}},
		{"orgId with a space", "p", func(p *Profile) { p.OrgID = "00801 ABC" }, []string{`orgId "00801 ABC" has a space`}},
		{"environment", "p", func(p *Profile) { p.Environment = "prod" }, []string{`environment "prod"`}},
		{"newline in password", "p", func(p *Profile) { p.Password = secret.New("pw\n") }, []string{"password has leading/trailing spaces or a line break"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			tt.edit(&p)
			err := v.SetProfile(t.Context(), tt.profile, p)
			if !errors.Is(err, ErrInvalidProfile) {
				t.Fatalf("err = %v, want ErrInvalidProfile", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "pw\n") || strings.Contains(err.Error(), good.DevKey.Reveal()) {
				t.Error("validation error carries a secret")
			}
		})
	}
	if names, err := v.ProfileNames(t.Context()); err != nil || len(names) != 0 {
		t.Errorf("invalid profiles were stored: %v %v", names, err)
	}
}

func TestEditProfileKeepsOtherFields(t *testing.T) {
	v, _ := newTestVault(t)
	ctx := t.Context()
	if err := v.SetProfile(ctx, "p", testProfile("p")); err != nil {
		t.Fatal(err)
	}
	err := v.EditProfile(ctx, "p", func(cur Profile, exists bool) (Profile, error) {
		if !exists {
			return cur, errors.New("expected an existing profile")
		}
		cur.Password = secret.New("rotated")
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := v.Profile(ctx, "p")
	want := testProfile("p")
	want.Password = secret.New("rotated")
	if !sameProfile(got, want) {
		t.Error("EditProfile did not keep the other fields")
	}
	sentinel := errors.New("abort")
	if err := v.EditProfile(ctx, "p", func(Profile, bool) (Profile, error) { return Profile{}, sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("edit error not returned: %v", err)
	}
	if got, _ := v.Profile(ctx, "p"); !sameProfile(got, want) {
		t.Error("an aborted edit changed the profile")
	}
}

func TestConcurrentSetFromProcesses(t *testing.T) {
	_, dir := newTestVault(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=set", "HELPER_DIR="+dir, "HELPER_PROFILE="+fmt.Sprintf("p%d", i), EnvPassphrase+"=correct horse")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("process %d: %w: %s", i, err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got, err := openTest(t, dir, "correct horse").Profiles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		if !sameProfile(got[name], testProfile(name)) {
			t.Errorf("profile %s missing or wrong after concurrent sets", name)
		}
	}
	if len(got) != n {
		t.Errorf("got %d profiles, want %d", len(got), n)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestHTTPToken(t *testing.T) {
	v, dir := newTestVault(t)
	ctx := t.Context()
	if _, ok, err := v.HTTPToken(ctx); err != nil || ok {
		t.Fatalf("fresh vault: ok=%v err=%v", ok, err)
	}
	if err := v.SetHTTPToken(ctx, secret.New("short")); err == nil {
		t.Error("a 5-character token was accepted")
	}
	tok := secret.New("0123456789abcdef0123")
	if err := v.SetHTTPToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, ok, err := openTest(t, dir, "correct horse").HTTPToken(ctx)
	if err != nil || !ok || !got.Equal(tok) {
		t.Fatalf("HTTPToken = ok %v, err %v, equal %v", ok, err, got.Equal(tok))
	}
}

func TestLockHonoursContext(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockFile(t.Context(), filepath.Join(dir, "l"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, filepath.Join(dir, "l")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock: err = %v, want DeadlineExceeded", err)
	}
	unlock()
	unlock() // idempotent
	u2, err := lockFile(t.Context(), filepath.Join(dir, "l"))
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	u2()
}

// allocated reports the bytes f allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestUnchangedFileIsNotDecryptedAgain: a passphrase costs an scrypt
// (here 16 MB; by default a second and 256 MB) per decryption. A Vault
// decrypts its file once while the file is unchanged, however many reads
// follow; a change by another process is read.
func TestUnchangedFileIsNotDecryptedAgain(t *testing.T) {
	const factor, scryptBytes = 14, 16 << 20 // 128 * r(8) * N(2^14)
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "vault")
	open := func() *Vault {
		v, err := Open(Options{Dir: dir, Getenv: envFunc(map[string]string{EnvPassphrase: "correct horse"}), ScryptWorkFactor: factor, Keyring: &fakeKeyring{unavailable: true}})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	writer := open()
	if err := writer.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := writer.SetProfile(ctx, "a", testProfile("a")); err != nil {
		t.Fatal(err)
	}
	reader := open()
	read := func() {
		if _, err := reader.Profile(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := reader.AgentNames(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := reader.HTTPToken(ctx); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		before  func()
		decrypt bool
	}{
		{"first reads", func() {}, true},
		{"reads of the unchanged file", func() {}, false},
		{"reads after another process changed it", func() {
			if err := writer.SetProfile(ctx, "a", testProfile("a2")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"reads after that", func() {}, false},
	}
	for _, st := range steps {
		st.before()
		n := allocated(read)
		t.Logf("%s: %d KB allocated", st.name, n>>10)
		switch {
		case st.decrypt && n < scryptBytes:
			t.Errorf("%s: %d bytes allocated, want an scrypt (%d): the file was not decrypted", st.name, n, scryptBytes)
		case !st.decrypt && n >= scryptBytes/4:
			t.Errorf("%s: %d bytes allocated: the unchanged file was decrypted again", st.name, n)
		}
	}
	p, err := reader.Profile(ctx, "a")
	if err != nil || !sameProfile(p, testProfile("a2")) {
		t.Fatalf("reader sees %+v, %v; want the changed profile", p, err)
	}
}
