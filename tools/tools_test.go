package tools_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/tools"
)

// Well-formed ids that no object has.
const (
	unknownCustomer    = "0cuAAAAAAAAAAAAAAAAA"
	unknownContact     = "cpuAAAAAAAAAAAAAAAAA"
	unknownBankAccount = "cbaAAAAAAAAAAAAAAAAA"
)

// toolCase is what every tool is tested for.
type toolCase struct {
	// happy calls the tool on seeded data and checks its result.
	happy func(t *testing.T, e *env, s seeded)
	// billErr returns arguments BILL refuses (or, for lists, sets a fault);
	// the answer must carry wantCode and a Next step mentioning wantHint.
	billErr  func(t *testing.T, e *env, s seeded) map[string]any
	wantCode string
	wantHint string
	// bulkErr marks tools whose BILL errors come per item, inside an ok result.
	bulkErr bool
	// invalid are arguments the input schema refuses before any BILL call.
	invalid map[string]any
}

func rateLimited(t *testing.T, e *env) {
	t.Helper()
	f, err := emulator.ParseFaults("p=1,kinds=ratelimit")
	if err != nil {
		t.Fatalf("ParseFaults: %v", err)
	}
	e.emu.SetFaults(f)
}

func ids(n int, prefix string) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%017d", prefix, i)
	}
	return out
}

