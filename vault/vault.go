// Package vault is bill-mcp's credential store: one age-encrypted file of
// named BILL profiles in the user's config directory, opened with a
// passphrase (from a file or a variable) or an age identity held in the OS
// keyring; an encrypted per-profile session cache with a cross-process
// login lock. Credentials are held as secret.Secret.
//
// Layout of the vault directory (0700):
//
//	vault.age                 the profiles (0600, age: scrypt or X25519)
//	vault.lock                writers hold this flock while they rewrite vault.age
//	sessions/NAME.age         a profile's cached BILL session (0600, age X25519)
//	sessions/NAME.lock        writers of NAME.age hold this flock
//	sessions/NAME.login.lock  held around "load, else log in and save"
//	cache/HASH.age            a sealed cache, e.g. the search index (0600, age X25519, same key as sessions)
//
// Every write is read-decrypt-modify-encrypt to a temporary file in the
// same directory, fsync, rename, fsync of the directory, all under the lock:
// a vault that cannot be decrypted is never overwritten.
package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/gofrs/flock"
)

// File and directory names inside the vault directory.
const (
	FileName      = "vault.age"
	lockName      = "vault.lock"
	sessionsDir   = "sessions"
	dirName       = "bill-mcp"
	lockRetry     = 20 * time.Millisecond
	dirPerm       = 0o700
	filePerm      = 0o600
	groupOtherBit = 0o077
)

// Options configure Open. Zero values take the production defaults.
type Options struct {
	// Dir overrides BILL_MCP_VAULT_DIR and os.UserConfigDir()/bill-mcp.
	Dir string
	// Getenv reads BILL_MCP_VAULT_* (and DBUS_SESSION_BUS_ADDRESS); nil means os.Getenv.
	Getenv func(string) string
	// Keyring replaces the OS keyring (tests pass a fake); nil means OSKeyring.
	Keyring Keyring
	// KeyringTimeout bounds each OS keyring call; 0 means DefaultKeyringTimeout.
	KeyringTimeout time.Duration
	// ScryptWorkFactor is log2 of scrypt's N when encrypting with a
	// passphrase; 0 keeps age's default (18, about a second). Tests lower it.
	// Decryption always follows the factor recorded in the file.
	ScryptWorkFactor int
}

// Vault is an opened (not necessarily existing) vault. It is safe for
// concurrent use; it remembers the key it derived and the last document it
// read, never a plaintext file.
type Vault struct {
	dir, path  string
	getenv     func(string) string
	src        keySource
	srcErr     error
	keyring    Keyring
	workFactor int

	mu        sync.Mutex
	identity  age.Identity  // memoized key for reading vault.age
	recipient age.Recipient // memoized key for writing vault.age
	snap      *document     // last document read or written
	snapRaw   []byte        // the vault file snap was read from or written as (ciphertext)
	snapRcp   age.Recipient // the recipient snapRaw is encrypted to
}

// DefaultDir is BILL_MCP_VAULT_DIR if set, else os.UserConfigDir()/bill-mcp.
func DefaultDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv(EnvDir); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your config directory (%w); set %s to the directory for the vault", err, EnvDir)
	}
	return filepath.Join(base, dirName), nil
}

// Open locates the vault and its key source without reading either: the
// file is read and the keyring asked only when an operation needs them. A
// key source that cannot be used (an unreadable passphrase file) is kept and
// reported by KeySource and by every operation that needs the key.
func Open(o Options) (*Vault, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	dir := o.Dir
	if dir == "" {
		d, err := DefaultDir(getenv)
		if err != nil {
			return nil, err
		}
		dir = d
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("vault directory %q: %w", o.Dir, err)
	}
	if o.ScryptWorkFactor < 0 || o.ScryptWorkFactor > 22 {
		return nil, fmt.Errorf("scrypt work factor %d: use 1..22, or 0 for the default", o.ScryptWorkFactor)
	}
	v := &Vault{
		dir:        dir,
		path:       filepath.Join(dir, FileName),
		getenv:     getenv,
		keyring:    o.Keyring,
		workFactor: o.ScryptWorkFactor,
	}
	if v.keyring == nil {
		v.keyring = OSKeyring(getenv, o.KeyringTimeout)
	}
	v.src, v.srcErr = resolveKeySource(getenv, v.path)
	return v, nil
}

// Dir is the vault directory.
func (v *Vault) Dir() string { return v.dir }

// Path is the vault file.
func (v *Vault) Path() string { return v.path }

// KeySource says which key source the vault uses, or why the chosen one
// cannot be used. It does not contact the keyring (see ProbeKey).
func (v *Vault) KeySource() (KeySource, error) { return v.src.KeySource, v.srcErr }

