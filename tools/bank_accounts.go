package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// bankAccountFields are a new bank account's fields besides its customer
// (also onboard_customer's bankAccount).
type bankAccountFields struct {
	NameOnAccount  string  `json:"nameOnAccount" jsonschema:"required,minLength=1" jsonschema_description:"Account holder's name as the bank has it."`
	RoutingNumber  string  `json:"routingNumber" jsonschema:"required,pattern=^[0-9]{9}$" jsonschema_description:"US ABA routing number: 9 digits."`
	AccountNumber  string  `json:"accountNumber" jsonschema:"required,minLength=4,maxLength=17,pattern=^[0-9]+$" jsonschema_description:"Bank account number, digits only. It is never shown back: answers carry it masked (******7890)."`
	AgreedWithTOS  bool    `json:"agreedWithTOS" jsonschema:"required" jsonschema_extras:"const=true" jsonschema_description:"Must be true: confirms the customer read and agreed to BILL's Payment Terms of Service. Ask the user; do not assume it."`
	Nickname       *string `json:"nickname,omitempty" jsonschema_description:"A name for the account, e.g. Operating account."`
	IsSavings      *bool   `json:"isSavings,omitempty" jsonschema_description:"true for a savings account, false (default) for checking."`
	IsPersonalAcct *bool   `json:"isPersonalAcct,omitempty" jsonschema_description:"true for a personal account, false (default) for a business account."`
	Phone          *string `json:"phone,omitempty"`
}

// createBankAccountArgs are create_customer_bank_account's arguments.
type createBankAccountArgs struct {
	CustomerID string `json:"customerId" jsonschema:"required,pattern=^0cu[A-Za-z0-9]{17}$" jsonschema_description:"Id of the customer who owns the account: 0cu followed by 17 letters or digits."`
	bankAccountFields
}

func (a createBankAccountArgs) bankAccount() billapi.CustomerBankAccount {
	return a.bankAccountFields.bankAccount(a.CustomerID)
}

func (f bankAccountFields) bankAccount(customerID string) billapi.CustomerBankAccount {
	return billapi.CustomerBankAccount{
		CustomerID:     billapi.String(customerID),
		NameOnAccount:  billapi.String(f.NameOnAccount),
		RoutingNumber:  billapi.String(f.RoutingNumber),
		AccountNumber:  billapi.String(f.AccountNumber),
		Nickname:       f.Nickname,
		IsSavings:      f.IsSavings,
		IsPersonalAcct: f.IsPersonalAcct,
		Phone:          f.Phone,
	}
}

// bankAccountIDArgs name one bank account.
type bankAccountIDArgs struct {
	BankAccountID string `json:"bankAccountId" jsonschema:"required,pattern=^cba[A-Za-z0-9]{17}$" jsonschema_description:"Bank account id: cba followed by 17 letters or digits (find it with list_customer_bank_accounts)."`
}

// bankAccountFilter is one list_customer_bank_accounts filter.
type bankAccountFilter struct {
	Field string `json:"field" jsonschema:"required,enum=id,enum=isActive,enum=createdTime,enum=updatedTime,enum=customerId" jsonschema_description:"A field BILL can filter bank accounts on."`
	Op    string `json:"op" jsonschema:"required,enum==,enum=<,enum=>,enum=!=,enum=<=,enum=>=,enum=in,enum=nin"`
	Value string `json:"value" jsonschema:"required" jsonschema_description:"Value as a string; for in/nin a comma-separated list."`
}

// listBankAccountsArgs are list_customer_bank_accounts' arguments.
type listBankAccountsArgs struct {
	CustomerID string `json:"customerId,omitempty" jsonschema:"pattern=^0cu[A-Za-z0-9]{17}$" jsonschema_description:"Only this customer's bank accounts (0cu...)."`
	listCommon
	Filters []bankAccountFilter `json:"filters,omitempty" jsonschema_description:"Conditions every returned account meets."`
}

// bankAccountOutput is the result of the single-account tools.
type bankAccountOutput struct {
	BankAccount bankAccountView `json:"bankAccount" jsonschema:"required"`
}

