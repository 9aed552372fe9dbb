package rawitems

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want int
		bad  bool
	}{
		{raw: `[]`, want: 0},
		{raw: ` [ ] `, want: 0},
		{raw: `[1]`, want: 1},
		{raw: `["a,b", {"x": [1, 2, {"y": "]"}]}, "q\"uo,te", null]`, want: 4},
		{raw: "[\n {\"a\": \"\\\\\"}, {}\n]\n", want: 2},
		{raw: `{"a": 1}`, bad: true},
		{raw: `[1, 2`, bad: true},
		{raw: `[1] [2]`, bad: true},
		{raw: ``, bad: true},
	} {
		t.Run(tt.raw, func(t *testing.T) {
			n, err := Count(tt.raw)
			if tt.bad {
				if !errors.Is(err, ErrNotArray) {
					t.Fatalf("Count = %d, %v; want ErrNotArray", n, err)
				}
				return
			}
			if err != nil || n != tt.want {
				t.Fatalf("Count = %d, %v; want %d", n, err, tt.want)
			}
			var arr []any
			if err := json.Unmarshal([]byte(tt.raw), &arr); err != nil || len(arr) != n {
				t.Fatalf("encoding/json sees %d elements (%v)", len(arr), err)
			}
		})
	}
}

// TestRewriteKeepsTheCall: a large bulk frame comes out with the items as
// one marked string, everything else as it was; the decoder gives back
// exactly the values encoding/json would have; other frames pass untouched.
func TestRewriteKeepsTheCall(t *testing.T) {
	n := MinFrame/60 + 1000 // a frame over MinFrame
	items := make([]any, 0, n)
	for i := range n {
		items = append(items, map[string]any{"name": fmt.Sprintf("Rewrite \"%d\" <&>", i), "n": float64(i), "nested": map[string]any{"ok": true}})
	}
	call := map[string]any{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": map[string]any{
		"arguments": map[string]any{"importKey": "k1", "customers": items},
		"name":      "bulk_create_customers", "_meta": map[string]any{"progressToken": "p"},
	}}
	frame, err := json.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	field := func(tool string) string {
		if tool == "bulk_create_customers" {
			return "customers"
		}
		return ""
	}
	out := Rewrite(frame, field, nil)
	if len(out) < MinFrame/2 || string(out) == string(frame) {
		t.Fatalf("frame of %d bytes not rewritten", len(frame))
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	params := got["params"].(map[string]any)
	args := params["arguments"].(map[string]any)
	if got["id"] != float64(7) || params["name"] != "bulk_create_customers" || args["importKey"] != "k1" || params["_meta"].(map[string]any)["progressToken"] != "p" {
		t.Fatalf("the rest of the call changed: %v", params)
	}
	raw, ok := Items(args["customers"])
	if !ok {
		t.Fatalf("customers is %T, not a marked string", args["customers"])
	}
	if n, err := Count(raw); err != nil || n != len(items) {
		t.Fatalf("Count = %d, %v", n, err)
	}
	d, err := NewDecoder(raw)
	if err != nil {
		t.Fatal(err)
	}
	for want := 0; ; want++ {
		i, v, err := d.Next()
		if errors.Is(err, io.EOF) {
			if want != len(items) {
				t.Fatalf("decoded %d items, want %d", want, len(items))
			}
			break
		}
		if err != nil || i != want || !reflect.DeepEqual(v, items[i]) {
			t.Fatalf("item %d = %v (%v), want %v", i, v, err, items[want])
		}
	}

	for name, f := range map[string][]byte{
		"small":         []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"bulk_create_customers","arguments":{"customers":[{"name":"a"}]}}}`),
		"other tool":    []byte(strings.Replace(string(frame), "bulk_create_customers", "list_customers", 1)),
		"not json":      append([]byte("{"), frame...),
		"other method":  []byte(strings.Replace(string(frame), "tools/call", "tools/list", 1)),
		"not an array":  []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"bulk_create_customers","arguments":{"customers":"` + strings.Repeat("x", MinFrame) + `"}}}`),
		"no such field": []byte(strings.Replace(string(frame), `"customers"`, `"clients"`, 1)),
	} {
		if got := Rewrite(f, field, nil); string(got) != string(f) {
			t.Errorf("%s: frame rewritten", name)
		}
	}
}

// TestStash: stashed items are taken once, by their reference only; what
// no tool took goes after stashTTL, and the oldest go first past the byte
// bound, never the items just put.
func TestStash(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	st := NewStash()
	st.now = func() time.Time { return now }
	a := st.put(Marker + "[1]")
	if !strings.HasPrefix(a, Ref) || len(a) != len(Ref)+32 {
		t.Fatalf("reference %q", a)
	}
	for _, v := range []any{"not a reference", Ref + "0123456789abcdef0123456789abcdef", 42, nil} {
		if _, ok := st.Take(v); ok {
			t.Errorf("Take(%v) took something", v)
		}
	}
	if got, ok := st.Take(a); !ok || got != Marker+"[1]" {
		t.Fatalf("Take = %q, %v", got, ok)
	}
	if _, ok := st.Take(a); ok {
		t.Errorf("taken twice")
	}

	old := st.put(Marker + "[2]")
	now = now.Add(stashTTL)
	fresh := st.put(Marker + "[3]")
	if _, ok := st.Take(old); ok {
		t.Errorf("items no tool took for %v are still held", stashTTL)
	}
	st.max = 2 * len(Marker+"[4]")
	now = now.Add(time.Second)
	older := st.put(Marker + "[4]") // fresh and older fill the bound
	now = now.Add(time.Second)
	newest := st.put(Marker + "[5]")
	if _, ok := st.Take(fresh); ok {
		t.Errorf("the oldest items outlived the byte bound")
	}
	for _, r := range []string{older, newest} {
		if _, ok := st.Take(r); !ok {
			t.Errorf("items within the bound were dropped")
		}
	}
	if st.bytes != 0 || len(st.held) != 0 {
		t.Errorf("an empty stash counts %d bytes, %d entries", st.bytes, len(st.held))
	}
	var none *Stash
	if _, ok := none.Take(a); ok {
		t.Errorf("a nil stash took something")
	}
}
