package rawitems

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkRewrite rewrites one 100,000-item bulk_create_customers frame
// (about 6 MB) into a stash reference, reporting the bytes it allocates.
//
//	go test -run '^$' -bench BenchmarkRewrite -benchmem ./internal/rawitems
func BenchmarkRewrite(b *testing.B) {
	items := make([]any, 100_000)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("Scale Customer %06d", i), "email": fmt.Sprintf("ap%06d@scale.example", i)}
	}
	frame, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": map[string]any{
		"name": "bulk_create_customers", "arguments": map[string]any{"customers": items}}})
	if err != nil {
		b.Fatal(err)
	}
	field := func(string) string { return "customers" }
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		st := NewStash()
		if out := Rewrite(frame, field, st); len(out) >= len(frame) {
			b.Fatal("the items were not taken out")
		}
	}
}
