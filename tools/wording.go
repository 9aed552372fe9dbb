package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// The texts an agent reads in every tool live in this file: error codes,
// the "CODE: message. Next: ..." form, BILL errors explained, validation
// wording and the server's instructions. A tool's own situations (a bulk
// journal, an onboarding step) are worded beside the tool, and the
// governor's refusals in internal/server, all in the same form.

// Local error codes for failures BILL never answered.
const (
	// CodeInvalidArgument marks arguments the server refused before calling BILL.
	CodeInvalidArgument = "INVALID_ARGUMENT"
	// CodeCancelled marks a call the client cancelled or timed out.
	CodeCancelled = "CANCELLED"
	// CodeInternal marks a failure inside the server itself.
	CodeInternal = "INTERNAL"
	// CodeReadOnly marks a write tool called on a server started with --read-only.
	CodeReadOnly = "READ_ONLY"
	// CodeToolsetOff marks a tool of a toolset the server was not started with.
	CodeToolsetOff = "TOOLSET_OFF"
)

// echoPrefix is the most of an argument value an error message quotes.
const echoPrefix = 12

// failure builds an isError result: "CODE: message. Next: what to do".
func failure(code, message, next string) *mcp.CallToolResult {
	return mcp.NewToolResultError(errorText(code, message, next))
}

func errorText(code, message, next string) string {
	message = strings.TrimSpace(message)
	if message != "" && !strings.HasSuffix(message, ".") {
		message += "."
	}
	return code + ": " + message + " Next: " + next
}

// itemError is the error of one item in a bulk result.
type itemError struct {
	Code    string `json:"code" jsonschema:"required"`
	Message string `json:"message" jsonschema:"required"`
	Hint    string `json:"hint" jsonschema:"required"`
}

func (x itemError) result() *mcp.CallToolResult { return failure(x.Code, x.Message, x.Hint) }

// badArgument is the isError result for arguments the handler refuses.
func badArgument(message, next string) *mcp.CallToolResult {
	return failure(CodeInvalidArgument, message, next)
}

// noClient is the result of a handler bound without a client.
func noClient() *mcp.CallToolResult {
	return failure(CodeInternal, "this tool was built without a BILL client", "tell the user the server is misconfigured")
}

// badFields refuses a fields argument naming no field of e.
func badFields(e entity, name string) itemError {
	return itemError{
		Code:    CodeInvalidArgument,
		Message: fmt.Sprintf("fields: %s has no field %q", e.noun, quotePrefix(name)),
		Hint:    fmt.Sprintf("use all, or names from: %s", strings.Join(e.fieldNames(), ", ")),
	}
}

// badFilter refuses a filter on a field BILL does not filter e on.
func badFilter(e entity, name string) itemError {
	hint := fmt.Sprintf("filter %ss only on %s", e.noun, strings.Join(e.filterable, ", "))
	if e.noun == "customer" && name == "name" {
		hint = "BILL cannot filter customers by name: use nameContains instead"
	}
	return itemError{
		Code:    CodeInvalidArgument,
		Message: fmt.Sprintf("filters: BILL cannot filter %ss on %q; nothing was sent to BILL", e.noun, quotePrefix(name)),
		Hint:    hint,
	}
}

// Refusal is the isError result a server answers for a tool it does not
// offer: a write tool in read-only mode, or a tool of a toolset it was not
// started with. Nothing is sent to BILL.
func Refusal(d Def, why Availability) *mcp.CallToolResult {
	switch why {
	case OffReadOnly:
		return failure(CodeReadOnly,
			fmt.Sprintf("this server is read-only (started with --read-only): %s changes data and is not available; nothing was sent to BILL", d.Name),
			"use the read tools (get_*, list_*, find_*), or ask the user to restart bill-mcp without --read-only")
	default:
		return failure(CodeToolsetOff,
			fmt.Sprintf("%s belongs to the %s toolset, which this server was not started with; nothing was sent to BILL", d.Name, d.Toolset),
			fmt.Sprintf("use the tools listed, or ask the user to restart bill-mcp with --toolsets including %s", d.Toolset))
	}
}

