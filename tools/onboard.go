package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/index"
)

// Local codes of the workflow tools.
const (
	// CodeConflict marks input that clashes with what BILL holds (an
	// accNumber on another customer, a different active bank account).
	CodeConflict = "CONFLICT"
	// CodeAmbiguous marks a match key that more than one record holds.
	CodeAmbiguous = "AMBIGUOUS"
	// CodeDuplicateRow marks a row whose match key an earlier row has.
	CodeDuplicateRow = "DUPLICATE_ROW"
)

// Actions a workflow step reports.
const (
	actionCreated  = "created"
	actionReused   = "reused"
	actionRestored = "restored" // reused, and undeleted
	actionFailed   = "failed"
	actionSkipped  = "skipped" // not tried: an earlier step failed
)

// onboardArgs are onboard_customer's arguments. The parts are objects in
// the input schema and are checked, each against its own schema (the
// single-create tools' arguments), before anything is sent.
type onboardArgs struct {
	Customer    map[string]any   `json:"customer" jsonschema:"required" jsonschema_description:"create_customer's arguments; reused by accNumber, else name."`
	Contacts    []map[string]any `json:"contacts,omitempty" jsonschema:"maxItems=100" jsonschema_description:"Each: create_customer_contact's arguments without customerId; reused by email."`
	BankAccount map[string]any   `json:"bankAccount,omitempty" jsonschema_description:"create_customer_bank_account's arguments without customerId."`
	ImportKey   string           `json:"importKey,omitempty" jsonschema:"maxLength=100" jsonschema_description:"Optional job id; a repeat creates nothing twice."`
}

// onboardInput is onboard_customer's arguments with the parts decoded.
type onboardInput struct {
	Customer    createCustomerArgs
	Contacts    []newContactFields
	BankAccount *bankAccountFields
	ImportKey   string
}

// onboardStep is what happened to one part of an onboarding.
type onboardStep struct {
	Action string     `json:"action" jsonschema:"required,enum=created,enum=reused,enum=restored,enum=failed,enum=skipped"`
	ID     string     `json:"id,omitempty"`
	Email  string     `json:"email,omitempty" jsonschema_description:"Which contact."`
	Error  string     `json:"error,omitempty" jsonschema_description:"Why it failed: CODE: message. Next: what to do."`
	fail   *itemError // set when Action is failed
}

// JSONSchema is a step's output shape, kept small: it is repeated for the
// customer, the contacts and the bank account.
func (onboardStep) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", Required: []string{"action"}}
}

// onboardOutput is onboard_customer's result.
type onboardOutput struct {
	Complete    bool          `json:"complete" jsonschema:"required" jsonschema_description:"false: see the failed part. Each part has an action: created, reused, restored, failed or skipped."`
	Customer    onboardStep   `json:"customer" jsonschema:"required"`
	Contacts    []onboardStep `json:"contacts,omitempty"`
	BankAccount *onboardStep  `json:"bankAccount,omitempty"`
}

func onboardCustomerDef() Def {
	customer := newItemDecoder[createCustomerArgs]("onboard_customer.customer")
	contacts := newItemDecoder[newContactFields]("onboard_customer.contacts")
	bank := newItemDecoder[bankAccountFields]("onboard_customer.bankAccount")
	return define[onboardArgs, onboardOutput](ToolsetCustomers, "onboard_customer", OpEnsure, "Onboard customer",
		"Make sure a customer, its contacts and maybe its bank account exist, in one call: reuses what exists, creates the rest; safe to repeat.",
		func(ctx context.Context, d Deps, _ mcp.CallToolRequest, a onboardArgs) *mcp.CallToolResult {
			var in onboardInput
			cu, bad := customer("customer", []map[string]any{a.Customer})
			if bad != nil {
				return bad
			}
			in.Customer, in.ImportKey = cu[0], a.ImportKey
			if in.Contacts, bad = contacts("contacts", a.Contacts); bad != nil {
				return bad
			}
			if a.BankAccount != nil {
				b, bad := bank("bankAccount", []map[string]any{a.BankAccount})
				if bad != nil {
					return bad
				}
				in.BankAccount = &b[0]
			}
			if in.BankAccount != nil && !in.BankAccount.AgreedWithTOS {
				return badArgument("bankAccount.agreedWithTOS must be true", "ask the user whether the customer agreed to BILL's Payment Terms of Service; only then call again with agreedWithTOS true, or leave bankAccount out")
			}
			return onboard(ctx, d.Client, d.Index, in)
		})
}

