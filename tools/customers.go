package tools

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/index"
)

// customerFields are the writable customer fields besides name, shared by
// create and update. Absent fields are not sent; on update "" clears one.
type customerFields struct {
	CompanyName             *string `json:"companyName,omitempty" jsonschema_description:"Company name."`
	Email                   *string `json:"email,omitempty" jsonschema:"format=email" jsonschema_description:"Customer email address, e.g. ap@acme.com."`
	Phone                   *string `json:"phone,omitempty"`
	AltPhone                *string `json:"altPhone,omitempty"`
	Fax                     *string `json:"fax,omitempty"`
	ShortName               *string `json:"shortName,omitempty" jsonschema_description:"Short name shown in BILL and the accounting software."`
	ContactFirstName        *string `json:"contactFirstName,omitempty" jsonschema_description:"Primary contact's first name (to add a full contact record use create_customer_contact)."`
	ContactLastName         *string `json:"contactLastName,omitempty"`
	AccNumber               *string `json:"accNumber,omitempty" jsonschema_description:"Your own account number for this customer, shown on invoices."`
	ParentCustomerID        *string `json:"parentCustomerId,omitempty" jsonschema_description:"Id (0cu...) of a parent customer, when this one is a child."`
	BillAddress1            *string `json:"billAddress1,omitempty"`
	BillAddress2            *string `json:"billAddress2,omitempty"`
	BillAddress3            *string `json:"billAddress3,omitempty"`
	BillAddress4            *string `json:"billAddress4,omitempty"`
	BillAddressCity         *string `json:"billAddressCity,omitempty"`
	BillAddressState        *string `json:"billAddressState,omitempty" jsonschema_description:"Two-letter US state, e.g. CA."`
	BillAddressCountry      *string `json:"billAddressCountry,omitempty"`
	BillAddressZip          *string `json:"billAddressZip,omitempty"`
	ShipAddress1            *string `json:"shipAddress1,omitempty"`
	ShipAddress2            *string `json:"shipAddress2,omitempty"`
	ShipAddress3            *string `json:"shipAddress3,omitempty"`
	ShipAddress4            *string `json:"shipAddress4,omitempty"`
	ShipAddressCity         *string `json:"shipAddressCity,omitempty"`
	ShipAddressState        *string `json:"shipAddressState,omitempty" jsonschema_description:"Two-letter US state."`
	ShipAddressCountry      *string `json:"shipAddressCountry,omitempty"`
	ShipAddressZip          *string `json:"shipAddressZip,omitempty"`
	Description             *string `json:"description,omitempty"`
	InvoiceCurrency         *string `json:"invoiceCurrency,omitempty" jsonschema_description:"Three-letter currency code; required for an international customer."`
	PrintAs                 *string `json:"printAs,omitempty" jsonschema_description:"Name printed on checks."`
	AccountType             *string `json:"accountType,omitempty" jsonschema:"enum=0,enum=1,enum=2" jsonschema_description:"0 none, 1 business, 2 person."`
	PaymentTermID           *string `json:"paymentTermId,omitempty" jsonschema_description:"BILL payment term id."`
	DefaultDeliveryMethod   *string `json:"defaultDeliveryMethod,omitempty" jsonschema:"enum=0,enum=1" jsonschema_description:"How invoices go out: 0 email, 1 US mail."`
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
	Name string `json:"name" jsonschema:"required,minLength=1" jsonschema_description:"Customer name, unique in the BILL organization (compared case-insensitively, inactive customers included)."`
	customerFields
}

func (a createCustomerArgs) customer() billapi.Customer {
	c := billapi.Customer{Name: billapi.String(a.Name)}
	a.apply(&c)
	return c
}

// updateCustomerArgs are update_customer's arguments and one item of bulk_update_customers.
type updateCustomerArgs struct {
	CustomerID string  `json:"customerId" jsonschema:"required,pattern=^0cu[A-Za-z0-9]{17}$" jsonschema_description:"Id of the customer to change: 0cu followed by 17 letters or digits (find it with list_customers)."`
	Name       *string `json:"name,omitempty" jsonschema:"minLength=1" jsonschema_description:"New unique name; omit to keep the current one."`
	customerFields
}

