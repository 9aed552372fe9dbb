package billapi_test

import (
	"sync"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// recorder is a WriteObserver that remembers what it was told.
type recorder struct {
	mu        sync.Mutex
	customers []billapi.Customer
	contacts  []billapi.CustomerContact
}

func (r *recorder) CustomersWritten(objs []billapi.Customer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.customers = append(r.customers, objs...)
}

func (r *recorder) ContactsWritten(objs []billapi.CustomerContact) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.contacts = append(r.contacts, objs...)
}

func (r *recorder) take() ([]billapi.Customer, []billapi.CustomerContact) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cu, co := r.customers, r.contacts
	r.customers, r.contacts = nil, nil
	return cu, co
}

func TestWriteObserverSeesEverySuccessfulWrite(t *testing.T) {
	e := startEmu(t, emulator.Config{})
	rec := &recorder{}
	c := newClient(t, e, func(cfg *billapi.Config) { cfg.Observer = rec })
	ctx := t.Context()

	cu, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Observed Co")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := rec.take()
	if len(got) != 1 || got[0].ID != cu.ID {
		t.Fatalf("after create: observed %+v", got)
	}
	// A refused write is not reported.
	if _, err := c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String("Observed Co")}); err == nil {
		t.Fatal("duplicate name accepted")
	}
	if got, _ := rec.take(); len(got) != 0 {
		t.Fatalf("a refused create was observed: %+v", got)
	}
	if _, err := c.DeleteCustomer(ctx, cu.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = rec.take()
	if len(got) != 1 || billapi.Deref(got[0].IsActive) != billapi.Inactive {
		t.Fatalf("after delete: observed %+v", got)
	}
	res, err := c.BulkCreateCustomers(ctx, []billapi.Customer{{Name: billapi.String("B1")}, {Name: billapi.String("B2")}, {Name: billapi.String("B1")}}, billapi.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = rec.take()
	ok := 0
	for _, r := range res {
		if r.Err == nil {
			ok++
		}
	}
	if len(got) != ok || ok == 0 {
		t.Fatalf("bulk create: %d succeeded, %d observed", ok, len(got))
	}
	ct, err := c.CreateCustomerContact(ctx, billapi.CustomerContact{CustomerID: billapi.String(res[0].Object.ID), FirstName: billapi.String("Ann"), Email: billapi.String("ann@b1.com")})
	if err != nil {
		t.Fatal(err)
	}
	if _, contacts := rec.take(); len(contacts) != 1 || contacts[0].ID != ct.ID {
		t.Fatalf("after contact create: observed %+v", contacts)
	}
}
