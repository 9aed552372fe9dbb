package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// An entity's field list is written once, in billapi's entity struct (the
// json tags, in BILL's order). Records are read from it by reflection;
// argument structs and compact views are checked against it by a test.

// entity describes one of BILL's objects: its fields, its compact view,
// and the names the wording uses.
type entity struct {
	noun     string // "customer"
	idField  string // "customerId"
	prefix   string // "0cu"
	listTool string // "list_customers"
	getTool  string // "get_customer"
	// zero is the billapi entity struct's zero value; its json tags are the field list.
	zero any
	// compact are the fields of a record in list and find answers.
	compact []string
	// masked fields are shown by masked value only (bank account numbers).
	masked []string
	// filterable are the fields BILL's List filters on.
	filterable []string
}

func customerEntity() entity {
	return entity{
		noun: "customer", idField: "customerId", prefix: billapi.PrefixCustomer,
		listTool: "list_customers", getTool: "get_customer",
		zero: billapi.Customer{},
		// What an agent needs to choose a customer: the id to act on; name,
		// companyName, email and accNumber, the keys a user names a customer
		// by (and find/upsert match on); isActive, since lists hold deleted
		// customers too. Addresses, phones and flags are asked for with fields.
		compact: []string{"id", "isActive", "name", "companyName", "email", "accNumber"},
		filterable: []string{"id", "isActive", "createdTime", "updatedTime", "parentCustomerId", "invoiceCurrency", "mergedIntoId",
			"hasAuthorizedToCharge", "accountType", "paymentTermId", "balance", "defaultDeliveryMethod", "isAutoChargeDismissed",
			"isTaxLiable", "creationSource"},
	}
}

func contactEntity() entity {
	return entity{
		noun: "contact", idField: "contactId", prefix: billapi.PrefixCustomerContact,
		listTool: "list_customer_contacts", getTool: "get_customer_contact",
		zero: billapi.CustomerContact{},
		// A person is chosen by name and email; customerId ties them to a customer.
		compact:    []string{"id", "isActive", "customerId", "firstName", "lastName", "email"},
		filterable: []string{"id", "isActive", "createdTime", "updatedTime", "customerId", "timezoneId"},
	}
}

func bankAccountEntity() entity {
	return entity{
		noun: "bank account", idField: "bankAccountId", prefix: billapi.PrefixCustomerBankAccount,
		listTool: "list_customer_bank_accounts", getTool: "get_customer_bank_account",
		zero: billapi.CustomerBankAccount{},
		// An account is told apart by its owner, holder, nickname and the
		// masked number's last four digits.
		compact:    []string{"id", "isActive", "customerId", "nameOnAccount", "nickname", "accountNumber"},
		filterable: []string{"id", "isActive", "createdTime", "updatedTime", "customerId"},
		masked:     []string{"accountNumber"},
	}
}

// fieldNames lists the entity's field names in BILL's order, without the
// "entity" marker.
func (e entity) fieldNames() []string {
	t := reflect.TypeOf(e.zero)
	out := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" && name != "entity" {
			out = append(out, name)
		}
	}
	return out
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// hasField reports whether the entity has a field named name.
func (e entity) hasField(name string) bool { return slices.Contains(e.fieldNames(), name) }

// field is one name and value of a record.
type field struct {
	name  string
	value any
}

// record is one BILL object as a tool answers it: its fields in BILL's
// order, nulls left out.
type record []field

// MarshalJSON writes the record as one JSON object in field order.
func (r record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.name, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// projection chooses a record's fields.
type projection struct {
	all   bool            // every field
	extra map[string]bool // fields asked for by name: kept even at their default
	full  bool            // keep default values too (get tools)
}

// toRecord reads obj (a billapi entity struct) into a record of the fields
// p chooses. Compact and "all" views leave out zero, null and default
// values (false, 0, "", the unset id); fields named in p.extra and the full
// view keep them. Masked fields are masked here, by field.
func (e entity) toRecord(obj any, p projection) record {
	v := reflect.ValueOf(obj)
	t := v.Type()
	out := make(record, 0, 8)
	for i := range t.NumField() {
		name := jsonName(t.Field(i))
		if name == "" || name == "entity" {
			continue
		}
		if !p.full && !p.all && !p.extra[name] && !slices.Contains(e.compact, name) {
			continue
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		val := fv.Interface()
		if !p.full && !p.extra[name] && name != "id" && isDefault(val) {
			continue
		}
		if s, ok := val.(string); ok && slices.Contains(e.masked, name) {
			val = maskAccountNumber(s)
		}
		out = append(out, field{name, val})
	}
	return out
}

// isDefault reports a value that says nothing: false, 0, "", BILL's unset id.
func isDefault(v any) bool {
	switch x := v.(type) {
	case string:
		return x == "" || x == billapi.UnsetID
	case bool:
		return !x
	case float64:
		return x == 0
	case int:
		return x == 0
	}
	return false
}

// parseFields reads a fields argument: nil for the compact view, "all" for
// every field, or names to add. An unknown name is refused with the list.
func (e entity) parseFields(names []string) (projection, *itemError) {
	p := projection{extra: map[string]bool{}}
	for _, n := range names {
		n = strings.TrimSpace(n)
		switch {
		case n == "all" || n == "*":
			p.all = true
		case e.hasField(n):
			p.extra[n] = true
		default:
			x := badFields(e, n)
			return p, &x
		}
	}
	return p, nil
}

// recordSchema is the output shape of one record of any entity: an object
// with an id. It is deliberately small: it is repeated in every tool that
// answers a record, and an agent reads the record itself (compact in lists,
// whole from get_*), not its schema.
func (e entity) recordSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", Required: []string{"id"}}
}

// Record types, one per entity, so that each has its own output shape.
type (
	customerRecord    struct{ record }
	contactRecord     struct{ record }
	bankAccountRecord struct{ record }
)

// JSONSchema is the customer record's output shape.
func (customerRecord) JSONSchema() *jsonschema.Schema { return customerEntity().recordSchema() }

// JSONSchema is the contact record's output shape.
func (contactRecord) JSONSchema() *jsonschema.Schema { return contactEntity().recordSchema() }

// JSONSchema is the bank account record's output shape.
func (bankAccountRecord) JSONSchema() *jsonschema.Schema { return bankAccountEntity().recordSchema() }

// MarshalJSON writes the record.
func (r customerRecord) MarshalJSON() ([]byte, error) { return r.record.MarshalJSON() }

// MarshalJSON writes the record.
func (r contactRecord) MarshalJSON() ([]byte, error) { return r.record.MarshalJSON() }

// MarshalJSON writes the record.
func (r bankAccountRecord) MarshalJSON() ([]byte, error) { return r.record.MarshalJSON() }

// maskAccountNumber keeps what BILL already masked and masks anything else
// down to its last four characters, so a full account number never reaches
// an agent even if an upstream answer carried one.
func maskAccountNumber(s string) string {
	const keep = 4
	visible := strings.TrimLeft(s, "*")
	if s == "" || (visible != s && len(visible) <= keep) {
		return s // already masked: at most the last four show
	}
	if len(s) <= keep {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", 6) + s[len(s)-keep:]
}

// maskValues replaces every occurrence in s of each of values (account
// numbers the call carried) with its masked form: masking by field, so an
// id or other digits in the same text are left alone.
func maskValues(s string, values ...string) string {
	for _, v := range values {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, maskAccountNumber(v))
		}
	}
	return s
}

// mapEach returns f of every element of xs, in order.
func mapEach[A, B any](xs []A, f func(A) B) []B {
	out := make([]B, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
