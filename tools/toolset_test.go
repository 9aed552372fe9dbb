package tools_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/bill-mcp/bill-mcp/tools"
)

func TestToolsetGuards(t *testing.T) {
	get, getH := tools.GetCustomer(nil)
	create, createH := tools.CreateCustomer(nil)
	noHint := get
	noHint.Annotations.ReadOnlyHint = nil
	tests := []struct {
		name    string
		add     func(ts *tools.Toolset) error
		wantErr bool
	}{
		{"read tool as read", func(ts *tools.Toolset) error { return ts.AddReadTools(server.ServerTool{Tool: get, Handler: getH}) }, false},
		{"write tool as write", func(ts *tools.Toolset) error {
			return ts.AddWriteTools(server.ServerTool{Tool: create, Handler: createH})
		}, false},
		{"write tool as read", func(ts *tools.Toolset) error {
			return ts.AddReadTools(server.ServerTool{Tool: create, Handler: createH})
		}, true},
		{"read tool without readOnlyHint", func(ts *tools.Toolset) error { return ts.AddReadTools(server.ServerTool{Tool: noHint, Handler: getH}) }, true},
		{"read tool as write", func(ts *tools.Toolset) error { return ts.AddWriteTools(server.ServerTool{Tool: get, Handler: getH}) }, true},
		{"write tool without hint as write", func(ts *tools.Toolset) error { return ts.AddWriteTools(server.ServerTool{Tool: noHint, Handler: getH}) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := tools.NewToolset("test", "guard test")
			err := tt.add(ts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if !errors.Is(err, tools.ErrNotReadOnly) {
					t.Errorf("err = %v, want ErrNotReadOnly", err)
				}
				if n := len(ts.Tools(false)); n != 0 {
					t.Errorf("refused tool was added anyway (%d tools)", n)
				}
			}
		})
	}
}

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

func TestSelectReadOnly(t *testing.T) {
	all, err := tools.Select(nil, nil, tools.ToolsetNames(), false)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := tools.Select(nil, nil, tools.ToolsetNames(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 28 || len(ro) != 8 {
		t.Errorf("all %d tools, read-only %d; want 28 and 8", len(all), len(ro))
	}
	for _, st := range ro {
		if !tools.IsReadOnly(st.Tool) {
			t.Errorf("%s in the read-only selection", st.Tool.Name)
		}
	}
	if n := len(tools.WriteToolNames()); n != 20 {
		t.Errorf("%d write tools, want 20", n)
	}
}

func TestCatalogueMarkdown(t *testing.T) {
	md, err := tools.CatalogueMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(md), "\n")
	if len(lines) != 30 {
		t.Fatalf("%d lines, want header, rule and 28 rows:\n%s", len(lines), md)
	}
	for _, l := range lines[2:] {
		if strings.Count(l, " | ") != 4 || !strings.HasPrefix(l, "| `") {
			t.Errorf("malformed row %q", l)
		}
	}
	if !strings.Contains(md, "| `list_customers` | customers | yes | List customers |") {
		t.Errorf("list_customers row missing or wrong:\n%s", md)
	}
}

func TestHandlerWithoutClient(t *testing.T) {
	_, h := tools.GetCustomer(nil)
	req := mcp.CallToolRequest{}
	req.Params.Arguments = map[string]any{"customerId": "0cuAAAAAAAAAAAAAAAAA"}
	res, err := h(t.Context(), req)
	if err != nil || res == nil || !res.IsError {
		t.Fatalf("handler without client = %v, %v; want an error result", res, err)
	}
}
