//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// BenchmarkBulk100kCustomers imports 100,000 customers in one
// bulk_create_customers call through the real binary over stdio (vault
// profile with an identity file, so the journal is sealed on disk) and
// reports the server's peak resident memory (peakRSSMB) against the
// request's size, and the answer's size (text content and whole frame).
//
//	go test -run '^$' -bench BenchmarkBulk100kCustomers -benchtime 1x ./cmd/bill-mcp
func BenchmarkBulk100kCustomers(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		id := emulator.DemoIdentity()
		emu := startRecordingEmulator(b, emulator.Config{Identity: id, HourlyLimit: 1_000_000})
		dir := b.TempDir()
		env := serverEnv("BILL_MCP_VAULT_DIR="+dir+"/v", "BILL_MCP_VAULT_IDENTITY_FILE="+dir+"/vault.key")
		demoVault(b, env)

		items := make([]any, n)
		for i := range items {
			items[i] = map[string]any{"name": fmt.Sprintf("Scale Customer %06d", i), "email": fmt.Sprintf("ap%06d@scale.example", i)}
		}
		req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": map[string]any{
			"name": "bulk_create_customers", "arguments": map[string]any{"customers": items}, "_meta": map[string]any{"progressToken": "big"}}})
		items = nil

		srv := startRawServer(b, env, "--profile", "acme", "--base-url", emu.URL)
		notes := 0
		start := time.Now()
		srv.sendLine(req)
		srv.until(func(m map[string]any) bool {
			if m["method"] == "notifications/progress" {
				notes++
			}
			return m["id"] == float64(2)
		})
		elapsed := time.Since(start)
		peakMB := peakRSSMB(b, srv.cmd.Process.Pid)
		answer := srv.last
		srv.stop()

		var frame struct {
			Result struct {
				IsError bool `json:"isError"`
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
				Structured struct {
					Summary map[string]int `json:"summary"`
				} `json:"structuredContent"`
			} `json:"result"`
		}
		if err := json.Unmarshal(answer, &frame); err != nil || frame.Result.IsError {
			b.Fatalf("answer: %v %.500s", err, answer)
		}
		sum := frame.Result.Structured.Summary
		if sum["total"] != n || sum["succeeded"] != n {
			b.Fatalf("summary %v", sum)
		}
		if got := emu.Stats().Objects["Customer"]; got != n {
			b.Fatalf("%d customers at BILL, want %d", got, n)
		}
		reqMB := float64(len(req)) / (1 << 20)
		b.ReportMetric(elapsed.Seconds(), "import-s")
		b.ReportMetric(reqMB, "request-MB")
		b.ReportMetric(peakMB, "server-peak-MB")
		b.ReportMetric(peakMB/reqMB, "peak/request")
		b.ReportMetric(float64(len(frame.Result.Content[0].Text)), "text-bytes")
		b.ReportMetric(float64(len(answer))/(1<<20), "frame-MB")
		b.ReportMetric(float64(notes), "progress-notes")
	}
	b.ReportMetric(0, "ns/op")
}
