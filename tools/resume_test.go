package tools_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/journal"
)

// interrupt is an emulator middleware that breaks one tool call part-way:
// the n-th request (1-based) whose path ends in path is either applied and
// its answer lost, the tool call's context canceled meanwhile (crash: as
// when the server dies while a write is on the wire), or refused by BILL
// with BDC_1322 before anything is applied (refuse). Other requests pass.
type interrupt struct {
	path   string
	n      int
	refuse bool

	emu    *emulator.Emulator
	mu     sync.Mutex
	seen   int
	cancel context.CancelFunc
}

func (x *interrupt) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x.mu.Lock()
		hit := strings.HasSuffix(r.URL.Path, "/"+x.path+".json")
		if hit {
			x.seen++
			hit = x.seen == x.n
		}
		x.mu.Unlock()
		switch {
		case !hit:
			next.ServeHTTP(w, r)
		case x.refuse:
			x.emu.SetFaults(emulator.FaultSpec{P: 1, Kinds: []emulator.FaultKind{emulator.FaultConcurrency}})
			next.ServeHTTP(w, r)
			x.emu.SetFaults(emulator.FaultSpec{})
		default:
			next.ServeHTTP(httptest.NewRecorder(), r) // applied; the answer goes nowhere
			x.cancel()
			select { // the caller gives up on the request
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
	})
}

// newInterruptedEnv is an env whose emulator x interrupts, sharing a
// journal store between calls as one server process does.
func newInterruptedEnv(t *testing.T, x *interrupt) *env {
	e := newEnv(t, envOptions{journal: journal.NewMemory("test"), wrap: x.wrap})
	x.emu = e.emu
	return e
}

// interrupted makes the call x breaks. Its answer is whatever a broken
// call answers; it is not what the test looks at.
func (e *env) interrupted(x *interrupt, name string, args map[string]any) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.t.Context())
	defer cancel()
	x.cancel = cancel
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := e.client.CallTool(ctx, req)
	x.mu.Lock()
	seen := x.seen
	x.mu.Unlock()
	if seen < x.n {
		e.t.Fatalf("the interrupted call made %d requests to %s, want at least %d", seen, x.path, x.n)
	}
	if err != nil {
		e.t.Logf("the interrupted call: %v", err)
	} else {
		e.t.Logf("the interrupted call answered: %.300s", text(res))
	}
}

// objects is how many records of each entity the emulator holds.
func objects(e *env) map[string]int { return maps.Clone(e.emu.Stats().Objects) }

func onboardArgs() map[string]any {
	return map[string]any{
		"customer": map[string]any{"name": "Resume Corp", "email": "ap@resume.example", "accNumber": "RES-1"},
		"contacts": []any{
			map[string]any{"firstName": "Olga", "email": "ops@resume.example"},
			map[string]any{"firstName": "Bill", "email": "billing@resume.example"},
		},
		"bankAccount": map[string]any{"nameOnAccount": "Resume Corp", "routingNumber": "021000021", "accountNumber": "9876543210", "agreedWithTOS": true},
	}
}

