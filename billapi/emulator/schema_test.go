package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// wireSchemas is the project's record of BILL's request and response
// shapes (field names, types, required lists, enums); see its "about".
const wireSchemas = "../testdata/wire-schemas.json"

// openAPIValidator validates emulator answers against the response schemas
// of wireSchemas.
//
// What the test relaxes or adds, and why:
//   - Every "type" under response_data becomes [T, "null"]: the schemas do
//     not mark nullable fields, but BILL answers null for unset optional
//     strings (seed 001), and so must the emulator.
//   - Error answers are checked against ErrorResponse with error_code and
//     error_message required, not against the operation's schema: the
//     schemas describe only the success shape (a List's response_data is an
//     array, an error's is an object).
//   - Added: unevaluatedProperties:false on every object under response_data,
//     so the emulator cannot answer a field the schemas do not list, and
//     (in Go, below) every listed field must be present, as in BILL's answers.
type openAPIValidator struct {
	byPath map[string]*jsonschema.Schema // "/Crud/Create/Customer.json" -> response schema
	errors *jsonschema.Schema
	fields map[string][]string // entity name -> its response fields
}

func loadJSON(t *testing.T, p string) map[string]any {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return doc.(map[string]any)
}

// relax rewrites node in place as described on openAPIValidator.
func relax(node any, inData bool) {
	switch n := node.(type) {
	case map[string]any:
		if inData {
			if ty, ok := n["type"].(string); ok {
				n["type"] = []any{ty, "null"}
			}
			if _, ok := n["properties"]; ok {
				n["unevaluatedProperties"] = false
			}
		}
		for k, v := range n {
			relax(v, inData || k == "response_data")
		}
	case []any:
		for _, v := range n {
			relax(v, inData)
		}
	}
}

func newOpenAPIValidator(t *testing.T) *openAPIValidator {
	t.Helper()
	v := &openAPIValidator{byPath: map[string]*jsonschema.Schema{}, fields: map[string][]string{}}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	doc := loadJSON(t, wireSchemas)
	schemas := doc["schemas"].(map[string]any)
	relax(schemas, false)
	schemas["TestErrorEnvelope"] = map[string]any{
		"type":     "object",
		"required": []any{"response_status", "response_message", "response_data"},
		"properties": map[string]any{
			"response_status":  map[string]any{"const": json.Number("1")},
			"response_message": map[string]any{"const": "Error"},
			"response_data": map[string]any{
				"type":                  "object",
				"allOf":                 []any{map[string]any{"$ref": "#/schemas/ErrorResponse"}},
				"required":              []any{"error_code", "error_message"},
				"unevaluatedProperties": false,
				"properties": map[string]any{
					"error_code": map[string]any{"type": "string", "pattern": "^BDC_[0-9]{4}$"},
				},
			},
		},
		"additionalProperties": false,
	}
	for entity, schema := range map[string]string{"Customer": "CreateCustomerResponse", "CustomerContact": "CreateCustomerContactResponse", "CustomerBankAccount": "CreateCustomerBankAccountResponse"} {
		props := schemas[schema].(map[string]any)["properties"].(map[string]any)["response_data"].(map[string]any)["properties"].(map[string]any)
		for k := range props {
			v.fields[entity] = append(v.fields[entity], k)
		}
		slices.Sort(v.fields[entity])
	}
	const url = "mem://wire-schemas.json"
	if err := c.AddResource(url, map[string]any{"schemas": schemas}); err != nil {
		t.Fatal(err)
	}
	for op, e := range doc["operations"].(map[string]any) {
		name := e.(map[string]any)["response"].(string)
		sch, err := c.Compile(url + "#/schemas/" + name)
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		v.byPath["/"+op+".json"] = sch
	}
	var err error
	if v.errors, err = c.Compile(url + "#/schemas/TestErrorEnvelope"); err != nil {
		t.Fatal(err)
	}
	return v
}

// entityOf names the entity of a path's answer, "" for auth paths.
func entityOf(path string) string {
	for _, e := range []string{"CustomerBankAccount", "CustomerContact", "Customer"} {
		if strings.HasSuffix(path, "/"+e+".json") {
			return e
		}
	}
	return ""
}