// ProbeKey checks that the key source can be used now: a passphrase is at
// hand, or the OS keyring answers (an entry need not exist yet).
func (v *Vault) ProbeKey(ctx context.Context) error {
	if v.srcErr != nil {
		return v.srcErr
	}
	if v.src.Kind != KeyKeyring {
		return nil
	}
	_, err := v.keyring.Get(ctx, KeyringService, v.path)
	if err == nil || errors.Is(err, ErrKeyringNotFound) {
		return nil
	}
	return noKeyErr(err)
}

// noKeyErr wraps a keyring failure as ErrNoKey, making sure the message
// says how to fix it whatever the keyring said.
func noKeyErr(err error) error {
	if strings.Contains(err.Error(), EnvPassphraseFile) {
		return fmt.Errorf("%w: %w", ErrNoKey, err)
	}
	return fmt.Errorf("%w: %w; %s", ErrNoKey, err, noKeyringHelp)
}

// Exists reports whether the vault file exists.
func (v *Vault) Exists() (bool, error) {
	_, err := os.Stat(v.path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("vault %s: %w", v.path, err)
	}
}

// Init creates an empty vault, locked with the key source: a passphrase
// (scrypt), or a new age identity stored in the OS keyring. It refuses to
// replace an existing vault.
func (v *Vault) Init(ctx context.Context) error {
	if v.srcErr != nil {
		return v.srcErr
	}
	if err := os.MkdirAll(v.dir, dirPerm); err != nil {
		return fmt.Errorf("create vault directory %s: %w", v.dir, err)
	}
	if err := checkPerms(v.dir, true); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, filepath.Join(v.dir, lockName))
	if err != nil {
		return err
	}
	defer unlock()
	if ok, err := v.Exists(); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("a vault already exists at %s; add profiles with `bill-mcp vault set NAME`, or move the file away to start over: %w", v.path, ErrExists)
	}
	doc, err := newDocument()
	if err != nil {
		return err
	}
	rcp, err := v.initRecipient(ctx)
	if err != nil {
		return err
	}
	return v.writeDoc(doc, rcp)
}

// initRecipient prepares the key a new vault is encrypted to.
func (v *Vault) initRecipient(ctx context.Context) (age.Recipient, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.src.isPassphrase() {
		return v.passphraseKeysLocked()
	}
	if v.src.Kind == KeyIdentityFile {
		id, err := loadOrCreateIdentity(v.src.Detail)
		if err != nil {
			return nil, err
		}
		v.identity, v.recipient = id, id.Recipient()
		return v.recipient, nil
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("generate vault key: %w", err)
	}
	if err := v.keyring.Set(ctx, KeyringService, v.path, secret.New(id.String())); err != nil {
		if errors.Is(err, ErrKeyringUnavailable) {
			return nil, noKeyErr(err)
		}
		return nil, fmt.Errorf("store the vault key in the OS keyring: %w", err)
	}
	v.identity, v.recipient = id, id.Recipient()
	return v.recipient, nil
}

// passphraseKeysLocked derives the scrypt identity and recipient. v.mu is held.
func (v *Vault) passphraseKeysLocked() (age.Recipient, error) {
	if v.recipient != nil {
		return v.recipient, nil
	}
	r, err := age.NewScryptRecipient(v.src.passphrase.Reveal())
	if err != nil {
		return nil, fmt.Errorf("vault passphrase from %s: %w", v.src.Kind, err)
	}
	if v.workFactor > 0 {
		r.SetWorkFactor(v.workFactor)
	}
	id, err := age.NewScryptIdentity(v.src.passphrase.Reveal())
	if err != nil {
		return nil, fmt.Errorf("vault passphrase from %s: %w", v.src.Kind, err)
	}
	v.identity, v.recipient = id, r
	return r, nil
}

