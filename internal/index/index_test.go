package index_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/index"
	"github.com/bill-mcp/bill-mcp/secret"
)

// clock is a settable clock shared by the emulator and the index.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// tick advances the clock by a second on every reading: the emulator
// answers each call a second after the last, about BILL's pace for a bulk
// call of 100, so records are stamped apart as BILL would stamp them.
func (c *clock) tick() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type world struct {
	emu   *emulator.Emulator
	clk   *clock
	base  string
	other *billapi.Client // writes that this server does not see
}

func newWorld(t testing.TB) *world {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	em := emulator.New(emulator.Config{Now: clk.tick, HourlyLimit: 1 << 30})
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	w := &world{emu: em, clk: clk, base: srv.URL + "/api/v2"}
	w.other = w.client(t, nil)
	return w
}

func (w *world) client(t testing.TB, obs billapi.WriteObserver) *billapi.Client {
	t.Helper()
	id := emulator.DemoIdentity()
	c, err := billapi.New(billapi.Config{
		BaseURL:             w.base,
		Credentials:         billapi.Credentials{DevKey: secret.New(id.DevKey), UserName: secret.New(id.UserName), Password: secret.New(id.Password), OrgID: id.OrgID},
		Observer:            obs,
		HourlyRequestBudget: 1 << 30,
		BackoffBase:         time.Millisecond,
		BackoffMax:          2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// requests is the emulator's List/Crud call count, logins excluded.
func (w *world) requests() int64 {
	st := w.emu.Stats()
	return st.Requests - st.Logins
}

// seed creates n customers named Customer 0000.. through the other client.
func (w *world) seed(t testing.TB, n int) []billapi.Customer {
	t.Helper()
	objs := make([]billapi.Customer, n)
	for i := range objs {
		objs[i] = billapi.Customer{
			Name:      billapi.String(fmt.Sprintf("Customer %04d", i)),
			Email:     billapi.String(fmt.Sprintf("billing%d@c%04d.example", i, i)),
			AccNumber: billapi.String(fmt.Sprintf("ACC-%05d", i)),
			Phone:     billapi.String(fmt.Sprintf("(415) 555-%04d", i)),
		}
	}
	res, err := w.other.BulkCreateCustomers(t.Context(), objs, billapi.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]billapi.Customer, n)
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("seed %d: %v", i, r.Err)
		}
		out[i] = *r.Object
	}
	return out
}

// memStore is an in-memory Store.
type memStore struct {
	mu    sync.Mutex
	data  []byte
	saves int
}

func (m *memStore) Load(context.Context) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data, m.data != nil, nil
}

func (m *memStore) Save(_ context.Context, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data = append([]byte(nil), b...)
	m.saves++
	return nil
}

func TestIndexBuildsOnceThenRefreshesIncrementally(t *testing.T) {
	w := newWorld(t)
	w.seed(t, 2500)
	ix := index.New(index.Options{Key: "k", Now: w.clk.now})
	c := w.client(t, ix)
	ctx := t.Context()

	steps := []struct {
		name     string
		before   func()
		maxAge   time.Duration
		wantReqs int64
		wantLen  int
	}{
		{"cold build pages BILL once", nil, index.DefaultMaxAge, 3, 2500},
		{"warm within the bound costs nothing", func() { w.clk.add(30 * time.Second) }, index.DefaultMaxAge, 0, 2500},
		{"past the bound, an unchanged org costs one request", func() { w.clk.add(31 * time.Second) }, index.DefaultMaxAge, 1, 2500},
		{"maxAge 0 always refreshes", nil, 0, 1, 2500},
		{"a change elsewhere is seen on the next refresh", func() {
			w.clk.add(20 * time.Minute)
			if _, err := w.other.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Made Elsewhere")}); err != nil {
				t.Fatal(err)
			}
			w.clk.add(time.Minute)
		}, index.DefaultMaxAge, 1, 2501},
		{"this server's own write is seen at once, at no cost", func() {
			if _, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Made Here")}); err != nil {
				t.Fatal(err)
			}
		}, index.DefaultMaxAge, 0, 2502},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		before := w.requests()
		all, err := ix.Customers(ctx, c, s.maxAge)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := w.requests() - before; got != s.wantReqs {
			t.Errorf("%s: %d requests, want %d", s.name, got, s.wantReqs)
		}
		if len(all) != s.wantLen {
			t.Errorf("%s: %d customers, want %d", s.name, len(all), s.wantLen)
		}
	}
}

func TestIndexPersistsAndResumes(t *testing.T) {
	w := newWorld(t)
	w.seed(t, 1200)
	ctx := t.Context()
	store := &memStore{}
	ix := index.New(index.Options{Key: "sandbox|org1", Store: store, Now: w.clk.now})
	c := w.client(t, ix)
	if _, err := ix.Customers(ctx, c, index.DefaultMaxAge); err != nil {
		t.Fatal(err)
	}
	if store.saves != 1 {
		t.Fatalf("%d saves after the build, want 1", store.saves)
	}
	// A write of this server is saved by Flush (or the next refresh).
	if _, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Written Before Exit")}); err != nil {
		t.Fatal(err)
	}
	ix.Flush(ctx)
	if store.saves != 2 {
		t.Fatalf("%d saves after Flush, want 2", store.saves)
	}
	ix.Flush(ctx)
	if store.saves != 2 {
		t.Fatalf("Flush with nothing new saved again")
	}

	tests := []struct {
		name     string
		key      string
		wantReqs int64
	}{
		{"the same org resumes with one request", "sandbox|org1", 1},
		{"another org's snapshot is ignored: full build", "production|org1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix2 := index.New(index.Options{Key: tt.key, Store: &memStore{data: store.data}, Now: w.clk.now})
			before := w.requests()
			all, err := ix2.Customers(ctx, w.other, index.DefaultMaxAge)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.requests() - before; got != tt.wantReqs {
				t.Errorf("%d requests, want %d", got, tt.wantReqs)
			}
			if len(all) != 1201 {
				t.Errorf("%d customers, want 1201", len(all))
			}
		})
	}
}

