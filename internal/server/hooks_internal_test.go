package server

import (
	"context"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/tools"
)

func TestLeadingCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"BDC_1120: No data. Next: x", "BDC_1120"},
		{"INVALID_ARGUMENT: bad. Next: y", "INVALID_ARGUMENT"},
		{"input schema validation failed: /x", ""},
		{"panic recovered in x: boom", ""},
		{"", ""},
		{": nothing", ""},
	}
	for _, tt := range tests {
		if got := leadingCode(tt.in); got != tt.want {
			t.Errorf("leadingCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPanickingHandlerBecomesErrorResult(t *testing.T) {
	var logs strings.Builder
	s, err := New(Options{Version: "test", Toolsets: []string{tools.ToolsetBankAccounts}, Logger: zerolog.New(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	boom := mcp.NewToolWithRawSchema("boom", "panics", []byte(`{"type":"object","properties":{}}`))
	s.AddTool(boom, func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		panic("secret-looking panic value 1234567890")
	})
	c, err := client.NewInProcessClientWithOptions(s, client.WithProtocolVersion("2025-11-25"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-11-25"
	if _, err := c.Initialize(t.Context(), init); err != nil {
		t.Fatal(err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "boom"
	res, err := c.CallTool(t.Context(), req)
	if err != nil {
		t.Fatalf("panic reached the client as a protocol error: %v", err)
	}
	text := ""
	if tc, ok := mcp.AsTextContent(res.Content[0]); ok {
		text = tc.Text
	}
	if !res.IsError || !strings.HasPrefix(text, tools.CodeInternal+": ") || strings.Contains(text, "secret-looking") {
		t.Errorf("result = %+v", res)
	}
	if strings.Contains(logs.String(), "secret-looking") || !strings.Contains(logs.String(), `"outcome":"error"`) {
		t.Errorf("log = %s", logs.String())
	}
}
