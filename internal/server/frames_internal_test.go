package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/internal/rawitems"
)

// largeN customers make a frame larger than rawitems.MinFrame.
const largeN = rawitems.MinFrame/50 + 1000

// bulkFrame is a tools/call of tool with n customers, as a client sends it.
func bulkFrame(t *testing.T, tool string, n int) []byte {
	t.Helper()
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("Frame Customer %06d", i), "email": fmt.Sprintf("f%d@frames.example", i)}
	}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 3, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": map[string]any{"customers": items}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// customersArg decodes a frame as mcp-go would and returns its customers.
func customersArg(t *testing.T, frame []byte) any {
	t.Helper()
	var f struct {
		Params struct {
			Arguments map[string]any `json:"arguments"`
		} `json:"params"`
	}
	if err := json.Unmarshal(frame, &f); err != nil {
		t.Fatalf("frame is not JSON: %v", err)
	}
	return f.Params.Arguments["customers"]
}

// TestStdioFramesKeepLargeItemsAsJSON: on stdio a large bulk call's items
// reach mcp-go as one marked string; every other line passes unchanged,
// line ends and a last line without one included.
func TestStdioFramesKeepLargeItemsAsJSON(t *testing.T) {
	small := bulkFrame(t, "bulk_create_customers", 3)
	large := bulkFrame(t, "bulk_create_customers", largeN)
	notBulk := bulkFrame(t, "list_customers", largeN)
	in := bytes.Join([][]byte{small, large, notBulk, []byte(`{"jsonrpc":"2.0","id":9,"method":"ping"}`)}, []byte("\n"))
	st := rawitems.NewStash()
	out, err := io.ReadAll(newFrameReader(bytes.NewReader(in), st))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines out of 4", len(lines))
	}
	if lines[0] != string(small) || lines[2] != string(notBulk) || lines[3] != `{"jsonrpc":"2.0","id":9,"method":"ping"}` {
		t.Errorf("a frame that needs no rewriting changed")
	}
	if len(lines[1]) > 1000 {
		t.Errorf("the large bulk call still carries its items: %d bytes", len(lines[1]))
	}
	marked, ok := st.Take(customersArg(t, []byte(lines[1])))
	if !ok {
		t.Fatalf("the large bulk call's items are not in the stash")
	}
	if _, again := st.Take(customersArg(t, []byte(lines[1]))); again {
		t.Errorf("stashed items taken twice")
	}
	raw, ok := rawitems.Items(marked)
	if !ok {
		t.Fatalf("the stashed items are not marked JSON")
	}
	if n, err := rawitems.Count(raw); err != nil || n != largeN {
		t.Errorf("kept %d items (%v), want %d", n, err, largeN)
	}
}

// TestHTTPBodiesKeepLargeItemsAsJSON: the same for streamable HTTP POSTs.
func TestHTTPBodiesKeepLargeItemsAsJSON(t *testing.T) {
	for _, tt := range []struct {
		name     string
		frame    []byte
		wantKept bool
	}{
		{"large bulk call", bulkFrame(t, "bulk_create_customers", largeN), true},
		{"small bulk call", bulkFrame(t, "bulk_create_customers", 3), false},
		{"large call of another tool", bulkFrame(t, "list_customers", largeN), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var kept bool
			h := rewriteBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = io.ReadAll(r.Body)
				if r.ContentLength != int64(len(got)) {
					t.Errorf("ContentLength %d for a body of %d", r.ContentLength, len(got))
				}
				marked, ok := rawitems.StashFrom(r.Context()).Take(customersArg(t, got))
				if _, isItems := rawitems.Items(marked); ok && !isItems {
					t.Errorf("the request's stash holds no items")
				}
				kept = ok
			}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/mcp", bytes.NewReader(tt.frame)))
			if kept != tt.wantKept {
				t.Errorf("items kept as JSON = %v, want %v", kept, tt.wantKept)
			}
			if !tt.wantKept && !bytes.Equal(got, tt.frame) {
				t.Errorf("body changed")
			}
		})
	}
}
