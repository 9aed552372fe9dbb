package billapi_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// soakFaults is every fault kind. ratelimit (BDC_1144) stops the client
// until the top of the hour by design; the soak's callers wait for that
// reset, as the error tells them, by moving the client's clock (patientClock).
const soakFaults = "p=0.05,kinds=system+concurrency+ratelimit+session+reset+lost-response+applied-error+echo"

// maxWaits bounds how often one caller waits out an hourly limit.
const maxWaits = 50

// patientClock is the client's clock in the soak. A caller told of an
// hourly limit waits for its reset time, as the error says, by moving this
// clock past it rather than sleeping until the next hour.
type patientClock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now is the wall clock plus the waiting done so far.
func (p *patientClock) Now() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Now().Add(p.off)
}

// waitOut reports whether err is an hourly-limit error, after moving the
// clock past the reset time it names.
func (p *patientClock) waitOut(err error) bool {
	var be *billapi.Error
	if !errors.As(err, &be) || be.Class != billapi.ClassHourlyLimit {
		return false
	}
	if be.ResetAt.IsZero() {
		panic("an hourly-limit error without a reset time")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now().Add(p.off); now.Before(be.ResetAt) {
		p.off += be.ResetAt.Sub(now) + time.Millisecond
	}
	return true
}

// patiently calls call, waiting out hourly limits.
func patiently[T any](clk *patientClock, call func() (T, error)) (T, error) {
	v, err := call()
	for range maxWaits {
		if !clk.waitOut(err) {
			break
		}
		v, err = call()
	}
	return v, err
}

// bulkPatiently sends items through bulk, re-sending after each wait only the
// items refused by an hourly limit, and returns one told per item.
func bulkPatiently[In, Out any](clk *patientClock, items []In, key func(In) string,
	bulk func([]In) []billapi.BulkResult[Out], id func(*Out) string) []told {
	out := make([]told, len(items))
	pending := make([]int, len(items))
	for i := range pending {
		pending[i] = i
	}
	for range maxWaits {
		if len(pending) == 0 {
			break
		}
		batch := make([]In, len(pending))
		for j, i := range pending {
			batch[j] = items[i]
		}
		var again []int
		for j, r := range bulk(batch) {
			i := pending[j]
			out[i] = fromBulk(key(items[i]), r.Object, r.Err, id)
			if r.Err != nil && clk.waitOut(r.Err) {
				again = append(again, i)
			}
		}
		pending = again
	}
	return out
}

// told is what the client told a caller about one intended record.
type told struct {
	key string // customer name or contact email: unique per intended record
	id  string
	err error
}

// TestFaultSoak creates 2,000 customers, 2,000 contacts and 300 bank
// accounts through bulk and single calls with every fault kind at p=0.05,
// for three seeds, with the emulator set each way where BILL's behaviour is
// unknown (duplicate names refused or allowed, routing numbers plain or
// masked, "in" filters taken or refused), and checks that every caller was
// told the truth and that nothing was created twice.
func TestFaultSoak(t *testing.T) {
	for name, cfg := range unknowns() {
		t.Run(name, func(t *testing.T) {
			struck := make(map[string]int64)
			for _, seed := range []int64{1, 2, 3} {
				t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
					for k, n := range soak(t, cfg, seed) {
						struck[k] += n
					}
				})
			}
			for _, k := range emulator.AllFaultKinds() {
				if struck[string(k)] == 0 {
					t.Errorf("fault %q never struck: the soak does not exercise it", k)
				}
			}
		})
	}
}

