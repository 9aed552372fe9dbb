package coordination

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// File modes of the local backend: the directory and files are the user's alone.
const (
	dirPerm  = 0o700
	filePerm = 0o600
)

// slotPoll is how often a waiter tries the slot locks again. A freed slot
// stays idle at most this long; BILL's calls take tens of milliseconds.
const slotPoll = time.Millisecond

// local shares the limits through files in dir, named by the namespace:
// NS.slotN.lock (a slot is held while its file is locked), NS.budget.json
// under NS.budget.lock, and NS.member.PID.RAND (locked by each live process).
type local struct {
	dir string
	ns  string

	mu     sync.Mutex
	slots  []*flock.Flock
	held   []bool // by this process (held or being tried)
	member *flock.Flock
}

func openLocal(dir string, k keys, observer bool) (*local, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("coordination directory %s: %w", dir, err)
	}
	l := &local{dir: dir, ns: k.ns}
	for i := range billapi.MaxInFlightLimit {
		l.slots = append(l.slots, flock.New(l.path(fmt.Sprintf("slot%d.lock", i)), flock.SetPermissions(filePerm)))
	}
	l.held = make([]bool, len(l.slots))
	if observer {
		return l, nil
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	m := flock.New(l.path("member."+strconv.Itoa(os.Getpid())+"."+hex.EncodeToString(r[:])), flock.SetPermissions(filePerm))
	if ok, err := m.TryLock(); err != nil || !ok {
		return nil, fmt.Errorf("coordination: register this process in %s: %v", dir, err)
	}
	l.member = m
	return l, nil
}

func (l *local) path(name string) string { return filepath.Join(l.dir, l.ns+"."+name) }

func (l *local) name() string { return KindLocal }

func (l *local) close() error {
	if l.member == nil {
		return nil
	}
	_ = l.member.Unlock()
	return os.Remove(l.member.Path())
}

func (l *local) ping(context.Context) error { return nil }

// acquire tries the slot locks below capacity until one is free.
func (l *local) acquire(ctx context.Context, capacity int) (func(), error) {
	capacity = min(max(capacity, 1), len(l.slots))
	for {
		for i := range capacity {
			l.mu.Lock()
			if l.held[i] {
				l.mu.Unlock()
				continue
			}
			l.held[i] = true
			l.mu.Unlock()
			ok, err := l.slots[i].TryLock()
			if ok {
				var once sync.Once
				return func() {
					once.Do(func() {
						_ = l.slots[i].Unlock()
						l.mu.Lock()
						l.held[i] = false
						l.mu.Unlock()
					})
				}, nil
			}
			l.mu.Lock()
			l.held[i] = false
			l.mu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("%w: slot lock %s: %v", errUnavailable, l.slots[i].Path(), err)
			}
		}
		t := time.NewTimer(slotPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// force is acquire for a call already in flight when a process rejoins:
// local slots never go away, so there is nothing to rejoin.
func (l *local) force(context.Context) (func(), error) { return func() {}, nil }

// budgetFile is NS.budget.json.
type budgetFile struct {
	Hour    int64    `json:"hour"` // unix seconds of the clock hour counted
	Used    [2]int   `json:"used"` // requests, logins
	Blocked [2]int64 `json:"blocked"`
}

// withBudget runs f on the budget file under its lock and writes it back
// when f reports a change.
func (l *local) withBudget(ctx context.Context, f func(*budgetFile) bool) error {
	lk := flock.New(l.path("budget.lock"), flock.SetPermissions(filePerm))
	ok, err := lk.TryLockContext(ctx, 200*time.Microsecond)
	if err != nil || !ok {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: budget lock: %v", errUnavailable, err)
	}
	defer func() { _ = lk.Unlock() }()
	path := l.path("budget.json")
	var b budgetFile
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("%w: read %s: %v", errUnavailable, path, err)
	default:
		_ = json.Unmarshal(data, &b) // damaged: counts start again, BILL stays the last word
	}
	if !f(&b) {
		return nil
	}
	out, _ := json.Marshal(b)
	if err := os.WriteFile(path, out, filePerm); err != nil {
		return fmt.Errorf("%w: write %s: %v", errUnavailable, path, err)
	}
	return nil
}

func roll(b *budgetFile, now time.Time) bool {
	h := now.Truncate(time.Hour).Unix()
	if h <= b.Hour { // never back: a caller whose clock lags counts in the current hour
		return false
	}
	b.Hour, b.Used = h, [2]int{}
	return true
}

func (l *local) spend(ctx context.Context, kind billapi.Budget, now time.Time, limit int) (billapi.Spend, error) {
	var sp billapi.Spend
	err := l.withBudget(ctx, func(b *budgetFile) bool {
		changed := roll(b, now)
		if until := time.UnixMilli(b.Blocked[kind]); now.Before(until) {
			sp = billapi.Spend{Blocked: true, ResetAt: until}
			return changed
		}
		if b.Used[kind] >= limit {
			sp = billapi.Spend{ResetAt: billapi.TopOfNextHour(now)}
			return changed
		}
		b.Used[kind]++
		sp = billapi.Spend{OK: true}
		return true
	})
	return sp, err
}

func (l *local) add(ctx context.Context, kind billapi.Budget, now time.Time, n int) error {
	return l.withBudget(ctx, func(b *budgetFile) bool {
		roll(b, now)
		b.Used[kind] += n
		return true
	})
}

func (l *local) block(ctx context.Context, kind billapi.Budget, until time.Time) error {
	return l.withBudget(ctx, func(b *budgetFile) bool {
		if until.UnixMilli() <= b.Blocked[kind] {
			return false
		}
		b.Blocked[kind] = until.UnixMilli()
		return true
	})
}

func (l *local) usage(ctx context.Context, now time.Time) (billapi.Usage, error) {
	u := billapi.Usage{Backend: KindLocal + " (" + l.dir + ")", Hour: now.Truncate(time.Hour), ResetAt: billapi.TopOfNextHour(now)}
	err := l.withBudget(ctx, func(b *budgetFile) bool {
		if b.Hour == now.Truncate(time.Hour).Unix() {
			u.Requests, u.Logins = b.Used[billapi.BudgetRequests], b.Used[billapi.BudgetLogins]
		}
		u.Blocked, u.LoginsOff = time.UnixMilli(b.Blocked[0]), time.UnixMilli(b.Blocked[1])
		return false
	})
	if err != nil {
		return u, err
	}
	for i, s := range l.slots {
		l.mu.Lock()
		mine := l.held[i]
		l.mu.Unlock()
		if mine {
			u.InFlight++
			continue
		}
		probe := flock.New(s.Path(), flock.SetPermissions(filePerm))
		if ok, err := probe.TryLock(); err == nil && !ok {
			u.InFlight++
		} else if ok {
			_ = probe.Unlock()
		}
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return u, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), l.ns+".member.") {
			continue
		}
		p := filepath.Join(l.dir, e.Name())
		if l.member != nil && p == l.member.Path() {
			u.Holders++
			continue
		}
		probe := flock.New(p, flock.SetPermissions(filePerm))
		ok, err := probe.TryLock()
		switch {
		case err == nil && !ok:
			u.Holders++
		case ok: // its process is gone
			_ = os.Remove(p)
			_ = probe.Unlock()
		}
	}
	return u, nil
}