// InvalidArgumentsText is the text of a call refused by input-schema
// validation; detail says what is wrong (ExplainInvalid).
func InvalidArgumentsText(detail string) string {
	return errorText(CodeInvalidArgument, "the arguments do not match the input schema, so nothing was sent to BILL: "+detail, validationHint(detail))
}

// InvalidOutputText is the text of a result that broke its output schema.
func InvalidOutputText(tool string) string {
	return errorText(CodeInternal, "BILL answered but the server could not present the answer in its declared shape",
		"the call may have taken effect; check with a get_* or list_* tool before calling "+tool+" again, and tell the user to report this bill-mcp bug.")
}

// PanicText is the text of a call whose handler failed unexpectedly.
func PanicText() string {
	return errorText(CodeInternal, "the server failed while handling this call",
		"check with a get_* or list_* tool whether anything changed, then tell the user to look at the bill-mcp log.")
}

// validationHint says how to fix the most common schema failures.
func validationHint(detail string) string {
	for _, f := range []struct{ field, hint string }{
		{"/firstName: is required", "ask the user for the contact's first name; do not invent one."},
		{"/customerIds", "every customerIds entry is 0cu followed by 17 letters or digits; use list_customers to find them."},
		{"/contactIds", "every contactIds entry is cpu followed by 17 letters or digits; use list_customer_contacts to find them."},
		{"/customerId:", "customerId is 0cu followed by 17 letters or digits; use list_customers to find it."},
		{"/contactId:", "contactId is cpu followed by 17 letters or digits; use list_customer_contacts to find it."},
		{"/bankAccountId:", "bankAccountId is cba followed by 17 letters or digits; use list_customer_bank_accounts to find it."},
		{"/agreedWithTOS", "agreedWithTOS must be true, and only after the user confirms the customer agreed to BILL's Payment Terms of Service."},
	} {
		if strings.Contains(detail, f.field) {
			return f.hint
		}
	}
	return "correct the arguments named above to match the tool's input schema (required fields, formats, allowed values) and call again."
}

// quotePrefix returns at most echoPrefix characters of s, marking a cut.
func quotePrefix(s string) string {
	r := []rune(s)
	if len(r) <= echoPrefix {
		return s
	}
	return string(r[:echoPrefix]) + "..."
}

func compileSchema(name string, raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	url := "mem:///bill-mcp/" + name + ".json"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	return s, nil
}

// violations lists, "; "-separated, every way value breaks s. value is
// as encoding/json decodes JSON into any (the validator reads float64
// numbers as well as json.Number); nil stands for no arguments, {}.
func violations(s *jsonschema.Schema, doc any) (string, bool) {
	if doc == nil {
		doc = map[string]any{}
	}
	var verr *jsonschema.ValidationError
	if err := s.Validate(doc); !errors.As(err, &verr) {
		return "", false
	}
	var parts []string
	collectLeaves(verr, func(e *jsonschema.ValidationError) {
		parts = append(parts, describeViolation(e.InstanceLocation, e.ErrorKind)...)
	})
	if len(parts) == 0 {
		return "", false
	}
	slices.Sort(parts)
	return strings.Join(slices.Compact(parts), "; "), true
}

func collectLeaves(e *jsonschema.ValidationError, f func(*jsonschema.ValidationError)) {
	if len(e.Causes) == 0 {
		f(e)
		return
	}
	for _, c := range e.Causes {
		collectLeaves(c, f)
	}
}

