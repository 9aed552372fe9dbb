package tools

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// customerFields are the writable customer fields besides name, shared by
// create and update. Absent fields are not sent; on update "" clears one.
type customerFields struct {
	CompanyName             *string `json:"companyName,omitempty" jsonschema:"maxLength=100"`
	Email                   *string `json:"email,omitempty" jsonschema:"maxLength=254"`
	Phone                   *string `json:"phone,omitempty" jsonschema:"maxLength=40"`
	AltPhone                *string `json:"altPhone,omitempty" jsonschema:"maxLength=40"`
	Fax                     *string `json:"fax,omitempty" jsonschema:"maxLength=40"`
	ShortName               *string `json:"shortName,omitempty" jsonschema:"maxLength=100"`
	ContactFirstName        *string `json:"contactFirstName,omitempty" jsonschema:"maxLength=100"`
	ContactLastName         *string `json:"contactLastName,omitempty" jsonschema:"maxLength=100"`
	AccNumber               *string `json:"accNumber,omitempty" jsonschema:"maxLength=100"`
	ParentCustomerID        *string `json:"parentCustomerId,omitempty" jsonschema:"maxLength=20"`
	BillAddress1            *string `json:"billAddress1,omitempty" jsonschema:"maxLength=100"`
	BillAddress2            *string `json:"billAddress2,omitempty" jsonschema:"maxLength=100"`
	BillAddress3            *string `json:"billAddress3,omitempty" jsonschema:"maxLength=100"`
	BillAddress4            *string `json:"billAddress4,omitempty" jsonschema:"maxLength=100"`
	BillAddressCity         *string `json:"billAddressCity,omitempty" jsonschema:"maxLength=100"`
	BillAddressState        *string `json:"billAddressState,omitempty" jsonschema:"maxLength=100"`
	BillAddressCountry      *string `json:"billAddressCountry,omitempty" jsonschema:"maxLength=100"`
	BillAddressZip          *string `json:"billAddressZip,omitempty" jsonschema:"maxLength=20"`
	ShipAddress1            *string `json:"shipAddress1,omitempty" jsonschema:"maxLength=100"`
	ShipAddress2            *string `json:"shipAddress2,omitempty" jsonschema:"maxLength=100"`
	ShipAddress3            *string `json:"shipAddress3,omitempty" jsonschema:"maxLength=100"`
	ShipAddress4            *string `json:"shipAddress4,omitempty" jsonschema:"maxLength=100"`
	ShipAddressCity         *string `json:"shipAddressCity,omitempty" jsonschema:"maxLength=100"`
	ShipAddressState        *string `json:"shipAddressState,omitempty" jsonschema:"maxLength=100"`
	ShipAddressCountry      *string `json:"shipAddressCountry,omitempty" jsonschema:"maxLength=100"`
	ShipAddressZip          *string `json:"shipAddressZip,omitempty" jsonschema:"maxLength=20"`
	Description             *string `json:"description,omitempty" jsonschema:"maxLength=4000"`
	InvoiceCurrency         *string `json:"invoiceCurrency,omitempty" jsonschema:"maxLength=3" jsonschema_description:"e.g. USD"`
	PrintAs                 *string `json:"printAs,omitempty" jsonschema:"maxLength=100"`
	AccountType             *string `json:"accountType,omitempty" jsonschema:"enum=0,enum=1,enum=2" jsonschema_description:"0 none, 1 business, 2 person."`
	PaymentTermID           *string `json:"paymentTermId,omitempty" jsonschema:"maxLength=20"`
	DefaultDeliveryMethod   *string `json:"defaultDeliveryMethod,omitempty" jsonschema:"enum=0,enum=1" jsonschema_description:"0 email, 1 US mail."`
	IsAutoChargeDismissed   *bool   `json:"isAutoChargeDismissed,omitempty"`
	IsTaxLiable             *bool   `json:"isTaxLiable,omitempty"`
	EnabledInvoiceFinancing *bool   `json:"enabledInvoiceFinancing,omitempty"`
}

