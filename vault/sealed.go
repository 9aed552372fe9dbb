package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// cacheDir holds sealed caches (the search index), beside sessions/.
const cacheDir = "cache"

// SealedFile is a cache file in the vault directory (cache/NAME.age),
// sealed by the vault's Sealer (the session caches' age identity): reading
// it costs no scrypt and needs no key beyond the one that opened the vault.
// Its content is the caller's; the vault only seals and stores it. A file
// that cannot be opened (damaged, from another vault) reads as absent.
type SealedFile struct {
	dir, path, lockPath string
	sealer              *Sealer
}

// SealedFile returns the sealed cache file for key. key may be any string
// (an environment and an org id, say); the file name is a hash of it, so
// it reveals nothing of the key.
func (v *Vault) SealedFile(key string) (*SealedFile, error) {
	if key == "" {
		return nil, errors.New("vault: a sealed file needs a non-empty key")
	}
	sealer, err := v.Sealer(context.Background())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte("bill-mcp sealed file v1\x00" + key))
	name := hex.EncodeToString(sum[:12])
	dir := filepath.Join(v.dir, cacheDir)
	return &SealedFile{
		dir:      dir,
		path:     filepath.Join(dir, name+".age"),
		lockPath: filepath.Join(dir, name+".lock"),
		sealer:   sealer,
	}, nil
}

// Path is the file's location.
func (f *SealedFile) Path() string { return f.path }

// Load returns the decrypted content; ok is false when there is none or it
// cannot be decrypted.
func (f *SealedFile) Load(ctx context.Context) (data []byte, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	raw, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", f.path, err)
	}
	plain, err := f.sealer.Open(raw)
	if err != nil {
		return nil, false, nil
	}
	return plain, true, nil
}

// Save encrypts data and replaces the file atomically, under a lock so
// that two processes never interleave their writes.
func (f *SealedFile) Save(ctx context.Context, data []byte) error {
	if err := os.MkdirAll(f.dir, dirPerm); err != nil {
		return fmt.Errorf("cache directory %s: %w", f.dir, err)
	}
	unlock, err := lockFile(ctx, f.lockPath)
	if err != nil {
		return err
	}
	defer unlock()
	enc, err := f.sealer.Seal(data)
	if err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	return atomicWrite(f.dir, f.path, enc)
}
