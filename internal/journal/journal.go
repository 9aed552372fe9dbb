// Package journal keeps, for each bulk or multi-step call, a record of
// what the call did, so that the same call made again after a crash of the
// server or the client finishes the job without doing anything twice.
//
// A journal is identified by the tool, an import key (given by the caller
// or derived from the content) and the store's scope (the BILL org). It
// holds a digest of the request, item indices, BILL ids, times and action
// words from a fixed set: never a credential, a field value or an account
// number. Records are appended as they happen:
//
//	begin   items about to go to BILL, and the time before they were sent
//	done    items BILL applied, with their ids
//	failed  items BILL refused, or that were never sent: safe to send again
//
// A begin or done record may name an Action, a word from a fixed set
// (created, updated, unchanged, reused, restored): what its items are about
// to have done, or had done. A tool that answers each item's action (an
// upsert, an onboarding) answers a done item from the journal with the
// action it had the first time, and an item in doubt that turns out to
// have been applied with the action its begin named.
//
// An item begun but neither done nor failed is in doubt: the process died
// (or the answer was lost) while it was on the wire. A create in doubt is
// settled by listing what BILL created since the begin time (billapi's
// FindCreated*), or, by a tool that matches records on natural keys
// (onboard_customer, upsert_customers), by that match on a fresh read;
// other operations are idempotent and are simply sent again.
//
// A Store on disk writes each record as its own sealed (encrypted) frame
// with one write(2), so a kill -9 loses at most the frame being written,
// and a torn frame at the end is cut off when the journal is next opened.
// Begin records are fsynced before the items go out. Journals expire after
// TTL. A Store without a directory keeps journals in memory.
//
// Using it from a tool (the server puts the Store in every tool call's
// context; FromContext gets it):
//
//	h := journal.NewDigest(tool)           // stream the request's items into h
//	key := importKey                       // or journal.DeriveKey(h.Sum())
//	j, err := journal.FromContext(ctx).Open(ctx, tool, key, h.Sum(), n)
//	// ErrMismatch: the key was used for other content; ErrBusy: running now
//	defer j.Close()
//	done := j.Done()                       // answer these from the journal
//	doubt, sentAt := j.InDoubt()           // creates: billapi FindCreated*(…, sentAt, ids in done)
//	j.Begin(indices)                       // before sending them
//	j.Settle(indices, ids, failed)         // as they land (BulkOptions.Settled)
//	j.BeginAs(journal.Created, indices)    // the same, naming the action
//	j.SettleAs(journal.Created, indices, ids, failed)
//	j.Actions(); j.Intents()               // done items' actions; items in doubt's
//
// A multi-step tool (onboard_customer: a customer, its contacts, a bank
// account) numbers its steps as items the same way.
package journal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"maps"
	"sort"
	"sync"
	"time"
)

// TTL is how long a journal is kept after its last record.
const TTL = 7 * 24 * time.Hour

// Errors Open returns.
var (
	// ErrMismatch means the key was used for a call with other content.
	ErrMismatch = errors.New("journal: import key used for a different request")
	// ErrBusy means a call with the same key is running right now.
	ErrBusy = errors.New("journal: a call with this import key is still running")
)

// Action is what a write did to an item, or is about to do. Only the
// constants below are recorded, so a record never carries a field value.
type Action string

// The actions a journal records.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged" // done without a write: it already matched
	Reused    Action = "reused"    // done without a write: an existing record serves
	Restored  Action = "restored"  // an existing record, undeleted
)

// ErrAction means an action outside the fixed set was given.
var ErrAction = errors.New("journal: unknown action")

// known reports whether a is one of the recorded actions.
func (a Action) known() bool {
	switch a {
	case Created, Updated, Unchanged, Reused, Restored:
		return true
	}
	return false
}

// check accepts no action or a known one.
func (a Action) check() error {
	if a == "" || a.known() {
		return nil
	}
	return fmt.Errorf("%w %q", ErrAction, string(a))
}

