package index_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/index"
)

// fakeSource answers List from fixed records, ignoring filters.
type fakeSource struct {
	customers []billapi.Customer
	contacts  []billapi.CustomerContact
}

func (f *fakeSource) ListCustomers(_ context.Context, p billapi.ListParams) ([]billapi.Customer, error) {
	return page(f.customers, p), nil
}

func (f *fakeSource) ListCustomerContacts(_ context.Context, p billapi.ListParams) ([]billapi.CustomerContact, error) {
	return page(f.contacts, p), nil
}

func page[T any](all []T, p billapi.ListParams) []T {
	if p.Start >= len(all) {
		return nil
	}
	return all[p.Start:min(len(all), p.Start+p.Max)]
}

func cust(id, name, email, acc, phone, active string) billapi.Customer {
	s := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	return billapi.Customer{ID: id, Name: s(name), Email: s(email), AccNumber: s(acc), Phone: s(phone), IsActive: s(active),
		UpdatedTime: s("2026-11-30T12:00:00.000+0000"), CreatedTime: s("2026-11-30T12:00:00.000+0000")}
}

func TestFindCustomersRanks(t *testing.T) {
	src := &fakeSource{customers: []billapi.Customer{
		cust("0cuA", "Globex Billing Dept", "ap@globex.com", "G-2", "", "1"),
		cust("0cuB", "Globex", "billing@globex.com", "G-1", "(415) 555-0100", "1"),
		cust("0cuC", "Initech", "billing@globex.com.au", "", "", "1"),
		cust("0cuD", "Old Globex", "old@globex.com", "ACC-9", "", "2"),
		cust("0cuE", "Acme", "ops@acme.com", "billing@globex.com-x", "", "1"),
	}}
	ix := index.New(index.Options{})
	tests := []struct {
		name string
		q    index.CustomerQuery
		want []string
		tot  int
	}{
		{"exact email first, then substrings", index.CustomerQuery{Text: "BILLING@globex.com"}, []string{"0cuB", "0cuE", "0cuC"}, 3},
		{"exact accNumber first", index.CustomerQuery{Text: "g-2"}, []string{"0cuA"}, 1},
		{"name: exact before prefix before anywhere; inactive when asked for both", index.CustomerQuery{Text: "globex"}, []string{"0cuB", "0cuA", "0cuE", "0cuC", "0cuD"}, 5},
		{"active only", index.CustomerQuery{Text: "globex", IsActive: "1", Max: 2}, []string{"0cuB", "0cuA"}, 4},
		{"inactive found when asked", index.CustomerQuery{Text: "globex", IsActive: "2"}, []string{"0cuD"}, 1},
		{"phone digits ignore punctuation", index.CustomerQuery{Text: "415-555-0100"}, []string{"0cuB"}, 1},
		{"a country code in the query", index.CustomerQuery{Text: "+1 415 555 0100"}, []string{"0cuB"}, 1},
		{"nothing", index.CustomerQuery{Text: "umbrella"}, []string{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ix.FindCustomers(t.Context(), src, tt.q, index.DefaultMaxAge)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, c := range got.Items {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.want) || got.Total != tt.tot {
				t.Errorf("got %v (total %d), want %v (total %d)", ids, got.Total, tt.want, tt.tot)
			}
		})
	}
}

func TestFindContacts(t *testing.T) {
	s := billapi.String
	ts := s("2026-11-30T12:00:00.000+0000")
	src := &fakeSource{contacts: []billapi.CustomerContact{
		{ID: "cpuA", CustomerID: s("0cuA"), FirstName: s("Jane"), LastName: s("Doe"), Email: s("jane@acme.com"), IsActive: s("1"), UpdatedTime: ts},
		{ID: "cpuB", CustomerID: s("0cuB"), FirstName: s("Janet"), LastName: s("Roe"), Email: s("janet@globex.com"), IsActive: s("1"), UpdatedTime: ts},
		{ID: "cpuC", CustomerID: s("0cuA"), FirstName: s("Bob"), LastName: s("Jane"), Email: s("bob@acme.com"), Phone: s("212 555 0199"), IsActive: s("2"), UpdatedTime: ts},
	}}
	ix := index.New(index.Options{})
	tests := []struct {
		name string
		q    index.ContactQuery
		want []string
	}{
		{"full name", index.ContactQuery{Text: "jane doe"}, []string{"cpuA"}},
		{"exact email first", index.ContactQuery{Text: "JANET@globex.com"}, []string{"cpuB"}},
		{"a whole first or last name before a prefix; ties by full name", index.ContactQuery{Text: "jane"}, []string{"cpuC", "cpuA", "cpuB"}},
		{"one customer's", index.ContactQuery{Text: "jane", CustomerID: "0cuA"}, []string{"cpuC", "cpuA"}},
		{"active only", index.ContactQuery{Text: "jane", IsActive: "1"}, []string{"cpuA", "cpuB"}},
		{"phone", index.ContactQuery{Text: "2125550199"}, []string{"cpuC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ix.FindContacts(t.Context(), src, tt.q, index.DefaultMaxAge)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range got.Items {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("got %v, want %v", ids, tt.want)
			}
		})
	}
}

// billLike is a source that, like BILL, lists what was written to it.
type billLike struct {
	mu        sync.Mutex
	customers []billapi.Customer
}

func (b *billLike) ListCustomers(_ context.Context, p billapi.ListParams) ([]billapi.Customer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(page(b.customers, p)), nil
}

func (b *billLike) ListCustomerContacts(context.Context, billapi.ListParams) ([]billapi.CustomerContact, error) {
	return nil, nil
}

// write applies c at "BILL", then tells the index, as the client's
// observer does once BILL answered.
func (b *billLike) write(ix *index.Index, c billapi.Customer) {
	b.mu.Lock()
	b.customers = append(b.customers, c)
	b.mu.Unlock()
	ix.CustomersWritten([]billapi.Customer{c})
}

// TestConcurrentUse runs searches, refreshes and observed writes at once
// (go test -race watches): every write is found afterwards, whether it
// came before the first refresh (which lists it), during one, or after.
func TestConcurrentUse(t *testing.T) {
	src := &billLike{customers: []billapi.Customer{cust("0cuA", "Alpha", "a@x.example", "", "", "1")}}
	ix := index.New(index.Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				switch (g + i) % 3 {
				case 0:
					src.write(ix, cust(fmt.Sprintf("0cuW%02d%03d", g, i), "Written", "", "", "", "1"))
				case 1:
					if _, err := ix.FindCustomers(t.Context(), src, index.CustomerQuery{Text: "alpha"}, 0); err != nil {
						t.Error(err)
					}
				default:
					if _, err := ix.Customers(t.Context(), src, index.DefaultMaxAge); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	all, err := ix.Customers(t.Context(), src, index.DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	want := 1 // Alpha
	for g := range 8 {
		for i := range 50 {
			if (g+i)%3 == 0 {
				want++
			}
		}
	}
	if len(all) != want {
		t.Errorf("%d customers after concurrent writes, want %d", len(all), want)
	}
}
