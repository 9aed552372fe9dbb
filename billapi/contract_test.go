package billapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/secret"
)

// must returns a check that fails the test on err and returns v.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func all[T any](t testing.TB, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func bulkOK[T any](t testing.TB, res []billapi.BulkResult[T], err error, n int) []*T {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != n {
		t.Fatalf("bulk results = %d, want %d", len(res), n)
	}
	out := make([]*T, n)
	for i, r := range res {
		if r.Index != i || r.Err != nil || r.Object == nil {
			t.Fatalf("bulk item %d = %+v (err %v)", i, r, r.Err)
		}
		out[i] = r.Object
	}
	return out
}

// TestContractOperations runs every operation of WIRE.md against the emulator.
func TestContractOperations(t *testing.T) {
	e := startEmu(t, emulator.Config{})
	exerciseEveryOperation(t, e, newClient(t, e, nil))
}

// exerciseEveryOperation calls each of the 24 operations, Login,
// GetSessionInfo and Logout, checking the answers.
func exerciseEveryOperation(t *testing.T, e *emu, c *billapi.Client) {
	ctx := t.Context()

	noErr(t, c.Login(ctx))
	si := must(c.GetSessionInfo(ctx))(t)
	if si.OrganizationID != emulator.DemoIdentity().OrgID {
		t.Fatalf("session org = %q", si.OrganizationID)
	}

	// Customers: Crud.
	cu := must(c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Acme Corp"), Email: billapi.String("ar@acme.example"),
		CreatedTime: billapi.String("ignored"), Balance: new(float64)}))(t)
	if !strings.HasPrefix(cu.ID, billapi.PrefixCustomer) || len(cu.ID) != 20 || cu.Entity != billapi.EntityCustomer || billapi.Deref(cu.IsActive) != billapi.Active {
		t.Fatalf("created customer = %+v", cu)
	}
	if got := must(c.GetCustomer(ctx, cu.ID))(t); billapi.Deref(got.Name) != "Acme Corp" {
		t.Fatalf("read name = %q", billapi.Deref(got.Name))
	}
	up := must(c.UpdateCustomer(ctx, billapi.Customer{ID: cu.ID, Phone: billapi.String("555-0100")}))(t)
	if billapi.Deref(up.Phone) != "555-0100" || billapi.Deref(up.Name) != "Acme Corp" {
		t.Fatalf("updated customer = phone %q name %q", billapi.Deref(up.Phone), billapi.Deref(up.Name))
	}
	for range 2 { // delete is idempotent
		if d := must(c.DeleteCustomer(ctx, cu.ID))(t); billapi.Deref(d.IsActive) != billapi.Inactive {
			t.Fatalf("deleted isActive = %q", billapi.Deref(d.IsActive))
		}
	}
	if u := must(c.UndeleteCustomer(ctx, cu.ID))(t); billapi.Deref(u.IsActive) != billapi.Active {
		t.Fatalf("undeleted isActive = %q", billapi.Deref(u.IsActive))
	}

	// Customers: Bulk and List.
	const n = 150
	objs := make([]billapi.Customer, n)
	for i, name := range names("Bulk", n) {
		objs[i] = billapi.Customer{Name: billapi.String(name)}
	}
	var progress []int
	created := must2(c.BulkCreateCustomers(ctx, objs, billapi.BulkOptions{Progress: func(done, total int) { progress = append(progress, done) }}))(t, n)
	if len(progress) != 2 || progress[0] > progress[1] || progress[1] != n {
		t.Fatalf("progress = %v, want one report per chunk, rising to %d", progress, n)
	}
	ids := make([]string, n)
	upd := make([]billapi.Customer, n)
	for i, cu := range created {
		ids[i] = cu.ID
		upd[i] = billapi.Customer{ID: cu.ID, CompanyName: billapi.String(fmt.Sprintf("Co %d", i))}
		if i%2 == 0 {
			upd[i].Name = billapi.String(fmt.Sprintf("Renamed %05d", i))
		}
	}
	updated := must2(c.BulkUpdateCustomers(ctx, upd, billapi.BulkOptions{}))(t, n)
	if billapi.Deref(updated[0].Name) != "Renamed 00000" || billapi.Deref(updated[1].Name) != "Bulk 00001" || billapi.Deref(updated[1].CompanyName) != "Co 1" {
		t.Fatalf("bulk update: %q %q %q", billapi.Deref(updated[0].Name), billapi.Deref(updated[1].Name), billapi.Deref(updated[1].CompanyName))
	}
	must2(c.BulkDeleteCustomers(ctx, ids, billapi.BulkOptions{}))(t, n)
	inactive := all(t, c.AllCustomers(ctx, billapi.ListParams{Max: 40, Filters: []billapi.Filter{{Field: "isActive", Op: billapi.OpEq, Value: billapi.Inactive}}}))
	if len(inactive) != n {
		t.Fatalf("inactive customers = %d, want %d", len(inactive), n)
	}
	must2(c.BulkUndeleteCustomers(ctx, ids, billapi.BulkOptions{}))(t, n)
	page := must(c.ListCustomers(ctx, billapi.ListParams{Start: 1, Max: 2, Sort: []billapi.Sort{{Field: "createdTime", Asc: true}}}))(t)
	// Chunks run concurrently: the earliest bulk-created record is one of
	// them, not necessarily the first item.
	if len(page) != 2 || !slices.Contains(ids, page[0].ID) || !slices.Contains(ids, page[1].ID) {
		t.Fatalf("page = %v", page)
	}
	if got := all(t, c.AllCustomers(ctx, billapi.ListParams{})); len(got) != n+1 {
		t.Fatalf("all customers = %d, want %d", len(got), n+1)
	}

	// Contacts.
	ct := must(c.CreateCustomerContact(ctx, billapi.CustomerContact{CustomerID: &cu.ID, FirstName: billapi.String("Ann"), LastName: billapi.String("Lee"), Email: billapi.String("ann@acme.example"), TimezoneID: billapi.String("6")}))(t)
	if !strings.HasPrefix(ct.ID, billapi.PrefixCustomerContact) {
		t.Fatalf("contact id = %q", ct.ID)
	}
	must(c.GetCustomerContact(ctx, ct.ID))(t)
	cu2 := must(c.UpdateCustomerContact(ctx, billapi.CustomerContact{ID: ct.ID, Phone: billapi.String("555-0101")}))(t)
	if billapi.Deref(cu2.Phone) != "555-0101" || billapi.Deref(cu2.Email) != "ann@acme.example" {
		t.Fatalf("updated contact = %+v", cu2)
	}
	must(c.DeleteCustomerContact(ctx, ct.ID))(t)
	must(c.UndeleteCustomerContact(ctx, ct.ID))(t)
	contacts := make([]billapi.CustomerContact, 120)
	for i := range contacts {
		contacts[i] = billapi.CustomerContact{CustomerID: &ids[i%7], FirstName: billapi.String(fmt.Sprintf("P%d", i)), Email: billapi.String(fmt.Sprintf("p%d@x.example", i))}
	}
	cs := must2(c.BulkCreateCustomerContacts(ctx, contacts, billapi.BulkOptions{}))(t, 120)
	cids := make([]string, len(cs))
	cupd := make([]billapi.CustomerContact, len(cs))
	for i, x := range cs {
		cids[i] = x.ID
		cupd[i] = billapi.CustomerContact{ID: x.ID, LastName: billapi.String("Bulk")}
	}
	must2(c.BulkUpdateCustomerContacts(ctx, cupd, billapi.BulkOptions{}))(t, 120)
	must2(c.BulkDeleteCustomerContacts(ctx, cids, billapi.BulkOptions{}))(t, 120)
	must2(c.BulkUndeleteCustomerContacts(ctx, cids, billapi.BulkOptions{}))(t, 120)
	of0 := must(c.ListCustomerContacts(ctx, billapi.ListParams{Filters: []billapi.Filter{{Field: "customerId", Op: billapi.OpEq, Value: ids[0]}}}))(t)
	if len(of0) != 18 || billapi.Deref(of0[0].LastName) != "Bulk" {
		t.Fatalf("contacts of customer 0 = %d", len(of0))
	}
	if got := all(t, c.AllCustomerContacts(ctx, billapi.ListParams{Max: 50})); len(got) != 121 {
		t.Fatalf("all contacts = %d", len(got))
	}

	// Bank accounts.
	ba := must(c.CreateCustomerBankAccount(ctx, billapi.CustomerBankAccount{CustomerID: &cu.ID, NameOnAccount: billapi.String("Acme Corp"),
		RoutingNumber: billapi.String("011000015"), AccountNumber: billapi.String("000123456789")}, true))(t)
	if !strings.HasPrefix(ba.ID, billapi.PrefixCustomerBankAccount) || strings.Contains(billapi.Deref(ba.AccountNumber), "1234") || !strings.HasSuffix(billapi.Deref(ba.AccountNumber), "6789") {
		t.Fatalf("bank account = id %q number %q", ba.ID, billapi.Deref(ba.AccountNumber))
	}
	must(c.GetCustomerBankAccount(ctx, ba.ID))(t)
	if got := must(c.ListCustomerBankAccounts(ctx, billapi.ListParams{Filters: []billapi.Filter{{Field: "customerId", Op: billapi.OpEq, Value: cu.ID}}}))(t); len(got) != 1 {
		t.Fatalf("bank accounts = %d", len(got))
	}
	must(c.DeleteCustomerBankAccount(ctx, ba.ID))(t)
	if got := all(t, c.AllCustomerBankAccounts(ctx, billapi.ListParams{Filters: []billapi.Filter{{Field: "isActive", Op: billapi.OpEq, Value: billapi.Active}}})); len(got) != 0 {
		t.Fatalf("active bank accounts after delete = %d", len(got))
	}

	// Logout, then the next call logs in again.
	noErr(t, c.Logout(ctx))
	must(c.GetCustomer(ctx, cu.ID))(t)
	if st := e.Stats(); st.Logins != 2 {
		t.Fatalf("logins = %d, want 2", st.Logins)
	}
}