func (f customerFields) apply(c *billapi.Customer) {
	c.CompanyName = f.CompanyName
	c.Email = f.Email
	c.Phone = f.Phone
	c.AltPhone = f.AltPhone
	c.Fax = f.Fax
	c.ShortName = f.ShortName
	c.ContactFirstName = f.ContactFirstName
	c.ContactLastName = f.ContactLastName
	c.AccNumber = f.AccNumber
	c.ParentCustomerID = f.ParentCustomerID
	c.BillAddress1 = f.BillAddress1
	c.BillAddress2 = f.BillAddress2
	c.BillAddress3 = f.BillAddress3
	c.BillAddress4 = f.BillAddress4
	c.BillAddressCity = f.BillAddressCity
	c.BillAddressState = f.BillAddressState
	c.BillAddressCountry = f.BillAddressCountry
	c.BillAddressZip = f.BillAddressZip
	c.ShipAddress1 = f.ShipAddress1
	c.ShipAddress2 = f.ShipAddress2
	c.ShipAddress3 = f.ShipAddress3
	c.ShipAddress4 = f.ShipAddress4
	c.ShipAddressCity = f.ShipAddressCity
	c.ShipAddressState = f.ShipAddressState
	c.ShipAddressCountry = f.ShipAddressCountry
	c.ShipAddressZip = f.ShipAddressZip
	c.Description = f.Description
	c.InvoiceCurrency = f.InvoiceCurrency
	c.PrintAs = f.PrintAs
	c.AccountType = f.AccountType
	c.PaymentTermID = f.PaymentTermID
	c.DefaultDeliveryMethod = f.DefaultDeliveryMethod
	c.IsAutoChargeDismissed = f.IsAutoChargeDismissed
	c.IsTaxLiable = f.IsTaxLiable
	c.EnabledInvoiceFinancing = f.EnabledInvoiceFinancing
}

// createCustomerArgs are create_customer's arguments and one item of bulk_create_customers.
type createCustomerArgs struct {
	Name string `json:"name" jsonschema:"required,minLength=1,maxLength=100" jsonschema_description:"Unique, deleted customers included."`
	customerFields
}

func (a createCustomerArgs) customer() billapi.Customer {
	c := billapi.Customer{Name: billapi.String(a.Name)}
	a.apply(&c)
	return c
}

// updateCustomerArgs are update_customer's arguments and one item of bulk_update_customers.
type updateCustomerArgs struct {
	CustomerID string  `json:"customerId" jsonschema:"required,pattern=^0cu[A-Za-z0-9]{17}$,maxLength=20"`
	Name       *string `json:"name,omitempty" jsonschema:"minLength=1,maxLength=100"`
	customerFields
}

func (a updateCustomerArgs) customer() billapi.Customer {
	c := billapi.Customer{ID: a.CustomerID, Name: a.Name}
	a.apply(&c)
	return c
}

// customerIDArgs name one customer.
type customerIDArgs struct {
	CustomerID string `json:"customerId" jsonschema:"required,pattern=^0cu[A-Za-z0-9]{17}$,maxLength=20"`
}

// customerIDsArgs name many customers.
type customerIDsArgs struct {
	CustomerIDs []string `json:"customerIds" jsonschema:"required,minItems=1,maxLength=20"`
	importKeyArg
}

// customerFilter is one list_customers filter.
type customerFilter struct {
	Field string `json:"field" jsonschema:"required,maxLength=40" jsonschema_description:"e.g. updatedTime; not name."`
	Op    string `json:"op" jsonschema:"required,enum==,enum=<,enum=>,enum=!=,enum=<=,enum=>=,enum=in,enum=nin"`
	Value string `json:"value" jsonschema:"required,maxLength=2000" jsonschema_description:"in/nin: comma-separated."`
}

// listCustomersArgs are list_customers' arguments.
type listCustomersArgs struct {
	listCommon
	Filters      []customerFilter `json:"filters,omitempty"`
	NameContains string           `json:"nameContains,omitempty" jsonschema:"maxLength=100" jsonschema_description:"Case-insensitive."`
}

// customerOutput is the result of the single-customer tools.
type customerOutput struct {
	Customer customerRecord `json:"customer" jsonschema:"required"`
}

// customerListOutput is list_customers' result.
type customerListOutput struct {
	Customers []customerRecord `json:"customers" jsonschema:"required"`
	Paging    paging           `json:"paging" jsonschema:"required"`
}

// bulkCreateCustomersArgs are bulk_create_customers' arguments; each item
// is create_customer's arguments.
type bulkCreateCustomersArgs struct {
	Customers []map[string]any `json:"customers" jsonschema:"required,minItems=1" jsonschema_description:"Each: create_customer's arguments."`
	importKeyArg
}

// bulkUpdateCustomersArgs are bulk_update_customers' arguments; each item
// is update_customer's arguments.
type bulkUpdateCustomersArgs struct {
	Customers []map[string]any `json:"customers" jsonschema:"required,minItems=1" jsonschema_description:"Each: update_customer's arguments."`
	importKeyArg
}

func customerID(c billapi.Customer) string { return c.ID }

// fullCustomer is the whole customer record, as get and write tools answer it.
func fullCustomer(c billapi.Customer) customerRecord {
	return customerRecord{customerEntity().toRecord(c, projection{full: true})}
}

func oneCustomer(ctx context.Context, call func(context.Context) (*billapi.Customer, error), op Op) *mcp.CallToolResult {
	cu, err := call(ctx)
	if err != nil {
		return errorResult(err, customerEntity(), op)
	}
	return structured(customerOutput{Customer: fullCustomer(*cu)})
}