// soak runs one seed and returns the faults that struck, by kind.
func soak(t *testing.T, cfg emulator.Config, seed int64) map[string]int64 {
	ctx := t.Context()
	faults, err := emulator.ParseFaults(soakFaults)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Faults, cfg.Seed, cfg.LoginLimit, cfg.HourlyLimit = faults, seed, 1<<20, 1<<20
	e := startEmu(t, cfg)
	clk := &patientClock{}
	c := newClient(t, e, func(cfg *billapi.Config) {
		cfg.Now = clk.Now
		cfg.MaxInFlight = 3
		cfg.MaxAttempts = 8
		cfg.HourlyLoginBudget = 1 << 20
		cfg.HourlyRequestBudget = 1 << 20
	})

	// 1,500 of each through bulk calls, 500 through single calls (under the
	// race detector 450 and 150).
	total, bulkShare, banks := 2000, 1500, 300
	if raceEnabled {
		total, bulkShare, banks = 600, 450, 100
	}
	const workers = 8
	custNames := names(fmt.Sprintf("Soak%d", seed), total)

	// Customers: two bulk calls of 750 and 500 single creates, all at once.
	custTold := make([]told, total)
	var wg sync.WaitGroup
	for part := range 2 {
		wg.Go(func() {
			lo, hi := part*bulkShare/2, (part+1)*bulkShare/2
			objs := make([]billapi.Customer, hi-lo)
			for i := range objs {
				objs[i] = billapi.Customer{Name: billapi.String(custNames[lo+i])}
			}
			res := bulkPatiently(clk, objs, func(x billapi.Customer) string { return billapi.Deref(x.Name) },
				func(b []billapi.Customer) []billapi.BulkResult[billapi.Customer] {
					r, _ := c.BulkCreateCustomers(ctx, b, billapi.BulkOptions{})
					return r
				}, func(x *billapi.Customer) string { return x.ID })
			copy(custTold[lo:hi], res)
		})
	}
	for w := range workers {
		wg.Go(func() {
			for i := bulkShare + w; i < total; i += workers {
				cu, err := patiently(clk, func() (*billapi.Customer, error) {
					return c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String(custNames[i])})
				})
				custTold[i] = told{key: custNames[i], err: err}
				if err == nil {
					custTold[i].id = cu.ID
				}
			}
		})
	}
	wg.Wait()

	// Contacts of the customers that exist, half bulk, half single.
	custIDs := settleCustomers(t, e, c, clk, custTold)
	soakUpdates(t, e, c, clk, seed, custIDs[:total/2], bulkShare/2)
	contactTold := make([]told, total)
	contactOf := func(i int) billapi.CustomerContact {
		return billapi.CustomerContact{CustomerID: &custIDs[i%len(custIDs)], FirstName: billapi.String("F"),
			LastName: billapi.String(fmt.Sprint(i)), Email: billapi.String(fmt.Sprintf("c%d-%d@soak.example", seed, i))}
	}
	for part := range 2 {
		wg.Go(func() {
			lo, hi := part*bulkShare/2, (part+1)*bulkShare/2
			objs := make([]billapi.CustomerContact, hi-lo)
			for i := range objs {
				objs[i] = contactOf(lo + i)
			}
			res := bulkPatiently(clk, objs, func(x billapi.CustomerContact) string { return billapi.Deref(x.Email) },
				func(b []billapi.CustomerContact) []billapi.BulkResult[billapi.CustomerContact] {
					r, _ := c.BulkCreateCustomerContacts(ctx, b, billapi.BulkOptions{})
					return r
				}, func(x *billapi.CustomerContact) string { return x.ID })
			copy(contactTold[lo:hi], res)
		})
	}
	for w := range workers {
		wg.Go(func() {
			for i := bulkShare + w; i < total; i += workers {
				obj := contactOf(i)
				ct, err := patiently(clk, func() (*billapi.CustomerContact, error) { return c.CreateCustomerContact(ctx, obj) })
				contactTold[i] = told{key: billapi.Deref(obj.Email), err: err}
				if err == nil {
					contactTold[i].id = ct.ID
				}
			}
		})
	}
	wg.Wait()
	settleContacts(t, e, c, clk, contactTold, contactOf)

	// Bank accounts of the first customers, single creates (BILL has no
	// bulk for them), all at once.
	bankTold := make([]told, banks)
	bankOf := func(i int) billapi.CustomerBankAccount {
		return billapi.CustomerBankAccount{CustomerID: &custIDs[i], NameOnAccount: billapi.String(fmt.Sprintf("Soak %d", i)),
			RoutingNumber: billapi.String("021000358"), AccountNumber: billapi.String(fmt.Sprintf("77%08d", i))}
	}
	for w := range workers {
		wg.Go(func() {
			for i := w; i < banks; i += workers {
				ba, err := patiently(clk, func() (*billapi.CustomerBankAccount, error) { return c.CreateCustomerBankAccount(ctx, bankOf(i), true) })
				bankTold[i] = told{key: custIDs[i], err: err}
				if err == nil {
					bankTold[i].id = ba.ID
				}
			}
		})
	}
	wg.Wait()
	settleBanks(t, e, c, clk, bankTold, bankOf)

	st := e.Stats()
	t.Logf("seed %d: %d requests, %d logins, faults %v", seed, st.Requests, st.Logins, st.Faults)
	return st.Faults
}

func fromBulk[T any](key string, obj *T, e *billapi.Error, id func(*T) string) told {
	if obj != nil {
		return told{key: key, id: id(obj)}
	}
	if e == nil {
		return told{key: key, err: errors.New("bulk result with neither object nor error")}
	}
	return told{key: key, err: e}
}