// Sealer encrypts and decrypts journal records (the vault's session-cache
// key does it for a Store on disk).
type Sealer interface {
	Seal(plain []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// Store opens journals.
type Store struct {
	dir   string // "" keeps journals in memory
	seal  Sealer
	scope string
	now   func() time.Time

	mu    sync.Mutex
	busy  map[string]bool
	mem   map[string]*memFile
	swept bool
}

// NewMemory returns a Store that keeps journals in this process's memory:
// they survive a client's crash, not the server's.
func NewMemory(scope string) *Store {
	return &Store{scope: scope, now: time.Now, busy: map[string]bool{}, mem: map[string]*memFile{}}
}

// NewDir returns a Store keeping journals sealed by seal in dir (created
// 0700 when missing). scope separates the journals of different BILL orgs
// sharing the directory.
func NewDir(dir string, seal Sealer, scope string) (*Store, error) {
	if dir == "" || seal == nil {
		return nil, errors.New("journal: a directory and a sealer are required")
	}
	return &Store{dir: dir, seal: seal, scope: scope, now: time.Now, busy: map[string]bool{}}, nil
}

// hashParts is SHA-256 over the parts, each length-prefixed, in hex.
func hashParts(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Hasher computes a request's digest from a label (the tool) and content
// streamed into it, so a large request is never copied to be hashed.
type Hasher struct{ h hash.Hash }

// NewDigest starts a digest labelled label.
func NewDigest(label string) *Hasher {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s", len(label), label)
	return &Hasher{h: h}
}

// Write adds content.
func (d *Hasher) Write(p []byte) (int, error) { return d.h.Write(p) }

// Sum is the digest, in hex.
func (d *Hasher) Sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// DeriveKey is the import key used when the caller gives none: the first
// 16 hex digits of the request's digest.
func DeriveKey(digest string) string {
	if len(digest) > 16 {
		return digest[:16]
	}
	return digest
}

func (s *Store) name(tool, key string) string {
	return hashParts([]byte(s.scope), []byte(tool), []byte(key))[:32]
}

// Open returns the journal of (tool, key), creating it for a request of n
// items with digest when there is none (or the old one expired). It
// refuses a key whose journal holds another digest (ErrMismatch), and a key
// another call holds open (ErrBusy). Close releases it.
func (s *Store) Open(ctx context.Context, tool, key, digest string, n int) (*Journal, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := s.name(tool, key)
	s.mu.Lock()
	if s.busy[name] {
		s.mu.Unlock()
		return nil, ErrBusy
	}
	s.busy[name] = true
	sweep := !s.swept
	s.swept = true
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		delete(s.busy, name)
		s.mu.Unlock()
	}
	if sweep && s.dir != "" {
		s.sweep()
	}
	f, err := s.openFile(name)
	if err != nil {
		release()
		return nil, err
	}
	j := &Journal{f: f, release: release, n: n, now: s.now, done: map[int]string{}, failed: map[int]bool{}, begun: map[int]time.Time{},
		acted: map[int]Action{}, intent: map[int]Action{}}
	recs, err := f.load()
	if err != nil {
		_ = f.close()
		release()
		return nil, err
	}
	if len(recs) > 0 && s.now().Sub(time.UnixMilli(lastAt(recs))) > TTL {
		recs = nil
		if err := f.reset(); err != nil {
			_ = f.close()
			release()
			return nil, err
		}
	}
	if len(recs) == 0 {
		h := record{T: recHeader, Tool: tool, Digest: digest, N: n, At: s.now().UnixMilli()}
		if err := f.append(h, true); err != nil {
			_ = f.close()
			release()
			return nil, err
		}
		return j, nil
	}
	h := recs[0]
	if h.T != recHeader || h.Digest != digest || h.N != n || h.Tool != tool {
		_ = f.close()
		release()
		return nil, fmt.Errorf("%w (first used %s)", ErrMismatch, time.UnixMilli(h.At).UTC().Format(time.RFC3339))
	}
	for _, r := range recs[1:] {
		j.apply(r)
	}
	return j, nil
}

func lastAt(recs []record) int64 {
	var t int64
	for _, r := range recs {
		t = max(t, r.At)
	}
	return t
}

// Journal is one call's record. Its methods are safe for concurrent use
// (bulk chunks settle on several goroutines).
type Journal struct {
	f       file
	release func()
	n       int
	now     func() time.Time

	mu     sync.Mutex
	done   map[int]string
	failed map[int]bool
	begun  map[int]time.Time // earliest begin time of items begun
	acted  map[int]Action    // action of done items recorded with one
	intent map[int]Action    // action of the latest begin of items begun with one
	closed bool
}

func (j *Journal) apply(r record) {
	switch r.T {
	case recBegin:
		at := time.UnixMilli(r.At)
		for _, i := range r.Items.expand(j.n) {
			if t, ok := j.begun[i]; !ok || at.Before(t) {
				j.begun[i] = at
			}
			delete(j.failed, i) // sent again: its earlier failure says nothing of this send
			setAction(j.intent, i, r.A)
		}
	case recDone:
		for k, i := range r.Items.expand(j.n) {
			if k < len(r.IDs) && r.IDs[k] != "" {
				j.done[i] = r.IDs[k]
				setAction(j.acted, i, r.A)
				delete(j.failed, i)
			}
		}
	case recFailed:
		for _, i := range r.Items.expand(j.n) {
			if _, ok := j.done[i]; !ok {
				j.failed[i] = true
			}
		}
	}
}

// setAction sets m[i] to a, or drops it when a is none (or unknown: a
// record written by a later version).
func setAction(m map[int]Action, i int, a Action) {
	if a.known() {
		m[i] = a
	} else {
		delete(m, i)
	}
}

// Done returns the items an earlier or this call applied, by index.
func (j *Journal) Done() map[int]string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return maps.Clone(j.done)
}

// Actions returns the action of each done item that was settled with one.
func (j *Journal) Actions() map[int]Action {
	j.mu.Lock()
	defer j.mu.Unlock()
	return maps.Clone(j.acted)
}

// Intents returns, for each item in doubt (begun, neither done nor
// failed) whose latest begin named an action, that action: what the write
// whose outcome was lost was about to do. A call reads them when it opens
// the journal, before its own begins.
func (j *Journal) Intents() map[int]Action {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[int]Action{}
	for i, a := range j.intent {
		if _, done := j.done[i]; done || j.failed[i] {
			continue
		}
		out[i] = a
	}
	return out
}

// InDoubt returns the items sent without a known outcome, in index order,
// and the earliest time one of them was sent.
func (j *Journal) InDoubt() (items []int, since time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, t := range j.begun {
		if _, ok := j.done[i]; ok || j.failed[i] {
			continue
		}
		items = append(items, i)
		if since.IsZero() || t.Before(since) {
			since = t
		}
	}
	sort.Ints(items)
	return items, since
}

// Begin records, durably, that items are about to be sent at the
// journal's clock's now, and returns that time.
func (j *Journal) Begin(items []int) (time.Time, error) { return j.BeginAs("", items) }

// BeginAs is Begin naming what the write is about to do to the items
// (Created, Updated or Restored); Intents answers it while they are in doubt.
func (j *Journal) BeginAs(a Action, items []int) (time.Time, error) {
	at := j.now()
	if err := a.check(); err != nil {
		return at, err
	}
	r := record{T: recBegin, Items: compress(items), A: a, At: at.UnixMilli()}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.f.append(r, true); err != nil {
		return at, err
	}
	j.apply(r)
	return time.UnixMilli(r.At), nil
}

// Settle records items BILL applied (ids[i] for items[i]) and items that
// are known not to have been applied (failed). Items in neither stay in
// doubt. Already recorded outcomes are not written again.
func (j *Journal) Settle(items []int, ids []string, failed []int) error {
	return j.SettleAs("", items, ids, failed)
}

// SettleAs is Settle naming what was done to the items applied; Actions
// answers it. An item done without a write (Unchanged, Reused) is settled
// the same way, so a later call answers it from the journal too.
func (j *Journal) SettleAs(a Action, items []int, ids []string, failed []int) error {
	if err := a.check(); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var di []int
	var dids []string
	for k, i := range items {
		// the same id again is not news, unless it now names an action
		if k >= len(ids) || ids[k] == "" || (j.done[i] == ids[k] && (a == "" || j.acted[i] == a)) {
			continue
		}
		di = append(di, i)
		dids = append(dids, ids[k])
	}
	var fi []int
	for _, i := range failed {
		if _, ok := j.done[i]; ok || j.failed[i] {
			continue
		}
		fi = append(fi, i)
	}
	at := j.now().UnixMilli()
	if len(di) > 0 {
		r := record{T: recDone, Items: list(di), IDs: dids, A: a, At: at}
		if err := j.f.append(r, false); err != nil {
			return err
		}
		j.apply(r)
	}
	if len(fi) > 0 {
		r := record{T: recFailed, Items: compress(fi), At: at}
		if err := j.f.append(r, false); err != nil {
			return err
		}
		j.apply(r)
	}
	return nil
}

// Close releases the journal for the next call with its key. The record
// stays until it expires.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	err := j.f.close()
	j.release()
	return err
}

type storeKey struct{}

// WithStore returns ctx carrying s, for the tool handlers of a server.
func WithStore(ctx context.Context, s *Store) context.Context {
	return context.WithValue(ctx, storeKey{}, s)
}

// FromContext returns the Store in ctx, or nil.
func FromContext(ctx context.Context) *Store {
	s, _ := ctx.Value(storeKey{}).(*Store)
	return s
}
