package coordination

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/secret"
)

// loginPoll is how often a process waiting for another's login looks again.
const loginPoll = 20 * time.Millisecond

// fileSessions is the local backend's session store when there is no
// vault: one sealed file per namespace, and a login lock beside it.
type fileSessions struct {
	path, lockPath, loginPath string
	seal                      []byte
	redactor                  interface{ Add(...secret.Secret) }
}

var (
	_ billapi.SessionStore = (*fileSessions)(nil)
	_ billapi.LoginLocker  = (*fileSessions)(nil)
)

func (f *fileSessions) learn(id secret.Secret) {
	if f.redactor != nil {
		f.redactor.Add(id)
	}
}

func lockPath(ctx context.Context, path string, poll time.Duration) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), dirPerm); err != nil {
		return nil, err
	}
	l := flock.New(path, flock.SetPermissions(filePerm))
	ok, err := l.TryLockContext(ctx, poll)
	if err != nil || !ok {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("lock %s: %v", path, err)
	}
	var once sync.Once
	return func() { once.Do(func() { _ = l.Unlock() }) }, nil
}

// Load returns the stored session; ok is false when there is none or it
// was sealed for other credentials.
func (f *fileSessions) Load(ctx context.Context) (billapi.Session, bool, error) {
	if err := ctx.Err(); err != nil {
		return billapi.Session{}, false, err
	}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return billapi.Session{}, false, nil
	}
	if err != nil {
		return billapi.Session{}, false, fmt.Errorf("read session %s: %w", f.path, err)
	}
	s, ok := openSession(f.seal, filepath.Base(f.path), b)
	if ok {
		f.learn(s.ID)
	}
	return s, ok, nil
}

// Save stores s sealed, replacing the stored session.
func (f *fileSessions) Save(ctx context.Context, s billapi.Session) error {
	f.learn(s.ID)
	b, err := sealSession(f.seal, filepath.Base(f.path), s)
	if err != nil {
		return err
	}
	unlock, err := lockPath(ctx, f.lockPath, time.Millisecond)
	if err != nil {
		return err
	}
	defer unlock()
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, b, filePerm); err != nil {
		return fmt.Errorf("write session: %w", err)
	}
	return os.Rename(tmp, f.path)
}

// Invalidate removes the stored session if it is still s.
func (f *fileSessions) Invalidate(ctx context.Context, s billapi.Session) error {
	unlock, err := lockPath(ctx, f.lockPath, time.Millisecond)
	if err != nil {
		return err
	}
	defer unlock()
	cur, ok, err := f.Load(ctx)
	if err != nil || (ok && !cur.ID.Equal(s.ID)) {
		return err
	}
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// LockLogin takes the namespace's login lock, waiting while another
// process logs in.
func (f *fileSessions) LockLogin(ctx context.Context) (func(), error) {
	return lockPath(ctx, f.loginPath, loginPoll)
}
