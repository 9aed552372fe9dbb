package tools_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// workflowCases are the toolCases of the search and one-call workflow tools.
func workflowCases() map[string]toolCase {
	return map[string]toolCase{
		"find_customers": {
			happy: func(t *testing.T, e *env, s seeded) {
				e.ok("create_customer", map[string]any{"name": "Globex", "email": "billing@globex.com", "accNumber": "G-1"})
				e.ok("create_customer", map[string]any{"name": "Globex Billing Dept", "email": "ap@globex.com"})
				gone := str(obj(t, e.ok("create_customer", map[string]any{"name": "Old Globex", "email": "old@globex.com"}), "customer"), "id")
				e.ok("delete_customer", map[string]any{"customerId": gone})
				out := e.ok("find_customers", map[string]any{"query": "BILLING@globex.com"})
				found := list(t, out, "customers")
				if len(found) == 0 || str(found[0].(map[string]any), "name") != "Globex" {
					t.Fatalf("exact email did not rank first: %v", found)
				}
				if _, full := found[0].(map[string]any)["billAddress1"]; full {
					t.Errorf("find answers the whole record: %v", found[0])
				}
				names := func(out map[string]any) []string {
					var n []string
					for _, c := range list(t, out, "customers") {
						n = append(n, str(c.(map[string]any), "name"))
					}
					return n
				}
				if got := names(e.ok("find_customers", map[string]any{"query": "globex"})); !slices.Equal(got, []string{"Globex", "Globex Billing Dept"}) {
					t.Errorf("active globex = %v", got)
				}
				if got := names(e.ok("find_customers", map[string]any{"query": "globex", "isActive": "2"})); !slices.Equal(got, []string{"Old Globex"}) {
					t.Errorf("deleted globex = %v", got)
				}
				one := e.ok("find_customers", map[string]any{"query": "globex", "max": 1})
				if len(list(t, one, "customers")) != 1 || one["total"] != float64(2) {
					t.Errorf("max 1: %v", one)
				}
			},
			billErr: func(t *testing.T, e *env, _ seeded) map[string]any {
				rateLimited(t, e)
				return map[string]any{"query": "x"}
			},
			wantCode: "BDC_1144", wantHint: "resets",
			invalid: map[string]any{"query": ""},
		},
		"find_customer_contacts": {
			happy: func(t *testing.T, e *env, s seeded) {
				other := str(obj(t, e.ok("create_customer", map[string]any{"name": "Other Co"}), "customer"), "id")
				e.ok("create_customer_contact", map[string]any{"customerId": other, "firstName": "Janet", "lastName": "Roe", "email": "janet@other.example"})
				all := list(t, e.ok("find_customer_contacts", map[string]any{"query": "jane"}), "contacts")
				if len(all) != 2 {
					t.Fatalf("jane found %v", all)
				}
				mine := list(t, e.ok("find_customer_contacts", map[string]any{"query": "jane", "customerId": s.customerID}), "contacts")
				if len(mine) != 1 || str(mine[0].(map[string]any), "id") != s.contactID {
					t.Errorf("one customer's: %v", mine)
				}
				byEmail := list(t, e.ok("find_customer_contacts", map[string]any{"query": "JANET@other.example"}), "contacts")
				if len(byEmail) != 1 || str(byEmail[0].(map[string]any), "customerId") != other {
					t.Errorf("by email: %v", byEmail)
				}
			},
			billErr: func(t *testing.T, e *env, _ seeded) map[string]any {
				rateLimited(t, e)
				return map[string]any{"query": "x"}
			},
			wantCode: "BDC_1144", wantHint: "resets",
			invalid: map[string]any{"query": "x", "customerId": "cpuAAAAAAAAAAAAAAAAA"},
		},
		"onboard_customer": {
			happy: func(t *testing.T, e *env, _ seeded) {
				args := map[string]any{
					"customer": map[string]any{"name": "Acme Corp", "email": "ap@acme.com", "accNumber": "ACME-1"},
					"contacts": []any{
						map[string]any{"firstName": "Olga", "email": "ops@acme.com"},
						map[string]any{"firstName": "Bill", "email": "billing@acme.com", "lastName": "Payer"},
					},
					"bankAccount": map[string]any{"nameOnAccount": "Acme Corp", "routingNumber": "021000021", "accountNumber": "9876543210", "agreedWithTOS": true},
				}
				first := e.ok("onboard_customer", args)
				if first["complete"] != true || str(obj(t, first, "customer"), "action") != "created" {
					t.Fatalf("first onboarding: %v", first)
				}
				for _, c := range list(t, first, "contacts") {
					if str(c.(map[string]any), "action") != "created" || !strings.HasPrefix(str(c.(map[string]any), "id"), "cpu") {
						t.Errorf("contact step %v", c)
					}
				}
				if b := obj(t, first, "bankAccount"); str(b, "action") != "created" || !strings.HasPrefix(str(b, "id"), "cba") {
					t.Errorf("bank step %v", b)
				}
				// the same call again, once the first finished, is a new
				// ensure against BILL: every part found in place
				before := e.emu.Stats()
				again := e.ok("onboard_customer", args)
				after := e.emu.Stats()
				if again["complete"] != true || str(obj(t, again, "customer"), "id") != str(obj(t, first, "customer"), "id") || str(obj(t, again, "customer"), "action") != "reused" {
					t.Errorf("second onboarding: %v", again)
				}
				for i, c := range list(t, again, "contacts") {
					if str(c.(map[string]any), "action") != "reused" || str(c.(map[string]any), "id") != str(list(t, first, "contacts")[i].(map[string]any), "id") {
						t.Errorf("second onboarding contact %d: %v", i, c)
					}
				}
				if str(obj(t, again, "bankAccount"), "action") != "reused" {
					t.Errorf("second onboarding bank: %v", again["bankAccount"])
				}
				for k, n := range after.Objects {
					if before.Objects[k] != n {
						t.Errorf("second onboarding changed %s: %d -> %d", k, before.Objects[k], n)
					}
				}
			},
			billErr: func(t *testing.T, e *env, _ seeded) map[string]any {
				rateLimited(t, e)
				return map[string]any{"customer": map[string]any{"name": "Acme Corp"}}
			},
			wantCode: "BDC_1144", wantHint: "resets",
			invalid: map[string]any{"customer": map[string]any{"email": "ap@acme.com"}},
		},
		"upsert_customers": {
			happy: func(t *testing.T, e *env, _ seeded) {
				e.ok("upsert_customers", map[string]any{"matchOn": "accNumber", "customers": []any{
					map[string]any{"name": "Row Zero", "accNumber": "R-0", "email": "zero@rows.example"},
					map[string]any{"name": "Row One", "accNumber": "R-1"},
				}})
				out := e.ok("upsert_customers", map[string]any{"matchOn": "accNumber", "customers": []any{
					map[string]any{"name": "Row Zero", "accNumber": "R-0", "email": "zero@rows.example"}, // same
					map[string]any{"name": "Row One", "accNumber": "R-1", "email": "one@rows.example"},   // differs
					map[string]any{"name": "Row Two", "accNumber": "R-2"},                                // new
					map[string]any{"name": "Row No Key"},                                                 // fails
				}})
				sum := obj(t, out, "summary")
				if sum["created"] != float64(1) || sum["updated"] != float64(1) || sum["unchanged"] != float64(1) || sum["failed"] != float64(1) || sum["total"] != float64(4) {
					t.Errorf("summary %v", sum)
				}
				ids := list(t, out, "ids")
				if len(ids) != 4 || ids[3] != "" || !strings.HasPrefix(ids[2].(string), "0cu") {
					t.Errorf("ids %v", ids)
				}
				f := list(t, out, "failures")
				if len(f) != 1 || f[0].(map[string]any)["index"] != float64(3) || str(f[0].(map[string]any), "code") != "INVALID_ARGUMENT" {
					t.Errorf("failures %v", f)
				}
				got := obj(t, e.ok("get_customer", map[string]any{"customerId": ids[1]}), "customer")
				if str(got, "email") != "one@rows.example" || str(got, "name") != "Row One" {
					t.Errorf("updated row 1 = %v", got)
				}
			},
			billErr: func(t *testing.T, e *env, _ seeded) map[string]any {
				rateLimited(t, e)
				return map[string]any{"matchOn": "name", "customers": []any{map[string]any{"name": "X"}}}
			},
			wantCode: "BDC_1144", wantHint: "resets",
			invalid: map[string]any{"matchOn": "email", "customers": []any{map[string]any{"name": "X"}}},
		},
	}
}

