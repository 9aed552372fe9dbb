package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// contactFields are the optional contact fields shared by create and update.
type contactFields struct {
	LastName   *string `json:"lastName,omitempty"`
	Phone      *string `json:"phone,omitempty"`
	AltPhone   *string `json:"altPhone,omitempty"`
	Fax        *string `json:"fax,omitempty"`
	TimezoneID *string `json:"timezoneId,omitempty" jsonschema:"enum=3,enum=4,enum=5,enum=6" jsonschema_description:"Time zone: 3 Pacific (PST), 4 Mountain (MST), 5 Central (CST), 6 Eastern (EST)."`
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
	FirstName string `json:"firstName" jsonschema:"required,minLength=1" jsonschema_description:"First name."`
	Email     string `json:"email" jsonschema:"required,minLength=3,format=email" jsonschema_description:"Email address, e.g. jane@acme.com."`
	contactFields
}

func (f newContactFields) contact(customerID string) billapi.CustomerContact {
	c := billapi.CustomerContact{CustomerID: billapi.String(customerID), FirstName: billapi.String(f.FirstName), Email: billapi.String(f.Email)}
	f.apply(&c)
	return c
}

// createContactArgs are create_customer_contact's arguments and one item of bulk_create_customer_contacts.
type createContactArgs struct {
	CustomerID string `json:"customerId" jsonschema:"required,pattern=^0cu[A-Za-z0-9]{17}$" jsonschema_description:"Id of the customer the person works for: 0cu followed by 17 letters or digits."`
	newContactFields
}

func (a createContactArgs) contact() billapi.CustomerContact {
	return a.newContactFields.contact(a.CustomerID)
}

// updateContactArgs are update_customer_contact's arguments and one item of bulk_update_customer_contacts.
type updateContactArgs struct {
	ContactID string  `json:"contactId" jsonschema:"required,pattern=^cpu[A-Za-z0-9]{17}$" jsonschema_description:"Id of the contact to change: cpu followed by 17 letters or digits (find it with list_customer_contacts)."`
	FirstName *string `json:"firstName,omitempty" jsonschema:"minLength=1"`
	Email     *string `json:"email,omitempty" jsonschema:"minLength=3,format=email"`
	contactFields
}

func (a updateContactArgs) contact() billapi.CustomerContact {
	c := billapi.CustomerContact{ID: a.ContactID, FirstName: a.FirstName, Email: a.Email}
	a.apply(&c)
	return c
}

// contactIDArgs name one contact.
type contactIDArgs struct {
	ContactID string `json:"contactId" jsonschema:"required,pattern=^cpu[A-Za-z0-9]{17}$" jsonschema_description:"Contact id: cpu followed by 17 letters or digits (find it with list_customer_contacts)."`
}

// contactIDsArgs name many contacts.
type contactIDsArgs struct {
	ContactIDs []string `json:"contactIds" jsonschema:"required,minItems=1" jsonschema_description:"Contact ids (cpu...), any number."`
	importKeyArg
}

// contactFilter is one list_customer_contacts filter.
type contactFilter struct {
	Field string `json:"field" jsonschema:"required,enum=id,enum=isActive,enum=createdTime,enum=updatedTime,enum=customerId,enum=timezoneId" jsonschema_description:"A field BILL can filter contacts on."`
	Op    string `json:"op" jsonschema:"required,enum==,enum=<,enum=>,enum=!=,enum=<=,enum=>=,enum=in,enum=nin"`
	Value string `json:"value" jsonschema:"required" jsonschema_description:"Value as a string; for in/nin a comma-separated list."`
}

// listContactsArgs are list_customer_contacts' arguments.
type listContactsArgs struct {
	CustomerID string `json:"customerId,omitempty" jsonschema:"pattern=^0cu[A-Za-z0-9]{17}$" jsonschema_description:"Only this customer's contacts (0cu...)."`
	listCommon
	Filters []contactFilter `json:"filters,omitempty" jsonschema_description:"Conditions every returned contact meets."`
}

// contactOutput is the result of the single-contact tools.
type contactOutput struct {
	Contact contactView `json:"contact" jsonschema:"required"`
}

// contactListOutput is list_customer_contacts' result.
type contactListOutput struct {
	Contacts []contactView `json:"contacts" jsonschema:"required"`
	Paging   paging        `json:"paging" jsonschema:"required"`
}

// bulkCreateContactsArgs are bulk_create_customer_contacts' arguments.
type bulkCreateContactsArgs struct {
	Contacts []createContactArgs `json:"contacts" jsonschema:"required,minItems=1" jsonschema_description:"Contacts to create, any number; each needs customerId, firstName and email."`
	importKeyArg
}

