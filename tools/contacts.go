package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// contactFields are the optional contact fields shared by create and update.
type contactFields struct {
	LastName   *string `json:"lastName,omitempty" jsonschema:"maxLength=100"`
	Phone      *string `json:"phone,omitempty" jsonschema:"maxLength=40"`
	AltPhone   *string `json:"altPhone,omitempty" jsonschema:"maxLength=40"`
	Fax        *string `json:"fax,omitempty" jsonschema:"maxLength=40"`
	TimezoneID *string `json:"timezoneId,omitempty" jsonschema:"enum=3,enum=4,enum=5,enum=6" jsonschema_description:"3 PST, 4 MST, 5 CST, 6 EST."`
}

func (f contactFields) apply(c *billapi.CustomerContact) {
	c.LastName = f.LastName
	c.Phone = f.Phone
	c.AltPhone = f.AltPhone
	c.Fax = f.Fax
	c.TimezoneID = f.TimezoneID
}

// newContactFields are a new contact's fields besides its customer (also
// one contact of onboard_customer).
type newContactFields struct {
	FirstName string `json:"firstName" jsonschema:"required,minLength=1,maxLength=100" jsonschema_description:"Ask the user; never invent one."`
	Email     string `json:"email" jsonschema:"required,minLength=3,maxLength=254,format=email"`
	contactFields
}

func (f newContactFields) contact(customerID string) billapi.CustomerContact {
	c := billapi.CustomerContact{CustomerID: billapi.String(customerID), FirstName: billapi.String(f.FirstName), Email: billapi.String(f.Email)}
	f.apply(&c)
	return c
}

// createContactArgs are create_customer_contact's arguments and one item of bulk_create_customer_contacts.
type createContactArgs struct {
	CustomerID string `json:"customerId" jsonschema:"required,pattern=^0cu[A-Za-z0-9]{17}$,maxLength=20"`
	newContactFields
}

func (a createContactArgs) contact() billapi.CustomerContact {
	return a.newContactFields.contact(a.CustomerID)
}

// updateContactArgs are update_customer_contact's arguments and one item of bulk_update_customer_contacts.
type updateContactArgs struct {
	ContactID string  `json:"contactId" jsonschema:"required,pattern=^cpu[A-Za-z0-9]{17}$,maxLength=20"`
	FirstName *string `json:"firstName,omitempty" jsonschema:"minLength=1,maxLength=100"`
	Email     *string `json:"email,omitempty" jsonschema:"minLength=3,maxLength=254,format=email"`
	contactFields
}

func (a updateContactArgs) contact() billapi.CustomerContact {
	c := billapi.CustomerContact{ID: a.ContactID, FirstName: a.FirstName, Email: a.Email}
	a.apply(&c)
	return c
}

// contactIDArgs name one contact.
type contactIDArgs struct {
	ContactID string `json:"contactId" jsonschema:"required,pattern=^cpu[A-Za-z0-9]{17}$,maxLength=20"`
}

// contactIDsArgs name many contacts.
type contactIDsArgs struct {
	ContactIDs []string `json:"contactIds" jsonschema:"required,minItems=1,maxLength=20"`
	importKeyArg
}

// recordFilter is one filter of list_customer_contacts and
// list_customer_bank_accounts.
type recordFilter struct {
	Field string `json:"field" jsonschema:"required,maxLength=40" jsonschema_description:"e.g. updatedTime"`
	Op    string `json:"op" jsonschema:"required,enum==,enum=<,enum=>,enum=!=,enum=<=,enum=>=,enum=in,enum=nin"`
	Value string `json:"value" jsonschema:"required,maxLength=2000" jsonschema_description:"in/nin: comma-separated."`
}

// listContactsArgs are list_customer_contacts' arguments.
type listContactsArgs struct {
	CustomerID string `json:"customerId,omitempty" jsonschema:"pattern=^0cu[A-Za-z0-9]{17}$,maxLength=20"`
	listCommon
	Filters []recordFilter `json:"filters,omitempty"`
}

// contactOutput is the result of the single-contact tools.
type contactOutput struct {
	Contact contactRecord `json:"contact" jsonschema:"required"`
}