func (a updateCustomerArgs) customer() billapi.Customer {
	c := billapi.Customer{ID: a.CustomerID, Name: a.Name}
	a.apply(&c)
	return c
}

// customerIDArgs name one customer.
type customerIDArgs struct {
	CustomerID string `json:"customerId" jsonschema:"required,pattern=^0cu[A-Za-z0-9]{17}$" jsonschema_description:"Customer id: 0cu followed by 17 letters or digits (find it with list_customers)."`
}

// customerIDsArgs name many customers.
type customerIDsArgs struct {
	CustomerIDs []string `json:"customerIds" jsonschema:"required,minItems=1" jsonschema_description:"Customer ids (0cu...), any number."`
	importKeyArg
}

// customerFilter is one list_customers filter.
type customerFilter struct {
	Field string `json:"field" jsonschema:"required,enum=id,enum=isActive,enum=createdTime,enum=updatedTime,enum=parentCustomerId,enum=invoiceCurrency,enum=mergedIntoId,enum=hasAuthorizedToCharge,enum=accountType,enum=paymentTermId,enum=balance,enum=defaultDeliveryMethod,enum=isAutoChargeDismissed,enum=isTaxLiable,enum=creationSource" jsonschema_description:"A field BILL can filter customers on (BILL cannot filter by name: use nameContains)."`
	Op    string `json:"op" jsonschema:"required,enum==,enum=<,enum=>,enum=!=,enum=<=,enum=>=,enum=in,enum=nin"`
	Value string `json:"value" jsonschema:"required" jsonschema_description:"Value as a string, e.g. 1, 2016-12-09T21:38:40.000+0000; for in/nin a comma-separated list."`
}

// listCustomersArgs are list_customers' arguments.
type listCustomersArgs struct {
	listCommon
	Filters      []customerFilter `json:"filters,omitempty" jsonschema_description:"Conditions every returned customer meets."`
	NameContains string           `json:"nameContains,omitempty" jsonschema:"minLength=1" jsonschema_description:"Only customers whose name contains this text, case-insensitively. Answered from the server's index of the org (no more than a minute old); start and max page through the matches."`
}

// customerOutput is the result of the single-customer tools.
type customerOutput struct {
	Customer customerView `json:"customer" jsonschema:"required"`
}

// customerListOutput is list_customers' result.
type customerListOutput struct {
	Customers []customerView `json:"customers" jsonschema:"required"`
	Paging    paging         `json:"paging" jsonschema:"required"`
}

// bulkCreateCustomersArgs are bulk_create_customers' arguments.
type bulkCreateCustomersArgs struct {
	Customers []createCustomerArgs `json:"customers" jsonschema:"required,minItems=1" jsonschema_description:"Customers to create, any number; each needs a unique name."`
	importKeyArg
}

// bulkUpdateCustomersArgs are bulk_update_customers' arguments.
type bulkUpdateCustomersArgs struct {
	Customers []updateCustomerArgs `json:"customers" jsonschema:"required,minItems=1" jsonschema_description:"Changes, one per customer; each names its customerId and the fields to change."`
	importKeyArg
}

func customerID(c billapi.Customer) string { return c.ID }

func oneCustomer(ctx context.Context, call func(context.Context) (*billapi.Customer, error), op opKind) *mcp.CallToolResult {
	cu, err := call(ctx)
	if err != nil {
		return errorResult(err, customerEntity(), op)
	}
	return structured(customerOutput{Customer: viewCustomer(*cu)})
}

// CreateCustomer is create_customer: create one customer.
func CreateCustomer(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("create_customer", "Create customer",
		"Create one BILL customer (a company or person you invoice). Only name is required, and it must be unique: "+
			"if BILL answers BDC_1119 the customer exists, possibly deleted; find it with list_customers (nameContains) and update or undelete it instead. "+
			"For more than 5 customers use bulk_create_customers. To add people at the customer use create_customer_contact afterwards.",
		opCreate, createCustomerArgs{}, customerOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a createCustomerArgs) *mcp.CallToolResult {
		return oneCustomer(ctx, func(ctx context.Context) (*billapi.Customer, error) { return c.CreateCustomer(ctx, a.customer()) }, opCreate)
	})
}