// describeViolation words one schema violation: "at /path: what is wrong".
// It quotes no more than echoPrefix characters of a value, and no part of
// an account number.
func describeViolation(loc []string, k jsonschema.ErrorKind) []string {
	at := func(path []string, what string) string { return "at /" + strings.Join(path, "/") + ": " + what }
	secret := len(loc) > 0 && loc[len(loc)-1] == "accountNumber"
	quote := func(v any) string {
		if secret {
			return "the value"
		}
		s, ok := v.(string)
		if !ok {
			raw, _ := json.Marshal(v)
			s = string(raw)
		}
		return fmt.Sprintf("%q", quotePrefix(s))
	}
	switch x := k.(type) {
	case *kind.Required:
		out := make([]string, 0, len(x.Missing))
		for _, m := range x.Missing {
			out = append(out, at(append(slices.Clone(loc), m), "is required"))
		}
		return out
	case *kind.AdditionalProperties:
		out := make([]string, 0, len(x.Properties))
		for _, p := range x.Properties {
			out = append(out, at(append(slices.Clone(loc), quotePrefix(p)), "is not an argument of this tool"))
		}
		return out
	case *kind.Type:
		return []string{at(loc, fmt.Sprintf("is %s, want %s", x.Got, strings.Join(x.Want, " or ")))}
	case *kind.Enum:
		want := make([]string, 0, len(x.Want))
		for _, w := range x.Want {
			want = append(want, fmt.Sprint(w))
		}
		return []string{at(loc, fmt.Sprintf("%s is not one of %s", quote(x.Got), strings.Join(want, ", ")))}
	case *kind.Const:
		return []string{at(loc, fmt.Sprintf("must be %v", x.Want))}
	case *kind.MinLength:
		return []string{at(loc, fmt.Sprintf("must be at least %d characters", x.Want))}
	case *kind.MaxLength:
		return []string{at(loc, fmt.Sprintf("is %d characters, at most %d allowed", x.Got, x.Want))}
	case *kind.Pattern:
		if secret {
			return []string{at(loc, "must be 4 to 17 digits")}
		}
		return []string{at(loc, fmt.Sprintf("%s does not have the required form", quote(x.Got)))}
	case *kind.Format:
		return []string{at(loc, fmt.Sprintf("%s is not a valid %s", quote(x.Got), x.Want))}
	case *kind.MinItems:
		return []string{at(loc, fmt.Sprintf("needs at least %d items", x.Want))}
	case *kind.MaxItems:
		return []string{at(loc, fmt.Sprintf("has %d items, at most %d allowed", x.Got, x.Want))}
	case *kind.Minimum:
		return []string{at(loc, fmt.Sprintf("must be at least %s", x.Want.RatString()))}
	case *kind.Maximum:
		return []string{at(loc, fmt.Sprintf("must be at most %s", x.Want.RatString()))}
	default:
		return []string{at(loc, "is not valid here")}
	}
}

