package billapi_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/rs/zerolog"
)

// Exactly-once without assumptions no source makes: each test runs against
// the emulator set both ways where BILL's behaviour is unknown.

// unknowns are the emulator settings for what nobody knows about BILL.
func unknowns() map[string]emulator.Config {
	return map[string]emulator.Config{
		"names unique, routing plain":            {},
		"duplicate names, routing masked":        {DuplicateNames: true, MaskRoutingNumbers: true},
		"duplicate names, routing masked, no in": {DuplicateNames: true, MaskRoutingNumbers: true, RefuseInFilter: true},
	}
}

// TestSystemErrorAfterAppliedCreate: BDC_1001 on a create BILL applied
// leaves exactly one record, and the caller gets it.
func TestSystemErrorAfterAppliedCreate(t *testing.T) {
	for name, cfg := range unknowns() {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			e := startEmu(t, cfg)
			c := newClient(t, e, nil)

			e.script.on("Crud/Create/Customer", 1, errAfter)
			cu, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Once Co"), Email: billapi.String("ap@once.example")})
			if err != nil {
				t.Fatalf("create after an applied BDC_1001: %v", err)
			}
			e.script.on("Crud/Create/CustomerBankAccount", 1, errAfter)
			ba, err := c.CreateCustomerBankAccount(ctx, billapi.CustomerBankAccount{CustomerID: &cu.ID, NameOnAccount: billapi.String("Once Co"),
				RoutingNumber: billapi.String("021000358"), AccountNumber: billapi.String("1234567890")}, true)
			if err != nil {
				t.Fatalf("bank account after an applied BDC_1001: %v", err)
			}
			e.script.on("Bulk/Crud/Create/Customer", 1, errAfter)
			res, err := c.BulkCreateCustomers(ctx, []billapi.Customer{{Name: billapi.String("Once A")}, {Name: billapi.String("Once B")}}, billapi.BulkOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					t.Fatalf("bulk item %d: %v", r.Index, r.Err)
				}
			}

			custs := countBy(t, c.AllCustomers(ctx, billapi.ListParams{}), func(x billapi.Customer) string { return billapi.Deref(x.Name) })
			for _, n := range []string{"Once Co", "Once A", "Once B"} {
				if len(custs[n]) != 1 {
					t.Errorf("customer %q stored %d times, want 1", n, len(custs[n]))
				}
			}
			if custs["Once Co"][0] != cu.ID {
				t.Errorf("caller got %s, BILL holds %v", cu.ID, custs["Once Co"])
			}
			banks := countBy(t, c.AllCustomerBankAccounts(ctx, billapi.ListParams{}), func(x billapi.CustomerBankAccount) string { return billapi.Deref(x.CustomerID) })
			if len(banks[cu.ID]) != 1 || banks[cu.ID][0] != ba.ID {
				t.Errorf("bank accounts of the customer: %v, want exactly %s", banks[cu.ID], ba.ID)
			}
			if e.script.count("Crud/Create/Customer") != 1 || e.script.count("Crud/Create/CustomerBankAccount") != 1 {
				t.Errorf("an applied create was sent again: %d customer, %d bank-account creates",
					e.script.count("Crud/Create/Customer"), e.script.count("Crud/Create/CustomerBankAccount"))
			}
		})
	}
}

// countBy maps key -> ids over a listing.
func countBy[T any](t *testing.T, seq func(func(T, error) bool), key func(T) string) map[string][]string {
	t.Helper()
	m := make(map[string][]string)
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		id := ""
		switch x := any(v).(type) {
		case billapi.Customer:
			id = x.ID
		case billapi.CustomerContact:
			id = x.ID
		case billapi.CustomerBankAccount:
			id = x.ID
		}
		m[key(v)] = append(m[key(v)], id)
	}
	return m
}