func onboard(ctx context.Context, c *billapi.Client, ix *index.Index, a onboardInput) *mcp.CallToolResult {
	out := onboardOutput{Contacts: make([]onboardStep, len(a.Contacts))}
	for i, ct := range a.Contacts {
		out.Contacts[i] = onboardStep{Action: actionSkipped, Email: ct.Email}
	}
	if a.BankAccount != nil {
		out.BankAccount = &onboardStep{Action: actionSkipped}
	}

	cust, action, x := ensureCustomer(ctx, c, ix, a.Customer)
	if x != nil {
		out.Customer = onboardStep{Action: actionFailed, fail: x}
		return onboardAnswer(out)
	}
	out.Customer = onboardStep{Action: action, ID: cust.ID}

	if len(a.Contacts) > 0 {
		if x := ensureContacts(ctx, c, ix, cust.ID, action == actionCreated, a.Contacts, out.Contacts); x != nil {
			return onboardAnswer(out)
		}
	}
	if a.BankAccount != nil {
		*out.BankAccount = ensureBankAccount(ctx, c, cust.ID, action == actionCreated, *a.BankAccount)
	}
	return onboardAnswer(out)
}

// onboardAnswer is the result: structured content always says exactly
// what was done; when a part failed it is an isError result whose text
// leads with the failure.
func onboardAnswer(out onboardOutput) *mcp.CallToolResult {
	steps := []*onboardStep{&out.Customer}
	for i := range out.Contacts {
		steps = append(steps, &out.Contacts[i])
	}
	if out.BankAccount != nil {
		steps = append(steps, out.BankAccount)
	}
	var first *itemError
	out.Complete = true
	for _, s := range steps {
		if s.Action == actionFailed || s.Action == actionSkipped {
			out.Complete = false
		}
		if s.fail != nil {
			s.Error = errorText(s.fail.Code, s.fail.Message, s.fail.Hint)
			if first == nil {
				first = s.fail
			}
		}
	}
	res := structured(out)
	if out.Complete || res.IsError {
		return res
	}
	if first == nil {
		first = &itemError{Code: CodeInternal, Message: "a part was not done", Hint: "call again with the same input"}
	}
	raw, _ := json.Marshal(out)
	res.IsError = true
	res.Content = []mcp.Content{mcp.NewTextContent(errorText(first.Code, first.Message,
		first.Hint+". Parts done are listed below; calling again with the same input reuses them") + "\n" + string(raw))}
	return res
}

