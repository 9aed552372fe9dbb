package tools

import (
	"cmp"
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
	"github.com/bill-mcp/bill-mcp/internal/journal"
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
	Resumed     int           `json:"resumed,omitempty"` // parts answered from an earlier call's journal
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

const onboardTool = "onboard_customer"

// digestForm is the input as the request digest sees it: the bank
// account's number cut to its last four digits, which is how onboarding
// tells accounts apart, so no journal holds a hash a full account number
// could be guessed back from.
func (a onboardInput) digestForm() []any {
	var bank *bankAccountFields
	if a.BankAccount != nil {
		b := *a.BankAccount
		b.AccountNumber = last4(b.AccountNumber)
		bank = &b
	}
	return []any{a.Customer, a.Contacts, bank}
}

// partLog journals an onboarding's parts as items: 0 is the customer,
// 1..k the contacts, k+1 the bank account. Each write is begun in the
// journal before it is sent; each part done is settled with its id and
// action (reused included), so the same call again after an interruption
// answers it from the journal with the action it had the first time.
type partLog struct {
	j       *journal.Journal
	done    map[int]string
	acts    map[int]journal.Action
	intents map[int]journal.Action // parts an earlier call's write left in doubt
	resumed int
}

// newPartLog reads the journal of an onboarding of n parts. A journal
// whose every part is done belongs to a call that finished: the same call
// again is a new ensure, checked against BILL as it is now (reused, or
// restored or created again if someone deleted a part since), not a
// replay of the first answer.
func newPartLog(j *journal.Journal, n int) *partLog {
	l := &partLog{j: j, done: j.Done(), acts: j.Actions(), intents: j.Intents()}
	if len(l.done) == n {
		l.done, l.acts, l.intents = map[int]string{}, map[int]journal.Action{}, map[int]journal.Action{}
	}
	return l
}

// from answers part i from the journal when an earlier call did it.
func (l *partLog) from(i int, email string) (onboardStep, bool) {
	id, ok := l.done[i]
	if !ok {
		return onboardStep{}, false
	}
	l.resumed++
	return onboardStep{Action: string(cmp.Or(l.acts[i], journal.Reused)), ID: id, Email: email}, true
}

// begin records, durably, that a write about to be sent makes parts
// action (created or restored). When it cannot, it returns the parts'
// failure, and the write must not be sent.
func (l *partLog) begin(action string, parts ...int) *itemError {
	if _, err := l.j.BeginAs(journal.Action(action), parts); err != nil {
		x := errJournalWrite
		return &x
	}
	return nil
}

// failed records parts whose write failed with err: as failed when BILL
// surely did not apply it; else they stay in doubt.
func (l *partLog) failed(err error, parts ...int) {
	if !mayHaveApplied(err) {
		// A journal that cannot be written loses only the resume shortcut.
		_ = l.j.Settle(nil, nil, parts)
	}
}

// reused is the action of part i found in place: the action of an earlier
// call's write that was in doubt (it landed), else reused.
func (l *partLog) reused(i int) string {
	if a := l.intents[i]; a == journal.Created || a == journal.Restored {
		return string(a)
	}
	return actionReused
}

// settle records the parts done among steps (steps[k] is part parts[k]),
// one record per action.
func (l *partLog) settle(parts []int, steps []onboardStep) {
	by := map[string][]int{}
	ids := map[string][]string{}
	for k, s := range steps {
		switch s.Action {
		case actionCreated, actionReused, actionRestored:
			if s.ID != "" {
				by[s.Action] = append(by[s.Action], parts[k])
				ids[s.Action] = append(ids[s.Action], s.ID)
			}
		}
	}
	for a, parts := range by {
		_ = l.j.SettleAs(journal.Action(a), parts, ids[a], nil)
	}
}

// onboard ensures the parts in order under a journal (see partLog). A
// part done by an interrupted earlier call with the same importKey (or
// content) is answered from the journal; the others are matched on a
// fresh read and
// created when missing, so a write a crash left in doubt is found in
// place, not made twice.
func onboard(ctx context.Context, c *billapi.Client, ix *index.Index, a onboardInput) *mcp.CallToolResult {
	digest, err := requestDigest(onboardTool, a.digestForm()...)
	if err != nil {
		return digestFailed()
	}
	k := len(a.Contacts)
	n := 1 + k
	if a.BankAccount != nil {
		n++
	}
	j, _, res := openJournal(ctx, onboardTool, a.ImportKey, digest, n)
	if res != nil {
		return res
	}
	defer j.Close()
	plog := newPartLog(j, n)

	out := onboardOutput{Contacts: make([]onboardStep, k)}
	for i, ct := range a.Contacts {
		out.Contacts[i] = onboardStep{Action: actionSkipped, Email: ct.Email}
	}
	if a.BankAccount != nil {
		out.BankAccount = &onboardStep{Action: actionSkipped}
	}
	answer := func() *mcp.CallToolResult {
		out.Resumed = plog.resumed
		return onboardAnswer(out)
	}

	made := false // created by this call: it has no contacts or bank account yet
	if s, ok := plog.from(0, ""); ok {
		out.Customer = s
	} else {
		cust, action, x := ensureCustomer(ctx, c, ix, a.Customer, plog)
		if x != nil {
			out.Customer = onboardStep{Action: actionFailed, fail: x}
			return answer()
		}
		made = action == actionCreated
		if action == actionReused {
			action = plog.reused(0)
		}
		out.Customer = onboardStep{Action: action, ID: cust.ID}
		plog.settle([]int{0}, []onboardStep{out.Customer})
	}

	if k > 0 {
		if x := ensureContacts(ctx, c, ix, out.Customer.ID, made, a.Contacts, out.Contacts, plog); x != nil {
			return answer()
		}
	}
	if a.BankAccount != nil {
		part := k + 1
		step, ok := plog.from(part, "")
		if !ok {
			step = ensureBankAccount(ctx, c, out.Customer.ID, made, *a.BankAccount, plog, part)
			if step.Action == actionReused {
				step.Action = plog.reused(part)
			}
			plog.settle([]int{part}, []onboardStep{step})
		}
		*out.BankAccount = step
	}
	return answer()
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
// Its writes are part 0 of plog.
func ensureCustomer(ctx context.Context, c *billapi.Client, ix *index.Index, want createCustomerArgs, plog *partLog) (*billapi.Customer, string, *itemError) {
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
				if x := plog.begin(actionRestored, 0); x != nil {
					return nil, "", x
				}
				restored, err := c.UndeleteCustomer(ctx, found.ID)
				if err != nil {
					plog.failed(err, 0)
					x := explain(err, customerEntity(), OpUndelete, time.Now())
					return nil, "", &x
				}
				return restored, actionRestored, nil
			}
			return found, actionReused, nil
		}
		if x := plog.begin(actionCreated, 0); x != nil {
			return nil, "", x
		}
		created, err := c.CreateCustomer(ctx, want.customer())
		if err == nil {
			return created, actionCreated, nil
		}
		var be *billapi.Error
		if attempt == 0 && errors.As(err, &be) && be.Code == billapi.CodeInvalidField && strings.Contains(strings.ToLower(be.Message), "already exists") {
			continue // made elsewhere since the index was read: look again
		}
		plog.failed(err, 0)
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
// deleted one) and creates the rest in one bulk call, filling steps;
// contact i is part 1+i of plog, and one done by an earlier call is
// answered from it. It returns an error only when it could not even read
// the contacts, or write the journal (nothing more is sent then).
func ensureContacts(ctx context.Context, c *billapi.Client, ix *index.Index, customerID string, newCustomer bool, want []newContactFields, steps []onboardStep, plog *partLog) *itemError {
	var todo []int
	for i, w := range want {
		if s, ok := plog.from(1+i, w.Email); ok {
			steps[i] = s
		} else {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	var have []billapi.CustomerContact
	if !newCustomer {
		all, err := ix.Contacts(ctx, c, 0)
		if err != nil {
			x := explain(err, contactEntity(), OpRead, time.Now())
			for _, i := range todo {
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
		jx      *itemError         // the journal could not be written
	)
	for i, w := range want {
		key := strings.ToLower(strings.TrimSpace(w.Email))
		if j, dup := firstOf[key]; dup {
			dupOf[i] = j
			continue
		}
		firstOf[key] = i
		if _, done := plog.done[1+i]; done || jx != nil {
			continue
		}
		ex := pickContact(have, w.Email)
		switch {
		case ex == nil:
			create = append(create, w.contact(customerID))
			createI = append(createI, i)
		case billapi.Deref(ex.IsActive) == billapi.Inactive:
			if jx = plog.begin(actionRestored, 1+i); jx != nil {
				steps[i] = onboardStep{Action: actionFailed, Email: w.Email, fail: jx}
				continue
			}
			restored, err := c.UndeleteCustomerContact(ctx, ex.ID)
			if err != nil {
				plog.failed(err, 1+i)
				x := explain(err, contactEntity(), OpUndelete, time.Now())
				steps[i] = onboardStep{Action: actionFailed, Email: w.Email, fail: &x}
				continue
			}
			steps[i] = onboardStep{Action: actionRestored, ID: restored.ID, Email: w.Email}
		default:
			steps[i] = onboardStep{Action: plog.reused(1 + i), ID: ex.ID, Email: w.Email}
		}
	}
	if len(create) > 0 && jx == nil {
		parts := make([]int, len(createI))
		for k, i := range createI {
			parts[k] = 1 + i
		}
		if jx = plog.begin(actionCreated, parts...); jx == nil {
			createContacts(ctx, c, create, createI, want, steps, plog)
		}
	}
	if jx != nil { // the creates were not sent
		for _, i := range createI {
			steps[i] = onboardStep{Action: actionFailed, Email: want[i].Email, fail: jx}
		}
	}
	// A repeated email shares the outcome of its first occurrence.
	for i, j := range dupOf {
		steps[i] = steps[j]
		steps[i].Email = want[i].Email
	}
	parts := make([]int, len(todo))
	done := make([]onboardStep, len(todo))
	for k, i := range todo {
		parts[k], done[k] = 1+i, steps[i]
	}
	plog.settle(parts, done)
	return jx
}

// createContacts creates the contacts create (create[k] is want[createI[k]]
// of part 1+createI[k]) in one bulk call, filling their steps.
func createContacts(ctx context.Context, c *billapi.Client, create []billapi.CustomerContact, createI []int, want []newContactFields, steps []onboardStep, plog *partLog) {
	res, err := c.BulkCreateCustomerContacts(ctx, create, billapi.BulkOptions{})
	for k, i := range createI {
		switch {
		case k < len(res) && res[k].Object != nil:
			steps[i] = onboardStep{Action: actionCreated, ID: res[k].Object.ID, Email: want[i].Email}
		case k < len(res) && res[k].Err != nil:
			plog.failed(res[k].Err, 1+i)
			x := explain(res[k].Err, contactEntity(), OpCreate, time.Now())
			steps[i] = onboardStep{Action: actionFailed, Email: want[i].Email, fail: &x}
		default:
			cause := err
			if cause == nil {
				cause = errors.New("no answer for this contact")
			}
			plog.failed(cause, 1+i)
			x := explain(cause, contactEntity(), OpCreate, time.Now())
			steps[i] = onboardStep{Action: actionFailed, Email: want[i].Email, fail: &x}
		}
	}
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
// to stack a different one (BILL allows one active account), or creates it
// as part of plog.
func ensureBankAccount(ctx context.Context, c *billapi.Client, customerID string, newCustomer bool, want bankAccountFields, plog *partLog, part int) onboardStep {
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
	if x := plog.begin(actionCreated, part); x != nil {
		return onboardStep{Action: actionFailed, fail: x}
	}
	b, err := c.CreateCustomerBankAccount(ctx, want.bankAccount(customerID), true)
	if err != nil {
		plog.failed(err, part)
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
