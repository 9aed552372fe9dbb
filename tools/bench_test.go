package tools_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/server"
	"github.com/bill-mcp/bill-mcp/tools"
)

// benchCustomer starts an emulator, a client on it and one customer.
func benchCustomer(b *testing.B) (*billapi.Client, string) {
	b.Helper()
	hs := httptest.NewServer(emulator.New(emulator.Config{HourlyLimit: 100_000_000}))
	b.Cleanup(hs.Close)
	c := newBillClient(b, hs.URL, nil)
	cu, err := c.CreateCustomer(b.Context(), billapi.Customer{Name: billapi.String("Bench Co")})
	if err != nil {
		b.Fatal(err)
	}
	return c, cu.ID
}

// BenchmarkToolCallInProcess is a tools/call of get_customer through the
// in-process MCP client (JSON-RPC encoding, input and output validation,
// hooks, handler, billapi, HTTP to the emulator).
func BenchmarkToolCallInProcess(b *testing.B) {
	c, id := benchCustomer(b)
	s, err := server.New(server.Options{Client: c, Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	cl := connect(b, s)
	req := mcp.CallToolRequest{}
	req.Params.Name = "get_customer"
	req.Params.Arguments = map[string]any{"customerId": id}
	b.ReportAllocs()
	for b.Loop() {
		res, err := cl.CallTool(b.Context(), req)
		if err != nil || res.IsError {
			b.Fatalf("get_customer: %v %+v", err, res)
		}
	}
}

// BenchmarkDirectBillapi is the same read made directly through billapi,
// the baseline for BenchmarkToolCallInProcess.
func BenchmarkDirectBillapi(b *testing.B) {
	c, id := benchCustomer(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetCustomer(b.Context(), id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToolsListSize reports the size of the tools/list answer an
// agent's context pays for: whole, per toolset, and read-only.
func BenchmarkToolsListSize(b *testing.B) {
	size := func(sets []string, readOnly bool) float64 {
		sel := tools.Select(sets, readOnly)
		ts := make([]mcp.Tool, len(sel))
		for i, d := range sel {
			ts[i] = d.Tool()
		}
		raw, err := json.Marshal(mcp.ListToolsResult{Tools: ts})
		if err != nil {
			b.Fatal(err)
		}
		return float64(len(raw))
	}
	var all float64
	for b.Loop() {
		all = size(tools.ToolsetNames(), false)
	}
	b.ReportMetric(all, "bytes_all")
	b.ReportMetric(size(tools.ToolsetNames(), true), "bytes_read_only")
	for _, ts := range tools.ToolsetNames() {
		b.ReportMetric(size([]string{ts}, false), "bytes_"+ts)
	}
}
