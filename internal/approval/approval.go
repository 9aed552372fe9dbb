// Package approval keeps the calls that wait for a person: an agent's call
// that its confirm mode holds back is stored, sealed with the vault's key
// (a bank-account create carries the full account number, which must be
// kept to run the call later), under a short code. A person approves the
// code in a terminal (`bill-mcp approve CODE`); the agent that asked then
// runs it once with run_approved_call. A code is single-use, bound to its
// agent and expires.
package approval

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// DirName is the store's directory inside the vault directory.
const DirName = "approvals"

// DefaultTTL is how long a code stays valid.
const DefaultTTL = 10 * time.Minute

// States of a stored call.
const (
	StatePending  = "pending"  // waiting for a person
	StateApproved = "approved" // approved; the agent may run it once
	StateUsed     = "used"     // run (or being run)
	StateDenied   = "denied"   // a person said no
)

// Errors of the store; test them with errors.Is.
var (
	ErrUnknown     = errors.New("no such approval code")
	ErrUsed        = errors.New("approval code already used")
	ErrExpired     = errors.New("approval code expired")
	ErrOtherAgent  = errors.New("approval code belongs to another agent")
	ErrNotApproved = errors.New("approval code not approved")
	ErrDenied      = errors.New("approval denied")
)

// Call is one stored call.
type Call struct {
	Code     string          `json:"code"`
	Agent    string          `json:"agent"`
	Tool     string          `json:"tool"`
	Args     json.RawMessage `json:"args"`
	Summary  string          `json:"summary"` // plain words, no account number
	Rule     string          `json:"rule"`
	State    string          `json:"state"`
	Created  time.Time       `json:"created"`
	Expires  time.Time       `json:"expires"`
	Approved time.Time       `json:"approved,omitzero"`
	Used     time.Time       `json:"used,omitzero"`
}

// Sealer encrypts what the store writes (vault.Sealer).
type Sealer interface {
	Seal(plain []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// Store is the directory of stored calls.
type Store struct {
	dir    string
	sealer Sealer
	now    func() time.Time
}

// NewStore returns the store in dir, sealing with s.
func NewStore(dir string, s Sealer) *Store {
	return &Store{dir: dir, sealer: s, now: time.Now}
}

// codeAlphabet has no 0/O, 1/I/L or U: codes are read aloud and typed.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// newCode returns XXXX-XXXX (about 39 bits).
func newCode() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make approval code: %w", err)
	}
	out := make([]byte, 0, 9)
	for i, x := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[int(x)%len(codeAlphabet)])
	}
	return string(out), nil
}

// Normalize reads a code as a person may type it: case and dashes do not
// matter. It returns "" for something that cannot be a code.
func Normalize(code string) string {
	c := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	if len(c) != 8 {
		return ""
	}
	for _, r := range c {
		if !strings.ContainsRune(codeAlphabet, r) {
			return ""
		}
	}
	return c[:4] + "-" + c[4:]
}

func (s *Store) path(code string) string {
	return filepath.Join(s.dir, strings.ReplaceAll(code, "-", "")+".age")
}

func (s *Store) lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("approvals directory: %w", err)
	}
	l := flock.New(filepath.Join(s.dir, ".lock"), flock.SetPermissions(0o600))
	ok, err := l.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("lock approvals: %w", err)
	}
	return func() { _ = l.Unlock() }, nil
}

func (s *Store) read(code string) (Call, error) {
	raw, err := os.ReadFile(s.path(code))
	if errors.Is(err, fs.ErrNotExist) {
		return Call{}, fmt.Errorf("%s: %w", code, ErrUnknown)
	}
	if err != nil {
		return Call{}, fmt.Errorf("read approval %s: %w", code, err)
	}
	plain, err := s.sealer.Open(raw)
	if err != nil {
		return Call{}, fmt.Errorf("approval %s: %w", code, err)
	}
	var c Call
	err = json.Unmarshal(plain, &c)
	clear(plain)
	if err != nil || c.Code != code {
		return Call{}, fmt.Errorf("approval %s is damaged: %w", code, ErrUnknown)
	}
	return c, nil
}

func (s *Store) write(c Call) error {
	plain, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode approval: %w", err)
	}
	sealed, err := s.sealer.Seal(plain)
	clear(plain)
	if err != nil {
		return err
	}
	tmp := s.path(c.Code) + ".tmp"
	if err := os.WriteFile(tmp, sealed, 0o600); err != nil {
		return fmt.Errorf("write approval: %w", err)
	}
	if err := os.Rename(tmp, s.path(c.Code)); err != nil {
		return fmt.Errorf("write approval: %w", err)
	}
	return nil
}

