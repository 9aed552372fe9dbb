package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
)

func TestExplain(t *testing.T) {
	now := time.Date(2026, 11, 21, 13, 20, 0, 0, time.UTC)
	reset := time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC)
	bill := func(code, msg string, class billapi.Class) error {
		return fmt.Errorf("wrapped: %w", &billapi.Error{Op: "Crud/Create/Customer", Code: code, Message: msg, Class: class})
	}
	tests := []struct {
		name     string
		err      error
		e        entity
		op       Op
		wantCode string
		wantMsg  string // substring of the message
		wantHint string // substring of the hint
	}{
		{"unknown id", bill("BDC_1120", "No data found.", billapi.ClassInput), customerEntity(), OpRead, "BDC_1120", "No data found", "use list_customers"},
		{"duplicate name", bill("BDC_1119", "Invalid field,value: name, Acme. A customer with this name already exists.", billapi.ClassInput), customerEntity(), OpCreate, "BDC_1119", "already exists", "undelete_customer"},
		{"contact of unknown customer", bill("BDC_1119", "Invalid field,value: customerId, 0cuX. No customer has this id.", billapi.ClassInput), contactEntity(), OpCreate, "BDC_1119", "No customer", "list_customers"},
		{"second bank account", bill("BDC_1119", "Invalid field,value: customerId, 0cuX. This customer already has an active bank account; delete it before adding another.", billapi.ClassInput), bankAccountEntity(), OpCreate, "BDC_1119", "active bank account", "delete_customer_bank_account"},
		{"missing field", bill("BDC_1117", "Missing required data: obj.name.", billapi.ClassInput), customerEntity(), OpCreate, "BDC_1117", "obj.name", "missing field"},
		{"bad filter field", bill("BDC_1130", "Invalid filter field.", billapi.ClassInput), customerEntity(), OpRead, "BDC_1130", "filter", "updatedTime, parentCustomerId"},
		{"hourly limit", &billapi.Error{Code: "BDC_1144", Message: "Max number of requests per hour reached.", Class: billapi.ClassHourlyLimit, ResetAt: reset}, customerEntity(), OpRead, "BDC_1144", "per hour", "resets at 14:00 UTC (in about 40 min)"},
		{"local budget", &billapi.Error{Code: billapi.CodeLocalBudget, Message: "hourly budget spent", Class: billapi.ClassHourlyLimit}, customerEntity(), OpRead, "LOCAL_HOURLY_BUDGET", "budget", "top of the next hour"},
		{"auth", bill("BDC_1101", "Invalid user name or password.", billapi.ClassAuth), customerEntity(), OpRead, "BDC_1101", "password", "Tell the user"},
		{"lost write", bill("OUTCOME_UNKNOWN", "the answer was lost", billapi.ClassTransport), contactEntity(), OpCreate, "OUTCOME_UNKNOWN", "may or may not", "list_customer_contacts"},
		{"lost read", bill("TRANSPORT", "connection reset", billapi.ClassTransport), contactEntity(), OpRead, "TRANSPORT", "connection reset", "call again"},
		{"server error on write", bill("BDC_1001", "System error.", billapi.ClassServer), customerEntity(), OpUpdate, "BDC_1001", "System error", "get_customer"},
		{"unreachable write", bill(billapi.CodeUnreachable, "nothing was sent: BILL is unreachable (connection refused)", billapi.ClassUnreachable), customerEntity(), OpCreate, billapi.CodeUnreachable, "nothing was sent", "nothing changed"},
		{"coordination write", bill(billapi.CodeCoordination, "nothing was sent: the limits shared with other bill-mcp processes could not be checked: lock file is read-only", billapi.ClassUnreachable), customerEntity(), OpCreate, billapi.CodeCoordination, "nothing was sent", "bill-mcp limits"},
		{"malformed twice", bill("BDC_1002", "Unknown parameter.", billapi.ClassInput), customerEntity(), OpCreate, "BDC_1002", "Unknown parameter", "check the field names"},
		{"concurrency", bill("BDC_1322", "Too many requests.", billapi.ClassConcurrency), customerEntity(), OpRead, "BDC_1322", "Too many", "wait a few seconds"},
		{"cancelled", context.Canceled, customerEntity(), OpDelete, CodeCancelled, "cancelled", "may or may not"},
		{"local cancel code", &billapi.Error{Code: billapi.CodeCanceled, Message: "context canceled"}, customerEntity(), OpRead, CodeCancelled, "cancelled", "call again"},
		{"unknown id found locally", &billapi.Error{Code: billapi.CodeLocalInput, Message: `no Customer with id "0cuX" exists`, Class: billapi.ClassInput}, customerEntity(), OpUpdate, "LOCAL_INVALID_INPUT", "no Customer", "list_customers"},
		{"foreign error is not quoted", errors.New("dial tcp 10.0.0.1: secret-ish detail"), customerEntity(), OpRead, CodeInternal, "failed", "server log"},
		{"account number in message is masked", bill("BDC_1119", "Invalid field,value: accountNumber, 123456789012.", billapi.ClassInput), bankAccountEntity(), OpCreate, "BDC_1119", "******9012", "correct the field"},
		{"customer id next to an account number is not mangled", bill("BDC_1119", "Invalid field,value: customerId, 0cu00000000000000001. No customer has this id.", billapi.ClassInput), bankAccountEntity(), OpCreate, "BDC_1119", "0cu00000000000000001", "list_customers"},
		{"long upstream message is bounded", bill("BDC_1119", "Invalid field,value: name, "+strings.Repeat("x", 5000), billapi.ClassInput), customerEntity(), OpCreate, "BDC_1119", "xxx...", "correct the field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := explain(tt.err, tt.e, tt.op, now, "123456789012")
			if len(got.Message) > maxMessage+10 {
				t.Errorf("message of %d bytes", len(got.Message))
			}
			if got.Code != tt.wantCode || !strings.Contains(got.Message, tt.wantMsg) || !strings.Contains(got.Hint, tt.wantHint) {
				t.Errorf("explain = %+v; want code %s, message with %q, hint with %q", got, tt.wantCode, tt.wantMsg, tt.wantHint)
			}
			if strings.Contains(got.Message, "secret-ish") || strings.Contains(got.Message, "123456789012") {
				t.Errorf("message leaks: %q", got.Message)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	res := errorResult(&billapi.Error{Code: "BDC_1120", Message: "No data found", Class: billapi.ClassInput}, customerEntity(), OpRead)
	if !res.IsError {
		t.Fatal("not an error result")
	}
	want := "BDC_1120: No data found. Next: use list_customers to find the customer's id (it begins with 0cu), then call again with it"
	tc, ok := mcp.AsTextContent(res.Content[0])
	if !ok || tc.Text != want {
		t.Errorf("text = %+v, want %q", res.Content, want)
	}
}

func TestMasking(t *testing.T) {
	tests := []struct{ in, want string }{
		{"******7890", "******7890"},
		{"1234567890", "******7890"},
		{"*123456789012", "******9012"}, // a leading * alone is not masking
		{"****", "****"},
		{"123", "***"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := maskAccountNumber(tt.in); got != tt.want {
			t.Errorf("maskAccountNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// by field: the value the call carried, not every run of digits
	if got := maskValues("acct 1234567890 of 0cu00000000000000001", "1234567890"); got != "acct ******7890 of 0cu00000000000000001" {
		t.Errorf("maskValues = %q", got)
	}
	for _, p := range []projection{{full: true}, {}, {all: true}} {
		r := bankAccountEntity().toRecord(billapi.CustomerBankAccount{ID: "cba1", AccountNumber: billapi.String("000123456789")}, p)
		raw, err := r.MarshalJSON()
		if err != nil || !strings.Contains(string(raw), `"accountNumber":"******6789"`) || strings.Contains(string(raw), "000123456789") {
			t.Errorf("record %+v of an unmasked account number = %s, %v", p, raw, err)
		}
	}
}