// verify checks what callers were told against what BILL holds (stored
// maps key -> ids), and returns the indices that must be created again.
func verify(t *testing.T, what string, tolds []told, stored map[string][]string) []int {
	t.Helper()
	var redo []int
	seen := make(map[string]int)
	for i, tl := range tolds {
		ids := stored[tl.key]
		if len(ids) > 1 {
			t.Fatalf("%s %q exists %d times: %v", what, tl.key, len(ids), ids)
		}
		if tl.err == nil {
			if len(ids) != 1 || ids[0] != tl.id {
				t.Fatalf("%s %d: caller was told %s, BILL holds %v", what, i, tl.id, ids)
			}
			if j, dup := seen[tl.id]; dup {
				t.Fatalf("%s %d and %d were told the same id %s", what, i, j, tl.id)
			}
			seen[tl.id] = i
			continue
		}
		if errors.Is(tl.err, billapi.ErrConcurrency) {
			t.Fatalf("%s %d: BDC_1322 reached the caller: %v", what, i, tl.err)
		}
		var be *billapi.Error
		undecided := errors.As(tl.err, &be) && be.Code == billapi.CodeUndecidedOutcome
		if len(ids) == 1 && !undecided {
			t.Fatalf("%s %d: caller was told it failed (%v) but BILL holds %s", what, i, tl.err, ids[0])
		}
		if len(ids) == 0 {
			t.Logf("%s %d: told %v; truly not created", what, i, tl.err)
			redo = append(redo, i)
		}
	}
	return redo
}

