//go:build unix

package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/secret"
)

func TestPermissions(t *testing.T) {
	v, dir := newTestVault(t)
	if err := v.SetProfile(t.Context(), "p", testProfile("p")); err != nil {
		t.Fatal(err)
	}
	c, err := v.SessionCache("p")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(t.Context(), CachedSession{ID: secret.New("s")}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		dir:                                   0o700,
		filepath.Join(dir, FileName):          0o600,
		filepath.Join(dir, lockName):          0o600,
		filepath.Join(dir, sessionsDir):       0o700,
		c.Path():                              0o600,
		filepath.Join(dir, "sessions/p.lock"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
	}

	file := filepath.Join(dir, FileName)
	tests := []struct {
		name       string
		path       string
		mode, back os.FileMode
		says       string
	}{
		{"world-readable file", file, 0o644, 0o600, "chmod 600 " + file},
		{"group-readable file", file, 0o640, 0o600, "chmod 600 " + file},
		{"open directory", dir, 0o755, 0o700, "chmod 700 " + dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.Chmod(tt.path, tt.mode); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(tt.path, tt.back)
			before, _ := os.ReadFile(file)
			v := openTest(t, dir, "correct horse")
			if _, err := v.Profiles(t.Context()); !errors.Is(err, ErrInsecurePermissions) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("read: err = %v, want ErrInsecurePermissions saying %q", err, tt.says)
			}
			if err := v.SetProfile(t.Context(), "q", testProfile("q")); !errors.Is(err, ErrInsecurePermissions) {
				t.Fatalf("write: err = %v", err)
			}
			if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
				t.Error("the vault changed despite the refusal")
			}
		})
	}
	t.Run("init into an open directory", func(t *testing.T) {
		open := filepath.Join(t.TempDir(), "open")
		if err := os.Mkdir(open, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(open, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := openTest(t, open, "p").Init(t.Context()); !errors.Is(err, ErrInsecurePermissions) {
			t.Fatalf("err = %v", err)
		}
	})
}
