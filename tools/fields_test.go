package tools

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// argNames lists the json names of a struct's fields, embedded structs
// flattened.
func argNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, argNames(f.Type)...)
			continue
		}
		if n := jsonName(f); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// TestFieldListsWrittenOnce checks every argument struct, compact view and
// filter list against the one field list of its entity (billapi's struct).
func TestFieldListsWrittenOnce(t *testing.T) {
	tests := []struct {
		e    entity
		args []any
	}{
		{customerEntity(), []any{createCustomerArgs{}, updateCustomerArgs{}}},
		{contactEntity(), []any{createContactArgs{}, updateContactArgs{}}},
		{bankAccountEntity(), []any{createBankAccountArgs{}}},
	}
	for _, tt := range tests {
		t.Run(tt.e.noun, func(t *testing.T) {
			fields := tt.e.fieldNames()
			for _, a := range tt.args {
				for _, n := range argNames(reflect.TypeOf(a)) {
					// not fields: the id of the object acted on (sent as
					// "id"), and the terms-of-service flag BILL takes beside obj
					if !slices.Contains(fields, n) && n != tt.e.idField && n != "agreedWithTOS" {
						t.Errorf("%T takes %s, which is no %s field", a, n, tt.e.noun)
					}
				}
			}
			for _, list := range [][]string{tt.e.compact, tt.e.filterable, tt.e.masked} {
				for _, n := range list {
					if !slices.Contains(fields, n) {
						t.Errorf("%s is no %s field", n, tt.e.noun)
					}
				}
			}
			if tt.e.compact[0] != "id" {
				t.Errorf("compact view does not start with id")
			}
		})
	}
	for _, n := range publishedCustomerFields {
		if n != "customerId" && !customerEntity().hasField(n) {
			t.Errorf("published customer field %s is no customer field", n)
		}
	}
}

func TestGroupNames(t *testing.T) {
	got := groupNames([]string{"altPhone", "fax", "billAddress3", "billAddress4", "shipAddress1", "shipAddressCity", "accountType (0 none)", "isTaxLiable"})
	want := []string{"altPhone", "fax", "billAddress3/4", "shipAddress1/City", "accountType (0 none)", "isTaxLiable"}
	if !slices.Equal(got, want) {
		t.Errorf("groupNames = %v, want %v", got, want)
	}
}

func TestCoerce(t *testing.T) {
	schema := map[string]any{"type": "object", "properties": map[string]any{
		"isActive": map[string]any{"type": "string", "enum": []any{"1", "2"}},
		"flag":     map[string]any{"type": "boolean"},
		"name":     map[string]any{"type": "string"},
		"items":    map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{"flag": map[string]any{"type": "boolean"}}}},
	}}
	tests := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"number for digit enum", map[string]any{"isActive": float64(2)}, map[string]any{"isActive": "2"}},
		{"number outside the enum stays", map[string]any{"isActive": float64(3)}, map[string]any{"isActive": float64(3)}},
		{"fraction stays", map[string]any{"isActive": 1.5}, map[string]any{"isActive": 1.5}},
		{"true string", map[string]any{"flag": "true"}, map[string]any{"flag": true}},
		{"False string", map[string]any{"flag": "False"}, map[string]any{"flag": false}},
		{"yes stays", map[string]any{"flag": "yes"}, map[string]any{"flag": "yes"}},
		{"number for a plain string stays", map[string]any{"name": float64(7)}, map[string]any{"name": float64(7)}},
		{"nested", map[string]any{"items": []any{map[string]any{"flag": "false"}}}, map[string]any{"items": []any{map[string]any{"flag": false}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := coerce(schema, tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("coerce(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestItemChecker: items are checked one by one; a bad item is named with
// its index and does not hide the good ones.
func TestItemChecker(t *testing.T) {
	check := newItemChecker[createCustomerArgs]("test")
	items, bad := check("customers", []map[string]any{
		{"name": "Good One", "isTaxLiable": "true"},
		{"name": ""},
		{"name": "Good Two", "accountType": float64(2)},
		{"nme": "Typo"},
	}, nil)
	if len(bad) != 2 || bad[1].Code != CodeInvalidArgument || bad[3].Code != CodeInvalidArgument {
		t.Fatalf("bad = %+v", bad)
	}
	if !strings.Contains(bad[1].Message, "customers[1] at /name") || !strings.Contains(bad[3].Message, "/nme") {
		t.Errorf("messages %q / %q do not name the item and field", bad[1].Message, bad[3].Message)
	}
	if items[0].Name != "Good One" || items[0].IsTaxLiable == nil || !*items[0].IsTaxLiable || items[2].AccountType == nil || *items[2].AccountType != "2" {
		t.Errorf("good items = %+v / %+v", items[0], items[2])
	}
	decode := newItemDecoder[createCustomerArgs]("test")
	if _, res := decode("customers", []map[string]any{{"name": "A"}, {"name": ""}}); res == nil || !res.IsError {
		t.Errorf("all-or-nothing decoder accepted a bad item")
	}
}
