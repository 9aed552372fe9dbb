// Package index keeps a local copy of an organisation's customers and
// contacts so that tools can search them without reading BILL page by page.
//
// The copy is built by paging BILL once, then kept fresh incrementally: a
// refresh lists only the records whose updatedTime is at or after the
// newest one seen (less a safety margin), so refreshing an unchanged org is
// one request. This server's own writes reach it at once (Index implements
// billapi.WriteObserver). An answer is never built on a copy older than the
// bound the caller passes. The copy may be persisted, encrypted, through a
// Store (the vault's sealed cache file), keyed by environment and org.
package index

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// DefaultMaxAge is how old the copy may be when a search answers.
const DefaultMaxAge = 60 * time.Second

// overlap is how far before the newest updatedTime seen a refresh starts
// listing, on top of the last refresh's own duration (records changed
// while a refresh walked its pages): it covers records BILL stamped before
// their commit became visible, and clock jitter between BILL's hosts. The
// records inside it come back again on every refresh, so it is kept short.
const overlap = 5 * time.Second

// billTime is how BILL writes timestamps.
const billTime = "2006-01-02T15:04:05.000-0700"

// formatVersion is the version of the persisted snapshot.
const formatVersion = 1

// Source is what the index reads BILL through; *billapi.Client is one.
type Source interface {
	ListCustomers(ctx context.Context, p billapi.ListParams) ([]billapi.Customer, error)
	ListCustomerContacts(ctx context.Context, p billapi.ListParams) ([]billapi.CustomerContact, error)
}

// Store persists the index between runs; *vault.SealedFile is one.
type Store interface {
	Load(ctx context.Context) (data []byte, ok bool, err error)
	Save(ctx context.Context, data []byte) error
}

// Options configure New.
type Options struct {
	// Key names the environment and org the index holds (e.g. base URL and
	// org id). A persisted snapshot of another key is ignored.
	Key string
	// Store persists the index; nil keeps it in memory only.
	Store Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Index is the local copy of one org's customers and contacts. It is safe
// for concurrent use.
type Index struct {
	key   string
	store Store
	now   func() time.Time

	loadOnce sync.Once
	sf       singleflight.Group

	mu    sync.Mutex
	cust  *table[billapi.Customer]
	cont  *table[billapi.CustomerContact]
	dirty bool // changed since the last save
	reqs  int  // List requests sent, for tests and benchmarks
}

// New returns an empty index; it loads the persisted snapshot, if any, on
// first use.
func New(o Options) *Index {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Index{
		key:   o.Key,
		store: o.Store,
		now:   now,
		cust: newTable(func(c *billapi.Customer) string { return c.ID },
			func(c *billapi.Customer) *string { return c.CreatedTime },
			func(c *billapi.Customer) *string { return c.UpdatedTime }),
		cont: newTable(func(c *billapi.CustomerContact) string { return c.ID },
			func(c *billapi.CustomerContact) *string { return c.CreatedTime },
			func(c *billapi.CustomerContact) *string { return c.UpdatedTime }),
	}
}

var _ billapi.WriteObserver = (*Index)(nil)

// CustomersWritten records customers this server just wrote, once a
// refresh has started to build the table (see table.keepsWrites).
func (ix *Index) CustomersWritten(objs []billapi.Customer) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.cust.keepsWrites() && ix.cust.put(objs, true) {
		ix.dirty = true
	}
}

// ContactsWritten records contacts this server just wrote, once a refresh
// has started to build the table (see table.keepsWrites).
func (ix *Index) ContactsWritten(objs []billapi.CustomerContact) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.cont.keepsWrites() && ix.cont.put(objs, true) {
		ix.dirty = true
	}
}

// Requests is how many List requests the index has sent.
func (ix *Index) Requests() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.reqs
}