// TestDuplicateNamesAreTwoRecords: with duplicates allowed, two creates of
// the same name on purpose are two records, even when the second's answer
// is lost (reconciliation never claims the first, seen before the call).
func TestDuplicateNamesAreTwoRecords(t *testing.T) {
	ctx := t.Context()
	e := startEmu(t, emulator.Config{DuplicateNames: true})
	c := newClient(t, e, nil)
	first, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Same Co")})
	if err != nil {
		t.Fatal(err)
	}
	// Another client's record of the same name, seen by this one in a List.
	other := newClient(t, e, nil)
	theirs, err := other.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Same Co")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListCustomers(ctx, billapi.ListParams{}); err != nil {
		t.Fatal(err)
	}
	e.script.on("Crud/Create/Customer", 1, dropBefore)
	second, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Same Co")})
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || second.ID == theirs.ID {
		t.Fatalf("the second create was answered with an existing record %s", second.ID)
	}
	if got := countBy(t, c.AllCustomers(ctx, billapi.ListParams{}), func(x billapi.Customer) string { return billapi.Deref(x.Name) }); len(got["Same Co"]) != 3 {
		t.Fatalf("Same Co stored %d times, want 3", len(got["Same Co"]))
	}
}

// TestMalformedTwiceIsInputError: BDC_1002 is retried once, then answered
// as the caller's input error; nothing is created.
func TestMalformedTwiceIsInputError(t *testing.T) {
	ctx := t.Context()
	e := startEmu(t, emulator.Config{})
	c := newClient(t, e, nil)
	e.script.on("Crud/Create/Customer", 1, malformed)
	e.script.on("Crud/Create/Customer", 2, malformed)
	_, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Typo Co")})
	var be *billapi.Error
	if !errors.As(err, &be) || be.Code != billapi.CodeUnknownError || !errors.Is(err, billapi.ErrInput) || !strings.Contains(be.Message, "check the field") {
		t.Fatalf("err = %v, want BDC_1002 as an input error that says to check the fields", err)
	}
	if n := e.script.count("Crud/Create/Customer"); n != 2 {
		t.Fatalf("creates sent = %d, want 2 (one retry)", n)
	}
	if n := e.Stats().Objects["Customer"]; n != 0 {
		t.Fatalf("%d customers stored, want 0", n)
	}
}

// failingDialer refuses connections while fail is set and counts dials.
type failingDialer struct {
	fail  atomic.Bool
	dials atomic.Int32
}

func (d *failingDialer) transport() *http.Transport {
	var nd net.Dialer
	return &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.dials.Add(1)
		if d.fail.Load() {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: syscall.ECONNREFUSED.Error(), Addr: addr}}
		}
		return nd.DialContext(ctx, network, addr)
	}}
}

// createReadBulk are one call of each kind on c (a create, a read, a bulk
// create), customers named after tag.
func createReadBulk(ctx context.Context, c *billapi.Client, tag string) map[string]func() error {
	return map[string]func() error{
		"create": func() error {
			_, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String(tag + " Co")})
			return err
		},
		"read": func() error { _, err := c.ListCustomers(ctx, billapi.ListParams{}); return err },
		"bulk": func() error {
			_, err := c.BulkCreateCustomers(ctx, []billapi.Customer{{Name: billapi.String(tag + " A")}}, billapi.BulkOptions{})
			return err
		},
	}
}

// TestUnreachableNothingSent: a request that never left answers at once
// that nothing was sent, with no reconciliation and at most one retry.
func TestUnreachableNothingSent(t *testing.T) {
	ctx := t.Context()
	e := startEmu(t, emulator.Config{})
	d := &failingDialer{}
	c := newClient(t, e, func(cfg *billapi.Config) { cfg.HTTPClient = &http.Client{Transport: d.transport()} })
	if _, err := c.ListCustomers(ctx, billapi.ListParams{Max: 1}); err != nil {
		t.Fatal(err)
	}
	d.fail.Store(true)
	for name, call := range createReadBulk(ctx, c, "Far") {
		before, lists := d.dials.Load(), e.script.count("List/Customer")
		err := call()
		var be *billapi.Error
		if !errors.As(err, &be) || be.Code != billapi.CodeUnreachable || !errors.Is(err, billapi.ErrUnreachable) || !strings.Contains(be.Message, "nothing was sent") {
			t.Fatalf("%s: err = %v, want %s saying nothing was sent", name, err, billapi.CodeUnreachable)
		}
		if n := d.dials.Load() - before; n > 2 {
			t.Errorf("%s: %d connection attempts, want at most 2", name, n)
		}
		if n := e.script.count("List/Customer") - lists; n != 0 {
			t.Errorf("%s: %d reconciliation lists for a request that never left", name, n)
		}
	}
}