// must2 adapts a (results, error) pair for bulkOK.
func must2[T any](res []billapi.BulkResult[T], err error) func(testing.TB, int) []*T {
	return func(t testing.TB, n int) []*T { t.Helper(); return bulkOK(t, res, err, n) }
}

// rewriteData returns a capture that rewrites the data of op with f.
func rewriteData(op string, f func(string) string) *capture {
	return &capture{next: newTransport(), rewrite: func(o string, form url.Values) string {
		if o == op {
			form.Set("data", f(form.Get("data")))
		}
		return ""
	}}
}

// TestContractErrors walks WIRE.md's error table: each code reaches the
// caller classified, and is retried (or not) as the table says.
func TestContractErrors(t *testing.T) {
	const unknownCustomer = "0cu00000999ABCDEFGHI"
	tests := []struct {
		name      string
		emu       emulator.Config
		mutate    func(cfg *billapi.Config)
		call      func(ctx context.Context, c *billapi.Client, e *emu) error
		wantCode  string
		sentinel  error
		wantCalls int    // calls to op the emulator saw; 0 skips the check
		op        string // op counted for wantCalls
	}{
		{name: "BDC_1101 wrong password", mutate: func(c *billapi.Config) { c.Credentials.Password = secret.New("nope") },
			call: getUnknown, wantCode: billapi.CodeBadCredentials, sentinel: billapi.ErrAuth, wantCalls: 1, op: "Login"},
		{name: "BDC_1102 wrong devKey", mutate: func(c *billapi.Config) { c.Credentials.DevKey = secret.New("nope") },
			call: getUnknown, wantCode: billapi.CodeBadDevKey, sentinel: billapi.ErrAuth, wantCalls: 1, op: "Login"},
		{name: "BDC_1123 wrong org", mutate: func(c *billapi.Config) { c.Credentials.OrgID = "00801OTHER0000000001" },
			call: getUnknown, wantCode: "BDC_1123", sentinel: billapi.ErrAuth, wantCalls: 1, op: "Login"},
		{name: "BDC_1108 missing parameter", mutate: func(c *billapi.Config) {
			c.HTTPClient = &http.Client{Transport: &capture{next: newTransport(), rewrite: func(op string, form url.Values) string {
				if op == "Crud/Read/Customer" {
					form.Del("data")
				}
				return ""
			}}}
		}, call: getUnknown, wantCode: billapi.CodeMissingParam, sentinel: billapi.ErrInput, wantCalls: 1, op: "Crud/Read/Customer"},
		{name: "BDC_1117 missing required field", call: func(ctx context.Context, c *billapi.Client, e *emu) error {
			cu, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Has Contacts")})
			if err != nil {
				return err
			}
			_, err = c.CreateCustomerContact(ctx, billapi.CustomerContact{CustomerID: &cu.ID, FirstName: billapi.String("No Email")})
			return err
		}, wantCode: billapi.CodeMissingData, sentinel: billapi.ErrInput, wantCalls: 1, op: "Crud/Create/CustomerContact"},
		{name: "BDC_1118 entity mismatch", mutate: func(c *billapi.Config) {
			c.HTTPClient = &http.Client{Transport: rewriteData("Crud/Create/Customer", func(d string) string {
				return strings.Replace(d, `"entity":"Customer"`, `"entity":"CustomerContact"`, 1)
			})}
		}, call: createAcme, wantCode: billapi.CodeEntityMismatch, sentinel: billapi.ErrInput, wantCalls: 1, op: "Crud/Create/Customer"},
		{name: "BDC_1109 expired session is renewed once", call: func(ctx context.Context, c *billapi.Client, e *emu) error {
			if err := c.Login(ctx); err != nil {
				return err
			}
			e.ExpireSessions()
			_, err := c.ListCustomers(ctx, billapi.ListParams{})
			if err == nil && e.Stats().Logins != 2 {
				return fmt.Errorf("logins = %d, want 2", e.Stats().Logins)
			}
			return err
		}, wantCalls: 2, op: "List/Customer"},
		{name: "BDC_1119 invalid field value", call: func(ctx context.Context, c *billapi.Client, e *emu) error {
			_, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Bad Mail"), Email: billapi.String("not an email")})
			return err
		}, wantCode: billapi.CodeInvalidField, sentinel: billapi.ErrInput, wantCalls: 1, op: "Crud/Create/Customer"},
		{name: "BDC_1119 duplicate name", call: func(ctx context.Context, c *billapi.Client, e *emu) error {
			if err := createAcme(ctx, c, e); err != nil {
				return err
			}
			_, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String(" ACME ")})
			return err
		}, wantCode: billapi.CodeInvalidField, sentinel: billapi.ErrInput, wantCalls: 2, op: "Crud/Create/Customer"},
		{name: "BDC_1120 unknown id", call: getUnknown, wantCode: billapi.CodeNoDataFound, sentinel: billapi.ErrInput, wantCalls: 1, op: "Crud/Read/Customer"},
		{name: "BDC_1121 unknown path", mutate: func(c *billapi.Config) {
			c.HTTPClient = &http.Client{Transport: &capture{next: newTransport(), rewrite: func(op string, form url.Values) string {
				if op == "Crud/Read/Customer" {
					return "Crud/Read/Customers"
				}
				return ""
			}}}
		}, call: getUnknown, wantCode: billapi.CodeAPINotSupported, sentinel: billapi.ErrInput, wantCalls: 1, op: "Crud/Read/Customers"},
		{name: "BDC_1122 unparsable data", mutate: func(c *billapi.Config) {
			c.HTTPClient = &http.Client{Transport: rewriteData("Crud/Read/Customer", func(string) string { return `{"id":` })}
		}, call: getUnknown, wantCode: billapi.CodeBadJSON, sentinel: billapi.ErrInput, wantCalls: 1, op: "Crud/Read/Customer"},
		{name: "BDC_1124 bad datatype", call: func(ctx context.Context, c *billapi.Client, e *emu) error {
			_, err := c.ListCustomers(ctx, billapi.ListParams{Filters: []billapi.Filter{{Field: "createdTime", Op: billapi.OpGe, Value: "yesterday"}}})
			return err
		}, wantCode: billapi.CodeInvalidDatatype, sentinel: billapi.ErrInput, wantCalls: 1, op: "List/Customer"},
		{name: "BDC_1129 body too large", emu: emulator.Config{MaxBodyBytes: 4096}, call: func(ctx context.Context, c *billapi.Client, e *emu) error {
			_, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Big"), CompanyName: billapi.String(strings.Repeat("x", 5000))})
			return err
		}, wantCode: billapi.CodeInvalidParam, sentinel: billapi.ErrInput, wantCalls: 1, op: "Crud/Create/Customer"},
		{name: "BDC_1130 bad filter field", call: func(ctx context.Context, c *billapi.Client, e *emu) error {
			_, err := c.ListCustomers(ctx, billapi.ListParams{Filters: []billapi.Filter{{Field: "name", Op: billapi.OpEq, Value: "Acme"}}})
			return err
		}, wantCode: billapi.CodeBadFilterField, sentinel: billapi.ErrInput, wantCalls: 1, op: "List/Customer"},
		{name: "BDC_1131 bad filter op", call: func(ctx context.Context, c *billapi.Client, e *emu) error {
			_, err := c.ListCustomerContacts(ctx, billapi.ListParams{Filters: []billapi.Filter{{Field: "isActive", Op: "like", Value: "1"}}})
			return err
		}, wantCode: billapi.CodeBadFilterOp, sentinel: billapi.ErrInput, wantCalls: 1, op: "List/CustomerContact"},
		{name: "BDC_1144 hourly limit is not hammered", emu: emulator.Config{HourlyLimit: 2}, call: func(ctx context.Context, c *billapi.Client, e *emu) error {
			for range 2 {
				if _, err := c.ListCustomers(ctx, billapi.ListParams{}); err != nil {
					return err
				}
			}
			_, err := c.ListCustomers(ctx, billapi.ListParams{})
			var be *billapi.Error
			if !errors.As(err, &be) || be.ResetAt.IsZero() || time.Until(be.ResetAt) > time.Hour {
				return fmt.Errorf("want a limit error with ResetAt within the hour, got %w", err)
			}
			_, err2 := c.ListCustomers(ctx, billapi.ListParams{})
			if !errors.Is(err2, billapi.ErrHourlyLimit) {
				return fmt.Errorf("second call after the limit: %w", err2)
			}
			return err
		}, wantCode: billapi.CodeHourlyLimit, sentinel: billapi.ErrHourlyLimit, wantCalls: 3, op: "List/Customer"},
		{name: "BDC_1001 system errors are retried", emu: emulator.Config{Faults: emulator.FaultSpec{P: 0.4, Kinds: []emulator.FaultKind{emulator.FaultSystem}}, Seed: 7},
			mutate: func(c *billapi.Config) { c.MaxAttempts = 20 },
			call: func(ctx context.Context, c *billapi.Client, e *emu) error {
				for i := range 20 {
					if _, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String(fmt.Sprintf("Sys %d", i))}); err != nil {
						return err
					}
				}
				st := e.Stats()
				if st.Faults["system"] == 0 || st.Objects["Customer"] != 20 {
					return fmt.Errorf("faults %v objects %v", st.Faults, st.Objects)
				}
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEmu(t, tt.emu)
			c := newClient(t, e, tt.mutate)
			err := tt.call(t.Context(), c, e)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else {
				var be *billapi.Error
				if !errors.As(err, &be) || be.Code != tt.wantCode || !errors.Is(err, tt.sentinel) {
					t.Fatalf("err = %v, want %s (%v)", err, tt.wantCode, tt.sentinel)
				}
				if be.Message == "" {
					t.Fatal("error carries no message")
				}
			}
			if tt.wantCalls > 0 {
				if got := e.script.count(tt.op); got != tt.wantCalls {
					t.Fatalf("calls to %s = %d, want %d", tt.op, got, tt.wantCalls)
				}
			}
		})
	}
}