// Create stores a call for agent and returns it with its new code.
func (s *Store) Create(ctx context.Context, agent, tool string, args json.RawMessage, summary, rule string, ttl time.Duration) (Call, error) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return Call{}, err
	}
	defer unlock()
	s.pruneLocked()
	for range 5 {
		code, err := newCode()
		if err != nil {
			return Call{}, err
		}
		if _, err := os.Stat(s.path(code)); err == nil {
			continue
		}
		now := s.now().UTC()
		c := Call{Code: code, Agent: agent, Tool: tool, Args: args, Summary: summary, Rule: rule, State: StatePending, Created: now, Expires: now.Add(ttl)}
		return c, s.write(c)
	}
	return Call{}, errors.New("could not make a fresh approval code")
}

// Get returns a stored call.
func (s *Store) Get(code string) (Call, error) {
	n := Normalize(code)
	if n == "" {
		return Call{}, fmt.Errorf("%q is not an approval code (they look like K7QD-M2XP): %w", code, ErrUnknown)
	}
	return s.read(n)
}

// Decide records a person's answer for a pending call: confirm is asked
// (under the store's lock) after the call is checked, and answers whether
// the person approved.
func (s *Store) Decide(ctx context.Context, code string, confirm func(Call) (bool, error)) (Call, error) {
	n := Normalize(code)
	if n == "" {
		return Call{}, fmt.Errorf("%q is not an approval code (they look like K7QD-M2XP): %w", code, ErrUnknown)
	}
	c, err := s.read(n)
	if err != nil {
		return Call{}, err
	}
	if err := s.checkPending(c); err != nil {
		return c, err
	}
	ok, err := confirm(c)
	if err != nil {
		return c, err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return c, err
	}
	defer unlock()
	if c, err = s.read(n); err != nil {
		return c, err
	}
	if err := s.checkPending(c); err != nil {
		return c, err
	}
	if ok {
		c.State, c.Approved = StateApproved, s.now().UTC()
	} else {
		c.State = StateDenied
	}
	return c, s.write(c)
}

func (s *Store) checkPending(c Call) error {
	switch {
	case c.State == StateUsed:
		return fmt.Errorf("%s: %w", c.Code, ErrUsed)
	case c.State == StateDenied:
		return fmt.Errorf("%s: %w", c.Code, ErrDenied)
	case !s.now().Before(c.Expires):
		return fmt.Errorf("%s expired at %s: %w", c.Code, c.Expires.Local().Format(time.Kitchen), ErrExpired)
	case c.State == StateApproved:
		return fmt.Errorf("%s is already approved", c.Code)
	}
	return nil
}

// Take hands an approved call to the agent that asked for it, once: the
// call is marked used before it is returned, so it can never run twice.
func (s *Store) Take(ctx context.Context, agent, code string) (Call, error) {
	n := Normalize(code)
	if n == "" {
		return Call{}, fmt.Errorf("%q is not an approval code: %w", code, ErrUnknown)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return Call{}, err
	}
	defer unlock()
	c, err := s.read(n)
	if err != nil {
		return Call{}, err
	}
	switch {
	case c.Agent != agent:
		return Call{}, fmt.Errorf("%s: %w", n, ErrOtherAgent)
	case c.State == StateUsed:
		return c, fmt.Errorf("%s: %w", n, ErrUsed)
	case c.State == StateDenied:
		return c, fmt.Errorf("%s: %w", n, ErrDenied)
	case !s.now().Before(c.Expires):
		return c, fmt.Errorf("%s: %w", n, ErrExpired)
	case c.State != StateApproved:
		return c, fmt.Errorf("%s: %w", n, ErrNotApproved)
	}
	c.State, c.Used = StateUsed, s.now().UTC()
	if err := s.write(c); err != nil {
		return Call{}, err
	}
	return c, nil
}

// List returns the calls still waiting (pending or approved, not expired),
// oldest first.
func (s *Store) List() ([]Call, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read approvals: %w", err)
	}
	var out []Call
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".age")
		if !ok || len(name) != 8 {
			continue
		}
		c, err := s.read(name[:4] + "-" + name[4:])
		if err != nil {
			continue
		}
		if (c.State == StatePending || c.State == StateApproved) && s.now().Before(c.Expires) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Call) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// keepDone is how long a finished or expired call is kept (so a late
// run_approved_call is told "used" or "expired" rather than "unknown").
const keepDone = 24 * time.Hour

// pruneLocked removes calls finished or expired more than keepDone ago.
func (s *Store) pruneLocked() {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".age") {
			continue
		}
		fi, err := e.Info()
		if err == nil && s.now().Sub(fi.ModTime()) > keepDone+DefaultTTL {
			_ = os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}