// TestOnboardResumes: an onboarding broken at each write, by a crash (the
// write applied, its answer lost) or by BILL refusing it, then made again
// with the same content (so the same derived importKey): the second call
// completes it, creates nothing twice, and answers every part with its
// first action (created); parts done before the break come from the
// journal. A third call, the job being finished, is a new ensure that
// finds every part in place.
func TestOnboardResumes(t *testing.T) {
	tests := []struct {
		name    string
		x       *interrupt
		resumed int // parts the second call takes from the journal
	}{
		{"customer create lost", &interrupt{path: "Crud/Create/Customer", n: 1}, 0},
		{"contacts create lost", &interrupt{path: "Bulk/Crud/Create/CustomerContact", n: 1}, 1},
		{"bank account create lost", &interrupt{path: "Crud/Create/CustomerBankAccount", n: 1}, 3},
		{"bank account refused", &interrupt{path: "Crud/Create/CustomerBankAccount", n: 1, refuse: true}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newInterruptedEnv(t, tt.x)
			args := onboardArgs()
			e.interrupted(tt.x, "onboard_customer", args)

			out := e.ok("onboard_customer", args)
			if out["complete"] != true {
				t.Fatalf("second call: %v", out)
			}
			resumed, _ := out["resumed"].(float64)
			if int(resumed) != tt.resumed {
				t.Errorf("resumed = %v, want %d", out["resumed"], tt.resumed)
			}
			steps := append([]any{out["customer"]}, list(t, out, "contacts")...)
			steps = append(steps, out["bankAccount"])
			for k, s := range steps {
				if m := s.(map[string]any); str(m, "action") != "created" || str(m, "id") == "" {
					t.Errorf("part %d = %v, want created with an id", k, m)
				}
			}
			want := map[string]int{"Customer": 1, "CustomerContact": 2, "CustomerBankAccount": 1}
			if got := objects(e); !maps.Equal(got, want) {
				t.Errorf("records at BILL = %v, want %v", got, want)
			}
			customerID := str(obj(t, out, "customer"), "id")
			if got := contactIDs(t, e, customerID); !slices.Equal(got, []string{str(steps[1].(map[string]any), "id"), str(steps[2].(map[string]any), "id")}) {
				t.Errorf("the customer's contacts are %v, the answer names %v", got, steps[1:3])
			}

			// the second call finished the job: a third is a new ensure
			// that finds every part in place and makes nothing
			before := e.emu.Stats()
			again := e.ok("onboard_customer", args)
			if got := e.emu.Stats().Objects; fmt.Sprint(got) != fmt.Sprint(before.Objects) {
				t.Errorf("a third call changed the records at BILL: %v, was %v", got, before.Objects)
			}
			if again["resumed"] != nil || again["complete"] != true || fmt.Sprint(parts(again, "")) != fmt.Sprint(parts(out, "reused")) {
				t.Errorf("third call = %v, want every part of %v reused", again, out)
			}
		})
	}
}

// parts lists an onboarding answer's parts as "action id", with action
// in place of each part's own when it is not "".
func parts(out map[string]any, action string) []string {
	var ps []string
	add := func(step any) {
		if m, ok := step.(map[string]any); ok {
			ps = append(ps, cmp.Or(action, str(m, "action"))+" "+str(m, "id"))
		}
	}
	add(out["customer"])
	if cs, ok := out["contacts"].([]any); ok {
		for _, c := range cs {
			add(c)
		}
	}
	add(out["bankAccount"])
	return ps
}