// Customers returns every customer (active and inactive) from a copy no
// older than maxAge, refreshing it first when it is older. maxAge 0 always
// refreshes.
func (ix *Index) Customers(ctx context.Context, src Source, maxAge time.Duration) ([]billapi.Customer, error) {
	ix.load(ctx)
	if err := refreshTable(ctx, ix, "customers", ix.cust, maxAge, src.ListCustomers); err != nil {
		return nil, err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.cust.all(), nil
}

// Contacts returns every contact (active and inactive) from a copy no
// older than maxAge.
func (ix *Index) Contacts(ctx context.Context, src Source, maxAge time.Duration) ([]billapi.CustomerContact, error) {
	ix.load(ctx)
	if err := refreshTable(ctx, ix, "contacts", ix.cont, maxAge, src.ListCustomerContacts); err != nil {
		return nil, err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.cont.all(), nil
}

// refreshTable brings t up to date when it is older than maxAge. Callers
// arriving while a refresh runs share it, except with maxAge 0.
func refreshTable[T any](ctx context.Context, ix *Index, name string, t *table[T], maxAge time.Duration, list func(context.Context, billapi.ListParams) ([]T, error)) error {
	ix.mu.Lock()
	fresh := t.built && maxAge > 0 && ix.now().Sub(t.checked) < maxAge
	ix.mu.Unlock()
	if fresh {
		return nil
	}
	var err error
	if maxAge > 0 {
		_, err, _ = ix.sf.Do(name, func() (any, error) {
			return nil, refreshInto(ctx, ix, t, list)
		})
	} else {
		// A caller that must see everything up to now (a write about to
		// match what exists) does not join a refresh that started earlier.
		err = refreshInto(ctx, ix, t, list)
	}
	if err != nil {
		return err
	}
	ix.save(ctx)
	return nil
}

// refreshInto lists what changed since t's high-water mark (all of it on
// the first run) and merges it in.
func refreshInto[T any](ctx context.Context, ix *Index, t *table[T], list func(context.Context, billapi.ListParams) ([]T, error)) error {
	started := ix.now()
	ix.mu.Lock()
	t.filling++
	defer func() {
		ix.mu.Lock()
		t.filling--
		ix.mu.Unlock()
	}()
	p := billapi.ListParams{Max: billapi.MaxListPage}
	if !t.hw.IsZero() {
		since := t.hw.Add(-(overlap + t.margin))
		p.Filters = []billapi.Filter{{Field: "updatedTime", Op: billapi.OpGe, Value: since.UTC().Format(billTime)}}
	}
	ix.mu.Unlock()
	// Pages in BILL's default order (createdTime, id): an update or a new
	// record during the walk never shifts a record already passed into the
	// next page; a record that joins the filtered set behind the walk has
	// an updatedTime the next refresh's margin still covers.
	var got []T
	for {
		ix.mu.Lock()
		ix.reqs++
		ix.mu.Unlock()
		page, err := list(ctx, p)
		if err != nil {
			return fmt.Errorf("refresh the local index: %w", err)
		}
		got = append(got, page...)
		if len(page) < p.Max {
			break
		}
		p.Start += len(page)
	}
	took := ix.now().Sub(started)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if t.put(got, false) {
		ix.dirty = true
	}
	for i := range got {
		if ut, ok := parseTime(t.updated(&got[i])); ok && ut.After(t.hw) {
			t.hw = ut
			ix.dirty = true
		}
	}
	t.margin = max(took, 0)
	t.built = true
	t.checked = started
	return nil
}

// load reads the persisted snapshot once; a missing, damaged or foreign
// one leaves the index empty (it is a cache: BILL is the truth).
func (ix *Index) load(ctx context.Context) {
	ix.loadOnce.Do(func() {
		if ix.store == nil {
			return
		}
		data, ok, err := ix.store.Load(ctx)
		if err != nil || !ok {
			return
		}
		var s snapshot
		if json.Unmarshal(data, &s) != nil || s.Version != formatVersion || s.Key != ix.key {
			return
		}
		ix.mu.Lock()
		defer ix.mu.Unlock()
		ix.cust.restore(s.Customers)
		ix.cont.restore(s.Contacts)
	})
}

// save persists the index when it changed. A failed save is not an error
// for the caller: the copy in memory is good, and the next run rebuilds.
func (ix *Index) save(ctx context.Context) {
	if ix.store == nil {
		return
	}
	ix.mu.Lock()
	if !ix.dirty {
		ix.mu.Unlock()
		return
	}
	s := snapshot{Version: formatVersion, Key: ix.key, Customers: ix.cust.dump(), Contacts: ix.cont.dump()}
	ix.dirty = false
	ix.mu.Unlock()
	data, err := json.Marshal(s)
	if err == nil {
		err = ix.store.Save(ctx, data)
	}
	if err != nil {
		ix.mu.Lock()
		ix.dirty = true
		ix.mu.Unlock()
	}
}

// Flush persists what changed since the last save (the server's writes
// since the last refresh); call it before exit.
func (ix *Index) Flush(ctx context.Context) { ix.save(ctx) }

// snapshot is the persisted form.
type snapshot struct {
	Version   int                                `json:"version"`
	Key       string                             `json:"key"`
	Customers tableDump[billapi.Customer]        `json:"customers"`
	Contacts  tableDump[billapi.CustomerContact] `json:"contacts"`
}

func parseTime(s *string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	for _, layout := range []string{billTime, time.RFC3339Nano} {
		if t, err := time.Parse(layout, *s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
