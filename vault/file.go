package vault

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"filippo.io/age"
)

// checkPerms refuses a vault directory or file that other users can
// access. The vault is encrypted, so loose permissions are not a leak by
// themselves, but they mean something (a restore, a sync tool, a volume
// mount) changed them; rather than silently chmod-ing, the error says
// exactly what to run. Windows has no mode bits to check.
func checkPerms(path string, isDir bool) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if isDir && !fi.IsDir() {
		return fmt.Errorf("vault directory %s is not a directory", path)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&groupOtherBit != 0 {
		want, cmd := os.FileMode(filePerm), "chmod 600"
		what := "vault file"
		if isDir {
			want, cmd, what = dirPerm, "chmod 700", "vault directory"
		}
		return fmt.Errorf("%s %s has mode %04o; it must be private to you (%04o): run `%s %s`: %w", what, path, perm, want, cmd, path, ErrInsecurePermissions)
	}
	return nil
}

// atomicWrite replaces path with data: temporary file in dir, fsync,
// rename, fsync of dir. On failure the old file is untouched.
func atomicWrite(dir, path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(filePerm); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. Windows cannot open a directory
// for fsync; NTFS renames are journalled.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

func encrypt(plain []byte, r age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decrypt(data []byte, id age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}