// check validates one answer.
func (v *openAPIValidator) check(ex exchange) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(ex.body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	var env envelope
	if err := json.Unmarshal(ex.body, &env); err != nil {
		return err
	}
	if env.Status != 0 {
		return v.errors.Validate(inst)
	}
	if env.Message != "Success" {
		return fmt.Errorf("response_message %q on success", env.Message)
	}
	sch, ok := v.byPath[ex.path]
	if !ok {
		return fmt.Errorf("no schema for successful path %s", ex.path)
	}
	if err := sch.Validate(inst); err != nil {
		return err
	}
	entity := entityOf(ex.path)
	if entity == "" {
		return nil
	}
	var objs []map[string]json.RawMessage
	switch {
	case strings.HasPrefix(ex.path, "/List/"):
		if err := json.Unmarshal(env.Data, &objs); err != nil {
			return err
		}
	case strings.HasPrefix(ex.path, "/Bulk/"):
		var b struct{ Bulk []envelope }
		if err := json.Unmarshal(env.Data, &b); err != nil {
			return err
		}
		for _, item := range b.Bulk {
			if item.Status == 0 {
				var o map[string]json.RawMessage
				if err := json.Unmarshal(item.Data, &o); err != nil {
					return err
				}
				objs = append(objs, o)
			}
		}
	default:
		var o map[string]json.RawMessage
		if err := json.Unmarshal(env.Data, &o); err != nil {
			return err
		}
		objs = append(objs, o)
	}
	for _, o := range objs {
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, v.fields[entity]) {
			return fmt.Errorf("%s fields %v, want every reference field %v", entity, keys, v.fields[entity])
		}
	}
	return nil
}

// schemaScenario exercises every path, with successes and errors.
func schemaScenario(t *testing.T, h *harness) {
	t.Helper()
	h.post("/Login.json", url.Values{"userName": {"x"}, "password": {"y"}, "orgId": {h.id.OrgID}, "devKey": {h.id.DevKey}})
	h.login()
	h.call("/GetSessionInfo.json", nil)
	full := seedCustomer()
	c := h.call("/Crud/Create/Customer.json", obj{"obj": full}).object(t)
	cid := c["id"]
	h.call("/Crud/Create/Customer.json", obj{"obj": full}) // duplicate name
	h.call("/Crud/Create/Customer.json", `{"obj":`)        // bad JSON
	h.call("/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Vendor", "name": "v"}})
	h.call("/Crud/Read/Customer.json", obj{"id": cid})
	h.call("/Crud/Read/Customer.json", obj{"id": "0cu0000000000000zzzz"})
	h.call("/Crud/Update/Customer.json", obj{"obj": obj{"entity": "Customer", "id": cid, "name": "Diamond 2", "isTaxLiable": true}})
	h.call("/Crud/Update/Customer.json", obj{"obj": obj{"entity": "Customer", "id": cid, "name": "Diamond 2", "isTaxLiable": "yes"}})
	ct := h.mustCreate("CustomerContact", obj{"customerId": cid, "firstName": "G", "email": "g@diamond.example", "timezoneId": "3"})
	h.call("/Crud/Read/CustomerContact.json", obj{"id": ct["id"]})
	h.call("/Crud/Update/CustomerContact.json", obj{"obj": obj{"entity": "CustomerContact", "id": ct["id"], "customerId": cid, "firstName": "H", "email": "h@diamond.example", "phone": ""}})
	h.call("/Crud/Create/CustomerContact.json", obj{"obj": obj{"entity": "CustomerContact", "customerId": cid}})
	ba := h.mustCreate("CustomerBankAccount", obj{"customerId": cid, "nameOnAccount": "Diamond", "routingNumber": "021000021", "accountNumber": "4444333322221111"})
	h.call("/Crud/Create/CustomerBankAccount.json", obj{"obj": obj{"entity": "CustomerBankAccount", "customerId": cid}})
	h.call("/Crud/Read/CustomerBankAccount.json", obj{"id": ba["id"]})
	h.call("/List/Customer.json", obj{"start": 0, "max": 999})
	h.call("/List/Customer.json", obj{"start": 0, "max": 1000})
	h.call("/List/Customer.json", obj{"start": 0, "max": 10, "filters": []obj{{"field": "name", "op": "=", "value": "x"}}})
	h.call("/List/Customer.json", obj{"start": 0, "max": 10, "filters": []obj{{"field": "isActive", "op": "~", "value": "1"}}})
	h.call("/List/CustomerContact.json", obj{"start": 0, "max": 999, "filters": []obj{{"field": "customerId", "op": "=", "value": cid}}})
	h.call("/List/CustomerBankAccount.json", obj{"start": 0, "max": 999})
	for _, e := range []string{"Customer", "CustomerContact"} {
		var items []obj
		if e == "Customer" {
			items = []obj{{"obj": obj{"entity": e, "name": "Bulk One"}}, {"obj": obj{"entity": e}}}
		} else {
			items = []obj{{"obj": obj{"entity": e, "customerId": cid, "firstName": "B", "email": "b@diamond.example"}}, {"obj": obj{"entity": e}}}
		}
		res := h.call("/Bulk/Crud/Create/"+e+".json", obj{"bulk": items}).bulk(t)
		id := res[0].object(t)["id"]
		upd := obj{"entity": e, "id": id, "name": "Bulk Two"}
		if e == "CustomerContact" {
			upd = obj{"entity": e, "id": id, "customerId": cid, "firstName": "C", "email": "c@diamond.example"}
		}
		h.call("/Bulk/Crud/Update/"+e+".json", obj{"bulk": []obj{{"obj": upd}, {"obj": obj{"entity": e, "id": "nope"}}}})
		h.call("/Bulk/Crud/Delete/"+e+".json", obj{"bulk": []obj{{"id": id}, {"id": "nope"}}})
		h.call("/Bulk/Crud/Undelete/"+e+".json", obj{"bulk": []obj{{"id": id}}})
		h.call("/Bulk/Crud/Create/"+e+".json", obj{"bulk": []obj{}})
	}
	h.call("/Crud/Delete/CustomerBankAccount.json", obj{"id": ba["id"]})
	h.call("/Crud/Delete/CustomerContact.json", obj{"id": ct["id"]})
	h.call("/Crud/Undelete/CustomerContact.json", obj{"id": ct["id"]})
	h.call("/Crud/Delete/Customer.json", obj{"id": cid})
	h.call("/Crud/Undelete/Customer.json", obj{"id": cid})
	h.postStatus("/Crud/Update/CustomerBankAccount.json", h.form(obj{}))
	h.call("/Logout.json", nil)
	h.call("/GetSessionInfo.json", nil)
}

