package vault

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealedFile(t *testing.T) {
	v, dir := newTestVault(t)
	ctx := t.Context()
	f, err := v.SealedFile("production|00801ORG")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.Load(ctx); err != nil || ok {
		t.Fatalf("new file: ok=%v err=%v", ok, err)
	}
	plain := []byte(`{"email":"SENTINEL-billing@globex.com"}`)
	if err := f.Save(ctx, plain); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "SENTINEL") {
		t.Error("sealed file holds its content in plaintext")
	}
	if strings.Contains(f.Path(), "00801ORG") {
		t.Errorf("file name %s reveals the key", f.Path())
	}
	if fi, _ := os.Stat(f.Path()); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// Another process opening the same vault reads it; another key does not.
	v2 := openTest(t, dir, "correct horse")
	tests := []struct {
		key    string
		wantOK bool
	}{
		{"production|00801ORG", true},
		{"sandbox|00801ORG", false},
	}
	for _, tt := range tests {
		g, err := v2.SealedFile(tt.key)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := g.Load(ctx)
		if err != nil || ok != tt.wantOK {
			t.Fatalf("%s: ok=%v err=%v, want ok=%v", tt.key, ok, err, tt.wantOK)
		}
		if ok && string(got) != string(plain) {
			t.Errorf("%s: got %q", tt.key, got)
		}
	}
	// A damaged file reads as absent, and Save replaces it.
	if err := os.WriteFile(f.Path(), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.Load(ctx); err != nil || ok {
		t.Fatalf("damaged file: ok=%v err=%v", ok, err)
	}
	if filepath.Dir(f.Path()) != filepath.Join(dir, cacheDir) {
		t.Errorf("file %s is not in %s", f.Path(), filepath.Join(dir, cacheDir))
	}
	if _, err := v.SealedFile(""); err == nil {
		t.Error("an empty key was accepted")
	}
}
