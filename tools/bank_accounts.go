package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// bankAccountFields are a new bank account's fields besides its customer
// (also onboard_customer's bankAccount).
type bankAccountFields struct {
	NameOnAccount  string  `json:"nameOnAccount" jsonschema:"required,minLength=1,maxLength=100"`
	RoutingNumber  string  `json:"routingNumber" jsonschema:"required,pattern=^[0-9]{9}$,maxLength=9" jsonschema_description:"9-digit ABA."`
	AccountNumber  string  `json:"accountNumber" jsonschema:"required,minLength=4,maxLength=17,pattern=^[0-9]+$" jsonschema_description:"Digits; answers show it masked."`
	AgreedWithTOS  bool    `json:"agreedWithTOS" jsonschema:"required" jsonschema_extras:"const=true" jsonschema_description:"The customer agreed to BILL's Payment Terms of Service: ask the user."`
	Nickname       *string `json:"nickname,omitempty" jsonschema:"maxLength=100"`
	IsSavings      *bool   `json:"isSavings,omitempty" jsonschema_description:"Default false (checking)."`
	IsPersonalAcct *bool   `json:"isPersonalAcct,omitempty" jsonschema_description:"Default false (business)."`
	Phone          *string `json:"phone,omitempty" jsonschema:"maxLength=40"`
}

// createBankAccountArgs are create_customer_bank_account's arguments.
type createBankAccountArgs struct {
	CustomerID string `json:"customerId" jsonschema:"required,pattern=^0cu[A-Za-z0-9]{17}$,maxLength=20"`
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
	BankAccountID string `json:"bankAccountId" jsonschema:"required,pattern=^cba[A-Za-z0-9]{17}$,maxLength=20"`
}

// listBankAccountsArgs are list_customer_bank_accounts' arguments.
type listBankAccountsArgs struct {
	CustomerID string `json:"customerId,omitempty" jsonschema:"pattern=^0cu[A-Za-z0-9]{17}$,maxLength=20"`
	listCommon
	Filters []recordFilter `json:"filters,omitempty"`
}

// bankAccountOutput is the result of the single-account tools.
type bankAccountOutput struct {
	BankAccount bankAccountRecord `json:"bankAccount" jsonschema:"required"`
}

// bankAccountListOutput is list_customer_bank_accounts' result.
type bankAccountListOutput struct {
	BankAccounts []bankAccountRecord `json:"bankAccounts" jsonschema:"required"`
	Paging       paging              `json:"paging" jsonschema:"required"`
}

func oneBankAccount(ctx context.Context, call func(context.Context) (*billapi.CustomerBankAccount, error), op Op, masked ...string) *mcp.CallToolResult {
	b, err := call(ctx)
	if err != nil {
		return errorResult(err, bankAccountEntity(), op, masked...)
	}
	return structured(bankAccountOutput{BankAccount: bankAccountRecord{bankAccountEntity().toRecord(*b, projection{full: true})}})
}

func bankAccountDefs() []Def {
	return []Def{
		define[createBankAccountArgs, bankAccountOutput](ToolsetBankAccounts, "create_customer_bank_account", OpCreate, "Add customer bank account",
			"Add the bank account BILL charges; a customer has one active account at most.",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a createBankAccountArgs) *mcp.CallToolResult {
				if !a.AgreedWithTOS {
					return badArgument("agreedWithTOS must be true", "ask the user whether the customer agreed to BILL's Payment Terms of Service; only then call again with agreedWithTOS true")
				}
				return oneBankAccount(ctx, func(ctx context.Context) (*billapi.CustomerBankAccount, error) {
					return d.Client.CreateCustomerBankAccount(ctx, a.bankAccount(), true)
				}, OpCreate, a.AccountNumber)
			}),
		define[bankAccountIDArgs, bankAccountOutput](ToolsetBankAccounts, "get_customer_bank_account", OpRead, "Get customer bank account",
			"Read one whole bank account by id (number masked).",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a bankAccountIDArgs) *mcp.CallToolResult {
				return oneBankAccount(ctx, func(ctx context.Context) (*billapi.CustomerBankAccount, error) {
					return d.Client.GetCustomerBankAccount(ctx, a.BankAccountID)
				}, OpRead)
			}),
		define[bankAccountIDArgs, bankAccountOutput](ToolsetBankAccounts, "delete_customer_bank_account", OpDelete, "Delete customer bank account",
			"Delete a bank account; there is no undelete.",
			func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a bankAccountIDArgs) *mcp.CallToolResult {
				return oneBankAccount(ctx, func(ctx context.Context) (*billapi.CustomerBankAccount, error) {
					return d.Client.DeleteCustomerBankAccount(ctx, a.BankAccountID)
				}, OpDelete)
			}),
		define[listBankAccountsArgs, bankAccountListOutput](ToolsetBankAccounts, "list_customer_bank_accounts", OpRead, "List customer bank accounts",
			"Page through bank accounts as compact records (numbers masked); customerId for one customer's.",
			listBankAccounts),
	}
}

func listBankAccounts(ctx context.Context, d Deps, _ mcp.CallToolRequest, a listBankAccountsArgs) *mcp.CallToolResult {
	recs, pg, bad := listRecords(ctx, bankAccountEntity(), a.listCommon, a.CustomerID, a.Filters, d.Client.ListCustomerBankAccounts,
		func(r record) bankAccountRecord { return bankAccountRecord{r} })
	if bad != nil {
		return bad
	}
	return structured(bankAccountListOutput{BankAccounts: recs, Paging: pg})
}