// keys returns the identity and recipient for an existing vault whose
// header says it is passphrase-locked (scrypt) or not.
func (v *Vault) keys(ctx context.Context, scrypt bool) (age.Identity, age.Recipient, error) {
	if v.srcErr != nil {
		return nil, nil, v.srcErr
	}
	switch {
	case scrypt && !v.src.isPassphrase():
		return nil, nil, fmt.Errorf("vault %s is locked with a passphrase: set %s to a file holding it, or %s (and unset %s): %w", v.path, EnvPassphraseFile, EnvPassphrase, EnvIdentityFile, ErrNoKey)
	case !scrypt && v.src.isPassphrase():
		return nil, nil, fmt.Errorf("vault %s is locked with a key (in the OS keyring or an identity file), not a passphrase: unset %s and %s, and set %s if the key is in a file: %w", v.path, EnvPassphraseFile, EnvPassphrase, EnvIdentityFile, ErrWrongKey)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.identity != nil {
		return v.identity, v.recipient, nil
	}
	if v.src.isPassphrase() {
		r, err := v.passphraseKeysLocked()
		return v.identity, r, err
	}
	if v.src.Kind == KeyIdentityFile {
		id, err := readIdentityFile(v.src.Detail)
		if err != nil {
			return nil, nil, err
		}
		v.identity, v.recipient = id, id.Recipient()
		return v.identity, v.recipient, nil
	}
	s, err := v.keyring.Get(ctx, KeyringService, v.path)
	switch {
	case errors.Is(err, ErrKeyringNotFound):
		return nil, nil, fmt.Errorf("the OS keyring holds no key for vault %s (service %q, account %q); was it made on another machine or account? Restore the key, or move the vault away and run `bill-mcp vault init`: %w", v.path, KeyringService, v.path, ErrNoKey)
	case errors.Is(err, ErrKeyringUnavailable):
		return nil, nil, noKeyErr(err)
	case err != nil:
		return nil, nil, fmt.Errorf("read the vault key from the OS keyring: %w", err)
	}
	id, err := age.ParseX25519Identity(s.Reveal())
	if err != nil {
		return nil, nil, fmt.Errorf("the OS keyring entry for vault %s (service %q) is not an age identity; restore it or re-create the vault: %w", v.path, KeyringService, ErrDamaged)
	}
	v.identity, v.recipient = id, id.Recipient()
	return v.identity, v.recipient, nil
}

// load reads and decrypts the vault file.
func (v *Vault) load(ctx context.Context) (*document, age.Recipient, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := checkPerms(v.dir, true); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, v.notInitialized()
		}
		return nil, nil, err
	}
	data, err := os.ReadFile(v.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, v.notInitialized()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read vault %s: %w", v.path, err)
	}
	if err := checkPerms(v.path, false); err != nil {
		return nil, nil, err
	}
	v.mu.Lock()
	if v.snap != nil && bytes.Equal(data, v.snapRaw) {
		// The file this Vault last read or wrote: decrypting it again
		// (a passphrase's scrypt: a second and 256 MB) would give snap.
		doc, rcp := v.snap, v.snapRcp
		v.mu.Unlock()
		return doc, rcp, nil
	}
	v.mu.Unlock()
	scrypt, err := headerIsScrypt(data)
	if err != nil {
		return nil, nil, v.damaged(err)
	}
	id, rcp, err := v.keys(ctx, scrypt)
	if err != nil {
		return nil, nil, err
	}
	plain, err := decrypt(data, id)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) && v.src.Kind == KeyIdentityFile {
			return nil, nil, fmt.Errorf("cannot open vault %s with the key in %s: the vault was locked with another key. Point %s at the right file; if the key is lost, move the vault away and run `bill-mcp vault init`: %w", v.path, v.src.Detail, EnvIdentityFile, ErrWrongKey)
		}
		if errors.As(err, &nomatch) {
			return nil, nil, fmt.Errorf("cannot open vault %s with the passphrase from %s: wrong passphrase (or the file's header was altered). Check the passphrase; if it is lost, move the file away and run `bill-mcp vault init`: %w", v.path, v.src.Kind, ErrWrongKey)
		}
		return nil, nil, v.damaged(err)
	}
	doc, err := parseDocument(plain)
	clear(plain)
	if err != nil {
		return nil, nil, v.damaged(err)
	}
	v.mu.Lock()
	v.snap, v.snapRaw, v.snapRcp = doc, data, rcp
	v.mu.Unlock()
	return doc, rcp, nil
}

func (v *Vault) notInitialized() error {
	return fmt.Errorf("no vault at %s; create it with `bill-mcp vault init` (or set %s to where it is): %w", v.path, EnvDir, ErrNotInitialized)
}

func (v *Vault) damaged(cause error) error {
	return fmt.Errorf("vault %s is damaged (tampered or truncated: %v); nothing was changed. Restore it from a backup, or move it away and run `bill-mcp vault init`: %w", v.path, cause, ErrDamaged)
}

// update runs f on the current document under the vault lock and writes
// the result back. Nothing is written when reading, f or encryption fails.
func (v *Vault) update(ctx context.Context, f func(*document) error) error {
	if _, err := os.Stat(v.dir); errors.Is(err, fs.ErrNotExist) {
		return v.notInitialized()
	}
	unlock, err := lockFile(ctx, filepath.Join(v.dir, lockName))
	if err != nil {
		return err
	}
	defer unlock()
	doc, rcp, err := v.load(ctx)
	if err != nil {
		return err
	}
	next := doc.clone()
	if err := f(next); err != nil {
		return err
	}
	return v.writeDoc(next, rcp)
}

