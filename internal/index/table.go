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

	byID    map[string]T
	hw      time.Time     // newest updatedTime a refresh returned
	margin  time.Duration // how long the last refresh took
	built   bool          // a refresh (or a loaded snapshot) filled it
	checked time.Time     // local time the last refresh started; zero after load
}

func newTable[T any](id func(*T) string, created, updated func(*T) *string) *table[T] {
	return &table[T]{id: id, created: created, updated: updated, byID: map[string]T{}}
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
		o := &objs[i]
		id := t.id(o)
		if id == "" {
			continue
		}
		if cur, ok := t.byID[id]; ok {
			nu, okNew := parseTime(t.updated(o))
			ou, okOld := parseTime(t.updated(&cur))
			if okNew && okOld && (nu.Before(ou) || (!written && nu.Equal(ou))) {
				continue // an older version, or a List's copy of the same one
			}
		}
		t.byID[id] = *o
		changed = true
	}
	return changed
}

// all returns every record in BILL's default list order: createdTime, then id.
func (t *table[T]) all() []T {
	out := make([]T, 0, len(t.byID))
	for _, v := range t.byID {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b T) int {
		ca, _ := parseTime(t.created(&a))
		cb, _ := parseTime(t.created(&b))
		if c := ca.Compare(cb); c != 0 {
			return c
		}
		return cmp.Compare(t.id(&a), t.id(&b))
	})
	return out
}

// tableDump is a table as persisted.
type tableDump[T any] struct {
	HighWater string `json:"highWater,omitempty"`
	Records   []T    `json:"records"`
}

func (t *table[T]) dump() tableDump[T] {
	d := tableDump[T]{Records: t.all()}
	if !t.hw.IsZero() {
		d.HighWater = t.hw.UTC().Format(time.RFC3339Nano)
	}
	return d
}

// restore fills t from a snapshot; the next use refreshes it from the
// snapshot's high-water mark.
func (t *table[T]) restore(d tableDump[T]) {
	hw, err := time.Parse(time.RFC3339Nano, d.HighWater)
	if d.HighWater == "" || err != nil {
		return // never refreshed: build from scratch
	}
	t.put(d.Records, false)
	t.hw = hw
	t.margin = 0
	t.built = true
	t.checked = time.Time{}
}
