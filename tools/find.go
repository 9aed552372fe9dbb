package tools

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/index"
)

// Search tools answer from the local index (internal/index): a copy of the
// org's customers and contacts never older than index.DefaultMaxAge, so a
// search costs at most one BILL request however large the org.

// Bounds of find answers.
const (
	defaultFindMax = 10
	maxFindMax     = 50
)

// findCustomersArgs are find_customers' arguments.
type findCustomersArgs struct {
	Query    string   `json:"query" jsonschema:"required,minLength=1,maxLength=200" jsonschema_description:"Name, company, email, phone or accNumber."`
	IsActive string   `json:"isActive,omitempty" jsonschema:"enum=1,enum=2" jsonschema_description:"1 active (default), 2 deleted."`
	Max      int      `json:"max,omitempty" jsonschema:"minimum=1,maximum=50" jsonschema_description:"Default 10."`
	Fields   []string `json:"fields,omitempty" jsonschema:"maxLength=40" jsonschema_description:"More fields, or all."`
}

// findContactsArgs are find_customer_contacts' arguments.
type findContactsArgs struct {
	Query      string   `json:"query" jsonschema:"required,minLength=1,maxLength=200" jsonschema_description:"Name, email or phone."`
	CustomerID string   `json:"customerId,omitempty" jsonschema:"pattern=^0cu[A-Za-z0-9]{17}$,maxLength=20"`
	IsActive   string   `json:"isActive,omitempty" jsonschema:"enum=1,enum=2" jsonschema_description:"1 active (default), 2 deleted."`
	Max        int      `json:"max,omitempty" jsonschema:"minimum=1,maximum=50" jsonschema_description:"Default 10."`
	Fields     []string `json:"fields,omitempty" jsonschema:"maxLength=40" jsonschema_description:"More fields, or all."`
}

// findCustomersOutput is find_customers' result.
type findCustomersOutput struct {
	Customers []customerRecord `json:"customers" jsonschema:"required"`
	Total     int              `json:"total" jsonschema:"required"`
	Note      string           `json:"note,omitempty"`
}

// findContactsOutput is find_customer_contacts' result.
type findContactsOutput struct {
	Contacts []contactRecord `json:"contacts" jsonschema:"required"`
	Total    int             `json:"total" jsonschema:"required"`
	Note     string          `json:"note,omitempty"`
}

func findMax(m int) int {
	if m <= 0 {
		return defaultFindMax
	}
	return min(m, maxFindMax)
}

func activeOrDefault(s string) string {
	if s == "" {
		return billapi.Active
	}
	return s
}

func findCustomersDef() Def {
	return define[findCustomersArgs, findCustomersOutput](ToolsetCustomers, "find_customers", OpRead, "Find customers",
		"Find customers by name, company, email, phone or accNumber in one call; best match first.",
		func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a findCustomersArgs) *mcp.CallToolResult {
			e := customerEntity()
			proj, bad := e.parseFields(a.Fields)
			if bad != nil {
				return bad.result()
			}
			found, err := d.Index.FindCustomers(ctx, d.Client, index.CustomerQuery{Text: a.Query, IsActive: activeOrDefault(a.IsActive), Max: findMax(a.Max)}, index.DefaultMaxAge)
			if err != nil {
				return errorResult(err, e, OpRead)
			}
			recs := mapEach(found.Items, func(c billapi.Customer) customerRecord { return customerRecord{e.toRecord(c, proj)} })
			out := findCustomersOutput{Total: found.Total}
			out.Customers, out.Note = fitFound(recs)
			return structured(out)
		})
}

func findContactsDef() Def {
	return define[findContactsArgs, findContactsOutput](ToolsetContacts, "find_customer_contacts", OpRead, "Find customer contacts",
		"Find contacts by name, email or phone in one call; best match first.",
		func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a findContactsArgs) *mcp.CallToolResult {
			e := contactEntity()
			proj, bad := e.parseFields(a.Fields)
			if bad != nil {
				return bad.result()
			}
			found, err := d.Index.FindContacts(ctx, d.Client, index.ContactQuery{Text: a.Query, CustomerID: a.CustomerID, IsActive: activeOrDefault(a.IsActive), Max: findMax(a.Max)}, index.DefaultMaxAge)
			if err != nil {
				return errorResult(err, e, OpRead)
			}
			recs := mapEach(found.Items, func(c billapi.CustomerContact) contactRecord { return contactRecord{e.toRecord(c, proj)} })
			out := findContactsOutput{Total: found.Total}
			out.Contacts, out.Note = fitFound(recs)
			return structured(out)
		})
}

// fitFound keeps the best matches that fit the answer bound, and says so
// when it drops some.
func fitFound[R any](recs []R) ([]R, string) {
	pg := paging{Max: len(recs), Count: len(recs)}
	kept := fitPage(recs, &pg)
	if len(kept) == len(recs) {
		return recs, ""
	}
	return kept, boundNoteFind(len(recs), len(kept))
}

// customersNamed answers list_customers' nameContains from the index: the
// page [p.Start, p.Start+p.Max) of the customers whose name contains
// needle, in BILL's default order, filtered on isActive when set. It
// serves only calls without other filters or sort (ok false otherwise).
func customersNamed(ctx context.Context, c *billapi.Client, ix *index.Index, needle string, a listCustomersArgs, p billapi.ListParams) (items []billapi.Customer, pg paging, ok bool, err error) {
	if ix == nil || len(a.Filters) > 0 || a.Sort != "" {
		return nil, paging{}, false, nil
	}
	all, err := ix.Customers(ctx, c, index.DefaultMaxAge)
	if err != nil {
		return nil, paging{}, true, err
	}
	needle = strings.ToLower(needle)
	seq := func(yield func(billapi.Customer, error) bool) {
		for _, cu := range all {
			if !yield(cu, nil) {
				return
			}
		}
	}
	items, pg, err = matchingPage(seq, func(cu billapi.Customer) bool {
		return (a.IsActive == "" || billapi.Deref(cu.IsActive) == a.IsActive) && strings.Contains(strings.ToLower(billapi.Deref(cu.Name)), needle)
	}, p.Start, p.Max)
	return items, pg, true, err
}