// staleSource answers a List read before a write arrives with the old
// version of a record.
type staleSource struct {
	fakeSource
	during func()
}

func (s *staleSource) ListCustomers(ctx context.Context, p billapi.ListParams) ([]billapi.Customer, error) {
	out, err := s.fakeSource.ListCustomers(ctx, p)
	if s.during != nil {
		s.during()
	}
	return out, err
}

func TestOwnWriteIsNotUndoneByAnOlderListAnswer(t *testing.T) {
	old := cust("0cuX", "Before", "", "", "", "1")
	newer := cust("0cuX", "After", "", "", "", "1")
	newer.UpdatedTime = billapi.String("2026-11-30T12:00:05.000+0000")
	ix := index.New(index.Options{})
	src := &staleSource{fakeSource: fakeSource{customers: []billapi.Customer{old}}}
	src.during = func() { ix.CustomersWritten([]billapi.Customer{newer}) }
	all, err := ix.Customers(t.Context(), src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || billapi.Deref(all[0].Name) != "After" {
		t.Fatalf("got %+v, want the written version", all)
	}
}

// TestWriteInTheSameMillisecond: BILL's timestamps count milliseconds, so a
// create and the delete right after it can carry the same updatedTime. The
// server's own later write must still replace the earlier one, while a List
// answer's copy of the same instant must not undo a write.
func TestWriteInTheSameMillisecond(t *testing.T) {
	for _, tt := range []struct {
		name       string
		writes     [][]billapi.Customer // observed writes, in order
		listed     []billapi.Customer   // what a refresh's List answers
		wantActive string
	}{
		{"delete after create, one instant", [][]billapi.Customer{
			{cust("0cuX", "Old Globex", "", "", "", "1")},
			{cust("0cuX", "Old Globex", "", "", "", "2")},
		}, nil, "2"},
		{"a List's copy of the same instant keeps the write", [][]billapi.Customer{
			{cust("0cuX", "Old Globex", "", "", "", "2")},
		}, []billapi.Customer{cust("0cuX", "Old Globex", "", "", "", "1")}, "2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ix := index.New(index.Options{})
			src := &staleSource{fakeSource: fakeSource{customers: tt.listed}}
			src.during = func() {
				for _, w := range tt.writes {
					ix.CustomersWritten(w)
				}
			}
			all, err := ix.Customers(t.Context(), src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 1 || billapi.Deref(all[0].IsActive) != tt.wantActive {
				t.Fatalf("got %+v, want one record with isActive %s", all, tt.wantActive)
			}
		})
	}
}

// TestUnbuiltIndexPersistsNoRecords: a session that only wrote (no search
// ever built the index) holds and saves nothing that grows with what it
// wrote — the next run could not use those records, having no high-water
// mark to resume from — and that next run still builds in full and sees
// every record.
func TestUnbuiltIndexPersistsNoRecords(t *testing.T) {
	tests := []struct {
		name   string
		writes int
	}{
		{"one write", 1},
		{"forty writes", 40},
	}
	sizes := map[int]int{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.seed(t, 10)
			ctx := t.Context()
			store := &memStore{}
			ix := index.New(index.Options{Key: "k", Store: store, Now: w.clk.now})
			c := w.client(t, ix)
			for i := range tt.writes {
				if _, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String(fmt.Sprintf("Written %d", i))}); err != nil {
					t.Fatal(err)
				}
			}
			ix.Flush(ctx)
			if store.saves > 1 {
				t.Fatalf("%d saves after Flush, want at most 1", store.saves)
			}
			sizes[tt.writes] = len(store.data)
			ix2 := index.New(index.Options{Key: "k", Store: &memStore{data: store.data}, Now: w.clk.now})
			before := w.requests()
			all, err := ix2.Customers(ctx, w.other, index.DefaultMaxAge)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.requests() - before; got != 1 {
				t.Errorf("%d requests, want 1 (a full build of a small org)", got)
			}
			if len(all) != 10+tt.writes {
				t.Errorf("%d customers, want %d", len(all), 10+tt.writes)
			}
		})
	}
	if sizes[1] != sizes[40] {
		t.Errorf("snapshot of an unbuilt index is %d bytes after 1 write and %d after 40: it persists records no run can use", sizes[1], sizes[40])
	}
}

// TestUnbuiltIndexHoldsNoWrites: before any search builds the index, what
// this server writes is not held (a 100,000-item import would otherwise sit
// in memory): the first search lists BILL in full, and BILL is the truth.
// A write during that first List is held (TestOwnWriteIsNotUndoneByAnOlderListAnswer).
func TestUnbuiltIndexHoldsNoWrites(t *testing.T) {
	ix := index.New(index.Options{})
	ix.CustomersWritten([]billapi.Customer{cust("0cuW", "Written Early", "", "", "", "1")})
	all, err := ix.Customers(t.Context(), &fakeSource{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 0 {
		t.Errorf("the index held %d records written before it was built", len(all))
	}
}
