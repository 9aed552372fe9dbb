package billapi_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// wireSchemas is the project's record of BILL's request and response
// shapes (field names, types, required lists, enums); see its "about".
const wireSchemas = "testdata/wire-schemas.json"

// loadWireSchemas reads wireSchemas: operations (path -> request and
// response schema names) and schemas.
func loadWireSchemas(t *testing.T) (ops map[string]map[string]string, schemas map[string]any) {
	t.Helper()
	f, err := os.Open(wireSchemas)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	doc := raw.(map[string]any)
	ops = make(map[string]map[string]string)
	for op, v := range doc["operations"].(map[string]any) {
		m := make(map[string]string)
		for k, name := range v.(map[string]any) {
			m[k] = name.(string)
		}
		ops[op] = m
	}
	return ops, doc["schemas"].(map[string]any)
}

// requestValidators compiles the `data` schema of every operation's form body.
//
// Stricter than BILL's reference, on purpose: every object in a request
// schema (data itself, obj, filter and sort entries) gets
// additionalProperties:false, so the client may send only the fields BILL
// lists as writable; read-only fields must be left out, and a typo cannot
// hide.
func requestValidators(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	ops, schemas := loadWireSchemas(t)
	for name, s := range schemas {
		if strings.HasSuffix(name, "Request") {
			closeObjects(s)
		}
	}
	c := jsonschema.NewCompiler()
	const url = "mem://wire-schemas.json"
	if err := c.AddResource(url, map[string]any{"schemas": schemas}); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*jsonschema.Schema)
	for op, e := range ops {
		name, ok := e["request"]
		if !ok {
			continue
		}
		sch, err := c.Compile(url + "#/schemas/" + name)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		out[op] = sch
	}
	return out
}

// closeObjects sets additionalProperties:false on every object schema with
// listed properties, recursively (refs are left alone: they are closed
// where they are defined).
func closeObjects(node any) {
	switch n := node.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok && len(props) > 0 {
			if _, set := n["additionalProperties"]; !set {
				n["additionalProperties"] = false
			}
		}
		for _, v := range n {
			closeObjects(v)
		}
	case []any:
		for _, v := range n {
			closeObjects(v)
		}
	}
}

// TestRequestsMatchOpenAPISchemas runs every operation through a capturing
// transport and validates each `data` the client sent against the request
// schema of its path.
func TestRequestsMatchOpenAPISchemas(t *testing.T) {
	validators := requestValidators(t)
	if len(validators) != 24 {
		t.Fatalf("%s lists %d request schemas, want the 24 operations", wireSchemas, len(validators))
	}
	e := startEmu(t, emulator.Config{})
	capt := &capture{next: newTransport()}
	c := newClient(t, e, func(cfg *billapi.Config) { cfg.HTTPClient = &http.Client{Transport: capt} })
	exerciseEveryOperation(t, e, c)
	// A customer full of every writable field, and the read-only ones the
	// client must strip.
	full := billapi.Customer{
		Name: billapi.String("Full Fields"), ShortName: billapi.String("FF"), CompanyName: billapi.String("FF Inc"),
		ContactFirstName: billapi.String("Fay"), ContactLastName: billapi.String("Field"), AccNumber: billapi.String("A-1"),
		BillAddress1: billapi.String("1 Main"), BillAddressCity: billapi.String("Town"), BillAddressState: billapi.String("CA"),
		BillAddressCountry: billapi.String("USA"), BillAddressZip: billapi.String("94000"), ShipAddress1: billapi.String("2 Main"),
		Email: billapi.String("ff@x.example"), Phone: billapi.String("555"), InvoiceCurrency: billapi.String("USD"),
		PrintAs: billapi.String("FF"), AccountType: billapi.String("1"), IsTaxLiable: billapi.Bool(true),
		CreatedTime: billapi.String("2020-01-01T00:00:00.000+0000"), Balance: new(float64), HasBankAccount: billapi.Bool(true),
		Description: billapi.String("writable"), TaxID: billapi.String("12-3"), HasAuthorizedToCharge: billapi.Bool(true),
	}
	cu, err := c.CreateCustomer(t.Context(), full)
	if err != nil {
		t.Fatal(err)
	}
	full.ID = cu.ID
	if _, err := c.UpdateCustomer(t.Context(), full); err != nil {
		t.Fatal(err)
	}

	seen := make(map[string]int)
	for _, r := range capt.requests() {
		if r.data == "" {
			if !slices.Contains([]string{"Login", "GetSessionInfo", "Logout"}, r.op) {
				t.Errorf("%s was sent without data", r.op)
			}
			continue
		}
		sch, ok := validators[r.op]
		if !ok {
			t.Errorf("%s has no request schema in %s", r.op, wireSchemas)
			continue
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(r.data))
		if err != nil {
			t.Errorf("%s: data is not JSON: %v", r.op, err)
			continue
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: data does not match the request schema: %v\ndata: %s", r.op, err, r.data)
		}
		seen[r.op]++
	}
	var missing []string
	for op := range validators {
		if seen[op] == 0 {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("operations never exercised: %v", missing)
	}
}

// TestRequestValidatorCatchesDrift proves the validator is not a rubber
// stamp: requests the client must never send fail it.
func TestRequestValidatorCatchesDrift(t *testing.T) {
	validators := requestValidators(t)
	tests := []struct{ op, data string }{
		{"Crud/Create/Customer", `{"obj":{"entity":"Customer"}}`},
		{"Crud/Create/Customer", `{"obj":{"entity":"Customer","name":"A","createdTime":"x"}}`},
		{"Crud/Create/CustomerBankAccount", `{"obj":{"entity":"CustomerBankAccount","customerId":"0cu","nameOnAccount":"A","routingNumber":"1","accountNumber":"2","agreedWithTOS":true}}`},
		{"List/Customer", `{"start":0,"max":999,"sort":[{"field":"id","asc":true}]}`},
		{"Crud/Create/CustomerBankAccount", `{"obj":{"entity":"CustomerBankAccount","customerId":"0cu","nameOnAccount":"A","routingNumber":"1","accountNumber":"2","isSavings":"true"},"agreedWithTOS":true}`},
		{"Crud/Create/Customer", `{"obj":{"entity":"Customer","name":"A","isActive":"3"}}`},
		{"Bulk/Crud/Delete/Customer", `{"bulk":[{"ids":"0cu"}]}`},
	}
	for _, tt := range tests {
		var inst any
		if err := json.Unmarshal([]byte(tt.data), &inst); err != nil {
			t.Fatal(err)
		}
		if err := validators[tt.op].Validate(inst); err == nil {
			t.Errorf("%s %s passed the validator", tt.op, tt.data)
		}
	}
}