func getUnknown(ctx context.Context, c *billapi.Client, _ *emu) error {
	_, err := c.GetCustomer(ctx, "0cu00000999ABCDEFGHI")
	return err
}

func createAcme(ctx context.Context, c *billapi.Client, _ *emu) error {
	_, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Acme")})
	return err
}

// TestExactlyOnceCreates plays a lost answer at each create path and
// checks the client tells the truth without duplicating records.
func TestExactlyOnceCreates(t *testing.T) {
	// Each case runs with the emulator set each way where BILL is unknown:
	// duplicate names refused or allowed, routing numbers plain or masked,
	// the "in" filter taken or refused.
	for name, cfg := range unknowns() {
		t.Run(name, func(t *testing.T) { exactlyOnceCreates(t, cfg) })
	}
}

func exactlyOnceCreates(t *testing.T, cfg emulator.Config) {
	ctx := t.Context()

	t.Run("customer applied then answer lost", func(t *testing.T) {
		e := startEmu(t, cfg)
		c := newClient(t, e, nil)
		e.script.on("Crud/Create/Customer", 1, dropAfter)
		got := must(c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Lost Inc")}))(t)
		if n := e.script.count("Crud/Create/Customer"); n != 1 {
			t.Fatalf("creates sent = %d, want 1", n)
		}
		list := all(t, c.AllCustomers(ctx, billapi.ListParams{}))
		if len(list) != 1 || list[0].ID != got.ID {
			t.Fatalf("customers = %v, want exactly %s", list, got.ID)
		}
	})

	t.Run("customer reset before applying is resent", func(t *testing.T) {
		e := startEmu(t, cfg)
		c := newClient(t, e, nil)
		e.script.on("Crud/Create/Customer", 1, dropBefore)
		got := must(c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Reset Inc")}))(t)
		if n := e.script.count("Crud/Create/Customer"); n != 2 {
			t.Fatalf("creates sent = %d, want 2", n)
		}
		if list := all(t, c.AllCustomers(ctx, billapi.ListParams{})); len(list) != 1 || list[0].ID != got.ID {
			t.Fatalf("customers = %v", list)
		}
	})

	t.Run("identical contacts on purpose stay two", func(t *testing.T) {
		e := startEmu(t, cfg)
		c := newClient(t, e, nil)
		cu := must(c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Twins")}))(t)
		ct := billapi.CustomerContact{CustomerID: &cu.ID, FirstName: billapi.String("Sam"), Email: billapi.String("sam@x.example")}
		first := must(c.CreateCustomerContact(ctx, ct))(t)
		e.script.on("Crud/Create/CustomerContact", 1, dropAfter)
		second := must(c.CreateCustomerContact(ctx, ct))(t)
		if second.ID == first.ID {
			t.Fatal("the second create claimed the first contact")
		}
		if got := all(t, c.AllCustomerContacts(ctx, billapi.ListParams{})); len(got) != 2 {
			t.Fatalf("contacts = %d, want 2", len(got))
		}
		if n := e.script.count("Crud/Create/CustomerContact"); n != 2 {
			t.Fatalf("creates sent = %d, want 2", n)
		}
	})

	t.Run("identical contacts at the same time stay two", func(t *testing.T) {
		e := startEmu(t, cfg)
		c := newClient(t, e, func(cfg *billapi.Config) { cfg.MaxInFlight = 2 })
		cu := must(c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Twins at once")}))(t)
		ct := billapi.CustomerContact{CustomerID: &cu.ID, FirstName: billapi.String("Kim"), Email: billapi.String("kim@x.example")}
		e.script.on("Crud/Create/CustomerContact", 1, delayAfter) // applied; its answer is still on the wire...
		e.script.on("Crud/Create/CustomerContact", 2, dropAfter)  // ...while this one's answer is lost
		first := make(chan *billapi.CustomerContact, 1)
		go func() {
			got, err := c.CreateCustomerContact(ctx, ct)
			if err != nil {
				t.Error(err)
			}
			first <- got
		}()
		for e.Stats().Objects[billapi.EntityCustomerContact] == 0 {
			time.Sleep(time.Millisecond)
		}
		second := must(c.CreateCustomerContact(ctx, ct))(t)
		one := <-first
		if one == nil || one.ID == second.ID {
			t.Fatalf("both callers were told the same contact: %v and %s", one, second.ID)
		}
		if got := all(t, c.AllCustomerContacts(ctx, billapi.ListParams{})); len(got) != 2 {
			t.Fatalf("contacts = %d, want 2", len(got))
		}
	})

	t.Run("bank account applied then answer lost", func(t *testing.T) {
		e := startEmu(t, cfg)
		c := newClient(t, e, nil)
		cu := must(c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Banked")}))(t)
		e.script.on("Crud/Create/CustomerBankAccount", 1, dropAfter)
		ba := must(c.CreateCustomerBankAccount(ctx, billapi.CustomerBankAccount{CustomerID: &cu.ID, NameOnAccount: billapi.String("Banked"),
			RoutingNumber: billapi.String("011000015"), AccountNumber: billapi.String("99887766")}, true))(t)
		if got := all(t, c.AllCustomerBankAccounts(ctx, billapi.ListParams{})); len(got) != 1 || got[0].ID != ba.ID {
			t.Fatalf("bank accounts = %v, want %s", got, ba.ID)
		}
	})

	for _, tc := range []struct {
		name      string
		act       action
		wantSends int
	}{
		{"bulk chunk applied then answer lost is not resent", dropAfter, 3},
		{"bulk chunk reset before applying is resent", dropBefore, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEmu(t, cfg)
			c := newClient(t, e, nil)
			objs := make([]billapi.Customer, 250)
			for i, n := range names(tc.name[:10], 250) {
				objs[i] = billapi.Customer{Name: billapi.String(n)}
			}
			e.script.on("Bulk/Crud/Create/Customer", 2, tc.act)
			res := must2(c.BulkCreateCustomers(ctx, objs, billapi.BulkOptions{}))(t, 250)
			if n := e.script.count("Bulk/Crud/Create/Customer"); n != tc.wantSends {
				t.Fatalf("bulk calls = %d, want %d", n, tc.wantSends)
			}
			stored := all(t, c.AllCustomers(ctx, billapi.ListParams{}))
			byID := make(map[string]string, len(stored))
			for _, s := range stored {
				byID[s.ID] = billapi.Deref(s.Name)
			}
			if len(stored) != 250 {
				t.Fatalf("customers = %d, want 250", len(stored))
			}
			for i, r := range res {
				if byID[r.ID] != billapi.Deref(objs[i].Name) {
					t.Fatalf("item %d answered %s (%q), want %q", i, r.ID, byID[r.ID], billapi.Deref(objs[i].Name))
				}
			}
		})
	}

	t.Run("bulk contacts partly lost", func(t *testing.T) {
		e := startEmu(t, cfg)
		c := newClient(t, e, nil)
		cus := must2(c.BulkCreateCustomers(ctx, []billapi.Customer{{Name: billapi.String("A")}, {Name: billapi.String("B")}}, billapi.BulkOptions{}))(t, 2)
		cts := make([]billapi.CustomerContact, 150)
		for i := range cts {
			cts[i] = billapi.CustomerContact{CustomerID: &cus[i%2].ID, FirstName: billapi.String("Same"), Email: billapi.String("same@x.example")}
		}
		e.script.on("Bulk/Crud/Create/CustomerContact", 1, dropAfter)
		res := must2(c.BulkCreateCustomerContacts(ctx, cts, billapi.BulkOptions{}))(t, 150)
		seen := map[string]bool{}
		for i, r := range res {
			if seen[r.ID] {
				t.Fatalf("item %d got an id already handed out: %s", i, r.ID)
			}
			seen[r.ID] = true
			if billapi.Deref(r.CustomerID) != cus[i%2].ID {
				t.Fatalf("item %d belongs to %s", i, billapi.Deref(r.CustomerID))
			}
		}
		if got := all(t, c.AllCustomerContacts(ctx, billapi.ListParams{})); len(got) != 150 {
			t.Fatalf("contacts = %d, want 150", len(got))
		}
	})
}

// TestSharedEmulatorNoConcurrencyErrorReachesCallers: two clients share one
// devKey+org against an emulator whose in-flight cap (2) is below the sum
// of the clients' caps (2+2); the emulator answers BDC_1322 and the gates
// absorb it.
func TestSharedEmulatorNoConcurrencyErrorReachesCallers(t *testing.T) {
	e := startEmu(t, emulator.Config{MaxInFlight: 2, Latency: 2 * time.Millisecond})
	mk := func() *billapi.Client {
		return newClient(t, e, func(c *billapi.Config) { c.MaxInFlight = 2; c.MaxAttempts = 10 })
	}
	a, b := mk(), mk()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			if _, err := c.ListCustomers(t.Context(), billapi.ListParams{Max: 1}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a caller saw: %v", err)
	}
	st := e.Stats()
	if st.Errors[billapi.CodeTooManyInFlight] == 0 {
		t.Fatalf("the emulator never answered BDC_1322 (%v): the setup does not exercise the path", st.Errors)
	}
	if st.MaxInFlight > 2 {
		t.Fatalf("emulator maxInFlight = %d, want <= 2", st.MaxInFlight)
	}
}
