package tools_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/server"
	"github.com/bill-mcp/bill-mcp/tools"
)

// Limits of issue 8: what an agent's context pays before and while it works.
const (
	maxToolListBytes         = 24_000 // tools/list tools array, default flags
	maxReadOnlyToolListBytes = 8_000  // the same with --read-only
	maxDefaultPageBytes      = 6_000  // list_customers {} with 500 customers
)

// toolListBytes is the size of the JSON tools array a client receives.
func toolListBytes(t testing.TB, o server.Options) (int, int) {
	t.Helper()
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	listed, err := connect(t, s).ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(listed.Tools)
	if err != nil {
		t.Fatal(err)
	}
	return len(raw), len(listed.Tools)
}

func TestToolListBytes(t *testing.T) {
	tests := []struct {
		name  string
		opts  server.Options
		limit int
	}{
		{"default", server.Options{}, maxToolListBytes},
		{"read-only", server.Options{ReadOnly: true}, maxReadOnlyToolListBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, count := toolListBytes(t, tt.opts)
			t.Logf("tools/list %s: %d tools, %d bytes (limit %d)", tt.name, count, n, tt.limit)
			if n > tt.limit {
				t.Errorf("tools/list %s is %d bytes, over the limit of %d", tt.name, n, tt.limit)
			}
		})
	}
}

// fullCustomer is a customer with the fields a real organisation fills.
func fullCustomer(i int) billapi.Customer {
	s := billapi.String
	return billapi.Customer{
		Name: s(fmt.Sprintf("Customer %03d Holdings", i)), CompanyName: s(fmt.Sprintf("Customer %03d Holdings LLC", i)),
		Email: s(fmt.Sprintf("ap%03d@customer%03d.example", i, i)), Phone: s("415-555-0100"), AccNumber: s(fmt.Sprintf("ACC-%05d", i)),
		ContactFirstName: s("Pat"), ContactLastName: s("Lee"), BillAddress1: s("1 Market St"), BillAddressCity: s("San Francisco"),
		BillAddressState: s("CA"), BillAddressZip: s("94105"), BillAddressCountry: s("USA"), Description: s("Net 30 wholesale account"),
		AccountType: s("1"), IsTaxLiable: billapi.Bool(true),
	}
}

// seedCustomers creates n full customers directly through billapi.
func seedCustomers(t testing.TB, c *billapi.Client, n int) {
	t.Helper()
	items := make([]billapi.Customer, n)
	for i := range items {
		items[i] = fullCustomer(i)
	}
	res, err := c.BulkCreateCustomers(t.Context(), items, billapi.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("seed item %d: %v", r.Index, r.Err)
		}
	}
}

func TestDefaultListPageBytes(t *testing.T) {
	e := newEnv(t, envOptions{})
	seedCustomers(t, e.bill, 500)
	res := e.call("list_customers", map[string]any{})
	n := len(text(res))
	t.Logf("list_customers {} with 500 customers: %d bytes of text (limit %d)", n, maxDefaultPageBytes)
	if res.IsError || n > maxDefaultPageBytes {
		t.Fatalf("default page: isError %v, %d bytes (limit %d)", res.IsError, n, maxDefaultPageBytes)
	}
	out := structuredMap(t, res)
	customers := list(t, out, "customers")
	pg := obj(t, out, "paging")
	if len(customers) != tools.DefaultListMax || pg["hasMore"] != true {
		t.Fatalf("default page holds %d customers, paging %v", len(customers), pg)
	}
	c := customers[0].(map[string]any)
	for _, k := range []string{"id", "name", "companyName", "email", "accNumber", "isActive"} {
		if _, ok := c[k]; !ok {
			t.Errorf("compact customer lacks %s: %v", k, c)
		}
	}
	for _, k := range []string{"phone", "billAddress1", "createdTime", "balance"} {
		if _, ok := c[k]; ok {
			t.Errorf("compact customer holds %s: %v", k, c)
		}
	}
	// get keeps the full record
	full := obj(t, e.ok("get_customer", map[string]any{"customerId": str(c, "id")}), "customer")
	for _, k := range []string{"phone", "billAddress1", "createdTime", "description", "isTaxLiable"} {
		if _, ok := full[k]; !ok {
			t.Errorf("get_customer lacks %s: %v", k, full)
		}
	}
}

