package vault

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/bill-mcp/bill-mcp/secret"
)

// BenchmarkOpenProfile is what a server start pays to read its profile:
// one scrypt derivation at the vault's work factor (age's default is 18).
func BenchmarkOpenProfile(b *testing.B) {
	for _, wf := range []int{testWorkFactor, 18} {
		b.Run("logN="+strconv.Itoa(wf), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "v")
			v, err := Open(Options{Dir: dir, Getenv: envFunc(map[string]string{EnvPassphrase: "pw"}), ScryptWorkFactor: wf, Keyring: &fakeKeyring{unavailable: true}})
			if err != nil {
				b.Fatal(err)
			}
			if err := v.Init(b.Context()); err != nil {
				b.Fatal(err)
			}
			if err := v.SetProfile(b.Context(), "p", testProfile("p")); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				fresh, _ := Open(Options{Dir: dir, Getenv: envFunc(map[string]string{EnvPassphrase: "pw"}), Keyring: &fakeKeyring{unavailable: true}})
				if _, err := fresh.Profile(b.Context(), "p"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSessionCache shows the cache costs no scrypt: it is encrypted
// to an X25519 key kept inside the vault.
func BenchmarkSessionCache(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "v")
	v, err := Open(Options{Dir: dir, Getenv: envFunc(map[string]string{EnvPassphrase: "pw"}), ScryptWorkFactor: testWorkFactor, Keyring: &fakeKeyring{unavailable: true}})
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Init(b.Context()); err != nil {
		b.Fatal(err)
	}
	if err := v.SetProfile(b.Context(), "p", testProfile("p")); err != nil {
		b.Fatal(err)
	}
	c, err := v.SessionCache("p")
	if err != nil {
		b.Fatal(err)
	}
	s := CachedSession{ID: secret.New("session-id-0123456789"), APIEndPoint: "https://api-stage.bill.com/api/v2", OrgID: "00801P", UsersID: "006U"}
	b.Run("Save", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Save(b.Context(), s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := c.Load(b.Context()); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}
