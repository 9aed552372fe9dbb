package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// benchStdioClient starts `bill-mcp serve --emulator` as a child process.
func benchStdioClient(b *testing.B) *client.Client {
	b.Helper()
	tr := transport.NewStdio(binPath, serverEnv(), "serve", "--emulator", "--log-level", "warn")
	if err := tr.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	c := client.NewClient(tr)
	b.Cleanup(func() { _ = c.Close() })
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = "2025-11-25"
	req.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
	if _, err := c.Initialize(b.Context(), req); err != nil {
		b.Fatal(err)
	}
	return c
}

func benchCall(b *testing.B, c *client.Client, name string, args map[string]any) map[string]any {
	b.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(b.Context(), req)
	if err != nil {
		b.Fatal(err)
	}
	if res.IsError {
		raw, _ := json.Marshal(res)
		b.Fatalf("%s: %s", name, raw)
	}
	var sc map[string]any
	raw, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(raw, &sc)
	return sc
}

// BenchmarkToolCallStdio: one tools/call get_customer over stdio to a
// `bill-mcp serve --emulator` child (MCP framing, validation, billapi, HTTP
// to the emulator and back). Its baseline, the same GetCustomer made directly
// through billapi, is billapi's BenchmarkRoundTrip.
func BenchmarkToolCallStdio(b *testing.B) {
	c := benchStdioClient(b)
	created := benchCall(b, c, "create_customer", map[string]any{"name": "Bench Co"})
	id := created["customer"].(map[string]any)["id"].(string)
	args := map[string]any{"customerId": id}
	b.ReportAllocs()
	for b.Loop() {
		benchCall(b, c, "get_customer", args)
	}
}

// BenchmarkColdStart: exec of `bill-mcp serve --emulator` to the answer of
// its first tools/list (process start, emulator start, server build,
// initialize handshake).
func BenchmarkColdStart(b *testing.B) {
	for b.Loop() {
		ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
		tr := transport.NewStdio(binPath, serverEnv(), "serve", "--emulator", "--log-level", "warn")
		if err := tr.Start(ctx); err != nil {
			b.Fatal(err)
		}
		c := client.NewClient(tr)
		req := mcp.InitializeRequest{}
		req.Params.ProtocolVersion = "2025-11-25"
		req.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
		if _, err := c.Initialize(ctx, req); err != nil {
			b.Fatal(err)
		}
		list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			b.Fatalf("tools/list: %v", err)
		}
		if len(list.Tools) != 28 {
			b.Fatalf("tools/list: %d tools, want 28", len(list.Tools))
		}
		b.StopTimer()
		_ = c.Close()
		cancel()
		b.StartTimer()
	}
}