// bulkUpdateContactsArgs are bulk_update_customer_contacts' arguments.
type bulkUpdateContactsArgs struct {
	Contacts []updateContactArgs `json:"contacts" jsonschema:"required,minItems=1" jsonschema_description:"Changes, one per contact; each names its contactId and the fields to change."`
	importKeyArg
}

func contactID(c billapi.CustomerContact) string { return c.ID }

func oneContact(ctx context.Context, call func(context.Context) (*billapi.CustomerContact, error), op opKind) *mcp.CallToolResult {
	ct, err := call(ctx)
	if err != nil {
		return errorResult(err, contactEntity(), op)
	}
	return structured(contactOutput{Contact: viewContact(*ct)})
}

// CreateCustomerContact is create_customer_contact: add one person to a customer.
func CreateCustomerContact(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("create_customer_contact", "Create customer contact",
		"Add one contact (a person who receives invoices or answers for the customer) to an existing customer. BILL requires customerId, firstName and email. "+
			"Get customerId from create_customer or list_customers. For more than 5 contacts use bulk_create_customer_contacts.",
		opCreate, createContactArgs{}, contactOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a createContactArgs) *mcp.CallToolResult {
		return oneContact(ctx, func(ctx context.Context) (*billapi.CustomerContact, error) {
			return c.CreateCustomerContact(ctx, a.contact())
		}, opCreate)
	})
}

// GetCustomerContact is get_customer_contact: read one contact by id.
func GetCustomerContact(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("get_customer_contact", "Get customer contact",
		"Read one contact by its id (cpu...), active or deleted. To find a customer's contacts use list_customer_contacts with customerId.",
		opRead, contactIDArgs{}, contactOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a contactIDArgs) *mcp.CallToolResult {
		return oneContact(ctx, func(ctx context.Context) (*billapi.CustomerContact, error) {
			return c.GetCustomerContact(ctx, a.ContactID)
		}, opRead)
	})
}

// UpdateCustomerContact is update_customer_contact: change some fields of one contact.
func UpdateCustomerContact(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("update_customer_contact", "Update customer contact",
		"Change fields of one contact: send contactId and only the fields to change; omitted fields keep their values. "+
			"A contact stays with its customer. For more than 5 contacts use bulk_update_customer_contacts.",
		opUpdate, updateContactArgs{}, contactOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a updateContactArgs) *mcp.CallToolResult {
		return oneContact(ctx, func(ctx context.Context) (*billapi.CustomerContact, error) {
			return c.UpdateCustomerContact(ctx, a.contact())
		}, opUpdate)
	})
}

// DeleteCustomerContact is delete_customer_contact: soft-delete one contact.
func DeleteCustomerContact(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("delete_customer_contact", "Delete customer contact",
		"Soft-delete one contact: it becomes inactive (isActive 2) and undelete_customer_contact restores it. Deleting a deleted contact succeeds.",
		opDelete, contactIDArgs{}, contactOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a contactIDArgs) *mcp.CallToolResult {
		return oneContact(ctx, func(ctx context.Context) (*billapi.CustomerContact, error) {
			return c.DeleteCustomerContact(ctx, a.ContactID)
		}, opDelete)
	})
}

// UndeleteCustomerContact is undelete_customer_contact: restore one contact.
func UndeleteCustomerContact(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("undelete_customer_contact", "Undelete customer contact",
		"Restore a deleted contact (isActive back to 1). Undeleting an active contact succeeds unchanged.",
		opUndelete, contactIDArgs{}, contactOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a contactIDArgs) *mcp.CallToolResult {
		return oneContact(ctx, func(ctx context.Context) (*billapi.CustomerContact, error) {
			return c.UndeleteCustomerContact(ctx, a.ContactID)
		}, opUndelete)
	})
}

// ListCustomerContacts is list_customer_contacts: one page of contacts.
func ListCustomerContacts(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("list_customer_contacts", "List customer contacts",
		"List contacts a page at a time (default 50, up to 999), active and deleted unless isActive is set. "+
			"Pass customerId for one customer's contacts; use paging.nextStart to read on. Use get_customer_contact when you have the id.",
		opRead, listContactsArgs{}, contactListOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a listContactsArgs) *mcp.CallToolResult {
		filters := make([]billapi.Filter, 0, len(a.Filters)+1)
		if a.CustomerID != "" {
			filters = append(filters, billapi.Filter{Field: "customerId", Op: billapi.OpEq, Value: a.CustomerID})
		}
		for _, f := range a.Filters {
			filters = append(filters, billapi.Filter{Field: f.Field, Op: f.Op, Value: f.Value})
		}
		items, pg, err := listPage(ctx, c.ListCustomerContacts, a.params(filters))
		if err != nil {
			return errorResult(err, contactEntity(), opRead)
		}
		return structured(contactListOutput{Contacts: mapEach(items, viewContact), Paging: pg})
	})
}
