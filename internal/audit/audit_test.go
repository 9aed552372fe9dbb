package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/internal/rawitems"
)

func TestChain(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	l := Open(p)
	var wg sync.WaitGroup
	for i := range 20 { // concurrent writers keep one chain
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Append(Record{Time: time.Now(), Agent: "bot", Tool: "get_customer", Decision: Allowed, Outcome: OK, DurationMS: float64(i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, err := Verify(p); err != nil || n != 20 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(p)
	lines := bytes.SplitAfter(raw, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty tail after the last newline
	swap := append([][]byte{}, lines...)
	swap[4], swap[5] = swap[5], swap[4]
	tests := []struct {
		name  string
		lines [][]byte
		line  int
	}{
		{"edited", replace(lines, 6, bytes.Replace(lines[6], []byte(`"bot"`), []byte(`"bat"`), 1)), 7},
		{"edited last", replace(lines, 19, bytes.Replace(lines[19], []byte(`"ok"`), []byte(`"failed"`), 1)), 20},
		{"removed", append(append([][]byte{}, lines[:3]...), lines[4:]...), 4},
		{"inserted", append(append(append([][]byte{}, lines[:3]...), lines[10]), lines[3:]...), 4},
		{"reordered", swap, 5},
		{"garbage", replace(lines, 0, []byte("not json\n")), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(q, bytes.Join(tt.lines, nil), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Verify(q)
			var bad *BadLineError
			if !errors.As(err, &bad) || bad.Line != tt.line || !errors.Is(err, ErrBroken) {
				t.Errorf("Verify = %v, want line %d", err, tt.line)
			}
		})
	}
}

func replace(lines [][]byte, i int, b []byte) [][]byte {
	out := append([][]byte{}, lines...)
	out[i] = b
	return out
}

func TestEnglish(t *testing.T) {
	at := time.Date(2026, 11, 30, 22, 31, 7, 0, time.UTC)
	id := "0cu01ABCDEFGHIJKLMNO"
	tests := []struct {
		r    Record
		want string
	}{
		{Record{Time: at, Agent: "sales-bot", Tool: "create_customer", Records: []Ref{{ID: id, Name: "Acme Corp"}}, Decision: Allowed, Rule: "customers: write", Outcome: OK, DurationMS: 211.6},
			`2026-11-30 22:31:07  sales-bot  created customer "Acme Corp" (` + id + `)  allowed (customers: write)  212 ms`},
		{Record{Time: at, Agent: "sales-bot", Tool: "delete_customer", Records: []Ref{{ID: id}}, Decision: Refused, Rule: "customers: write, needs full", Outcome: NotRun},
			`2026-11-30 22:31:07  sales-bot  delete customer ` + id + `  refused (customers: write, needs full)  0 ms`},
		{Record{Time: at, Agent: "janitor", Tool: "bulk_delete_customer_contacts", Count: 12, Decision: ApprovalRequired, Approval: "K7QD-M2XP", Rule: "contacts: full, confirm destructive", Outcome: Pending},
			`2026-11-30 22:31:07  janitor  delete 12 contacts  waiting for approval K7QD-M2XP (contacts: full, confirm destructive)  0 ms`},
		{Record{Time: at, Agent: "owner", Tool: "update_customer", Records: []Ref{{ID: id}}, Decision: Allowed, Rule: "owner", Outcome: Failed, Code: "BDC_1120", DurationMS: 40},
			`2026-11-30 22:31:07  owner  update customer ` + id + `  allowed (owner)  failed BDC_1120  40 ms`},
		{Record{Time: at, Agent: "bot", Tool: "list_customer_bank_accounts", Decision: Allowed, Rule: "bank_accounts: read", Outcome: OK, DurationMS: 3},
			`2026-11-30 22:31:07  bot  listed bank accounts  allowed (bank_accounts: read)  3 ms`},
	}
	for _, tt := range tests {
		if got := tt.r.English(); got != tt.want {
			t.Errorf("English:\n got %s\nwant %s", got, tt.want)
		}
	}
}

func TestTouchedTakesOnlyIdsAndNames(t *testing.T) {
	args := map[string]any{
		"customerId": "0cu01ABCDEFGHIJKLMNO", "nameOnAccount": "Jane Payer", "accountNumber": "987654321098",
		"routingNumber": "021000021", "sessionId": "0cuSESSIONSESSIONSES", "devKey": "k",
	}
	res := map[string]any{"bankAccount": map[string]any{"id": "cba01ABCDEFGHIJKLMNO", "accountNumber": "********1098", "customerId": "0cu01ABCDEFGHIJKLMNO"}}
	refs, n := Touched(args, res)
	if n != 2 || len(refs) != 2 {
		t.Fatalf("Touched = %+v (%d)", refs, n)
	}
	for _, r := range refs {
		s := r.ID + r.Name
		if strings.Contains(s, "9876") || strings.Contains(s, "0210") || strings.Contains(s, "SESSION") || strings.Contains(s, "Jane") {
			t.Errorf("Touched collected %q", s)
		}
	}
	if got := SummarizeArgs(args); strings.Contains(got, "9876") || !strings.Contains(got, "accountNumber") {
		t.Errorf("SummarizeArgs = %q", got)
	}
	bulk := map[string]any{"customers": []any{map[string]any{"name": "A"}, map[string]any{"name": "B"}}}
	if refs, n := Touched(bulk, nil); n != 2 || refs[0].Name != "A" {
		t.Errorf("bulk Touched = %+v %d", refs, n)
	}
	if got := SummarizeArgs(bulk); got != "customers[2]" {
		t.Errorf("SummarizeArgs(bulk) = %q", got)
	}
}

// TestTouchedSeesItemsKeptAsJSON: a large bulk call's items reach the
// governor as one marked JSON string (internal/rawitems); the audit names
// the same first records, counts the same total and summarizes the same
// arguments as for the decoded array, and stays linear at 100,000 items.
func TestTouchedSeesItemsKeptAsJSON(t *testing.T) {
	kinds := []struct {
		name, field string
		item        func(i int) any
		// exact: kept as JSON counts what decoded counts; otherwise the
		// items past the sample count one record each (an upper bound)
		exact bool
	}{
		{"named customers", "customers", func(i int) any {
			return map[string]any{"name": fmt.Sprintf("Customer %06d", i), "email": "x@y.example"}
		}, true},
		{"customer ids", "customerIds", func(i int) any { return fmt.Sprintf("0cu01TEST%011d", i) }, true},
		{"contacts of one customer", "contacts", func(i int) any {
			return map[string]any{"customerId": "0cu01TEST00000000001", "firstName": fmt.Sprintf("Pat %d", i)}
		}, false},
	}
	for _, kind := range kinds {
		for _, n := range []int{3, 25, 100_000} {
			t.Run(fmt.Sprintf("%s/%d", kind.name, n), func(t *testing.T) {
				items := make([]any, n)
				for i := range items {
					items[i] = kind.item(i)
				}
				raw, err := json.Marshal(items)
				if err != nil {
					t.Fatal(err)
				}
				decoded := map[string]any{kind.field: items, "importKey": "k"}
				kept := map[string]any{kind.field: rawitems.Marker + string(raw), "importKey": "k"}
				wantRefs, wantN := Touched(decoded, nil)
				gotRefs, gotN := Touched(kept, nil)
				if !slices.Equal(gotRefs, wantRefs) || gotN < wantN || kind.exact && gotN != wantN {
					t.Errorf("kept as JSON: %d %+v; decoded: %d %+v", gotN, gotRefs, wantN, wantRefs)
				}
				if kind.exact && wantN != n {
					t.Errorf("Touched counts %d, want the %d items", wantN, n)
				}
				if got, want := SummarizeArgs(kept), SummarizeArgs(decoded); got != want {
					t.Errorf("SummarizeArgs = %q, want %q", got, want)
				}
			})
		}
	}
	// with the created ids in the result, as after a bulk create
	items := make([]any, 100_000)
	ids := make([]any, len(items))
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("Customer %06d", i)}
		ids[i] = fmt.Sprintf("0cu01TEST%011d", i)
	}
	raw, _ := json.Marshal(items)
	result := map[string]any{"ids": ids}
	wantRefs, wantN := Touched(map[string]any{"customers": items}, result)
	gotRefs, gotN := Touched(map[string]any{"customers": rawitems.Marker + string(raw)}, result)
	if gotN != wantN || !slices.Equal(gotRefs, wantRefs) || wantN != len(items) {
		t.Errorf("with ids: kept as JSON %d %+v; decoded %d %+v", gotN, gotRefs, wantN, wantRefs)
	}
}