// contactIDs are the ids of a customer's contacts, in creation order.
func contactIDs(t *testing.T, e *env, customerID string) []string {
	t.Helper()
	var ids []string
	for c, err := range e.bill.AllCustomerContacts(t.Context(), billapi.ListParams{Filters: []billapi.Filter{{Field: "customerId", Op: billapi.OpEq, Value: customerID}}}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	return ids
}

// syncRows are 300 upsert rows over 100 existing customers (made here):
// 200 to create, 50 to update (odd rows among the existing get an email),
// 50 unchanged.
func syncRows(t *testing.T, e *env) []any {
	t.Helper()
	var existing []any
	for i := range 100 {
		existing = append(existing, map[string]any{"name": fmt.Sprintf("Sync %03d", i), "accNumber": fmt.Sprintf("S-%03d", i)})
	}
	e.ok("bulk_create_customers", map[string]any{"customers": existing})
	rows := make([]any, 300)
	for i := range rows {
		r := map[string]any{"name": fmt.Sprintf("Sync %03d", i), "accNumber": fmt.Sprintf("S-%03d", i)}
		if i%2 == 1 {
			r["email"] = fmt.Sprintf("ap%d@sync.example", i)
		}
		rows[i] = r
	}
	return rows
}

// TestUpsertResumes: an upsert broken part-way, by a crash (a bulk
// chunk applied, its answer lost) or by BILL refusing a chunk, then made
// again with the same content: the second call creates nothing twice, and
// its summary counts what an unbroken run would have (200 created, 50
// updated, 50 unchanged), rows done before the break taken from the
// journal with their first action; every row's id is its customer's. A
// third call, the job being finished, is a new sync that changes nothing.
func TestUpsertResumes(t *testing.T) {
	tests := []struct {
		name           string
		x              *interrupt
		minRes, maxRes int // rows the second call takes from the journal
	}{
		// chunks of creates may run at once: the first chunk's answer may
		// be cut by the crash too
		{"second create chunk lost", &interrupt{path: "Bulk/Crud/Create/Customer", n: 2}, 50, 150},
		// the creates are done before the updates start
		{"update chunk lost", &interrupt{path: "Bulk/Crud/Update/Customer", n: 1}, 250, 250},
		{"update chunk refused", &interrupt{path: "Bulk/Crud/Update/Customer", n: 1, refuse: true}, 250, 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newInterruptedEnv(t, tt.x)
			args := map[string]any{"matchOn": "accNumber", "customers": syncRows(t, e)}
			// syncRows' own bulk create passed x: count the upsert's calls only
			tt.x.mu.Lock()
			tt.x.seen = 0
			tt.x.mu.Unlock()
			e.interrupted(tt.x, "upsert_customers", args)

			out := e.ok("upsert_customers", args)
			sum := obj(t, out, "summary")
			if sum["created"] != float64(200) || sum["updated"] != float64(50) || sum["unchanged"] != float64(50) || sum["failed"] != float64(0) {
				t.Errorf("second call's summary %v, want 200 created, 50 updated, 50 unchanged", sum)
			}
			if r, _ := sum["resumed"].(float64); int(r) < tt.minRes || int(r) > tt.maxRes {
				t.Errorf("resumed = %v, want %d to %d", sum["resumed"], tt.minRes, tt.maxRes)
			}
			if n := e.emu.Stats().Objects["Customer"]; n != 300 {
				t.Errorf("%d customers at BILL, want 300", n)
			}
			byAcc := map[string]string{}
			for c, err := range e.bill.AllCustomers(t.Context(), billapi.ListParams{}) {
				if err != nil {
					t.Fatal(err)
				}
				byAcc[billapi.Deref(c.AccNumber)] = c.ID
			}
			for i, id := range list(t, out, "ids") {
				if want := byAcc[fmt.Sprintf("S-%03d", i)]; id != want {
					t.Fatalf("ids[%d] = %v, want the id of customer S-%03d, %s", i, id, i, want)
				}
			}
			for i := 1; i < 100; i += 2 {
				got := obj(t, e.ok("get_customer", map[string]any{"customerId": byAcc[fmt.Sprintf("S-%03d", i)]}), "customer")
				if str(got, "email") != fmt.Sprintf("ap%d@sync.example", i) {
					t.Fatalf("customer S-%03d was not updated: %v", i, got)
				}
			}

			// the second call finished the job: a third is a new sync of
			// the same rows against BILL, which finds nothing to change
			before := e.emu.Stats()
			again := e.ok("upsert_customers", args)
			after := e.emu.Stats()
			if sent := after.Requests - before.Requests - (after.Logins - before.Logins); sent > 1 {
				t.Errorf("a third call made %d BILL requests, want one refresh", sent)
			}
			wantSum := map[string]any{"total": 300.0, "created": 0.0, "updated": 0.0, "unchanged": 300.0, "failed": 0.0}
			if s := obj(t, again, "summary"); fmt.Sprint(s) != fmt.Sprint(wantSum) || fmt.Sprint(again["ids"]) != fmt.Sprint(out["ids"]) {
				t.Errorf("third call's summary %v, want %v and the same ids", s, wantSum)
			}
		})
	}
}

