package tools_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/journal"
	"github.com/bill-mcp/bill-mcp/internal/rawitems"
)

// TestBulkAnswerBytes: a 2,000-item import with 5 bad rows (empty names,
// which break the item schema) answers at most 4,000 bytes of text, names
// all 5 failures with index, code and hint, and creates the other 1,995.
func TestBulkAnswerBytes(t *testing.T) {
	e := newEnv(t, envOptions{})
	const n = 2000
	bad := map[int]bool{3: true, 500: true, 999: true, 1500: true, 1999: true}
	items := make([]any, n)
	for i := range items {
		name := fmt.Sprintf("Bytes Customer %04d", i)
		if bad[i] {
			name = ""
		}
		items[i] = map[string]any{"name": name, "email": fmt.Sprintf("ap%d@bytes.example", i)}
	}
	res := e.call("bulk_create_customers", map[string]any{"customers": items})
	if res.IsError {
		t.Fatalf("bulk call refused as a whole: %s", text(res))
	}
	txt := text(res)
	t.Logf("bulk_create_customers of %d items with %d bad rows: %d bytes of text (structuredContent %d bytes)", n, len(bad), len(txt), len(mustJSON(t, res.StructuredContent)))
	if len(txt) > 4000 {
		t.Errorf("answer text is %d bytes, want at most 4000", len(txt))
	}
	out := structuredMap(t, res)
	failures := checkBulk(t, out, n-len(bad), len(bad))
	var fromText map[string]any
	if err := json.Unmarshal([]byte(txt), &fromText); err != nil {
		t.Fatal(err)
	}
	textFailures := list(t, fromText, "failures")
	if len(textFailures) != len(bad) {
		t.Errorf("text lists %d failures, want %d", len(textFailures), len(bad))
	}
	for k, f := range failures {
		m := f.(map[string]any)
		i := int(m["index"].(float64))
		if !bad[i] || str(m, "code") != "INVALID_ARGUMENT" || !strings.Contains(str(m, "message"), "name") {
			t.Errorf("failure %v is not one of the bad rows with a message naming the field", m)
		}
		if k == 0 && str(m, "hint") == "" {
			t.Errorf("the first failure has no hint: %v", m)
		}
	}
	if got := e.emu.Stats().Requests; got > 40 {
		t.Errorf("%d BILL requests for 1,995 good rows", got)
	}
	// ids grow by at most ~30 bytes an item
	perItem := float64(len(mustJSON(t, out["ids"]))) / n
	t.Logf("ids: %.1f bytes per item", perItem)
	if perItem > 30 {
		t.Errorf("ids cost %.1f bytes an item, want at most 30", perItem)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBulkManyFailuresBounded: past 100 failures the answer lists the first
// 100 and a count by code, and the text stays bounded.
func TestBulkManyFailuresBounded(t *testing.T) {
	e := newEnv(t, envOptions{})
	ids := make([]any, 300)
	for i := range ids {
		ids[i] = fmt.Sprintf("0cu%017d", i) // well-formed ids no customer has
	}
	res := e.call("bulk_delete_customers", map[string]any{"customerIds": ids})
	out := structuredMap(t, res)
	checkBulk(t, out, 0, 300)
	byCode := obj(t, out, "failuresByCode")
	total := 0.0
	for _, v := range byCode {
		total += v.(float64)
	}
	if total != 300 {
		t.Errorf("failuresByCode %v counts %v, want 300", byCode, total)
	}
	hints := 0
	for _, f := range list(t, out, "failures") {
		if str(f.(map[string]any), "hint") != "" {
			hints++
		}
	}
	if hints != 1 {
		t.Errorf("%d failures repeat the same hint, want it once", hints)
	}
	t.Logf("300 failures: %d bytes of text", len(text(res)))
	if len(text(res)) > 25_000 {
		t.Errorf("answer text is %d bytes", len(text(res)))
	}
}

// TestBulkSameCallTwiceCreatesNothingTwice: the same contacts import
// again (same content, so the same derived importKey) answers the whole
// outcome from the journal and sends nothing; a new importKey imports anew.
func TestBulkSameCallTwiceCreatesNothingTwice(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.seed("Journal Co")
	contacts := make([]any, 150)
	for i := range contacts {
		contacts[i] = map[string]any{"customerId": s.customerID, "firstName": "Pat", "lastName": "Same", "email": "pat@journal.example"}
	}
	first := e.ok("bulk_create_customer_contacts", map[string]any{"contacts": contacts})
	checkBulk(t, first, 150, 0)
	before := e.emu.Stats().Requests
	again := e.ok("bulk_create_customer_contacts", map[string]any{"contacts": contacts})
	checkBulk(t, again, 150, 0)
	if sent := e.emu.Stats().Requests - before; sent != 0 {
		t.Errorf("the same call again made %d BILL requests", sent)
	}
	if obj(t, again, "summary")["resumed"] != float64(150) || fmt.Sprint(again["ids"]) != fmt.Sprint(first["ids"]) {
		t.Errorf("second answer %v does not give the first call's ids as resumed", obj(t, again, "summary"))
	}
	if n := countContacts(t, e, s.customerID); n != 151 {
		t.Errorf("%d contacts at the customer, want 151", n)
	}
	third := e.ok("bulk_create_customer_contacts", map[string]any{"contacts": contacts, "importKey": "second-batch"})
	checkBulk(t, third, 150, 0)
	if n := countContacts(t, e, s.customerID); n != 301 {
		t.Errorf("%d contacts after a new importKey, want 301", n)
	}
	// the key now belongs to that content
	res := e.call("bulk_create_customer_contacts", map[string]any{"contacts": contacts[:10], "importKey": "second-batch"})
	if !res.IsError || !strings.HasPrefix(text(res), "INVALID_ARGUMENT: ") || !strings.Contains(text(res), "importKey") {
		t.Errorf("reused importKey with other content: %s", text(res))
	}
}

func countContacts(t *testing.T, e *env, customerID string) int {
	t.Helper()
	n := 0
	for _, err := range e.bill.AllCustomerContacts(t.Context(), billapi.ListParams{Filters: []billapi.Filter{{Field: "customerId", Op: billapi.OpEq, Value: customerID}}}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// TestBulkProgressSaysFailed: every notification counts done and failed.
func TestBulkProgressSaysFailed(t *testing.T) {
	e := newEnv(t, envOptions{emu: emulator.Config{}})
	items := make([]any, 150)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("Progress Failing %03d", i)}
	}
	items[120] = map[string]any{"name": ""}
	res, err := e.callErr("bulk_create_customers", map[string]any{"customers": items}, "tok-f")
	if err != nil || res.IsError {
		t.Fatalf("%v %s", err, text(res))
	}
	got := e.waitNotifications(2)
	if len(got) != 2 {
		t.Fatalf("%d notifications, want 2", len(got))
	}
	// chunks run concurrently: the counts rise, the last says all
	if msg := got[1].Params.AdditionalFields["message"]; msg != "150 of 150 items done: 149 succeeded, 1 failed" {
		t.Errorf("last notification says %q", msg)
	}
	if msg, _ := got[0].Params.AdditionalFields["message"].(string); !strings.HasSuffix(msg, "1 failed") {
		t.Errorf("first notification says %q, want the refused item counted", msg)
	}
}

// TestBulkResumesCustomersInDoubt: an earlier call with importKey "crash"
// journaled 100 customers as done and then died while 20 more were applied
// at BILL but never recorded. The same call again answers all 250 (the 120
// made before as resumed), creates the other 130, and no name twice.
func TestBulkResumesCustomersInDoubt(t *testing.T) {
	store := journal.NewMemory("test")
	e := newEnv(t, envOptions{journal: store})
	const tool, n = "bulk_create_customers", 250
	items := make([]any, n)
	objs := make([]billapi.Customer, 120)
	for i := range items {
		name := fmt.Sprintf("Resume Customer %03d", i)
		items[i] = map[string]any{"name": name}
		if i < len(objs) {
			objs[i] = billapi.Customer{Name: billapi.String(name)}
		}
	}
	h := journal.NewDigest(tool)
	if err := json.NewEncoder(h).Encode(items); err != nil {
		t.Fatal(err)
	}
	j, err := store.Open(t.Context(), tool, "crash", h.Sum(), n)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	if _, err := j.Begin(all); err != nil {
		t.Fatal(err)
	}
	// the crashed process: another client, whose ids this server never saw
	made, err := newBillClient(t, e.url, nil).BulkCreateCustomers(t.Context(), objs, billapi.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = made[i].Object.ID
	}
	if err := j.Settle(all[:100], ids, nil); err != nil {
		t.Fatal(err)
	}
	j.Close()

	out := e.ok(tool, map[string]any{"customers": items, "importKey": "crash"})
	checkBulk(t, out, n, 0)
	if r := obj(t, out, "summary")["resumed"]; r != float64(120) {
		t.Errorf("resumed = %v, want 120", r)
	}
	got := list(t, out, "ids")
	for i := range 120 {
		if got[i] != made[i].Object.ID {
			t.Fatalf("ids[%d] = %v, want the customer made before the crash %s", i, got[i], made[i].Object.ID)
		}
	}
	if c := e.emu.Stats().Objects["Customer"]; c != n {
		t.Errorf("%d customers at BILL, want %d", c, n)
	}
	if dup := e.emu.Stats().Errors["BDC_1119"]; dup != 0 {
		t.Errorf("%d duplicate-name refusals: items made before the crash were sent again", dup)
	}
}

// TestBulkBadItemsFailAlone: an item of the wrong type (a string where an
// object belongs, a number where an id belongs) fails as that item, with
// its index; the call is not refused as a whole and the others are done.
func TestBulkBadItemsFailAlone(t *testing.T) {
	e := newEnv(t, envOptions{})
	out := e.ok("bulk_create_customers", map[string]any{"customers": []any{
		map[string]any{"name": "Alone One"}, "Alone Two", map[string]any{"name": "Alone Three"}, map[string]any{"name": "Alone Four", "bogus": 1},
	}})
	failures := checkBulk(t, out, 2, 2)
	ids := list(t, out, "ids")
	for k, want := range []string{"customers[1] must be an object", "customers[3]"} {
		m := failures[k].(map[string]any)
		if !strings.Contains(str(m, "message"), want) || str(m, "code") != "INVALID_ARGUMENT" {
			t.Errorf("failure %d = %v, want %q", k, m, want)
		}
	}
	del := e.ok("bulk_delete_customers", map[string]any{"customerIds": []any{ids[0], 42, ids[2]}})
	failures = checkBulk(t, del, 2, 1)
	if m := failures[0].(map[string]any); m["index"] != float64(1) || !strings.Contains(str(m, "message"), "customerIds[1] must be a string id") {
		t.Errorf("failure = %v", m)
	}
}

// TestBulkItemsKeptAsJSON: a large call's items reach the tool as one
// marked JSON string (the transport keeps them out of mcp-go's decoding,
// internal/rawitems). They give the same outcome as a decoded array, bad
// items fail alone, and the same items sent the other way resume the same
// journal: nothing is created twice.
func TestBulkItemsKeptAsJSON(t *testing.T) {
	e := newEnv(t, envOptions{})
	items := make([]any, 250)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("Kept As JSON %03d", i), "email": fmt.Sprintf("k%d@json.example", i)}
	}
	items[7] = "not an object"
	raw, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	first := e.ok("bulk_create_customers", map[string]any{"customers": rawitems.Marker + string(raw)})
	failures := checkBulk(t, first, 249, 1)
	if m := failures[0].(map[string]any); m["index"] != float64(7) || !strings.Contains(str(m, "message"), "customers[7] must be an object") {
		t.Errorf("failure = %v", m)
	}
	// every item kept as JSON became its own customer, field for field
	atBill := map[string]billapi.Customer{}
	for c, err := range e.bill.AllCustomers(t.Context(), billapi.ListParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		atBill[c.ID] = c
	}
	ids := list(t, first, "ids")
	if len(ids) != len(items) {
		t.Fatalf("%d ids for %d items", len(ids), len(items))
	}
	for i, id := range ids {
		if i == 7 {
			continue
		}
		c, ok := atBill[fmt.Sprint(id)]
		want := items[i].(map[string]any)
		if !ok || billapi.Deref(c.Name) != want["name"] || billapi.Deref(c.Email) != want["email"] {
			t.Fatalf("ids[%d] = %v is %+v at BILL, want %v", i, id, c, want)
		}
	}
	created := e.emu.Stats().Objects["Customer"]
	again := e.ok("bulk_create_customers", map[string]any{"customers": items})
	checkBulk(t, again, 249, 1)
	if sum := obj(t, again, "summary"); sum["resumed"] != float64(249) {
		t.Errorf("the decoded array did not resume the journal of the same items kept as JSON: %v", sum)
	}
	if got := e.emu.Stats().Objects["Customer"]; got != created {
		t.Errorf("%d customers after the second call, %d after the first", got, created)
	}
	if str(first, "importKey") != str(again, "importKey") {
		t.Errorf("derived keys differ: %q, %q", str(first, "importKey"), str(again, "importKey"))
	}
	for _, bad := range []string{rawitems.Marker + `{"name": "x"}`, rawitems.Marker + `[{"name": "x"}`, rawitems.Marker + `[]`, rawitems.Marker + `[{"name": tru}]`} {
		res := e.call("bulk_create_customers", map[string]any{"customers": bad})
		if !res.IsError || !strings.HasPrefix(text(res), "INVALID_ARGUMENT: ") {
			t.Errorf("%q accepted: %s", bad, text(res))
		}
	}
}