// sameKey compares match keys: trimmed, case-insensitive.
func sameKey(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// ensureCustomer finds the customer by accNumber, else by name, in a copy
// of the customers refreshed now, restoring it if deleted; or creates it.
func ensureCustomer(ctx context.Context, c *billapi.Client, ix *index.Index, want createCustomerArgs) (*billapi.Customer, string, *itemError) {
	for attempt := 0; ; attempt++ {
		all, err := ix.Customers(ctx, c, 0)
		if err != nil {
			x := explain(err, customerEntity(), OpRead, time.Now())
			return nil, "", &x
		}
		found, x := matchCustomer(all, want)
		if x != nil {
			return nil, "", x
		}
		if found != nil {
			if billapi.Deref(found.IsActive) == billapi.Inactive {
				restored, err := c.UndeleteCustomer(ctx, found.ID)
				if err != nil {
					x := explain(err, customerEntity(), OpUndelete, time.Now())
					return nil, "", &x
				}
				return restored, actionRestored, nil
			}
			return found, actionReused, nil
		}
		created, err := c.CreateCustomer(ctx, want.customer())
		if err == nil {
			return created, actionCreated, nil
		}
		var be *billapi.Error
		if attempt == 0 && errors.As(err, &be) && be.Code == billapi.CodeInvalidField && strings.Contains(strings.ToLower(be.Message), "already exists") {
			continue // made elsewhere since the index was read: look again
		}
		fail := explain(err, customerEntity(), OpCreate, time.Now())
		return nil, "", &fail
	}
}

// matchCustomer picks the customer want names: the one with its
// accNumber, else the one with its name. A name held by a customer with
// another accNumber is a conflict, not a match.
func matchCustomer(all []billapi.Customer, want createCustomerArgs) (*billapi.Customer, *itemError) {
	acc := billapi.Deref(want.AccNumber)
	if strings.TrimSpace(acc) != "" {
		var hits []*billapi.Customer
		for i := range all {
			if sameKey(billapi.Deref(all[i].AccNumber), acc) {
				hits = append(hits, &all[i])
			}
		}
		switch {
		case len(hits) == 1:
			return hits[0], nil
		case len(hits) > 1:
			for _, h := range hits {
				if sameKey(billapi.Deref(h.Name), want.Name) {
					return h, nil
				}
			}
			return nil, &itemError{Code: CodeAmbiguous, Message: fmt.Sprintf("%d customers have accNumber %q: %s", len(hits), acc, joinIDs(hits)),
				Hint: "ask the user which one is meant, then add contacts with create_customer_contact"}
		}
	}
	for i := range all {
		if !sameKey(billapi.Deref(all[i].Name), want.Name) {
			continue
		}
		if other := billapi.Deref(all[i].AccNumber); acc != "" && other != "" && !sameKey(other, acc) {
			return nil, &itemError{Code: CodeConflict, Message: fmt.Sprintf("customer %s is named %q but has accNumber %q, not %q", all[i].ID, want.Name, other, acc),
				Hint: "ask the user whether it is the same customer; if so, call again with its accNumber, else use another name"}
		}
		return &all[i], nil
	}
	return nil, nil
}

func joinIDs(cs []*billapi.Customer) string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return strings.Join(ids, ", ")
}

// ensureContacts reuses the customer's contacts by email (restoring a
// deleted one) and creates the rest in one bulk call, filling steps. It
// returns an error only when it could not even read the contacts.
func ensureContacts(ctx context.Context, c *billapi.Client, ix *index.Index, customerID string, newCustomer bool, want []newContactFields, steps []onboardStep) *itemError {
	var have []billapi.CustomerContact
	if !newCustomer {
		all, err := ix.Contacts(ctx, c, 0)
		if err != nil {
			x := explain(err, contactEntity(), OpRead, time.Now())
			for i := range steps {
				steps[i] = onboardStep{Action: actionFailed, Email: want[i].Email, fail: &x}
			}
			return &x
		}
		for _, ct := range all {
			if billapi.Deref(ct.CustomerID) == customerID {
				have = append(have, ct)
			}
		}
	}
	var (
		create  []billapi.CustomerContact
		createI []int
		firstOf = map[string]int{} // email -> first input index
		dupOf   = map[int]int{}    // input index -> earlier index with its email
	)
	for i, w := range want {
		key := strings.ToLower(strings.TrimSpace(w.Email))
		if j, dup := firstOf[key]; dup {
			dupOf[i] = j
			continue
		}
		firstOf[key] = i
		ex := pickContact(have, w.Email)
		switch {
		case ex == nil:
			create = append(create, w.contact(customerID))
			createI = append(createI, i)
		case billapi.Deref(ex.IsActive) == billapi.Inactive:
			restored, err := c.UndeleteCustomerContact(ctx, ex.ID)
			if err != nil {
				x := explain(err, contactEntity(), OpUndelete, time.Now())
				steps[i] = onboardStep{Action: actionFailed, Email: w.Email, fail: &x}
				continue
			}
			steps[i] = onboardStep{Action: actionRestored, ID: restored.ID, Email: w.Email}
		default:
			steps[i] = onboardStep{Action: actionReused, ID: ex.ID, Email: w.Email}
		}
	}
	if len(create) > 0 {
		res, err := c.BulkCreateCustomerContacts(ctx, create, billapi.BulkOptions{})
		for k, i := range createI {
			switch {
			case k < len(res) && res[k].Object != nil:
				steps[i] = onboardStep{Action: actionCreated, ID: res[k].Object.ID, Email: want[i].Email}
			case k < len(res) && res[k].Err != nil:
				x := explain(res[k].Err, contactEntity(), OpCreate, time.Now())
				steps[i] = onboardStep{Action: actionFailed, Email: want[i].Email, fail: &x}
			default:
				cause := err
				if cause == nil {
					cause = errors.New("no answer for this contact")
				}
				x := explain(cause, contactEntity(), OpCreate, time.Now())
				steps[i] = onboardStep{Action: actionFailed, Email: want[i].Email, fail: &x}
			}
		}
	}
	// A repeated email shares the outcome of its first occurrence.
	for i, j := range dupOf {
		steps[i] = steps[j]
		steps[i].Email = want[i].Email
	}
	return nil
}