// memStore is a SessionStore in memory.
type memStore struct {
	mu    sync.Mutex
	s     billapi.Session
	ok    bool
	saves int
}

func (m *memStore) Load(context.Context) (billapi.Session, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s, m.ok, nil
}

func (m *memStore) Save(_ context.Context, s billapi.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s, m.ok = s, true
	m.saves++
	return nil
}

func (m *memStore) Invalidate(_ context.Context, s billapi.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.s.ID.Equal(s.ID) {
		m.ok = false
	}
	return nil
}

// TestAPIEndPointFallback: Login names an endpoint that does not answer;
// the client falls back to the configured base, logs the host, and the
// session store no longer holds the failing endpoint.
func TestAPIEndPointFallback(t *testing.T) {
	ctx := t.Context()
	e := startEmu(t, emulator.Config{})
	dead := e.base() + "/dead"
	rewrite := &loginRewriter{next: e.srv.Config.Handler, endpoint: dead}
	e.srv.Config.Handler = rewrite
	var dials atomic.Int32
	base := newTransport()
	tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.Contains(r.URL.Path, "/dead/") {
			dials.Add(1)
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
		}
		return base.RoundTrip(r)
	})
	store := &memStore{}
	logs := &lockedLog{}
	c := newClient(t, e, func(cfg *billapi.Config) {
		cfg.HTTPClient = &http.Client{Transport: tr}
		cfg.SessionStore = store
		lg := zerolog.New(logs).Level(zerolog.DebugLevel)
		cfg.Logger = &lg
	})
	if _, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Endpoint Co")}); err != nil {
		t.Fatalf("create with a dead apiEndPoint: %v", err)
	}
	if _, err := c.ListCustomers(ctx, billapi.ListParams{}); err != nil {
		t.Fatal(err)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("requests to the dead endpoint = %d, want 1 (then the configured base)", n)
	}
	if s, ok, _ := store.Load(ctx); !ok || s.APIEndPoint != "" {
		t.Errorf("session store keeps endpoint %q, want none", s.APIEndPoint)
	}
	if !strings.Contains(logs.String(), "endpoint_host") || strings.Contains(logs.String(), emulator.DemoIdentity().DevKey) {
		t.Errorf("log should name the endpoint's host and no secret: %s", logs.String())
	}
	if n := e.Stats().Objects["Customer"]; n != 1 {
		t.Errorf("%d customers stored, want 1", n)
	}
}

// lockedLog is a log sink safe for concurrent writes.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// loginRewriter answers Login with another apiEndPoint.
type loginRewriter struct {
	next     http.Handler
	endpoint string
}

func (l *loginRewriter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/Login.json") {
		l.next.ServeHTTP(w, r)
		return
	}
	rec := &bodyRecorder{header: http.Header{}}
	l.next.ServeHTTP(rec, r)
	body := rec.body.String()
	if i := strings.Index(body, `"apiEndPoint":"`); i >= 0 {
		j := strings.Index(body[i+15:], `"`)
		body = body[:i+15] + l.endpoint + body[i+15+j:]
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprint(w, body)
}

type bodyRecorder struct {
	header http.Header
	body   strings.Builder
}

func (b *bodyRecorder) Header() http.Header         { return b.header }
func (b *bodyRecorder) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bodyRecorder) WriteHeader(int)             {}

