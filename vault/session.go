package vault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"github.com/bill-mcp/bill-mcp/secret"
)

// CachedSession is a BILL session kept between runs. ID (the sessionId) is
// a secret.Secret.
type CachedSession struct {
	ID          secret.Secret
	APIEndPoint string
	OrgID       string
	UsersID     string
}

// SessionCache keeps one profile's BILL session in an encrypted file of
// its own, bound to a fingerprint of the profile's credentials: change any
// credential and the cached session is void. A cached session is a hint;
// BILL may have ended it (BDC_1109), and then the caller logs in again.
//
// The file is encrypted to an age identity kept inside the vault, so
// reading it costs no scrypt and needs no passphrase beyond the one that
// opened the vault.
type SessionCache struct {
	profile     string
	dir         string
	path        string
	lockPath    string
	loginLock   string
	identity    *age.X25519Identity
	fingerprint []byte
	lockWait    time.Duration
}

// SessionCache returns the session cache of profile. It uses the vault as
// last read by this Vault (e.g. by Profile), reading it if it has not been.
func (v *Vault) SessionCache(profile string) (*SessionCache, error) {
	if err := ValidateProfileName(profile); err != nil {
		return nil, err
	}
	doc, err := v.snapshot(context.Background())
	if err != nil {
		return nil, err
	}
	p, ok := doc.profiles[profile]
	if !ok {
		return nil, v.noProfile(profile)
	}
	dir := filepath.Join(v.dir, sessionsDir)
	return &SessionCache{
		profile:     profile,
		dir:         dir,
		path:        filepath.Join(dir, profile+".age"),
		lockPath:    filepath.Join(dir, profile+".lock"),
		loginLock:   filepath.Join(dir, profile+".login.lock"),
		identity:    doc.sessionKey,
		fingerprint: fingerprint(doc.sessionKey, profile, p),
	}, nil
}

// fingerprint is HMAC-SHA256, keyed by a key derived from the vault's
// session key, over the profile's name and credentials, each
// length-prefixed. Only the MAC is stored, never its input.
func fingerprint(key *age.X25519Identity, profile string, p Profile) []byte {
	k := sha256.Sum256([]byte("bill-mcp session fingerprint v1\x00" + key.String()))
	m := hmac.New(sha256.New, k[:])
	for _, f := range []string{profile, p.DevKey.Reveal(), p.UserName.Reveal(), p.Password.Reveal(), p.OrgID, string(p.Environment)} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		m.Write(n[:])
		m.Write([]byte(f))
	}
	return m.Sum(nil)
}

// Path is the session cache file.
func (c *SessionCache) Path() string { return c.path }

type fileSession struct {
	Version     int    `json:"version"`
	Fingerprint string `json:"fingerprint"`
	SessionID   string `json:"sessionId"`
	APIEndPoint string `json:"apiEndPoint"`
	OrgID       string `json:"orgId"`
	UsersID     string `json:"usersId"`
	SavedAt     string `json:"savedAt"`
}

// read decrypts the cache file; ok is false when there is no usable
// session (none, damaged, or bound to other credentials).
func (c *SessionCache) read() (CachedSession, bool, error) {
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return CachedSession{}, false, nil
	}
	if err != nil {
		return CachedSession{}, false, fmt.Errorf("read session cache %s: %w", c.path, err)
	}
	plain, err := decrypt(data, c.identity)
	if err != nil {
		return CachedSession{}, false, nil // damaged or from another vault: a hint we cannot use
	}
	var f fileSession
	err = decodeStrict(plain, &f)
	clear(plain)
	if err != nil || f.Version != FormatVersion || f.SessionID == "" {
		return CachedSession{}, false, nil
	}
	fp, err := base64.StdEncoding.DecodeString(f.Fingerprint)
	if err != nil || !hmac.Equal(fp, c.fingerprint) {
		return CachedSession{}, false, nil // the credentials changed since it was saved
	}
	return CachedSession{ID: secret.New(f.SessionID), APIEndPoint: f.APIEndPoint, OrgID: f.OrgID, UsersID: f.UsersID}, true, nil
}

// Load returns the cached session; ok is false when there is none, it is
// damaged, or it was saved for different credentials.
func (c *SessionCache) Load(ctx context.Context) (CachedSession, bool, error) {
	if err := ctx.Err(); err != nil {
		return CachedSession{}, false, err
	}
	return c.read()
}

// Save stores s, replacing any cached session.
func (c *SessionCache) Save(ctx context.Context, s CachedSession) error {
	if s.ID.IsZero() {
		return errors.New("session cache: refusing to save a session without an id")
	}
	if err := os.MkdirAll(c.dir, dirPerm); err != nil {
		return fmt.Errorf("session cache directory %s: %w", c.dir, err)
	}
	unlock, err := lockFile(ctx, c.lockPath)
	if err != nil {
		return err
	}
	defer unlock()
	plain, err := jsonMarshal(fileSession{
		Version:     FormatVersion,
		Fingerprint: base64.StdEncoding.EncodeToString(c.fingerprint),
		SessionID:   s.ID.Reveal(),
		APIEndPoint: s.APIEndPoint,
		OrgID:       s.OrgID,
		UsersID:     s.UsersID,
		SavedAt:     time.Now().UTC().Format(time.RFC3339),
	})
	if err != nil {
		return err
	}
	enc, err := encrypt(plain, c.identity.Recipient())
	clear(plain)
	if err != nil {
		return fmt.Errorf("encrypt session cache: %w", err)
	}
	return atomicWrite(c.dir, c.path, enc)
}

// Invalidate forgets the cached session if it is still s (another process
// may already have saved a newer one, which is kept).
func (c *SessionCache) Invalidate(ctx context.Context, s CachedSession) error {
	if _, err := os.Stat(c.dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	unlock, err := lockFile(ctx, c.lockPath)
	if err != nil {
		return err
	}
	defer unlock()
	cur, ok, err := c.read()
	if err != nil {
		return err
	}
	if ok && !cur.ID.Equal(s.ID) {
		return nil
	}
	if err := os.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove session cache %s: %w", c.path, err)
	}
	return nil
}

// LockLogin takes the profile's cross-process login lock, polling until it
// is free or ctx ends. Hold it around "load, else log in and save" so that
// several processes on one vault log in once. Call unlock exactly when
// done; extra calls do nothing.
//
// The wait is bounded by LoginLockWait: a lock held longer than that means
// the holder is hung (a live login takes seconds), and the call fails with
// ErrLoginLockTimeout saying which file to look at, rather than waiting
// forever.
func (c *SessionCache) LockLogin(ctx context.Context) (unlock func(), err error) {
	if err := os.MkdirAll(c.dir, dirPerm); err != nil {
		return nil, fmt.Errorf("session cache directory %s: %w", c.dir, err)
	}
	wait := c.lockWait
	if wait <= 0 {
		wait = LoginLockWait
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	unlock, err = lockFile(wctx, c.loginLock)
	if err != nil && ctx.Err() == nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("another bill-mcp process has held the BILL login lock %s for over %s, so it is probably hung: stop that process (`fuser %s` names it) and retry: %w",
			c.loginLock, wait, c.loginLock, ErrLoginLockTimeout)
	}
	return unlock, err
}

// LoginLockWait bounds how long LockLogin waits for another process's
// login to finish.
const LoginLockWait = 30 * time.Second

// SetLoginLockWait changes how long LockLogin waits (tests shorten it).
func (c *SessionCache) SetLoginLockWait(d time.Duration) { c.lockWait = d }