// explain turns an error from billapi into a code, a plain message and the
// next step. It never formats the error itself: a *billapi.Error carries
// BILL's own message, and anything else is described, not quoted. masked
// are values of account-number fields the call carried: BILL's message
// shows them masked.
func explain(err error, e entity, op Op, now time.Time, masked ...string) itemError {
	var be *billapi.Error
	isBill := errors.As(err, &be)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || (isBill && be.Code == billapi.CodeCanceled) {
		next := "call again if the result is still needed"
		if op.writes() {
			next = fmt.Sprintf("the change may or may not have been made; check with %s before calling again", e.listTool)
		}
		return itemError{Code: CodeCancelled, Message: "the call was cancelled or timed out before BILL answered", Hint: next}
	}
	if !isBill {
		return itemError{Code: CodeInternal, Message: "the server failed to complete the call", Hint: "retry once; if it fails again, tell the user to check the bill-mcp server log"}
	}
	msg := boundMessage(maskValues(be.Message, masked...))
	if msg == "" {
		msg = "BILL rejected the call"
	}
	code := be.Code
	if code == "" {
		code = strings.ToUpper(be.Class.String())
	}
	out := itemError{Code: code, Message: msg}
	lower := strings.ToLower(msg)
	switch {
	case code == billapi.CodeNoDataFound:
		out.Hint = fmt.Sprintf("use %s to find the %s's id (it begins with %s), then call again with it", e.listTool, e.noun, e.prefix)
	case code == billapi.CodeInvalidField && e.noun == "customer" && strings.Contains(lower, "already exists"):
		out.Hint = "a customer with this name already exists, possibly inactive (a deleted customer keeps its name). Call list_customers with nameContains to find it, then undelete_customer or update_customer it instead of creating a new one"
	case code == billapi.CodeInvalidField && strings.Contains(msg, "No customer has this id"):
		out.Hint = "use list_customers to find the customer's id (0cu...), then call again with it"
	case code == billapi.CodeInvalidField && strings.Contains(lower, "already has an active bank account"):
		out.Hint = "a customer has at most one active bank account. If the user wants to replace it, find it with list_customer_bank_accounts (customerId, isActive 1), delete it with delete_customer_bank_account, then add the new one"
	case code == billapi.CodeLocalInput && strings.Contains(msg, " with id "):
		out.Hint = fmt.Sprintf("no %s has that id; use %s to find the right one (it begins with %s), then call again", e.noun, e.listTool, e.prefix)
	case (code == billapi.CodeMissingData || code == billapi.CodeMissingParam) && strings.Contains(lower, "firstname"):
		out.Hint = "ask the user for the contact's first name; do not invent one"
	case code == billapi.CodeMissingData || code == billapi.CodeMissingParam:
		out.Hint = "add the missing field named in the message (see the tool's input schema for required fields) and call again"
	case code == billapi.CodeBadFilterField:
		out.Hint = fmt.Sprintf("filter only on %s; sort by field names as they appear in results", strings.Join(e.filterable, ", "))
	case code == billapi.CodeBadFilterOp:
		out.Hint = "use one of the operators =, <, >, !=, <=, >=, in, nin (in/nin take a comma-separated value)"
	case code == billapi.CodeCoordination:
		out.Hint = "nothing was sent to BILL, so nothing changed. The limits this server shares with other bill-mcp processes could not be checked; call again in a little while, and if it keeps failing tell the user to run `bill-mcp limits` and check the server log"
	case be.Class == billapi.ClassUnreachable:
		out.Hint = "nothing was sent to BILL, so nothing changed. Tell the user BILL could not be reached from the server: check the network, a proxy (HTTPS_PROXY), and the base URL (BILL_ENV, --base-url or BILL_BASE_URL); call again once BILL is reachable"
	case code == billapi.CodeUnknownError && be.Class == billapi.ClassInput:
		out.Hint = "BILL calls the request malformed or a field unknown: check the field names and values against the tool's input schema, correct them and call again; calling again unchanged will fail the same way"
	case be.Class == billapi.ClassHourlyLimit:
		out.Hint = hourlyHint(be.ResetAt, now)
	case be.Class == billapi.ClassConcurrency:
		out.Hint = "BILL is busy with other calls for this account; wait a few seconds and call again"
	case be.Class == billapi.ClassAuth:
		out.Hint = "this cannot be fixed by changing arguments. Tell the user that BILL rejected the server's credentials: they should check the bill-mcp vault profile (bill-mcp vault set PROFILE) or the BILL_* environment variables, then restart the server"
	case be.Class == billapi.ClassSession:
		out.Hint = "call again; if it keeps failing, tell the user BILL keeps refusing the server's session and the server log has details"
	case be.Class == billapi.ClassTransport || code == billapi.CodeUndecidedOutcome:
		if op.writes() {
			out.Message = msg + " (the answer from BILL was lost: the change may or may not have been made)"
			out.Hint = fmt.Sprintf("before calling again, check with %s or %s whether the change happened, so it is not made twice", e.listTool, e.getTool)
		} else {
			out.Hint = "BILL could not be reached; call again in a little while"
		}
	case be.Class == billapi.ClassServer:
		if op.writes() {
			out.Hint = fmt.Sprintf("BILL had an internal error. Check with %s whether the change happened, then call again if it did not", e.getTool)
		} else {
			out.Hint = "BILL had an internal error; call again in a little while"
		}
	case be.Class == billapi.ClassInput:
		out.Hint = "correct the field named in the message (the tool's input schema describes each field) and call again"
	default:
		out.Hint = "call again; if it fails again, tell the user to check the bill-mcp server log"
	}
	return out
}

