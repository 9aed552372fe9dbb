package tools

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

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
	Query    string `json:"query" jsonschema:"required,minLength=1,maxLength=200" jsonschema_description:"Text in name, companyName, shortName, email, phone or accNumber; case-insensitive."`
	IsActive string `json:"isActive,omitempty" jsonschema:"enum=1,enum=2" jsonschema_description:"1 active (default), 2 deleted."`
	Max      int    `json:"max,omitempty" jsonschema:"minimum=1,maximum=50" jsonschema_description:"Default 10."`
}

// findContactsArgs are find_customer_contacts' arguments.
type findContactsArgs struct {
	Query      string `json:"query" jsonschema:"required,minLength=1,maxLength=200" jsonschema_description:"Text in first or last name, email or phone; case-insensitive."`
	CustomerID string `json:"customerId,omitempty" jsonschema:"pattern=^0cu[A-Za-z0-9]{17}$" jsonschema_description:"Only this customer's contacts."`
	IsActive   string `json:"isActive,omitempty" jsonschema:"enum=1,enum=2" jsonschema_description:"1 active (default), 2 deleted."`
	Max        int    `json:"max,omitempty" jsonschema:"minimum=1,maximum=50" jsonschema_description:"Default 10."`
}

// customerBrief is a customer in find answers: what an agent needs to
// choose one. get_customer has the whole record.
type customerBrief struct {
	ID          string  `json:"id" jsonschema:"required"`
	IsActive    *string `json:"isActive,omitempty" jsonschema_description:"1 active, 2 deleted."`
	Name        *string `json:"name,omitempty"`
	CompanyName *string `json:"companyName,omitempty"`
	Email       *string `json:"email,omitempty"`
	AccNumber   *string `json:"accNumber,omitempty"`
}

func briefCustomer(c billapi.Customer) customerBrief {
	return customerBrief{ID: c.ID, IsActive: c.IsActive, Name: c.Name, CompanyName: c.CompanyName, Email: c.Email, AccNumber: c.AccNumber}
}

// contactBrief is a contact in find answers.
type contactBrief struct {
	ID         string  `json:"id" jsonschema:"required"`
	IsActive   *string `json:"isActive,omitempty" jsonschema_description:"1 active, 2 deleted."`
	CustomerID *string `json:"customerId,omitempty"`
	FirstName  *string `json:"firstName,omitempty"`
	LastName   *string `json:"lastName,omitempty"`
	Email      *string `json:"email,omitempty"`
}

func briefContact(c billapi.CustomerContact) contactBrief {
	return contactBrief{ID: c.ID, IsActive: c.IsActive, CustomerID: c.CustomerID, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email}
}

// findCustomersOutput is find_customers' result.
type findCustomersOutput struct {
	Customers []customerBrief `json:"customers" jsonschema:"required" jsonschema_description:"Best first: an exact email or accNumber, then exact names."`
	Total     int             `json:"total" jsonschema:"required" jsonschema_description:"Matches in all; more than listed means narrow the query or raise max."`
}

// findContactsOutput is find_customer_contacts' result.
type findContactsOutput struct {
	Contacts []contactBrief `json:"contacts" jsonschema:"required" jsonschema_description:"Best first: an exact email, then exact names."`
	Total    int            `json:"total" jsonschema:"required" jsonschema_description:"Matches in all."`
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

// FindCustomers is find_customers: search customers without paging BILL.
func FindCustomers(c *billapi.Client, ix *index.Index) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("find_customers", "Find customers",
		"Find customers by name, company, email, phone or account number in one call, however many there are. Use it before list_customers to find a customer.",
		opRead, findCustomersArgs{}, findCustomersOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a findCustomersArgs) *mcp.CallToolResult {
		found, err := ix.FindCustomers(ctx, c, index.CustomerQuery{Text: a.Query, IsActive: activeOrDefault(a.IsActive), Max: findMax(a.Max)}, index.DefaultMaxAge)
		if err != nil {
			return errorResult(err, customerEntity(), opRead)
		}
		return structured(findCustomersOutput{Customers: mapEach(found.Items, briefCustomer), Total: found.Total})
	})
}

// FindCustomerContacts is find_customer_contacts: search contacts without paging BILL.
func FindCustomerContacts(c *billapi.Client, ix *index.Index) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("find_customer_contacts", "Find customer contacts",
		"Find contacts by name, email or phone in one call, across all customers or one (customerId).",
		opRead, findContactsArgs{}, findContactsOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a findContactsArgs) *mcp.CallToolResult {
		found, err := ix.FindContacts(ctx, c, index.ContactQuery{Text: a.Query, CustomerID: a.CustomerID, IsActive: activeOrDefault(a.IsActive), Max: findMax(a.Max)}, index.DefaultMaxAge)
		if err != nil {
			return errorResult(err, contactEntity(), opRead)
		}
		return structured(findContactsOutput{Contacts: mapEach(found.Items, briefContact), Total: found.Total})
	})
}

// customersNamed answers list_customers' nameContains from the index: the
// page [p.Start, p.Start+p.Max) of the customers whose name contains
// needle, in BILL's default order, filtered on isActive when set. It
// serves only calls without other filters or sort (ok false otherwise).
func customersNamed(ctx context.Context, c *billapi.Client, ix *index.Index, needle string, a listCustomersArgs, p billapi.ListParams) (items []billapi.Customer, pg paging, ok bool, err error) {
	if ix == nil || len(a.Filters) > 0 || len(a.Sort) > 0 {
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