func toolCases() map[string]toolCase {
	cases := map[string]toolCase{
		// --- customers ---
		"create_customer": {
			happy: func(t *testing.T, e *env, _ seeded) {
				c := obj(t, e.ok("create_customer", map[string]any{"name": "Acme Corp", "email": "ap@acme.example", "accountType": "1"}), "customer")
				if !strings.HasPrefix(str(c, "id"), "0cu") || str(c, "name") != "Acme Corp" || str(c, "isActive") != "1" || str(c, "email") != "ap@acme.example" || str(c, "accountType") != "1" {
					t.Errorf("created customer = %v", c)
				}
				if str(c, "createdTime") == "" {
					t.Errorf("created customer has no createdTime: %v", c)
				}
			},
			billErr:  func(_ *testing.T, _ *env, _ seeded) map[string]any { return map[string]any{"name": "seed co"} },
			wantCode: "BDC_1119", wantHint: "nameContains",
			invalid: map[string]any{"email": "ap@acme.example"},
		},
		"get_customer": {
			happy: func(t *testing.T, e *env, s seeded) {
				c := obj(t, e.ok("get_customer", map[string]any{"customerId": s.customerID}), "customer")
				if str(c, "id") != s.customerID || str(c, "name") != "Seed Co" {
					t.Errorf("got %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"customerId": unknownCustomer}
			},
			wantCode: "BDC_1120", wantHint: "list_customers",
			invalid: map[string]any{"customerId": "cpuAAAAAAAAAAAAAAAAA"},
		},
		"update_customer": {
			happy: func(t *testing.T, e *env, s seeded) {
				c := obj(t, e.ok("update_customer", map[string]any{"customerId": s.customerID, "email": "new@seed.example"}), "customer")
				if str(c, "email") != "new@seed.example" || str(c, "name") != "Seed Co" {
					t.Errorf("updated = %v", c)
				}
				again := obj(t, e.ok("get_customer", map[string]any{"customerId": s.customerID}), "customer")
				if str(again, "email") != "new@seed.example" {
					t.Errorf("update not stored: %v", again)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"customerId": unknownCustomer, "email": "x@y.example"}
			},
			wantCode: "BDC_1120", wantHint: "list_customers",
			invalid: map[string]any{"email": "x@y.example"},
		},
		"delete_customer": {
			happy: func(t *testing.T, e *env, s seeded) {
				c := obj(t, e.ok("delete_customer", map[string]any{"customerId": s.customerID}), "customer")
				if str(c, "isActive") != "2" {
					t.Errorf("deleted = %v", c)
				}
				// idempotent: deleting again succeeds
				c = obj(t, e.ok("delete_customer", map[string]any{"customerId": s.customerID}), "customer")
				if str(c, "isActive") != "2" {
					t.Errorf("deleted again = %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"customerId": unknownCustomer}
			},
			wantCode: "BDC_1120", wantHint: "list_customers",
			invalid: map[string]any{"customerId": "0cu123"},
		},
		"undelete_customer": {
			happy: func(t *testing.T, e *env, s seeded) {
				e.ok("delete_customer", map[string]any{"customerId": s.customerID})
				c := obj(t, e.ok("undelete_customer", map[string]any{"customerId": s.customerID}), "customer")
				if str(c, "isActive") != "1" {
					t.Errorf("undeleted = %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"customerId": unknownCustomer}
			},
			wantCode: "BDC_1120", wantHint: "list_customers",
			invalid: map[string]any{},
		},
		"list_customers": {
			happy: func(t *testing.T, e *env, _ seeded) {
				for _, n := range []string{"Alpha Widgets", "Beta Gadgets", "Gamma Widgets"} {
					e.ok("create_customer", map[string]any{"name": n})
				}
				page := e.ok("list_customers", map[string]any{"max": 2})
				pg := obj(t, page, "paging")
				if n := len(list(t, page, "customers")); n != 2 || pg["count"] != float64(2) || pg["hasMore"] != true || pg["nextStart"] != float64(2) {
					t.Errorf("first page: %d customers, paging %v", n, pg)
				}
				rest := e.ok("list_customers", map[string]any{"start": 2, "max": 50})
				pg = obj(t, rest, "paging")
				if n := len(list(t, rest, "customers")); n != 2 || pg["hasMore"] != false || pg["nextStart"] != nil {
					t.Errorf("last page: %d customers, paging %v", n, pg)
				}
				found := e.ok("list_customers", map[string]any{"nameContains": "WIDGETS"})
				var names []string
				for _, c := range list(t, found, "customers") {
					names = append(names, str(c.(map[string]any), "name"))
				}
				slices.Sort(names)
				if !slices.Equal(names, []string{"Alpha Widgets", "Gamma Widgets"}) {
					t.Errorf("nameContains WIDGETS found %v", names)
				}
				none := e.ok("list_customers", map[string]any{"isActive": "2"})
				if n := len(list(t, none, "customers")); n != 0 {
					t.Errorf("isActive 2 listed %d customers, want 0", n)
				}
			},
			billErr:  func(t *testing.T, e *env, _ seeded) map[string]any { rateLimited(t, e); return map[string]any{} },
			wantCode: "BDC_1144", wantHint: "resets",
			invalid: map[string]any{"max": 1000},
		},
		"bulk_create_customers": {
			happy: func(t *testing.T, e *env, _ seeded) {
				out := e.ok("bulk_create_customers", map[string]any{"customers": []any{
					map[string]any{"name": "Bulk One"}, map[string]any{"name": "Bulk Two", "email": "two@bulk.example"},
				}})
				checkBulk(t, out, 2, 0)
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"customers": []any{map[string]any{"name": "Fresh Co"}, map[string]any{"name": "Seed Co"}}}
			},
			wantCode: "BDC_1119", wantHint: "nameContains", bulkErr: true,
			invalid: map[string]any{"customers": []any{}},
		},
		"bulk_update_customers": {
			happy: func(t *testing.T, e *env, s seeded) {
				out := e.ok("bulk_update_customers", map[string]any{"customers": []any{
					map[string]any{"customerId": s.customerID, "phone": "555-0100"},
				}})
				checkBulk(t, out, 1, 0)
				c := obj(t, e.ok("get_customer", map[string]any{"customerId": s.customerID}), "customer")
				if str(c, "phone") != "555-0100" {
					t.Errorf("bulk update not stored: %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, s seeded) map[string]any {
				return map[string]any{"customers": []any{
					map[string]any{"customerId": s.customerID, "phone": "1"}, map[string]any{"customerId": unknownCustomer, "name": "Nobody", "phone": "2"},
				}}
			},
			wantCode: "BDC_1120", wantHint: "list_customers", bulkErr: true,
			invalid: map[string]any{"customers": map[string]any{"customerId": unknownCustomer}},
		},
		"bulk_delete_customers": {
			happy: func(t *testing.T, e *env, s seeded) {
				checkBulk(t, e.ok("bulk_delete_customers", map[string]any{"customerIds": []any{s.customerID}}), 1, 0)
				c := obj(t, e.ok("get_customer", map[string]any{"customerId": s.customerID}), "customer")
				if str(c, "isActive") != "2" {
					t.Errorf("bulk delete not stored: %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, s seeded) map[string]any {
				return map[string]any{"customerIds": []any{s.customerID, unknownCustomer}}
			},
			wantCode: "BDC_1120", wantHint: "list_customers", bulkErr: true,
			invalid: map[string]any{"customerIds": "cba00000000000000000"},
		},
		"bulk_undelete_customers": {
			happy: func(t *testing.T, e *env, s seeded) {
				e.ok("delete_customer", map[string]any{"customerId": s.customerID})
				checkBulk(t, e.ok("bulk_undelete_customers", map[string]any{"customerIds": []any{s.customerID}}), 1, 0)
				c := obj(t, e.ok("get_customer", map[string]any{"customerId": s.customerID}), "customer")
				if str(c, "isActive") != "1" {
					t.Errorf("bulk undelete not stored: %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, s seeded) map[string]any {
				return map[string]any{"customerIds": []any{s.customerID, unknownCustomer}}
			},
			wantCode: "BDC_1120", wantHint: "list_customers", bulkErr: true,
			invalid: map[string]any{"customerIds": []any{}},
		},

		// --- contacts ---
		"create_customer_contact": {
			happy: func(t *testing.T, e *env, s seeded) {
				c := obj(t, e.ok("create_customer_contact", map[string]any{"customerId": s.customerID, "firstName": "Ann", "lastName": "Lee", "email": "ann@seed.example", "timezoneId": "6"}), "contact")
				if !strings.HasPrefix(str(c, "id"), "cpu") || str(c, "customerId") != s.customerID || str(c, "firstName") != "Ann" || str(c, "timezoneId") != "6" || str(c, "isActive") != "1" {
					t.Errorf("created contact = %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"customerId": unknownCustomer, "firstName": "Ann", "email": "ann@x.example"}
			},
			wantCode: "BDC_1119", wantHint: "list_customers",
			invalid: map[string]any{"customerId": unknownCustomer, "firstName": "Ann"},
		},
		"get_customer_contact": {
			happy: func(t *testing.T, e *env, s seeded) {
				c := obj(t, e.ok("get_customer_contact", map[string]any{"contactId": s.contactID}), "contact")
				if str(c, "id") != s.contactID || str(c, "email") != "jane@example.com" {
					t.Errorf("got %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"contactId": unknownContact}
			},
			wantCode: "BDC_1120", wantHint: "list_customer_contacts",
			invalid: map[string]any{"contactId": unknownCustomer},
		},
		"update_customer_contact": {
			happy: func(t *testing.T, e *env, s seeded) {
				c := obj(t, e.ok("update_customer_contact", map[string]any{"contactId": s.contactID, "lastName": "Doe"}), "contact")
				if str(c, "lastName") != "Doe" || str(c, "firstName") != "Jane" || str(c, "customerId") != s.customerID {
					t.Errorf("updated = %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"contactId": unknownContact, "lastName": "X"}
			},
			wantCode: "BDC_1120", wantHint: "list_customer_contacts",
			invalid: map[string]any{"contactId": "cpu1", "lastName": "X"},
		},
		"delete_customer_contact": {
			happy: func(t *testing.T, e *env, s seeded) {
				c := obj(t, e.ok("delete_customer_contact", map[string]any{"contactId": s.contactID}), "contact")
				if str(c, "isActive") != "2" {
					t.Errorf("deleted = %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"contactId": unknownContact}
			},
			wantCode: "BDC_1120", wantHint: "list_customer_contacts",
			invalid: map[string]any{},
		},
		"undelete_customer_contact": {
			happy: func(t *testing.T, e *env, s seeded) {
				e.ok("delete_customer_contact", map[string]any{"contactId": s.contactID})
				c := obj(t, e.ok("undelete_customer_contact", map[string]any{"contactId": s.contactID}), "contact")
				if str(c, "isActive") != "1" {
					t.Errorf("undeleted = %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"contactId": unknownContact}
			},
			wantCode: "BDC_1120", wantHint: "list_customer_contacts",
			invalid: map[string]any{"contactId": 42},
		},
		"list_customer_contacts": {
			happy: func(t *testing.T, e *env, s seeded) {
				other := str(obj(t, e.ok("create_customer", map[string]any{"name": "Other Co"}), "customer"), "id")
				e.ok("create_customer_contact", map[string]any{"customerId": other, "firstName": "Bob", "email": "bob@other.example"})
				out := e.ok("list_customer_contacts", map[string]any{"customerId": s.customerID})
				cs := list(t, out, "contacts")
				if len(cs) != 1 || str(cs[0].(map[string]any), "id") != s.contactID {
					t.Errorf("contacts of seed customer = %v", cs)
				}
				if n := len(list(t, e.ok("list_customer_contacts", map[string]any{}), "contacts")); n != 2 {
					t.Errorf("all contacts: %d, want 2", n)
				}
			},
			billErr:  func(t *testing.T, e *env, _ seeded) map[string]any { rateLimited(t, e); return map[string]any{} },
			wantCode: "BDC_1144", wantHint: "resets",
			invalid: map[string]any{"filters": []any{map[string]any{"field": "email", "op": "=", "value": "x"}}},
		},
		"bulk_create_customer_contacts": {
			happy: func(t *testing.T, e *env, s seeded) {
				checkBulk(t, e.ok("bulk_create_customer_contacts", map[string]any{"contacts": []any{
					map[string]any{"customerId": s.customerID, "firstName": "A", "email": "a@seed.example"},
					map[string]any{"customerId": s.customerID, "firstName": "B", "email": "b@seed.example"},
				}}), 2, 0)
			},
			billErr: func(_ *testing.T, _ *env, s seeded) map[string]any {
				return map[string]any{"contacts": []any{
					map[string]any{"customerId": s.customerID, "firstName": "A", "email": "a@seed.example"},
					map[string]any{"customerId": unknownCustomer, "firstName": "B", "email": "b@seed.example"},
				}}
			},
			wantCode: "BDC_1119", wantHint: "list_customers", bulkErr: true,
			invalid: map[string]any{"contacts": []any{}},
		},
		"bulk_update_customer_contacts": {
			happy: func(t *testing.T, e *env, s seeded) {
				checkBulk(t, e.ok("bulk_update_customer_contacts", map[string]any{"contacts": []any{
					map[string]any{"contactId": s.contactID, "phone": "555-0101"},
				}}), 1, 0)
				c := obj(t, e.ok("get_customer_contact", map[string]any{"contactId": s.contactID}), "contact")
				if str(c, "phone") != "555-0101" {
					t.Errorf("bulk contact update not stored: %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, s seeded) map[string]any {
				return map[string]any{"contacts": []any{
					map[string]any{"contactId": s.contactID, "phone": "1"}, map[string]any{"contactId": unknownContact, "phone": "2"},
				}}
			},
			// billapi reads the current record to fill BILL's required
			// fields, so an unknown id is caught before BILL sees it
			wantCode: "LOCAL_INVALID_INPUT", wantHint: "list_customer_contacts", bulkErr: true,
			invalid: map[string]any{"contacts": "cpu00000000000000000"},
		},
		"bulk_delete_customer_contacts": {
			happy: func(t *testing.T, e *env, s seeded) {
				checkBulk(t, e.ok("bulk_delete_customer_contacts", map[string]any{"contactIds": []any{s.contactID}}), 1, 0)
			},
			billErr: func(_ *testing.T, _ *env, s seeded) map[string]any {
				return map[string]any{"contactIds": []any{s.contactID, unknownContact}}
			},
			wantCode: "BDC_1120", wantHint: "list_customer_contacts", bulkErr: true,
			invalid: map[string]any{"contactIds": []any{}},
		},
		"bulk_undelete_customer_contacts": {
			happy: func(t *testing.T, e *env, s seeded) {
				e.ok("delete_customer_contact", map[string]any{"contactId": s.contactID})
				checkBulk(t, e.ok("bulk_undelete_customer_contacts", map[string]any{"contactIds": []any{s.contactID}}), 1, 0)
				c := obj(t, e.ok("get_customer_contact", map[string]any{"contactId": s.contactID}), "contact")
				if str(c, "isActive") != "1" {
					t.Errorf("bulk contact undelete not stored: %v", c)
				}
			},
			billErr: func(_ *testing.T, _ *env, s seeded) map[string]any {
				return map[string]any{"contactIds": []any{unknownContact, s.contactID}}
			},
			wantCode: "BDC_1120", wantHint: "list_customer_contacts", bulkErr: true,
			invalid: map[string]any{"importKey": "k"},
		},

		// --- bank accounts ---
		"create_customer_bank_account": {
			happy: func(t *testing.T, e *env, _ seeded) {
				cust := str(obj(t, e.ok("create_customer", map[string]any{"name": "Bank Co"}), "customer"), "id")
				res := e.call("create_customer_bank_account", map[string]any{
					"customerId": cust, "nameOnAccount": "Bank Co", "routingNumber": "021000021", "accountNumber": "9876543210", "agreedWithTOS": true, "isSavings": true,
				})
				if res.IsError {
					t.Fatalf("create bank account: %s", text(res))
				}
				if strings.Contains(text(res), "9876543210") {
					t.Errorf("full account number in the answer: %s", text(res))
				}
				b := obj(t, structuredMap(t, res), "bankAccount")
				if !strings.HasPrefix(str(b, "id"), "cba") || str(b, "accountNumber") != "******3210" || str(b, "customerId") != cust || b["isSavings"] != true {
					t.Errorf("created bank account = %v", b)
				}
			},
			billErr: func(_ *testing.T, _ *env, s seeded) map[string]any {
				return map[string]any{"customerId": s.customerID, "nameOnAccount": "Seed Co", "routingNumber": "021000021", "accountNumber": "5555555555", "agreedWithTOS": true}
			},
			wantCode: "BDC_1119", wantHint: "delete_customer_bank_account",
			invalid: map[string]any{"customerId": unknownCustomer, "nameOnAccount": "X", "routingNumber": "021000021", "accountNumber": "5555555555", "agreedWithTOS": false},
		},
		"get_customer_bank_account": {
			happy: func(t *testing.T, e *env, s seeded) {
				res := e.call("get_customer_bank_account", map[string]any{"bankAccountId": s.bankAccountID})
				if res.IsError || strings.Contains(text(res), "1234567890") {
					t.Fatalf("get bank account: %s", text(res))
				}
				b := obj(t, structuredMap(t, res), "bankAccount")
				if str(b, "id") != s.bankAccountID || str(b, "accountNumber") != "******7890" {
					t.Errorf("got %v", b)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"bankAccountId": unknownBankAccount}
			},
			wantCode: "BDC_1120", wantHint: "list_customer_bank_accounts",
			invalid: map[string]any{"bankAccountId": unknownContact},
		},
		"delete_customer_bank_account": {
			happy: func(t *testing.T, e *env, s seeded) {
				b := obj(t, e.ok("delete_customer_bank_account", map[string]any{"bankAccountId": s.bankAccountID}), "bankAccount")
				if str(b, "isActive") != "2" || str(b, "accountNumber") != "******7890" {
					t.Errorf("deleted = %v", b)
				}
			},
			billErr: func(_ *testing.T, _ *env, _ seeded) map[string]any {
				return map[string]any{"bankAccountId": unknownBankAccount}
			},
			wantCode: "BDC_1120", wantHint: "list_customer_bank_accounts",
			invalid: map[string]any{},
		},
		"list_customer_bank_accounts": {
			happy: func(t *testing.T, e *env, s seeded) {
				out := e.ok("list_customer_bank_accounts", map[string]any{"customerId": s.customerID, "isActive": "1"})
				bs := list(t, out, "bankAccounts")
				if len(bs) != 1 || str(bs[0].(map[string]any), "id") != s.bankAccountID || str(bs[0].(map[string]any), "accountNumber") != "******7890" {
					t.Errorf("bank accounts = %v", bs)
				}
				if n := len(list(t, e.ok("list_customer_bank_accounts", map[string]any{"customerId": unknownCustomer}), "bankAccounts")); n != 0 {
					t.Errorf("unknown customer has %d bank accounts", n)
				}
			},
			billErr:  func(t *testing.T, e *env, _ seeded) map[string]any { rateLimited(t, e); return map[string]any{} },
			wantCode: "BDC_1144", wantHint: "resets",
			invalid: map[string]any{"customerId": "0cu"},
		},
	}
	maps.Copy(cases, workflowCases())
	return cases
}

// checkBulk checks a bulk result's shape and counts, and returns its failures.
func checkBulk(t *testing.T, out map[string]any, wantOK, wantFailed int) []any {
	t.Helper()
	ids := list(t, out, "ids")
	sum := obj(t, out, "summary")
	if sum["total"] != float64(wantOK+wantFailed) || sum["succeeded"] != float64(wantOK) || sum["failed"] != float64(wantFailed) {
		t.Errorf("summary = %v, want %d ok %d failed", sum, wantOK, wantFailed)
	}
	if len(ids) != wantOK+wantFailed {
		t.Fatalf("%d ids, want %d", len(ids), wantOK+wantFailed)
	}
	failures, _ := out["failures"].([]any)
	if len(failures) != min(wantFailed, 100) {
		t.Errorf("%d failures listed, want %d", len(failures), min(wantFailed, 100))
	}
	failed := map[int]bool{}
	for _, f := range failures {
		i := int(f.(map[string]any)["index"].(float64))
		failed[i] = true
		if ids[i] != "" {
			t.Errorf("failed item %d has id %v", i, ids[i])
		}
	}
	for i, id := range ids {
		if id == "" && !failed[i] && wantFailed <= 100 {
			t.Errorf("item %d has no id and no failure", i)
		}
	}
	if str(out, "importKey") == "" {
		t.Errorf("no importKey in %v", out)
	}
	return failures
}

func TestEveryToolHasCases(t *testing.T) {
	cat, err := tools.Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	cases := toolCases()
	for _, c := range cat {
		if _, ok := cases[c.Name]; !ok {
			t.Errorf("tool %s has no test case", c.Name)
		}
	}
	for name := range cases {
		if !slices.ContainsFunc(cat, func(c tools.CatalogueEntry) bool { return c.Name == name }) {
			t.Errorf("test case for unknown tool %s", name)
		}
	}
}

func TestToolHappyPath(t *testing.T) {
	for name, tc := range toolCases() {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tc.happy(t, e, e.seed("Seed Co"))
		})
	}
}

func TestToolBILLErrorMapping(t *testing.T) {
	for name, tc := range toolCases() {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			s := e.seed("Seed Co")
			args := tc.billErr(t, e, s)
			res := e.call(name, args)
			if tc.bulkErr {
				if res.IsError {
					t.Fatalf("bulk call failed as a whole: %s", text(res))
				}
				failures := checkBulk(t, structuredMap(t, res), 1, 1)
				if len(failures) != 1 {
					t.Fatalf("no failed item in %s", text(res))
				}
				ie := failures[0].(map[string]any)
				if str(ie, "code") != tc.wantCode || !strings.Contains(str(ie, "hint"), tc.wantHint) || str(ie, "message") == "" {
					t.Errorf("item error = %v, want code %s and a hint mentioning %s", ie, tc.wantCode, tc.wantHint)
				}
				return
			}
			if !res.IsError {
				t.Fatalf("want an error result, got %s", text(res))
			}
			got := text(res)
			if !strings.HasPrefix(got, tc.wantCode+": ") {
				t.Errorf("error text %q does not start with %s", got, tc.wantCode)
			}
			_, next, ok := strings.Cut(got, "Next: ")
			if !ok || !strings.Contains(next, tc.wantHint) {
				t.Errorf("error text %q has no Next step mentioning %s", got, tc.wantHint)
			}
			if strings.Contains(got, "billapi") || strings.Contains(got, "bill Crud") || strings.Contains(got, emulator.DemoIdentity().DevKey) {
				t.Errorf("error text leaks internals: %q", got)
			}
		})
	}
}

func TestToolSchemaValidationFailure(t *testing.T) {
	for name, tc := range toolCases() {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			before := e.emu.Stats().Requests
			res := e.call(name, tc.invalid)
			if !res.IsError {
				t.Fatalf("invalid arguments %v accepted: %s", tc.invalid, text(res))
			}
			got := text(res)
			if !strings.HasPrefix(got, tools.CodeInvalidArgument+": ") || !strings.Contains(got, "Next: ") {
				t.Errorf("validation error %q lacks the INVALID_ARGUMENT ... Next: form", got)
			}
			if after := e.emu.Stats().Requests; after != before {
				t.Errorf("BILL was called %d times for invalid input", after-before)
			}
		})
	}
}

func TestIDPrefixHint(t *testing.T) {
	e := newEnv(t, envOptions{})
	res := e.call("get_customer", map[string]any{"customerId": unknownContact})
	if got := text(res); !strings.Contains(got, "customerId is 0cu followed by 17 letters or digits; use list_customers") {
		t.Errorf("bad prefix error = %q", got)
	}
}

func TestAnnotations(t *testing.T) {
	e := newEnv(t, envOptions{})
	listed, err := e.client.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range listed.Tools {
		t.Run(tool.Name, func(t *testing.T) {
			a := tool.Annotations
			if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
				t.Fatalf("hints not all set: %+v", a)
			}
			if tool.Title == "" {
				t.Errorf("no title")
			}
			w := expectedHints(tool.Name)
			got := hintSet{*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint}
			if got != w || !*a.OpenWorldHint {
				t.Errorf("hints = %+v openWorld %v, want %+v openWorld true", got, *a.OpenWorldHint, w)
			}
		})
	}
	if len(listed.Tools) != len(tools.Inventory()) {
		t.Errorf("tools/list has %d tools, want %d", len(listed.Tools), len(tools.Inventory()))
	}
}

type hintSet struct{ readOnly, destructive, idempotent bool }

// expectedHints derives a tool's hints from its verb; bulk tools share
// their single counterpart's.
func expectedHints(name string) hintSet {
	name = strings.TrimPrefix(name, "bulk_")
	verb, _, _ := strings.Cut(name, "_")
	switch verb {
	case "get", "list", "find":
		return hintSet{readOnly: true, idempotent: true}
	case "onboard": // adds what is missing, reuses the rest
		return hintSet{idempotent: true}
	case "upsert": // overwrites what differs
		return hintSet{destructive: true, idempotent: true}
	case "create":
		return hintSet{}
	case "update", "delete":
		return hintSet{destructive: true, idempotent: true}
	case "undelete":
		return hintSet{idempotent: true}
	}
	return hintSet{readOnly: true, destructive: true} // impossible: fails the comparison
}

func TestReadOnlyRefusal(t *testing.T) {
	e := newEnv(t, envOptions{readOnly: true})
	listed, err := e.client.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range listed.Tools {
		names = append(names, tool.Name)
	}
	cases := toolCases()
	for name := range cases {
		t.Run(name, func(t *testing.T) {
			readOnly := expectedHints(name).readOnly
			if slices.Contains(names, name) != readOnly {
				t.Fatalf("read-only server lists %s: %v (tool is read-only: %v)", name, slices.Contains(names, name), readOnly)
			}
			before := e.emu.Stats().Requests
			res, err := e.callErr(name, cases[name].invalid, nil)
			if readOnly {
				if err != nil {
					t.Fatalf("read tool refused: %v", err)
				}
				if res == nil {
					t.Fatal("no result")
				}
				return
			}
			if err != nil {
				t.Fatalf("refusal came as a protocol error: %v", err)
			}
			if got := text(res); !res.IsError || !strings.HasPrefix(got, tools.CodeReadOnly+": ") || !strings.Contains(got, "read-only") || !strings.Contains(got, name) || !strings.Contains(got, "Next: ") {
				t.Errorf("refusal %q does not say the server is read-only", got)
			}
			if after := e.emu.Stats().Requests; after != before {
				t.Errorf("BILL was called for a refused write")
			}
		})
	}
}

func TestToolsetsFilter(t *testing.T) {
	e := newEnv(t, envOptions{toolsets: []string{tools.ToolsetBankAccounts}})
	listed, err := e.client.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range listed.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	want := []string{"create_customer_bank_account", "delete_customer_bank_account", "get_customer_bank_account", "list_customer_bank_accounts"}
	if !slices.Equal(names, want) {
		t.Errorf("bank_accounts toolset lists %v, want %v", names, want)
	}
}

func TestBulkProgressNotifications(t *testing.T) {
	e := newEnv(t, envOptions{})
	items := make([]any, 250)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("Progress Customer %03d", i)}
	}
	res, err := e.callErr("bulk_create_customers", map[string]any{"customers": items}, "tok-250")
	if err != nil || res.IsError {
		t.Fatalf("bulk create: %v %s", err, text(res))
	}
	checkBulk(t, structuredMap(t, res), 250, 0)
	got := e.waitNotifications(3)
	if len(got) != 3 {
		t.Fatalf("%d progress notifications, want 3", len(got))
	}
	prev := 0.0
	for i, n := range got {
		p := n.Params.AdditionalFields
		done := toFloat(p["progress"])
		if fmt.Sprint(p["progressToken"]) != "tok-250" || done <= prev || toFloat(p["total"]) != 250 {
			t.Errorf("notification %d = %v, want rising progress of 250 for tok-250", i, p)
		}
		prev = done
	}
	if prev != 250 {
		t.Errorf("last progress %v, want 250", prev)
	}
}

func TestBulkWithoutProgressTokenSendsNone(t *testing.T) {
	e := newEnv(t, envOptions{})
	items := make([]any, 150)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("Quiet Customer %03d", i)}
	}
	checkBulk(t, e.ok("bulk_create_customers", map[string]any{"customers": items}), 150, 0)
	if got := e.waitNotificationsFor(1, 200*time.Millisecond); len(got) != 0 {
		t.Errorf("%d progress notifications without a progress token", len(got))
	}
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	return -1
}