func settleCustomers(t *testing.T, e *emu, c *billapi.Client, clk *patientClock, tolds []told) []string {
	t.Helper()
	stored := func() map[string][]string {
		e.SetFaults(emulator.FaultSpec{})
		defer e.SetFaults(mustFaults(t))
		m, err := patiently(clk, func() (map[string][]string, error) {
			m := make(map[string][]string)
			for cu, err := range c.AllCustomers(t.Context(), billapi.ListParams{}) {
				if err != nil {
					return nil, err
				}
				m[billapi.Deref(cu.Name)] = append(m[billapi.Deref(cu.Name)], cu.ID)
			}
			return m, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := stored()
	redo := verify(t, "customer", tolds, m)
	for round := 0; len(redo) > 0 && round < 5; round++ {
		t.Logf("customers: %d callers told of a failure that really did not apply; creating them again", len(redo))
		for _, i := range redo {
			cu, err := patiently(clk, func() (*billapi.Customer, error) {
				return c.CreateCustomer(t.Context(), billapi.Customer{Name: billapi.String(tolds[i].key)})
			})
			tolds[i] = told{key: tolds[i].key, err: err}
			if err == nil {
				tolds[i].id = cu.ID
			}
		}
		m = stored()
		redo = verify(t, "customer", tolds, m)
	}
	if len(redo) > 0 || len(m) != len(tolds) {
		t.Fatalf("customers: %d stored, %d still missing; want exactly %d", len(m), len(redo), len(tolds))
	}
	ids := make([]string, len(tolds))
	for i, tl := range tolds {
		ids[i] = m[tl.key][0]
	}
	return ids
}

func settleContacts(t *testing.T, e *emu, c *billapi.Client, clk *patientClock, tolds []told, obj func(int) billapi.CustomerContact) {
	t.Helper()
	stored := func() (map[string][]string, int) {
		e.SetFaults(emulator.FaultSpec{})
		defer e.SetFaults(mustFaults(t))
		m, err := patiently(clk, func() (map[string][]string, error) {
			m := make(map[string][]string)
			for ct, err := range c.AllCustomerContacts(t.Context(), billapi.ListParams{}) {
				if err != nil {
					return nil, err
				}
				m[billapi.Deref(ct.Email)] = append(m[billapi.Deref(ct.Email)], ct.ID)
			}
			return m, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ids := range m {
			n += len(ids)
		}
		return m, n
	}
	m, n := stored()
	redo := verify(t, "contact", tolds, m)
	for round := 0; len(redo) > 0 && round < 5; round++ {
		t.Logf("contacts: %d callers told of a failure that really did not apply; creating them again", len(redo))
		for _, i := range redo {
			ct, err := patiently(clk, func() (*billapi.CustomerContact, error) { return c.CreateCustomerContact(t.Context(), obj(i)) })
			tolds[i] = told{key: tolds[i].key, err: err}
			if err == nil {
				tolds[i].id = ct.ID
			}
		}
		m, n = stored()
		redo = verify(t, "contact", tolds, m)
	}
	if len(redo) > 0 || n != len(tolds) || len(m) != len(tolds) {
		t.Fatalf("contacts: %d stored (%d distinct), %d still missing; want exactly %d", n, len(m), len(redo), len(tolds))
	}
}

func mustFaults(t *testing.T) emulator.FaultSpec {
	f, err := emulator.ParseFaults(soakFaults)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func settleBanks(t *testing.T, e *emu, c *billapi.Client, clk *patientClock, tolds []told, obj func(int) billapi.CustomerBankAccount) {
	t.Helper()
	stored := func() map[string][]string {
		e.SetFaults(emulator.FaultSpec{})
		defer e.SetFaults(mustFaults(t))
		m, err := patiently(clk, func() (map[string][]string, error) {
			m := make(map[string][]string)
			for ba, err := range c.AllCustomerBankAccounts(t.Context(), billapi.ListParams{}) {
				if err != nil {
					return nil, err
				}
				m[billapi.Deref(ba.CustomerID)] = append(m[billapi.Deref(ba.CustomerID)], ba.ID)
			}
			return m, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := stored()
	redo := verify(t, "bank account", tolds, m)
	for round := 0; len(redo) > 0 && round < 5; round++ {
		t.Logf("bank accounts: %d callers told of a failure that really did not apply; creating them again", len(redo))
		for _, i := range redo {
			ba, err := patiently(clk, func() (*billapi.CustomerBankAccount, error) {
				return c.CreateCustomerBankAccount(t.Context(), obj(i), true)
			})
			tolds[i] = told{key: tolds[i].key, err: err}
			if err == nil {
				tolds[i].id = ba.ID
			}
		}
		m = stored()
		redo = verify(t, "bank account", tolds, m)
	}
	if len(redo) > 0 || len(m) != len(tolds) {
		t.Fatalf("bank accounts: %d customers hold one, %d still missing; want exactly %d", len(m), len(redo), len(tolds))
	}
}

// soakUpdates changes the phone of each of ids (the first bulk of them
// through bulk updates, the rest one by one), then checks the truth of what
// each caller was told: a success is in BILL; a failure that is not
// OUTCOME_UNKNOWN is not (an update whose first answer was lost and whose
// retry was refused must have been read back).
func soakUpdates(t *testing.T, e *emu, c *billapi.Client, clk *patientClock, seed int64, ids []string, bulk int) {
	t.Helper()
	ctx := t.Context()
	phone := func(i int) string { return fmt.Sprintf("P-%d-%d", seed, i) }
	errs := make([]error, len(ids))
	objs := make([]billapi.Customer, bulk)
	for i := range objs {
		objs[i] = billapi.Customer{ID: ids[i], Phone: billapi.String(phone(i))}
	}
	res := bulkPatiently(clk, objs, func(x billapi.Customer) string { return x.ID },
		func(b []billapi.Customer) []billapi.BulkResult[billapi.Customer] {
			r, _ := c.BulkUpdateCustomers(ctx, b, billapi.BulkOptions{})
			return r
		}, func(x *billapi.Customer) string { return x.ID })
	for i, r := range res {
		errs[i] = r.err
	}
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			for i := bulk + w; i < len(ids); i += workers {
				_, errs[i] = patiently(clk, func() (*billapi.Customer, error) {
					return c.UpdateCustomer(ctx, billapi.Customer{ID: ids[i], Phone: billapi.String(phone(i))})
				})
			}
		})
	}
	wg.Wait()

	e.SetFaults(emulator.FaultSpec{})
	defer e.SetFaults(mustFaults(t))
	held := make(map[string]string)
	if _, err := patiently(clk, func() (struct{}, error) {
		for cu, err := range c.AllCustomers(ctx, billapi.ListParams{}) {
			if err != nil {
				return struct{}{}, err
			}
			held[cu.ID] = billapi.Deref(cu.Phone)
		}
		return struct{}{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i, id := range ids {
		has := held[id] == phone(i)
		var be *billapi.Error
		switch {
		case errs[i] == nil && !has:
			t.Fatalf("update %d: caller was told it succeeded, BILL holds phone %q", i, held[id])
		case errs[i] != nil && has && !(errors.As(errs[i], &be) && be.Code == billapi.CodeUndecidedOutcome):
			t.Fatalf("update %d: caller was told it failed (%v), BILL holds the change", i, errs[i])
		case errs[i] != nil:
			failed++
		}
	}
	t.Logf("updates: %d of %d told of a failure", failed, len(ids))
}