// publishedCustomerFields are the customer arguments tools/list shows: the
// ones agents are asked to set most. The other fields BILL takes are named
// in the description and checked against the full schema by the handler.
var publishedCustomerFields = []string{
	"customerId", "name", "companyName", "email", "phone", "accNumber", "contactFirstName", "contactLastName",
	"billAddress1", "billAddress2", "billAddressCity", "billAddressState", "billAddressZip", "billAddressCountry",
}

func customerDefs() []Def {
	create := define[createCustomerArgs, customerOutput](ToolsetCustomers, "create_customer", OpCreate, "Create customer",
		"Create one customer; name is unique, deleted customers included (on BDC_1119 undelete or update the holder).",
		func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a createCustomerArgs) *mcp.CallToolResult {
			return oneCustomer(ctx, func(ctx context.Context) (*billapi.Customer, error) {
				return d.Client.CreateCustomer(ctx, a.customer())
			}, OpCreate)
		})
	create.Published = publishedCustomerFields
	update := define[updateCustomerArgs, customerOutput](ToolsetCustomers, "update_customer", OpUpdate, "Update customer",
		"Change the fields sent, keep the rest; \"\" clears one.",
		func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a updateCustomerArgs) *mcp.CallToolResult {
			return oneCustomer(ctx, func(ctx context.Context) (*billapi.Customer, error) {
				return d.Client.UpdateCustomer(ctx, a.customer())
			}, OpUpdate)
		})
	update.Published, update.MoreLike = publishedCustomerFields, "create_customer"
	return append([]Def{
		create,
		define[customerIDArgs, customerOutput](ToolsetCustomers, "get_customer", OpRead, "Get customer",
			"Read one whole customer by id.",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a customerIDArgs) *mcp.CallToolResult {
				return oneCustomer(ctx, func(ctx context.Context) (*billapi.Customer, error) { return d.Client.GetCustomer(ctx, a.CustomerID) }, OpRead)
			}),
		update,
		define[customerIDArgs, customerOutput](ToolsetCustomers, "delete_customer", OpDelete, "Delete customer",
			"Soft-delete a customer (isActive 2); it keeps its name.",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a customerIDArgs) *mcp.CallToolResult {
				return oneCustomer(ctx, func(ctx context.Context) (*billapi.Customer, error) {
					return d.Client.DeleteCustomer(ctx, a.CustomerID)
				}, OpDelete)
			}),
		define[customerIDArgs, customerOutput](ToolsetCustomers, "undelete_customer", OpUndelete, "Undelete customer",
			"Restore a deleted customer (isActive 1).",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a customerIDArgs) *mcp.CallToolResult {
				return oneCustomer(ctx, func(ctx context.Context) (*billapi.Customer, error) {
					return d.Client.UndeleteCustomer(ctx, a.CustomerID)
				}, OpUndelete)
			}),
		define[listCustomersArgs, customerListOutput](ToolsetCustomers, "list_customers", OpRead, "List customers",
			"Page through customers as compact records; to find one use find_customers.",
			listCustomers),
		findCustomersDef(),
		upsertCustomersDef(),
		onboardCustomerDef(),
	}, customerBulkDefs()...)
}

func listCustomers(ctx context.Context, d Deps, _ mcp.CallToolRequest, a listCustomersArgs) *mcp.CallToolResult {
	e := customerEntity()
	proj, bad := e.parseFields(a.Fields)
	if bad != nil {
		return bad.result()
	}
	filters, bad := listFilters(e, "", a.Filters)
	if bad != nil {
		return bad.result()
	}
	p := a.params(filters)
	var (
		items   []billapi.Customer
		pg      paging
		err     error
		indexed bool
	)
	if a.NameContains != "" {
		items, pg, indexed, err = customersNamed(ctx, d.Client, d.Index, a.NameContains, a, p)
	}
	switch {
	case indexed: // answered from the local index
	case a.NameContains != "":
		// with filters or sort: BILL applies them, the server matches names
		needle := strings.ToLower(a.NameContains)
		scan := p
		scan.Start, scan.Max = 0, billapi.MaxListPage
		items, pg, err = matchingPage(d.Client.AllCustomers(ctx, scan), func(cu billapi.Customer) bool {
			return strings.Contains(strings.ToLower(billapi.Deref(cu.Name)), needle)
		}, p.Start, p.Max)
	default:
		items, pg, err = listPage(ctx, d.Client.ListCustomers, p)
	}
	if err != nil {
		return errorResult(err, e, OpRead)
	}
	recs := mapEach(items, func(c billapi.Customer) customerRecord { return customerRecord{e.toRecord(c, proj)} })
	return structured(customerListOutput{Customers: fitPage(recs, &pg), Paging: pg})
}