func TestListFields(t *testing.T) {
	e := newEnv(t, envOptions{})
	seedCustomers(t, e.bill, 3)
	tests := []struct {
		name    string
		fields  []any
		want    []string
		notWant []string
	}{
		{"named", []any{"phone", "billAddressCity"}, []string{"id", "name", "phone", "billAddressCity"}, []string{"billAddress1", "description"}},
		{"all", []any{"all"}, []string{"id", "name", "phone", "billAddress1", "description", "createdTime", "isTaxLiable"}, []string{"parentCustomerId", "balance", "hasBankAccount"}},
		{"a default value named", []any{"balance"}, []string{"balance"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := e.ok("list_customers", map[string]any{"fields": tt.fields, "max": 1})
			c := list(t, out, "customers")[0].(map[string]any)
			for _, k := range tt.want {
				if _, ok := c[k]; !ok {
					t.Errorf("record lacks %s: %v", k, c)
				}
			}
			for _, k := range tt.notWant {
				if _, ok := c[k]; ok {
					t.Errorf("record holds %s (a zero or default value): %v", k, c)
				}
			}
		})
	}
	before := e.emu.Stats().Requests
	res := e.call("list_customers", map[string]any{"fields": []any{"telephone"}})
	if got := text(res); !res.IsError || !strings.HasPrefix(got, tools.CodeInvalidArgument+": ") || !strings.Contains(got, "telephone") || !strings.Contains(got, "billAddressCity") {
		t.Errorf("unknown field: %q", got)
	}
	if e.emu.Stats().Requests != before {
		t.Errorf("BILL was called for an unknown field")
	}
}

// TestAnswerBound: a page that would pass the bound is cut to fit, and the
// answer says so and where to go on; the next page starts there.
func TestAnswerBound(t *testing.T) {
	e := newEnv(t, envOptions{})
	seedCustomers(t, e.bill, 300)
	res := e.call("list_customers", map[string]any{"max": 999, "fields": []any{"all"}})
	n := len(text(res))
	t.Logf("list_customers max 999, all fields, 300 customers: %d bytes of text (bound %d)", n, tools.MaxAnswerBytes)
	if res.IsError || n > tools.MaxAnswerBytes {
		t.Fatalf("bounded page: isError %v, %d bytes", res.IsError, n)
	}
	out := structuredMap(t, res)
	got := list(t, out, "customers")
	pg := obj(t, out, "paging")
	if pg["hasMore"] != true || toFloat(pg["nextStart"]) != float64(len(got)) || !strings.Contains(str(pg, "note"), "nextStart") || len(got) >= 300 {
		t.Fatalf("cut page of %d: paging %v", len(got), pg)
	}
	next := e.ok("list_customers", map[string]any{"max": 999, "fields": []any{"all"}, "start": pg["nextStart"]})
	first := list(t, next, "customers")[0].(map[string]any)
	if str(first, "id") == str(got[len(got)-1].(map[string]any), "id") || len(list(t, next, "customers")) == 0 {
		t.Errorf("the next page does not continue after the cut")
	}
}

func TestForgivingArguments(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.seed("Seed Co")
	e.ok("delete_customer", map[string]any{"customerId": s.customerID})
	// a number for a digit-string enum
	inactive := list(t, e.ok("list_customers", map[string]any{"isActive": 2}), "customers")
	if len(inactive) != 1 || str(inactive[0].(map[string]any), "id") != s.customerID {
		t.Errorf("isActive: 2 listed %v", inactive)
	}
	// "true" for a boolean, published or not
	c := obj(t, e.ok("create_customer", map[string]any{"name": "Forgiven Co", "isTaxLiable": "true", "accountType": 1}), "customer")
	if c["isTaxLiable"] != true || str(c, "accountType") != "1" {
		t.Errorf("coerced create = %v", c)
	}
	b := e.ok("create_customer_bank_account", map[string]any{
		"customerId": str(c, "id"), "nameOnAccount": "Forgiven", "routingNumber": "021000021", "accountNumber": "99887766", "agreedWithTOS": "true",
	})
	if str(obj(t, b, "bankAccount"), "id") == "" {
		t.Errorf("agreedWithTOS \"true\" refused: %v", b)
	}
	// anything else stays strict, naming the field
	for _, tt := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"list_customers", map[string]any{"isActive": 3}, "/isActive"},
		{"create_customer", map[string]any{"name": "X", "isTaxLiable": "yes"}, "/isTaxLiable"},
		{"create_customer", map[string]any{"name": "X", "accountType": 7}, "/accountType"},
		{"update_customer", map[string]any{"customerId": s.customerID, "emial": "x@y.example"}, "/emial"},
	} {
		before := e.emu.Stats().Requests
		res := e.call(tt.tool, tt.args)
		if got := text(res); !res.IsError || !strings.HasPrefix(got, tools.CodeInvalidArgument+": ") || !strings.Contains(got, tt.want) {
			t.Errorf("%s %v = %q; want INVALID_ARGUMENT naming %s", tt.tool, tt.args, got, tt.want)
		}
		if e.emu.Stats().Requests != before {
			t.Errorf("%s %v reached BILL", tt.tool, tt.args)
		}
	}
}

