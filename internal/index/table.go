package index

import (
	"cmp"
	"slices"
	"time"
)

// table is the copy of one entity: records by id, the newest updatedTime a
// refresh saw, and when the last refresh started.
type table[T any] struct {
	id      func(*T) string
	created func(*T) *string
	updated func(*T) *string

	byID    map[string]*T // records are held by pointer so reading them copies nothing
	hw      time.Time     // newest updatedTime a refresh returned
	margin  time.Duration // how long the last refresh took
	built   bool          // a refresh (or a loaded snapshot) filled it
	filling int           // refreshes running now
	checked time.Time     // local time the last refresh started; zero after load
}

// keepsWrites reports whether t takes records this server wrote: once a
// refresh built it, or while one runs (its List may answer an older copy).
// Before that the first search lists every record anyway, so holding what
// was written (every record of a 100,000-item import) would only cost
// memory.
func (t *table[T]) keepsWrites() bool { return t.built || t.filling > 0 }

func newTable[T any](id func(*T) string, created, updated func(*T) *string) *table[T] {
	return &table[T]{id: id, created: created, updated: updated, byID: map[string]*T{}}
}

// put merges objs, keeping for each id the version with the newest
// updatedTime (a List answer read before this server's own write must not
// undo it). BILL's timestamps count milliseconds, so a create and a delete
// can share one: with written set (objs are this server's own writes, which
// arrive in the order BILL applied them) a version as new as the kept one
// replaces it; a List answer must be strictly newer. It reports whether
// anything changed.
func (t *table[T]) put(objs []T, written bool) bool {
	changed := false
	for i := range objs {
		if t.putOne(&objs[i], written) {
			changed = true
		}
	}
	return changed
}

// putOne merges one record as put does and reports whether it changed t.
func (t *table[T]) putOne(o *T, written bool) bool {
	id := t.id(o)
	if id == "" {
		return false
	}
	if cur, ok := t.byID[id]; ok {
		nu, okNew := parseTime(t.updated(o))
		ou, okOld := parseTime(t.updated(cur))
		if okNew && okOld && (nu.Before(ou) || (!written && nu.Equal(ou))) {
			return false // an older version, or a List's copy of the same one
		}
	}
	v := *o
	t.byID[id] = &v
	return true
}

// all returns every record in BILL's default list order: createdTime, then id.
func (t *table[T]) all() []T {
	recs := t.sorted()
	out := make([]T, len(recs))
	for i, r := range recs {
		out[i] = *r
	}
	return out
}

// sorted returns the records, by pointer, in BILL's default list order.
// Each record's sort key is worked out once and the sort moves small keys,
// not records: a comparison that parsed times or copied records would make
// garbage in proportion to n log n records, and the table may hold every
// customer of a 100,000-item import.
func (t *table[T]) sorted() []*T {
	type key struct {
		created time.Time
		id      string
		rec     *T
	}
	keys := make([]key, 0, len(t.byID))
	for id, rec := range t.byID {
		c, _ := parseTime(t.created(rec))
		keys = append(keys, key{created: c, id: id, rec: rec})
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	out := make([]*T, len(keys))
	for i, k := range keys {
		out[i] = k.rec
	}
	return out
}

// tableDump is a table as persisted. Records are held by pointer so that
// persisting shares the table's records instead of copying them.
type tableDump[T any] struct {
	HighWater string `json:"highWater,omitempty"`
	Records   []*T   `json:"records"`
}

// dump is what t persists. A table no refresh has filled (only this
// server's writes reached it) persists no records: restore could not use
// them, since without a high-water mark the next run builds from scratch,
// and a large import would otherwise be serialized and sealed at exit for
// nothing.
func (t *table[T]) dump() tableDump[T] {
	if t.hw.IsZero() {
		return tableDump[T]{Records: []*T{}}
	}
	return tableDump[T]{HighWater: t.hw.UTC().Format(time.RFC3339Nano), Records: t.sorted()}
}

// restore fills t from a snapshot; the next use refreshes it from the
// snapshot's high-water mark.
func (t *table[T]) restore(d tableDump[T]) {
	hw, err := time.Parse(time.RFC3339Nano, d.HighWater)
	if d.HighWater == "" || err != nil {
		return // never refreshed: build from scratch
	}
	for _, r := range d.Records {
		if r != nil {
			t.putOne(r, false)
		}
	}
	t.hw = hw
	t.margin = 0
	t.built = true
	t.checked = time.Time{}
}