// TestUpsertThreeHundredRows is the CRM sync of the agent-day: 300 rows of
// which 100 exist (50 of those changed); the same call again, once the
// first finished, is a new sync that finds nothing to change, as is a new
// job over the same rows.
func TestUpsertThreeHundredRows(t *testing.T) {
	e := newEnv(t, envOptions{})
	var existing []any
	for i := range 100 {
		existing = append(existing, map[string]any{"name": fmt.Sprintf("Sync %03d", i), "accNumber": fmt.Sprintf("S-%03d", i)})
	}
	e.ok("bulk_create_customers", map[string]any{"customers": existing})
	var rows []any
	for i := range 300 {
		r := map[string]any{"name": fmt.Sprintf("Sync %03d", i), "accNumber": fmt.Sprintf("S-%03d", i)}
		if i%2 == 1 {
			r["email"] = fmt.Sprintf("ap%d@sync.example", i)
		}
		rows = append(rows, r)
	}
	tests := []struct {
		name, importKey                              string
		created, updated, unchanged, resumed, reqMax int
	}{
		// one refresh, two bulk creates, one bulk update
		{"first run", "crm-sync-1", 200, 50, 50, 0, 4},
		// the same call again, the first having finished: one refresh,
		// nothing to send
		{"same call again", "crm-sync-1", 0, 0, 300, 0, 1},
		// a new job: one refresh, nothing to send
		{"new importKey", "crm-sync-2", 0, 0, 300, 0, 1},
	}
	for _, tt := range tests {
		args := map[string]any{"matchOn": "accNumber", "customers": rows, "importKey": tt.importKey}
		before := e.emu.Stats()
		res := e.call("upsert_customers", args)
		after := e.emu.Stats()
		if res.IsError {
			t.Fatalf("%s: %s", tt.name, text(res))
		}
		sum := obj(t, structuredMap(t, res), "summary")
		resumed, _ := sum["resumed"].(float64)
		if sum["created"] != float64(tt.created) || sum["updated"] != float64(tt.updated) || sum["unchanged"] != float64(tt.unchanged) || sum["failed"] != float64(0) || resumed != float64(tt.resumed) {
			t.Errorf("%s: summary %v", tt.name, sum)
		}
		reqs := int(after.Requests - before.Requests - (after.Logins - before.Logins))
		if reqs > tt.reqMax {
			t.Errorf("%s: %d BILL requests, want at most %d", tt.name, reqs, tt.reqMax)
		}
		t.Logf("%s: %d BILL requests, %d bytes of text", tt.name, reqs, len(text(res)))
	}
}

// TestOnboardPartWay: a contact BILL refuses leaves the rest done and the
// answer says exactly what was.
func TestOnboardPartWay(t *testing.T) {
	e := newEnv(t, envOptions{})
	res := e.call("onboard_customer", map[string]any{
		"customer": map[string]any{"name": "Half Done Inc"},
		"contacts": []any{
			map[string]any{"firstName": "Ok", "email": "ok@half.example"},
			map[string]any{"firstName": "Bad", "email": "bad@localhost"},
		},
	})
	if !res.IsError {
		t.Fatalf("want an isError answer, got %s", text(res))
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("structured content %s: %v", raw, err)
	}
	if out["complete"] != false || str(obj(t, out, "customer"), "action") != "created" {
		t.Fatalf("answer %v", out)
	}
	steps := list(t, out, "contacts")
	if str(steps[0].(map[string]any), "action") != "created" || str(steps[1].(map[string]any), "action") != "failed" {
		t.Errorf("contact steps %v", steps)
	}
	if got := text(res); !strings.Contains(got, "Next: ") || !strings.Contains(got, str(obj(t, out, "customer"), "id")) {
		t.Errorf("text does not say what was done: %s", got)
	}
}
