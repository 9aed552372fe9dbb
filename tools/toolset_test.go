package tools_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/tools"
)

func TestParseToolsets(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"", tools.ToolsetNames(), ""},
		{"all", tools.ToolsetNames(), ""},
		{"contacts", []string{"contacts"}, ""},
		{"bank_accounts, customers", []string{"customers", "bank_accounts"}, ""},
		{"customers,customers", []string{"customers"}, ""},
		{"customers,invoices", nil, `unknown toolset "invoices"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := tools.ParseToolsets(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "bank_accounts") {
					t.Fatalf("err = %v, want one naming %s and the valid toolsets", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseToolsets(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestInventory checks what every definition must hold: a unique name, a
// known toolset, a kind that agrees with its hints, a binding, and a tool
// that can be built without a client.
func TestInventory(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range tools.Inventory() {
		t.Run(d.Name, func(t *testing.T) {
			if seen[d.Name] {
				t.Errorf("duplicate tool %s", d.Name)
			}
			seen[d.Name] = true
			if !slices.Contains(tools.ToolsetNames(), d.Toolset) {
				t.Errorf("unknown toolset %q", d.Toolset)
			}
			if d.Kind != d.Op.Kind() || d.Bind == nil || d.Title == "" || d.Description == "" || d.Args == nil || d.Result == nil {
				t.Errorf("incomplete definition %+v", d)
			}
			tool := d.Tool()
			if tool.Name != d.Name || tool.Title != d.Title {
				t.Errorf("tool %s titled %q from definition %s %q", tool.Name, tool.Title, d.Name, d.Title)
			}
			if ro := tools.IsReadOnly(tool); ro != (d.Kind == tools.KindRead) {
				t.Errorf("readOnlyHint %v for kind %s", ro, d.Kind)
			}
			if d.Kind == tools.KindDelete && !*tool.Annotations.DestructiveHint {
				t.Errorf("a delete tool is not destructive")
			}
			if got, ok := tools.Lookup(d.Name); !ok || got.Name != d.Name {
				t.Errorf("Lookup(%s) = %v, %v", d.Name, got.Name, ok)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	all := tools.Select(tools.ToolsetNames(), false)
	ro := tools.Select(tools.ToolsetNames(), true)
	if len(all) != len(tools.Inventory()) {
		t.Errorf("all toolsets select %d of %d tools", len(all), len(tools.Inventory()))
	}
	for _, d := range ro {
		if d.Kind != tools.KindRead || d.Availability(tools.ToolsetNames(), true) != tools.Offered {
			t.Errorf("%s (%s) in the read-only selection", d.Name, d.Kind)
		}
	}
	for _, d := range tools.Inventory() {
		if d.Kind != tools.KindRead && d.Availability(tools.ToolsetNames(), true) != tools.OffReadOnly {
			t.Errorf("%s offered read-only", d.Name)
		}
		if d.Toolset != tools.ToolsetContacts && d.Availability([]string{tools.ToolsetContacts}, false) != tools.OffToolset {
			t.Errorf("%s offered outside its toolset", d.Name)
		}
	}
}

func TestCatalogueMarkdown(t *testing.T) {
	md, err := tools.CatalogueMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(md), "\n")
	if len(lines) != len(tools.Inventory())+2 {
		t.Fatalf("%d lines, want header, rule and one row per tool:\n%s", len(lines), md)
	}
	for _, l := range lines[2:] {
		if strings.Count(l, " | ") != 4 || !strings.HasPrefix(l, "| `") {
			t.Errorf("malformed row %q", l)
		}
	}
	if !strings.Contains(md, "| `list_customers` | customers | read | List customers |") {
		t.Errorf("list_customers row missing or wrong:\n%s", md)
	}
}

func TestHandlerWithoutClient(t *testing.T) {
	d, ok := tools.Lookup("get_customer")
	if !ok {
		t.Fatal("no get_customer")
	}
	req := mcp.CallToolRequest{}
	req.Params.Arguments = map[string]any{"customerId": "0cuAAAAAAAAAAAAAAAAA"}
	res, err := d.Bind(tools.Deps{})(t.Context(), req)
	if err != nil || res == nil || !res.IsError {
		t.Fatalf("handler without client = %v, %v; want an error result", res, err)
	}
}