// TestReadBackAfterLostAndRefused: an update, delete or undelete whose
// first answer was lost (after BILL applied it) and whose retries are
// refused is read back and reported as done; one that did not apply keeps
// its refusal, saying the record was checked.
func TestReadBackAfterLostAndRefused(t *testing.T) {
	ctx := t.Context()
	e := startEmu(t, emulator.Config{})
	c := newClient(t, e, func(cfg *billapi.Config) { cfg.MaxAttempts = 3 })
	cu, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Readback Co")})
	if err != nil {
		t.Fatal(err)
	}
	lostThenBusy := func(op string, first action) {
		e.script.on(op, 1, first)
		e.script.on(op, 2, busy)
		e.script.on(op, 3, busy)
	}

	lostThenBusy("Crud/Update/Customer", dropAfter)
	up, err := c.UpdateCustomer(ctx, billapi.Customer{ID: cu.ID, Name: billapi.String("Readback Co"), Phone: billapi.String("555-0101")})
	if err != nil || billapi.Deref(up.Phone) != "555-0101" {
		t.Fatalf("update applied, answer lost, retries refused: got %v, %v; want the updated record", up, err)
	}
	lostThenBusy("Crud/Delete/Customer", dropAfter)
	del, err := c.DeleteCustomer(ctx, cu.ID)
	if err != nil || billapi.Deref(del.IsActive) != billapi.Inactive {
		t.Fatalf("delete applied, answer lost, retries refused: got %v, %v; want the deleted record", del, err)
	}
	lostThenBusy("Crud/Undelete/Customer", dropBefore)
	_, err = c.UndeleteCustomer(ctx, cu.ID)
	var be *billapi.Error
	if !errors.As(err, &be) || be.Code != billapi.CodeTooManyInFlight || !strings.Contains(be.Message, "does not hold the change") {
		t.Fatalf("undelete never applied: err = %v, want BDC_1322 saying the record was read back", err)
	}
	lostThenBusy("Bulk/Crud/Undelete/Customer", dropAfter)
	res, err := c.BulkUndeleteCustomers(ctx, []string{cu.ID}, billapi.BulkOptions{})
	if err != nil || res[0].Err != nil || billapi.Deref(res[0].Object.IsActive) != billapi.Active {
		t.Fatalf("bulk undelete applied, answer lost, retries refused: %+v %v", res, err)
	}
}

// TestBulkAnswerOutOfOrder: Bulk answers are matched to requests by
// content; answers in another order are treated as lost, reconciled and
// each item gets its own record.
func TestBulkAnswerOutOfOrder(t *testing.T) {
	ctx := t.Context()
	e := startEmu(t, emulator.Config{})
	c := newClient(t, e, nil)
	objs := []billapi.Customer{{Name: billapi.String("Order A")}, {Name: billapi.String("Order B")}, {Name: billapi.String("Order C")}}
	e.script.on("Bulk/Crud/Create/Customer", 1, reverse)
	res, err := c.BulkCreateCustomers(ctx, objs, billapi.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(res))
	for i, r := range res {
		if r.Err != nil || billapi.Deref(r.Object.Name) != billapi.Deref(objs[i].Name) {
			t.Fatalf("item %d: %+v, want the record named %s", i, r, billapi.Deref(objs[i].Name))
		}
		ids[i] = r.Object.ID
	}
	if n := e.Stats().Objects["Customer"]; n != 3 {
		t.Fatalf("%d customers stored, want 3", n)
	}
	e.script.on("Bulk/Crud/Delete/Customer", 1, reverse)
	del, err := c.BulkDeleteCustomers(ctx, ids, billapi.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range del {
		if r.Err != nil || r.Object.ID != ids[i] || billapi.Deref(r.Object.IsActive) != billapi.Inactive {
			t.Fatalf("delete item %d: %+v", i, r)
		}
	}
}

// TestInFilterRefused: where BILL refuses the "in" operator the client
// uses "=" filters and reads by id, and still settles lost creates and
// fills updates.
func TestInFilterRefused(t *testing.T) {
	ctx := t.Context()
	e := startEmu(t, emulator.Config{RefuseInFilter: true})
	c := newClient(t, e, nil)
	a, _ := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("In A")})
	b, _ := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("In B")})
	if a == nil || b == nil {
		t.Fatal("customers not created")
	}
	contacts := []billapi.CustomerContact{
		{CustomerID: &a.ID, FirstName: billapi.String("Ann"), Email: billapi.String("ann@in.example")},
		{CustomerID: &b.ID, FirstName: billapi.String("Bob"), Email: billapi.String("bob@in.example")},
	}
	e.script.on("Bulk/Crud/Create/CustomerContact", 1, dropAfter)
	res, err := c.BulkCreateCustomerContacts(ctx, contacts, billapi.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("contact %d: %v", r.Index, r.Err)
		}
	}
	if n := e.Stats().Objects["CustomerContact"]; n != 2 {
		t.Fatalf("%d contacts stored, want 2", n)
	}
	up, err := c.BulkUpdateCustomers(ctx, []billapi.Customer{{ID: a.ID, Phone: billapi.String("1")}, {ID: b.ID, Phone: billapi.String("2")}}, billapi.BulkOptions{})
	if err != nil || up[0].Err != nil || up[1].Err != nil {
		t.Fatalf("bulk update needing the current names: %+v %v", up, err)
	}
	if e.Stats().Errors["BDC_1131"] != 1 {
		t.Fatalf("BILL was asked with \"in\" %d times after refusing it, want once", e.Stats().Errors["BDC_1131"])
	}
}