// TestBoundedInput: every string argument has a maxLength; an over-long
// value is refused before anything is sent and echoed at most in part.
func TestBoundedInput(t *testing.T) {
	for _, d := range tools.Inventory() {
		var check func(path string, v any)
		check = func(path string, v any) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			if m["type"] == "string" && m["maxLength"] == nil && m["enum"] == nil {
				t.Errorf("%s: string %s has no maxLength", d.Name, path)
			}
			if props, ok := m["properties"].(map[string]any); ok {
				for k, p := range props {
					check(path+"/"+k, p)
				}
			}
			check(path+"[]", m["items"])
		}
		var doc map[string]any
		if err := json.Unmarshal(d.ArgsSchema(), &doc); err != nil {
			t.Fatal(err)
		}
		check("", doc)
	}
	e := newEnv(t, envOptions{})
	long := "Zanzibar" + strings.Repeat("q", 5000)
	for _, tt := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"create_customer", map[string]any{"name": long[:101]}, "/name"},
		{"create_customer", map[string]any{"name": "Ok", "printAs": long}, "/printAs"},
		{"list_customers", map[string]any{"nameContains": long}, "/nameContains"},
		{"get_customer", map[string]any{"customerId": "0cu" + long}, "/customerId"},
	} {
		before := e.emu.Stats().Requests
		res := e.call(tt.tool, tt.args)
		got := text(res)
		if !res.IsError || !strings.HasPrefix(got, tools.CodeInvalidArgument+": ") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: over-long value answered %q", tt.tool, got)
		}
		if strings.Contains(got, "qqqqqqqqqqqq") {
			t.Errorf("%s: error echoes the value: %q", tt.tool, got)
		}
		if e.emu.Stats().Requests != before {
			t.Errorf("%s: an over-long value reached BILL", tt.tool)
		}
	}
}

// TestBoundedBulkItem: an over-long value in one bulk item fails that item
// alone (issue 8 item 4), names it, never echoes it, and never reaches BILL.
func TestBoundedBulkItem(t *testing.T) {
	e := newEnv(t, envOptions{})
	long := "Zanzibar" + strings.Repeat("q", 5000)
	res := e.call("bulk_create_customers", map[string]any{"customers": []any{map[string]any{"name": "Ok"}, map[string]any{"name": long}}})
	out := structuredMap(t, res)
	failures := checkBulk(t, out, 1, 1)
	f := failures[0].(map[string]any)
	if f["index"] != float64(1) || f["code"] != tools.CodeInvalidArgument || !strings.Contains(str(f, "message"), "customers[1]") {
		t.Errorf("failure = %v", f)
	}
	if strings.Contains(text(res), "qqqqqqqqqqqq") {
		t.Errorf("answer echoes the value")
	}
	if e.emu.Stats().Objects["Customer"] != 1 {
		t.Errorf("%d customers at BILL, want only the good one", e.emu.Stats().Objects["Customer"])
	}
}

func TestContactFirstNameHint(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.seed("Seed Co")
	res := e.call("create_customer_contact", map[string]any{"customerId": s.customerID, "email": "x@y.example"})
	if got := text(res); !res.IsError || !strings.Contains(got, "/firstName") || !strings.Contains(got, "ask the user") || !strings.Contains(got, "do not invent") {
		t.Errorf("missing first name: %q", got)
	}
}

func BenchmarkDefaultListPage(b *testing.B) {
	c, _ := benchCustomer(b)
	seedCustomers(b, c, 499)
	s, err := server.New(server.Options{Client: c, Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	cl := connect(b, s)
	req := mcp.CallToolRequest{}
	req.Params.Name = "list_customers"
	var n int
	for b.Loop() {
		res, err := cl.CallTool(b.Context(), req)
		if err != nil || res.IsError {
			b.Fatalf("list_customers: %v", err)
		}
		n = len(text(res))
	}
	// the same page in the full view, as list_customers answered it before
	req.Params.Arguments = map[string]any{"fields": []any{"all"}}
	res, err := cl.CallTool(b.Context(), req)
	if err != nil || res.IsError {
		b.Fatalf("list_customers all: %v", err)
	}
	b.ReportMetric(float64(n), "bytes_default_page")
	b.ReportMetric(float64(len(text(res))), "bytes_all_fields_page")
	b.ReportMetric(float64(n)/float64(len(text(res))), "ratio")
}
