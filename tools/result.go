package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
)

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
)

// entity describes one of BILL's objects for error guidance.
type entity struct {
	noun     string // "customer"
	idField  string // "customerId"
	prefix   string // "0cu"
	listTool string // "list_customers"
	getTool  string // "get_customer"
	// maskDigits masks long digit runs in BILL's messages (bank account numbers).
	maskDigits bool
}

func customerEntity() entity {
	return entity{noun: "customer", idField: "customerId", prefix: billapi.PrefixCustomer, listTool: "list_customers", getTool: "get_customer"}
}

func contactEntity() entity {
	return entity{noun: "contact", idField: "contactId", prefix: billapi.PrefixCustomerContact, listTool: "list_customer_contacts", getTool: "get_customer_contact"}
}

func bankAccountEntity() entity {
	return entity{noun: "bank account", idField: "bankAccountId", prefix: billapi.PrefixCustomerBankAccount, listTool: "list_customer_bank_accounts", getTool: "get_customer_bank_account", maskDigits: true}
}

// structured returns a result whose structuredContent is v and whose text
// content is v as compact JSON, for clients that read only text.
func structured(v any) *mcp.CallToolResult {
	raw, err := json.Marshal(v)
	if err != nil {
		return failure(CodeInternal, "the server could not encode the result", "retry the call; if it fails again, report a bug in bill-mcp")
	}
	return mcp.NewToolResultStructured(v, string(raw))
}

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
	Code    string `json:"code" jsonschema:"required" jsonschema_description:"BILL's error code (BDC_xxxx) or a local code such as OUTCOME_UNKNOWN."`
	Message string `json:"message" jsonschema:"required" jsonschema_description:"What went wrong, in plain words."`
	Hint    string `json:"hint" jsonschema:"required" jsonschema_description:"What to do next about this item."`
}

// write reports whether an operation changes data (for transport guidance).
type opKind int

const (
	opRead opKind = iota
	opCreate
	opUpdate
	opDelete
	opUndelete
)

func (k opKind) writes() bool { return k != opRead }

// explain turns an error from billapi into a code, a plain message and the
// next step. It never formats the error itself: a *billapi.Error carries
// BILL's own message, and anything else is described, not quoted.
func explain(err error, e entity, op opKind, now time.Time) itemError {
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
	msg := be.Message
	if e.maskDigits {
		msg = maskDigitRuns(msg)
	}
	if msg == "" {
		msg = "BILL rejected the call"
	}
	code := be.Code
	if code == "" {
		code = strings.ToUpper(be.Class.String())
	}
	out := itemError{Code: code, Message: msg}
	switch {
	case code == billapi.CodeNoDataFound:
		out.Hint = fmt.Sprintf("use %s to find the %s's id (it begins with %s), then call again with it", e.listTool, e.noun, e.prefix)
	case code == billapi.CodeInvalidField && e.noun == "customer" && strings.Contains(strings.ToLower(msg), "already exists"):
		out.Hint = "a customer with this name already exists, possibly inactive (a deleted customer keeps its name). Call list_customers with nameContains to find it, then undelete_customer or update_customer it instead of creating a new one"
	case code == billapi.CodeInvalidField && strings.Contains(msg, "No customer has this id"):
		out.Hint = "use list_customers to find the customer's id (0cu...), then call again with it"
	case code == billapi.CodeInvalidField && strings.Contains(strings.ToLower(msg), "already has an active bank account"):
		out.Hint = "a customer has at most one active bank account. If the user wants to replace it, find it with list_customer_bank_accounts (customerId, isActive 1), delete it with delete_customer_bank_account, then add the new one"
	case code == billapi.CodeLocalInput && strings.Contains(msg, " with id "):
		out.Hint = fmt.Sprintf("no %s has that id; use %s to find the right one (it begins with %s), then call again", e.noun, e.listTool, e.prefix)
	case code == billapi.CodeMissingData || code == billapi.CodeMissingParam:
		out.Hint = "add the missing field named in the message (see the tool's input schema for required fields) and call again"
	case code == billapi.CodeBadFilterField:
		out.Hint = "use only the fields the input schema lists for filters[].field, and field names as they appear in results for sort[].field, then call again"
	case code == billapi.CodeBadFilterOp:
		out.Hint = "use one of the operators =, <, >, !=, <=, >=, in, nin (in/nin take a comma-separated value)"
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

func hourlyHint(resetAt, now time.Time) string {
	if resetAt.IsZero() {
		return "BILL's hourly request budget is spent and resets at the top of the next hour (UTC); wait until then and do not retry sooner"
	}
	wait := max(resetAt.Sub(now).Round(time.Minute), time.Minute)
	return fmt.Sprintf("BILL's hourly request budget is spent; it resets at %s UTC (in about %d min). Wait until then and do not retry sooner",
		resetAt.UTC().Format("15:04"), int(wait.Minutes()))
}

// errorResult is the isError result for a failed single-object call.
func errorResult(err error, e entity, op opKind) *mcp.CallToolResult {
	x := explain(err, e, op, time.Now())
	return failure(x.Code, x.Message, x.Hint)
}

// badArgument is the isError result for arguments the handler refuses.
func badArgument(message, next string) *mcp.CallToolResult {
	return failure(CodeInvalidArgument, message, next)
}

// decodeArgs decodes the call's arguments into T. The server validated them
// against the input schema already; this only maps JSON onto the struct.
func decodeArgs[T any](req mcp.CallToolRequest) (T, *mcp.CallToolResult) {
	var v T
	raw, err := json.Marshal(req.Params.Arguments)
	if err != nil {
		return v, badArgument("the arguments are not a JSON object", "send the arguments as a JSON object matching the tool's input schema")
	}
	if string(raw) == "null" {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, badArgument("the arguments do not match the tool's input schema", "send the arguments as the tool's input schema describes them")
	}
	return v, nil
}