// writeDoc encrypts doc to rcp and atomically replaces the vault file.
func (v *Vault) writeDoc(doc *document, rcp age.Recipient) error {
	plain, err := doc.marshal()
	if err != nil {
		return err
	}
	enc, err := encrypt(plain, rcp)
	clear(plain)
	if err != nil {
		return fmt.Errorf("encrypt vault: %w", err)
	}
	if err := atomicWrite(v.dir, v.path, enc); err != nil {
		return err
	}
	v.mu.Lock()
	v.snap, v.snapRaw, v.snapRcp = doc, enc, rcp
	v.mu.Unlock()
	return nil
}

// Profile returns one profile.
func (v *Vault) Profile(ctx context.Context, name string) (Profile, error) {
	doc, _, err := v.load(ctx)
	if err != nil {
		return Profile{}, err
	}
	p, ok := doc.profiles[name]
	if !ok {
		return Profile{}, v.noProfile(name)
	}
	return p, nil
}

func (v *Vault) noProfile(name string) error {
	return fmt.Errorf("no profile %q in vault at %s; create it with: bill-mcp vault set %s: %w", name, v.path, name, ErrProfileNotFound)
}

// Profiles returns every profile by name.
func (v *Vault) Profiles(ctx context.Context) (map[string]Profile, error) {
	doc, _, err := v.load(ctx)
	if err != nil {
		return nil, err
	}
	return maps.Clone(doc.profiles), nil
}

// ProfileNames returns the profile names, sorted.
func (v *Vault) ProfileNames(ctx context.Context) ([]string, error) {
	doc, _, err := v.load(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(doc.profiles)), nil
}

// SetProfile creates or replaces a profile. p must be valid.
func (v *Vault) SetProfile(ctx context.Context, name string, p Profile) error {
	return v.EditProfile(ctx, name, func(Profile, bool) (Profile, error) { return p, nil })
}

// EditProfile creates or changes a profile atomically: edit receives the
// current profile (exists=false and a zero Profile for a new one) and
// returns the new one, which must be valid. An error from edit changes
// nothing.
func (v *Vault) EditProfile(ctx context.Context, name string, edit func(cur Profile, exists bool) (Profile, error)) error {
	if err := ValidateProfileName(name); err != nil {
		return err
	}
	return v.update(ctx, func(d *document) error {
		cur, ok := d.profiles[name]
		p, err := edit(cur, ok)
		if err != nil {
			return err
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("profile %q: %w", name, err)
		}
		d.profiles[name] = p
		return nil
	})
}

// RemoveProfile deletes a profile and its cached session.
func (v *Vault) RemoveProfile(ctx context.Context, name string) error {
	err := v.update(ctx, func(d *document) error {
		if _, ok := d.profiles[name]; !ok {
			return v.noProfile(name)
		}
		delete(d.profiles, name)
		return nil
	})
	if err != nil {
		return err
	}
	if ValidateProfileName(name) == nil {
		p := filepath.Join(v.dir, sessionsDir, name+".age")
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("profile %q removed, but its session cache %s was not: %w", name, p, err)
		}
	}
	return nil
}

// SetHTTPToken stores the bearer token the HTTP transports require,
// replacing any earlier one.
func (v *Vault) SetHTTPToken(ctx context.Context, token secret.Secret) error {
	if len(token.Reveal()) < MinTokenLength {
		return fmt.Errorf("HTTP token too short: use at least %d characters", MinTokenLength)
	}
	return v.update(ctx, func(d *document) error {
		d.httpToken = token
		return nil
	})
}

// MinTokenLength is the shortest HTTP bearer token accepted.
const MinTokenLength = 16

// HTTPToken returns the stored HTTP bearer token; ok is false when none was made.
func (v *Vault) HTTPToken(ctx context.Context) (token secret.Secret, ok bool, err error) {
	doc, _, err := v.load(ctx)
	if err != nil {
		return secret.Secret{}, false, err
	}
	return doc.httpToken, !doc.httpToken.IsZero(), nil
}

// snapshot returns the last document read, reading it if there is none.
func (v *Vault) snapshot(ctx context.Context) (*document, error) {
	v.mu.Lock()
	d := v.snap
	v.mu.Unlock()
	if d != nil {
		return d, nil
	}
	d, _, err := v.load(ctx)
	return d, err
}

// lockFile takes an exclusive flock on path, polling until ctx ends.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	l := flock.New(path, flock.SetPermissions(filePerm))
	ok, err := l.TryLockContext(ctx, lockRetry)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: not acquired", path)
	}
	var once sync.Once
	return func() { once.Do(func() { _ = l.Unlock() }) }, nil
}

// headerIsScrypt reports whether an age file is passphrase-encrypted.
func headerIsScrypt(data []byte) (bool, error) {
	hdr, err := age.ExtractHeader(bytes.NewReader(data))
	if err != nil {
		return false, err
	}
	return bytes.Contains(hdr, []byte("\n-> scrypt ")), nil
}