func TestResponsesMatchOpenAPISchemas(t *testing.T) {
	v := newOpenAPIValidator(t)
	ours := 0
	for path := range v.byPath {
		if !strings.HasPrefix(path, "/MFA") {
			ours++
		}
	}
	if ours != 27 {
		t.Fatalf("found %d operations in %s, want 24 + Login, GetSessionInfo, Logout", ours, wireSchemas)
	}
	h := newHarness(t, emulator.Config{})
	schemaScenario(t, h)
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]bool{}
	for _, ex := range h.log {
		if err := v.check(ex); err != nil {
			t.Errorf("%s answered %s\n%v", ex.path, ex.body, err)
		}
		var env envelope
		if json.Unmarshal(ex.body, &env) == nil && env.Status == 0 {
			seen[ex.path] = true
		}
	}
	for path := range v.byPath {
		if strings.HasPrefix(path, "/MFA") {
			continue // MFA is outside this project's surface
		}
		if !seen[path] {
			t.Errorf("no successful answer of %s was validated", path)
		}
	}
}

// TestValidatorCatchesDrift proves the validator fails on answers that
// break the reference, so a pass above means something.
func TestValidatorCatchesDrift(t *testing.T) {
	v := newOpenAPIValidator(t)
	tests := []struct {
		name, path, body string
	}{
		{"wrong type", "/Crud/Read/CustomerContact.json", `{"response_status":0,"response_message":"Success","response_data":{"entity":"CustomerContact","id":5}}`},
		{"extra field", "/Login.json", `{"response_status":0,"response_message":"Success","response_data":{"sessionId":"s","orgId":"o","apiEndPoint":"a","usersId":"u","password":"p"}}`},
		{"missing fields", "/Crud/Read/CustomerContact.json", `{"response_status":0,"response_message":"Success","response_data":{"entity":"CustomerContact","id":"cpu"}}`},
		{"list not array", "/List/Customer.json", `{"response_status":0,"response_message":"Success","response_data":{}}`},
		{"error without message", "/List/Customer.json", `{"response_status":1,"response_message":"Error","response_data":{"error_code":"BDC_1129"}}`},
		{"logout with data", "/Logout.json", `{"response_status":0,"response_message":"Success","response_data":{"x":1}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := v.check(exchange{path: tc.path, body: []byte(tc.body)}); err == nil {
				t.Fatalf("validator accepted %s", tc.body)
			}
		})
	}
}