// bankAccountListOutput is list_customer_bank_accounts' result.
type bankAccountListOutput struct {
	BankAccounts []bankAccountView `json:"bankAccounts" jsonschema:"required"`
	Paging       paging            `json:"paging" jsonschema:"required"`
}

func oneBankAccount(ctx context.Context, call func(context.Context) (*billapi.CustomerBankAccount, error), op opKind) *mcp.CallToolResult {
	b, err := call(ctx)
	if err != nil {
		return errorResult(err, bankAccountEntity(), op)
	}
	return structured(bankAccountOutput{BankAccount: viewBankAccount(*b)})
}

// CreateCustomerBankAccount is create_customer_bank_account: add a customer's bank account.
func CreateCustomerBankAccount(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("create_customer_bank_account", "Add customer bank account",
		"Add a bank account to a customer so BILL can charge it. A customer has at most one active bank account: delete the old one first to replace it. "+
			"BILL requires customerId, nameOnAccount, routingNumber, accountNumber and agreedWithTOS true (the customer accepted BILL's payment terms; ask the user). "+
			"The answer shows the account number masked.",
		opCreate, createBankAccountArgs{}, bankAccountOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a createBankAccountArgs) *mcp.CallToolResult {
		if !a.AgreedWithTOS {
			return badArgument("agreedWithTOS must be true", "ask the user whether the customer agreed to BILL's Payment Terms of Service; only then call again with agreedWithTOS true")
		}
		return oneBankAccount(ctx, func(ctx context.Context) (*billapi.CustomerBankAccount, error) {
			return c.CreateCustomerBankAccount(ctx, a.bankAccount(), true)
		}, opCreate)
	})
}

// GetCustomerBankAccount is get_customer_bank_account: read one bank account by id.
func GetCustomerBankAccount(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("get_customer_bank_account", "Get customer bank account",
		"Read one customer bank account by its id (cba...); the account number is masked. To find a customer's account use list_customer_bank_accounts with customerId.",
		opRead, bankAccountIDArgs{}, bankAccountOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a bankAccountIDArgs) *mcp.CallToolResult {
		return oneBankAccount(ctx, func(ctx context.Context) (*billapi.CustomerBankAccount, error) {
			return c.GetCustomerBankAccount(ctx, a.BankAccountID)
		}, opRead)
	})
}

// DeleteCustomerBankAccount is delete_customer_bank_account: remove a bank account.
func DeleteCustomerBankAccount(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("delete_customer_bank_account", "Delete customer bank account",
		"Delete a customer's bank account (it becomes inactive; BILL offers no undelete for bank accounts, so adding it again needs the full account number). "+
			"Deleting a deleted account succeeds.",
		opDelete, bankAccountIDArgs{}, bankAccountOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a bankAccountIDArgs) *mcp.CallToolResult {
		return oneBankAccount(ctx, func(ctx context.Context) (*billapi.CustomerBankAccount, error) {
			return c.DeleteCustomerBankAccount(ctx, a.BankAccountID)
		}, opDelete)
	})
}

// ListCustomerBankAccounts is list_customer_bank_accounts: one page of bank accounts.
func ListCustomerBankAccounts(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newTool("list_customer_bank_accounts", "List customer bank accounts",
		"List customer bank accounts a page at a time (default 50, up to 999), active and deleted unless isActive is set; account numbers are masked. "+
			"Pass customerId for one customer's accounts.",
		opRead, listBankAccountsArgs{}, bankAccountListOutput{})
	return t, handle(c, func(ctx context.Context, _ mcp.CallToolRequest, a listBankAccountsArgs) *mcp.CallToolResult {
		filters := make([]billapi.Filter, 0, len(a.Filters)+1)
		if a.CustomerID != "" {
			filters = append(filters, billapi.Filter{Field: "customerId", Op: billapi.OpEq, Value: a.CustomerID})
		}
		for _, f := range a.Filters {
			filters = append(filters, billapi.Filter{Field: f.Field, Op: f.Op, Value: f.Value})
		}
		items, pg, err := listPage(ctx, c.ListCustomerBankAccounts, a.params(filters))
		if err != nil {
			return errorResult(err, bankAccountEntity(), opRead)
		}
		return structured(bankAccountListOutput{BankAccounts: mapEach(items, viewBankAccount), Paging: pg})
	})
}
