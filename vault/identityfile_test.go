package vault

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestIdentityFileKeySource: init creates a private key file and locks the
// vault to it; a fresh Vault opens it with the file alone; a loose mode, a
// missing file and another key are refused with the fix; a passphrase
// vault is not opened by an identity file.
func TestIdentityFileKeySource(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v")
	key := filepath.Join(t.TempDir(), "keys", "vault.key")
	open := func(keyPath string) *Vault {
		v, err := Open(Options{Dir: dir, Getenv: envFunc(map[string]string{EnvIdentityFile: keyPath}), Keyring: &fakeKeyring{unavailable: true}})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := open(key)
	if src, err := v.KeySource(); err != nil || src.Kind != KeyIdentityFile || src.Detail != key {
		t.Fatalf("key source = %v, %v", src, err)
	}
	if err := v.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(key)
	if err != nil {
		t.Fatalf("init made no key file: %v", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(key)
	if !strings.Contains(string(raw), "AGE-SECRET-KEY-1") {
		t.Errorf("key file is not an age identity file")
	}
	vaultRaw, _ := os.ReadFile(filepath.Join(dir, FileName))
	if strings.Contains(string(vaultRaw), "scrypt") {
		t.Errorf("vault locked with scrypt, want X25519")
	}
	if err := v.SetProfile(t.Context(), "p", testProfile("p")); err != nil {
		t.Fatal(err)
	}
	fresh := open(key)
	p, err := fresh.Profile(t.Context(), "p")
	if err != nil || p.OrgID != testProfile("p").OrgID {
		t.Fatalf("reopen with the key file: %v %v", p.OrgID, err)
	}
	cache, err := fresh.SessionCache("p")
	if err != nil || cache == nil {
		t.Fatalf("session cache: %v", err)
	}

	cases := []struct {
		name  string
		setup func(t *testing.T) string
		want  error
	}{
		{"missing file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none.key") }, ErrNoKey},
		{"readable by others", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "loose.key")
			if err := os.WriteFile(p, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, ErrInsecurePermissions},
		{"another key", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "other.key")
			if _, err := loadOrCreateIdentity(p); err != nil {
				t.Fatal(err)
			}
			return p
		}, ErrWrongKey},
		{"not a key", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "junk.key")
			if err := os.WriteFile(p, []byte("hello\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, ErrNoKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == ErrInsecurePermissions && runtime.GOOS == "windows" {
				return
			}
			_, err := open(tc.setup(t)).Profile(t.Context(), "p")
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), EnvIdentityFile) {
				t.Errorf("err = %v, want %v naming %s", err, tc.want, EnvIdentityFile)
			}
		})
	}

	// A passphrase vault is not opened with an identity file, and says how.
	pdir := filepath.Join(t.TempDir(), "pv")
	pv, err := Open(Options{Dir: pdir, Getenv: envFunc(map[string]string{EnvPassphrase: "pw"}), ScryptWorkFactor: testWorkFactor, Keyring: &fakeKeyring{unavailable: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pv.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	withKey, _ := Open(Options{Dir: pdir, Getenv: envFunc(map[string]string{EnvIdentityFile: key}), Keyring: &fakeKeyring{unavailable: true}})
	if _, err := withKey.ProfileNames(t.Context()); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), EnvPassphraseFile) {
		t.Errorf("passphrase vault with an identity file: %v", err)
	}
}
