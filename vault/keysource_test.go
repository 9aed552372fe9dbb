package vault

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeySourceOrder(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pwFile := write("pw", "from-file\n")
	crlfFile := write("crlf", "from-file\r\n")
	emptyFile := write("empty", "\n")
	tests := []struct {
		name      string
		env       map[string]string
		keyringOK bool
		wantKind  KeyKind
		wantPass  string // passphrase that must open the vault Init made
		wantErr   error
		errSays   string
	}{
		{"file beats variable and keyring", map[string]string{EnvPassphraseFile: pwFile, EnvPassphrase: "from-env"}, true, KeyPassphraseFile, "from-file", nil, ""},
		{"file with CRLF", map[string]string{EnvPassphraseFile: crlfFile}, true, KeyPassphraseFile, "from-file", nil, ""},
		{"variable beats keyring", map[string]string{EnvPassphrase: "from-env"}, true, KeyPassphraseEnv, "from-env", nil, ""},
		{"keyring last", map[string]string{}, true, KeyKeyring, "", nil, ""},
		{"headless: nothing", map[string]string{}, false, KeyKeyring, "", ErrNoKey, "no OS keyring available on this machine (no D-Bus Secret Service); set BILL_MCP_VAULT_PASSPHRASE_FILE"},
		{"unreadable file is not skipped", map[string]string{EnvPassphraseFile: filepath.Join(tmp, "missing"), EnvPassphrase: "from-env"}, true, KeyNone, "", fs.ErrNotExist, EnvPassphraseFile},
		{"empty file", map[string]string{EnvPassphraseFile: emptyFile}, true, KeyNone, "", ErrNoKey, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr := &fakeKeyring{unavailable: !tt.keyringOK}
			dir := filepath.Join(t.TempDir(), "v")
			v, err := Open(Options{Dir: dir, Getenv: envFunc(tt.env), Keyring: kr, ScryptWorkFactor: testWorkFactor})
			if err != nil {
				t.Fatal(err)
			}
			src, srcErr := v.KeySource()
			if tt.wantKind != KeyNone && src.Kind != tt.wantKind {
				t.Errorf("kind = %v, want %v", src.Kind, tt.wantKind)
			}
			err = v.Init(t.Context())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errSays) {
					t.Fatalf("Init: err = %v, want %v saying %q", err, tt.wantErr, tt.errSays)
				}
				if srcErr == nil && tt.wantKind == KeyNone {
					t.Error("KeySource reported no error")
				}
				if ok, _ := v.Exists(); ok {
					t.Error("a vault file was written without a key")
				}
				return
			}
			if err != nil {
				t.Fatalf("Init: %v", err)
			}
			if err := v.SetProfile(t.Context(), "p", testProfile("p")); err != nil {
				t.Fatal(err)
			}
			if tt.wantKind == KeyKeyring {
				if len(kr.entries) != 1 || !strings.HasPrefix(kr.entries[KeyringService+"\x00"+v.Path()].Reveal(), "AGE-SECRET-KEY-1") {
					t.Fatal("the keyring does not hold the vault's age identity")
				}
				again, _ := Open(Options{Dir: dir, Getenv: envFunc(nil), Keyring: kr})
				if _, err := again.Profile(t.Context(), "p"); err != nil {
					t.Fatalf("reopen with the keyring: %v", err)
				}
				return
			}
			if _, err := openTest(t, dir, tt.wantPass).Profile(t.Context(), "p"); err != nil {
				t.Fatalf("the vault does not open with %q: %v", tt.wantPass, err)
			}
		})
	}
}

func TestKeyKindMismatch(t *testing.T) {
	t.Run("passphrase vault, keyring only", func(t *testing.T) {
		_, dir := newTestVault(t)
		kr := &fakeKeyring{}
		v, _ := Open(Options{Dir: dir, Getenv: envFunc(nil), Keyring: kr})
		_, err := v.Profiles(t.Context())
		if !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "locked with a passphrase") {
			t.Fatalf("err = %v", err)
		}
		if kr.gets != 0 {
			t.Error("the keyring was asked for a passphrase-locked vault")
		}
	})
	t.Run("keyring vault, passphrase set", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "v")
		kr := &fakeKeyring{}
		v, _ := Open(Options{Dir: dir, Getenv: envFunc(nil), Keyring: kr})
		if err := v.Init(t.Context()); err != nil {
			t.Fatal(err)
		}
		_, err := openTest(t, dir, "pw").Profiles(t.Context())
		if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "OS keyring") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("keyring lost its entry", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "v")
		v, _ := Open(Options{Dir: dir, Getenv: envFunc(nil), Keyring: &fakeKeyring{}})
		if err := v.Init(t.Context()); err != nil {
			t.Fatal(err)
		}
		other, _ := Open(Options{Dir: dir, Getenv: envFunc(nil), Keyring: &fakeKeyring{}})
		if _, err := other.Profiles(t.Context()); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "holds no key") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestOSKeyringHeadless(t *testing.T) {
	noBus := func(string) (os.FileInfo, error) { return nil, fs.ErrNotExist }
	tests := []struct {
		name    string
		goos    string
		env     map[string]string
		wantBus bool
	}{
		{"linux without bus", "linux", nil, false},
		{"linux with DBUS_SESSION_BUS_ADDRESS", "linux", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}, true},
		{"freebsd without bus", "freebsd", nil, false},
		{"darwin", "darwin", nil, true},
		{"windows", "windows", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &osKeyring{getenv: envFunc(tt.env), timeout: time.Second, stat: noBus, goos: tt.goos}
			if got := k.sessionBusAvailable(); got != tt.wantBus {
				t.Fatalf("sessionBusAvailable = %v, want %v", got, tt.wantBus)
			}
			if tt.wantBus {
				return
			}
			_, err := k.Get(t.Context(), KeyringService, "acct")
			if !errors.Is(err, ErrKeyringUnavailable) || !strings.Contains(err.Error(), "no OS keyring available on this machine (no D-Bus Secret Service); set "+EnvPassphraseFile) {
				t.Fatalf("Get: err = %v", err)
			}
		})
	}
}

func TestOSKeyringTimeout(t *testing.T) {
	k := &osKeyring{getenv: envFunc(nil), timeout: 20 * time.Millisecond, goos: "darwin"}
	release := make(chan struct{})
	defer close(release)
	_, err := k.call(t.Context(), func() (string, error) { <-release; return "", nil })
	if !errors.Is(err, ErrKeyringUnavailable) || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := k.call(ctx, func() (string, error) { <-release; return "", nil }); !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("cancelled: err = %v", err)
	}
}