// pickContact returns the contact with email, an active one first.
func pickContact(have []billapi.CustomerContact, email string) *billapi.CustomerContact {
	var inactive *billapi.CustomerContact
	for i := range have {
		if !sameKey(billapi.Deref(have[i].Email), email) {
			continue
		}
		if billapi.Deref(have[i].IsActive) != billapi.Inactive {
			return &have[i]
		}
		if inactive == nil {
			inactive = &have[i]
		}
	}
	return inactive
}

// ensureBankAccount reuses the customer's active account when it is the
// same one (same last four digits of account and routing number), refuses
// to stack a different one (BILL allows one active account), or creates it.
func ensureBankAccount(ctx context.Context, c *billapi.Client, customerID string, newCustomer bool, want bankAccountFields) onboardStep {
	if !newCustomer {
		active, err := c.ListCustomerBankAccounts(ctx, billapi.ListParams{Max: 10, Filters: []billapi.Filter{
			{Field: "customerId", Op: billapi.OpEq, Value: customerID},
			{Field: "isActive", Op: billapi.OpEq, Value: billapi.Active},
		}})
		if err != nil {
			x := explain(err, bankAccountEntity(), OpRead, time.Now())
			return onboardStep{Action: actionFailed, fail: &x}
		}
		if len(active) > 0 {
			ex := active[0]
			if last4(billapi.Deref(ex.AccountNumber)) == last4(want.AccountNumber) && last4(billapi.Deref(ex.RoutingNumber)) == last4(want.RoutingNumber) {
				return onboardStep{Action: actionReused, ID: ex.ID}
			}
			return onboardStep{Action: actionFailed, fail: &itemError{Code: CodeConflict,
				Message: fmt.Sprintf("the customer already has an active bank account %s ending in %s", ex.ID, last4(billapi.Deref(ex.AccountNumber))),
				Hint:    "BILL allows one active account per customer; if the user wants to replace it, delete it with delete_customer_bank_account, then call again"}}
		}
	}
	b, err := c.CreateCustomerBankAccount(ctx, want.bankAccount(customerID), true)
	if err != nil {
		x := explain(err, bankAccountEntity(), OpCreate, time.Now(), want.AccountNumber)
		return onboardStep{Action: actionFailed, fail: &x}
	}
	return onboardStep{Action: actionCreated, ID: b.ID}
}

// last4 is the last four digits of a number, masked or not.
func last4(s string) string {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	return d[max(0, len(d)-4):]
}