// contactListOutput is list_customer_contacts' result.
type contactListOutput struct {
	Contacts []contactRecord `json:"contacts" jsonschema:"required"`
	Paging   paging          `json:"paging" jsonschema:"required"`
}

// bulkCreateContactsArgs are bulk_create_customer_contacts' arguments.
type bulkCreateContactsArgs struct {
	Contacts []map[string]any `json:"contacts" jsonschema:"required,minItems=1" jsonschema_description:"Each: create_customer_contact's arguments."`
	importKeyArg
}

// bulkUpdateContactsArgs are bulk_update_customer_contacts' arguments.
type bulkUpdateContactsArgs struct {
	Contacts []map[string]any `json:"contacts" jsonschema:"required,minItems=1" jsonschema_description:"Each: update_customer_contact's arguments."`
	importKeyArg
}

func contactID(c billapi.CustomerContact) string { return c.ID }

func oneContact(ctx context.Context, call func(context.Context) (*billapi.CustomerContact, error), op Op) *mcp.CallToolResult {
	ct, err := call(ctx)
	if err != nil {
		return errorResult(err, contactEntity(), op)
	}
	return structured(contactOutput{Contact: contactRecord{contactEntity().toRecord(*ct, projection{full: true})}})
}

func contactDefs() []Def {
	return append([]Def{
		define[createContactArgs, contactOutput](ToolsetContacts, "create_customer_contact", OpCreate, "Create customer contact",
			"Add a person (who gets invoices or answers) to a customer.",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a createContactArgs) *mcp.CallToolResult {
				return oneContact(ctx, func(ctx context.Context) (*billapi.CustomerContact, error) {
					return d.Client.CreateCustomerContact(ctx, a.contact())
				}, OpCreate)
			}),
		define[contactIDArgs, contactOutput](ToolsetContacts, "get_customer_contact", OpRead, "Get customer contact",
			"Read one whole contact by id.",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a contactIDArgs) *mcp.CallToolResult {
				return oneContact(ctx, func(ctx context.Context) (*billapi.CustomerContact, error) {
					return d.Client.GetCustomerContact(ctx, a.ContactID)
				}, OpRead)
			}),
		define[updateContactArgs, contactOutput](ToolsetContacts, "update_customer_contact", OpUpdate, "Update customer contact",
			"Change the fields sent, keep the rest.",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a updateContactArgs) *mcp.CallToolResult {
				return oneContact(ctx, func(ctx context.Context) (*billapi.CustomerContact, error) {
					return d.Client.UpdateCustomerContact(ctx, a.contact())
				}, OpUpdate)
			}),
		define[contactIDArgs, contactOutput](ToolsetContacts, "delete_customer_contact", OpDelete, "Delete customer contact",
			"Soft-delete a contact (isActive 2).",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a contactIDArgs) *mcp.CallToolResult {
				return oneContact(ctx, func(ctx context.Context) (*billapi.CustomerContact, error) {
					return d.Client.DeleteCustomerContact(ctx, a.ContactID)
				}, OpDelete)
			}),
		define[contactIDArgs, contactOutput](ToolsetContacts, "undelete_customer_contact", OpUndelete, "Undelete customer contact",
			"Restore a deleted contact (isActive 1).",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a contactIDArgs) *mcp.CallToolResult {
				return oneContact(ctx, func(ctx context.Context) (*billapi.CustomerContact, error) {
					return d.Client.UndeleteCustomerContact(ctx, a.ContactID)
				}, OpUndelete)
			}),
		define[listContactsArgs, contactListOutput](ToolsetContacts, "list_customer_contacts", OpRead, "List customer contacts",
			"Page through contacts as compact records; customerId for one customer's.",
			listContacts),
		findContactsDef(),
	}, contactBulkDefs()...)
}

func listContacts(ctx context.Context, d Deps, _ mcp.CallToolRequest, a listContactsArgs) *mcp.CallToolResult {
	recs, pg, bad := listRecords(ctx, contactEntity(), a.listCommon, a.CustomerID, a.Filters, d.Client.ListCustomerContacts,
		func(r record) contactRecord { return contactRecord{r} })
	if bad != nil {
		return bad
	}
	return structured(contactListOutput{Contacts: recs, Paging: pg})
}