// GetCustomer is get_customer: read one customer by id.
func GetCustomer(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("get_customer", "Get customer",
		"Read one customer by its id (0cu...), active or deleted. To find a customer by name or other fields use list_customers.",
		opRead, customerIDArgs{}, customerOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a customerIDArgs) *mcp.CallToolResult {
		return oneCustomer(ctx, func(ctx context.Context) (*billapi.Customer, error) { return c.GetCustomer(ctx, a.CustomerID) }, opRead)
	})
}

// UpdateCustomer is update_customer: change some fields of one customer.
func UpdateCustomer(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("update_customer", "Update customer",
		"Change fields of one customer: send customerId and only the fields to change; fields you omit keep their values and \"\" clears a field. "+
			"It does not change whether the customer is active: use delete_customer / undelete_customer for that. For more than 5 customers use bulk_update_customers.",
		opUpdate, updateCustomerArgs{}, customerOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a updateCustomerArgs) *mcp.CallToolResult {
		return oneCustomer(ctx, func(ctx context.Context) (*billapi.Customer, error) { return c.UpdateCustomer(ctx, a.customer()) }, opUpdate)
	})
}

// DeleteCustomer is delete_customer: soft-delete one customer.
func DeleteCustomer(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("delete_customer", "Delete customer",
		"Soft-delete one customer: it becomes inactive (isActive 2) but keeps its name and data, and undelete_customer restores it. "+
			"Deleting an already deleted customer succeeds. For more than 5 customers use bulk_delete_customers.",
		opDelete, customerIDArgs{}, customerOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a customerIDArgs) *mcp.CallToolResult {
		return oneCustomer(ctx, func(ctx context.Context) (*billapi.Customer, error) { return c.DeleteCustomer(ctx, a.CustomerID) }, opDelete)
	})
}

// UndeleteCustomer is undelete_customer: restore one soft-deleted customer.
func UndeleteCustomer(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("undelete_customer", "Undelete customer",
		"Restore a deleted (inactive) customer so it is active again (isActive 1). Undeleting an active customer succeeds unchanged. "+
			"Use it when create_customer fails because a deleted customer holds the name.",
		opUndelete, customerIDArgs{}, customerOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a customerIDArgs) *mcp.CallToolResult {
		return oneCustomer(ctx, func(ctx context.Context) (*billapi.Customer, error) { return c.UndeleteCustomer(ctx, a.CustomerID) }, opUndelete)
	})
}

// ListCustomers is list_customers: one page of customers.
func ListCustomers(c *billapi.Client, ix *index.Index) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("list_customers", "List customers",
		"List customers, a page at a time (default 50, up to 999), active and deleted unless isActive is set. "+
			"Use nameContains to find customers by name, filters for other fields, and paging.nextStart to read on. "+
			"Use get_customer when you already have the id.",
		opRead, listCustomersArgs{}, customerListOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a listCustomersArgs) *mcp.CallToolResult {
		filters := make([]billapi.Filter, 0, len(a.Filters))
		for _, f := range a.Filters {
			filters = append(filters, billapi.Filter{Field: f.Field, Op: f.Op, Value: f.Value})
		}
		p := a.params(filters)
		var (
			items []billapi.Customer
			pg    paging
			err   error
		)
		var indexed bool
		if a.NameContains != "" {
			items, pg, indexed, err = customersNamed(ctx, c, ix, a.NameContains, a, p)
		}
		switch {
		case indexed: // answered from the local index
		case a.NameContains != "":
			// with filters or sort: BILL applies them, the server matches names
			needle := strings.ToLower(a.NameContains)
			scan := p
			scan.Start, scan.Max = 0, billapi.MaxListPage
			items, pg, err = matchingPage(c.AllCustomers(ctx, scan), func(cu billapi.Customer) bool {
				return strings.Contains(strings.ToLower(billapi.Deref(cu.Name)), needle)
			}, p.Start, p.Max)
		default:
			items, pg, err = listPage(ctx, c.ListCustomers, p)
		}
		if err != nil {
			return errorResult(err, customerEntity(), opRead)
		}
		return structured(customerListOutput{Customers: mapEach(items, viewCustomer), Paging: pg})
	})
}