// maxMessage bounds BILL's text in one error: it may echo values we sent.
const maxMessage = 300

func boundMessage(s string) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= maxMessage {
		return string(r)
	}
	return string(r[:maxMessage]) + "..."
}

func hourlyHint(resetAt, now time.Time) string {
	if resetAt.IsZero() {
		return "BILL's hourly request budget is spent and resets at the top of the next hour (UTC); wait until then and do not retry sooner"
	}
	wait := max(resetAt.Sub(now).Round(time.Minute), time.Minute)
	return fmt.Sprintf("BILL's hourly request budget is spent; it resets at %s UTC (in about %d min). Wait until then and do not retry sooner",
		resetAt.UTC().Format("15:04"), int(wait.Minutes()))
}

// errorResult is the isError result for a failed single-object call.
func errorResult(err error, e entity, op Op, masked ...string) *mcp.CallToolResult {
	return explain(err, e, op, time.Now(), masked...).result()
}

// boundNote tells an agent that a page was cut to fit the answer bound.
func boundNote(asked, got int) string {
	return fmt.Sprintf("cut to %d of the %d asked: one answer holds at most %d bytes. Page on from nextStart, ask for fewer fields, or narrow with filters", got, asked, MaxAnswerBytes)
}

// boundNoteFind tells an agent that a find answer holds fewer matches
// than asked, to stay within the bound.
func boundNoteFind(asked, got int) string {
	return fmt.Sprintf("showing the best %d of the %d asked: one answer holds at most %d bytes. Ask for fewer fields or a narrower query", got, asked, MaxAnswerBytes)
}

// Instructions orient an agent in a few lines: which tool for what, how
// ids look, that delete is soft, and whether this is the emulator.
func Instructions(toolsets []string, readOnly, emulator bool) string {
	var b strings.Builder
	if emulator {
		b.WriteString("NOTE: this server runs against the local bill-mcp emulator, not BILL. Nothing here reaches a real BILL account, and the data is gone when the server stops.\n")
	}
	b.WriteString("bill-mcp manages BILL accounts-receivable customer records.\n")
	if slices.Contains(toolsets, ToolsetCustomers) {
		b.WriteString("- Customers: find_customers finds one by name, email, phone or accNumber; get_customer reads it whole; list_customers pages through them.\n")
		if !readOnly {
			b.WriteString("- onboard_customer adds a customer with its contacts (and bank account) in one call and is safe to repeat; upsert_customers syncs many.\n")
		}
	}
	if slices.Contains(toolsets, ToolsetContacts) {
		b.WriteString("- People at a customer: *_customer_contact tools; find_customer_contacts finds one by name or email; list_customer_contacts with customerId shows a customer's.\n")
	}
	if slices.Contains(toolsets, ToolsetBankAccounts) {
		b.WriteString("- Bank accounts: *_customer_bank_account tools; one active account per customer; numbers are always masked.\n")
	}
	b.WriteString("- Ids are 20 characters: customers 0cu..., contacts cpu..., bank accounts cba.... Take them from create_* or list_* answers; never invent one.\n")
	b.WriteString("- Lists answer a compact view of each record; pass fields (names, or all) for more, get_* for one whole record.\n")
	if readOnly {
		b.WriteString("- This server is read-only: only the get_*, list_* and find_* tools are available.\n")
	} else {
		b.WriteString("- delete_* is soft (isActive becomes 2) and undelete_* restores; a deleted customer still holds its name.\n")
		b.WriteString("- For more than 5 items use the bulk_* tools: any number of items, one result per item.\n")
	}
	b.WriteString("- A failed call answers CODE: message. Next: what to do. Follow the Next step.")
	return b.String()
}