// TestResumableImportKeys: for both multi-step tools, an importKey used
// for one request refuses other content (for upsert, matchOn counts) with
// INVALID_ARGUMENT; without an importKey the key is derived from the
// content, so other content is a new job, and the same content is the same
// job: once it finished, a new ensure against BILL that finds every part in
// place (an interrupted one resumes: TestOnboardResumes, TestUpsertResumes).
func TestResumableImportKeys(t *testing.T) {
	otherContact := onboardArgs()
	otherContact["contacts"] = []any{map[string]any{"firstName": "Olga", "email": "olga@resume.example"}}
	rows := []any{map[string]any{"name": "Key Row", "accNumber": "K-1"}}
	tests := []struct {
		tool        string
		first, next map[string]any // next differs from first
	}{
		{"onboard_customer", onboardArgs(), otherContact},
		{"upsert_customers", map[string]any{"matchOn": "accNumber", "customers": rows}, map[string]any{"matchOn": "name", "customers": rows}},
	}
	with := func(m map[string]any, key string) map[string]any {
		m = maps.Clone(m)
		m["importKey"] = key
		return m
	}
	resumed := func(out map[string]any) any {
		if s, ok := out["summary"].(map[string]any); ok {
			return s["resumed"]
		}
		return out["resumed"]
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			e := newEnv(t, envOptions{journal: journal.NewMemory("test")})
			e.ok(tt.tool, with(tt.first, "job-1"))
			res := e.call(tt.tool, with(tt.next, "job-1"))
			if !res.IsError || !strings.HasPrefix(text(res), "INVALID_ARGUMENT: ") || !strings.Contains(text(res), `importKey "job-1" belongs to a different request`) {
				t.Errorf("job-1 with other content answered %s", text(res))
			}
			// derived keys: the same content resumes, other content is new
			if r := resumed(e.ok(tt.tool, tt.first)); r != nil {
				t.Errorf("first call without a key: resumed %v, want a new job", r)
			}
			before := e.emu.Stats().Objects["Customer"]
			if r := resumed(e.ok(tt.tool, tt.first)); r != nil {
				t.Errorf("the same content again, the first call finished: resumed %v, want a new check against BILL", r)
			}
			if after := e.emu.Stats().Objects["Customer"]; after != before {
				t.Errorf("the same content again made %d customers", after-before)
			}
			if r := resumed(e.ok(tt.tool, tt.next)); r != nil {
				t.Errorf("other content without a key: resumed %v, want a new job", r)
			}
		})
	}
}

// TestUpsertAnswerBounded: the text of a 2,000-row upsert stays small,
// leaving the ids to structuredContent, which has every one; 50 rows'
// text still lists them.
func TestUpsertAnswerBounded(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		rows      int
		textHasID bool
	}{
		{2000, false},
		{50, true},
	}
	for _, tt := range tests {
		rows := make([]any, tt.rows)
		for i := range rows {
			rows[i] = map[string]any{"name": fmt.Sprintf("Bounded %d-%04d", tt.rows, i), "accNumber": fmt.Sprintf("B-%d-%04d", tt.rows, i)}
		}
		res := e.call("upsert_customers", map[string]any{"matchOn": "accNumber", "customers": rows})
		if res.IsError {
			t.Fatalf("%d rows: %s", tt.rows, text(res))
		}
		out := structuredMap(t, res)
		ids := list(t, out, "ids")
		if len(ids) != tt.rows || slices.Contains(ids, any("")) {
			t.Fatalf("%d rows: structuredContent has %d ids, some empty", tt.rows, len(ids))
		}
		txt := text(res)
		t.Logf("%d rows: %d bytes of text", tt.rows, len(txt))
		if strings.Contains(txt, ids[0].(string)) != tt.textHasID {
			t.Errorf("%d rows: text names ids: %v, want %v", tt.rows, !tt.textHasID, tt.textHasID)
		}
		if !tt.textHasID && (len(txt) > 1000 || !strings.Contains(txt, "structuredContent.ids")) {
			t.Errorf("%d rows: text of %d bytes, want at most 1000 and a note on where the ids are: %.300s", tt.rows, len(txt), txt)
		}
		if sum := obj(t, out, "summary"); sum["created"] != float64(tt.rows) {
			t.Errorf("%d rows: summary %v", tt.rows, sum)
		}
	}
}