// TestLostThenHourlyLimit: an update applied, its answer lost, its retry
// refused for the hourly limit: the client cannot read it back either, so it
// answers OUTCOME_UNKNOWN (never "failed") and says when to check.
func TestLostThenHourlyLimit(t *testing.T) {
	ctx := t.Context()
	e := startEmu(t, emulator.Config{})
	c := newClient(t, e, nil)
	cu, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Limit Co")})
	if err != nil {
		t.Fatal(err)
	}
	e.script.on("Crud/Update/Customer", 1, dropAfter)
	e.script.on("Crud/Update/Customer", 2, hourly)
	_, err = c.UpdateCustomer(ctx, billapi.Customer{ID: cu.ID, Name: billapi.String("Limit Co"), Phone: billapi.String("1")})
	var be *billapi.Error
	if !errors.As(err, &be) || be.Code != billapi.CodeUndecidedOutcome || !strings.Contains(be.Message, "UTC") {
		t.Fatalf("err = %v, want OUTCOME_UNKNOWN saying when to check", err)
	}
}

// brokenCoordinator is a Coordinator whose shared state cannot be checked
// once broken is set (as a cache directory turned read-only would).
type brokenCoordinator struct {
	*billapi.ProcessCoordinator
	broken atomic.Bool
}

var errBrokenCoord = errors.New("slot lock: read-only file system")

func (b *brokenCoordinator) Acquire(ctx context.Context) (func(), error) {
	if b.broken.Load() {
		return nil, errBrokenCoord
	}
	return b.ProcessCoordinator.Acquire(ctx)
}

// TestCoordinationFailureSendsNothing: when the shared limits cannot be
// checked, nothing is sent, the caller learns that (LOCAL_COORDINATION,
// ErrUnreachable, never an uncertain outcome), and no lookup is spent
// reconciling a write that never left.
func TestCoordinationFailureSendsNothing(t *testing.T) {
	ctx := t.Context()
	e := startEmu(t, emulator.Config{})
	coord := &brokenCoordinator{ProcessCoordinator: billapi.NewProcessCoordinator()}
	c := newClient(t, e, func(cfg *billapi.Config) { cfg.Coordinator = coord })
	if _, err := c.ListCustomers(ctx, billapi.ListParams{Max: 1}); err != nil {
		t.Fatal(err)
	}
	coord.broken.Store(true)
	for name, call := range createReadBulk(ctx, c, "Unchecked") {
		lists, creates, bulks := e.script.count("List/Customer"), e.script.count("Crud/Create/Customer"), e.script.count("Bulk/Crud/Create/Customer")
		err := call()
		var be *billapi.Error
		if !errors.As(err, &be) || be.Code != billapi.CodeCoordination || !errors.Is(err, billapi.ErrUnreachable) || !errors.Is(err, errBrokenCoord) || !strings.Contains(be.Message, "nothing was sent") {
			t.Fatalf("%s: err = %v, want %s saying nothing was sent", name, err, billapi.CodeCoordination)
		}
		if n := e.script.count("List/Customer") - lists; n != 0 {
			t.Errorf("%s: %d lists after the coordinator failed (reconciliation of a request that never left?)", name, n)
		}
		if n := e.script.count("Crud/Create/Customer") + e.script.count("Bulk/Crud/Create/Customer") - creates - bulks; n != 0 {
			t.Errorf("%s: %d creates reached BILL without a slot", name, n)
		}
	}
	if n := e.Stats().Objects["Customer"]; n != 0 {
		t.Errorf("%d customers exist, want 0", n)
	}
}
