package tools

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/index"
	"github.com/bill-mcp/bill-mcp/internal/journal"
)

// maxListedFailures is how many failures a bulk-style answer lists one by
// one; past it, failures are counted by code.
const maxListedFailures = 100

// Match keys of upsert_customers.
const (
	matchAccNumber = "accNumber"
	matchName      = "name"
)

// upsertCustomersArgs are upsert_customers' arguments; each row is
// create_customer's arguments, checked against its schema (schemas/upsert_customers.item.json).
type upsertCustomersArgs struct {
	MatchOn   string           `json:"matchOn" jsonschema:"required,enum=accNumber,enum=name" jsonschema_description:"Compared case-insensitively."`
	Customers []map[string]any `json:"customers" jsonschema:"required,minItems=1" jsonschema_description:"Each: create_customer's arguments."`
	ImportKey string           `json:"importKey,omitempty" jsonschema:"maxLength=100" jsonschema_description:"Optional job id; a repeat changes nothing."`
}

// upsertInput is upsert_customers' arguments with the rows decoded.
type upsertInput struct {
	MatchOn   string
	Customers []createCustomerArgs
	ImportKey string
}

// upsertSummary counts upsert_customers' outcomes.
type upsertSummary struct {
	Total     int `json:"total" jsonschema:"required"`
	Created   int `json:"created" jsonschema:"required"`
	Updated   int `json:"updated" jsonschema:"required"`
	Unchanged int `json:"unchanged" jsonschema:"required"`
	Failed    int `json:"failed" jsonschema:"required"`
	Resumed   int `json:"resumed,omitempty"` // done by an earlier call with this importKey (counted in the others)
}

// rowFailure is one failed row.
type rowFailure struct {
	Index int `json:"index" jsonschema:"required"`
	itemError
}

// JSONSchema is a failed row's output shape, kept small.
func (rowFailure) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", Required: []string{"index", "code"}}
}

// JSONSchema is the upsert summary's output shape, kept small.
func (upsertSummary) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", Description: "total, created, updated, unchanged, failed"}
}

// upsertOutput is upsert_customers' result.
type upsertOutput struct {
	Summary        upsertSummary  `json:"summary" jsonschema:"required"`
	Failures       []rowFailure   `json:"failures,omitempty" jsonschema_description:"The first 100."`
	FailuresByCode map[string]int `json:"failuresByCode,omitempty"`
	IDs            []string       `json:"ids" jsonschema:"required" jsonschema_description:"Per row; empty where it failed."`
}

func upsertCustomersDef() Def {
	return defineBulk[upsertCustomersArgs, createCustomerArgs, upsertOutput](ToolsetCustomers, upsertTool, OpUpsert, "Upsert customers",
		"Sync any number of customers matched on accNumber or name: create the missing, update what differs, leave the rest.",
		func(ctx context.Context, d Deps, req mcp.CallToolRequest, a upsertCustomersArgs, items itemDecoder[createCustomerArgs]) *mcp.CallToolResult {
			rows, bad := items("customers", a.Customers)
			if bad != nil {
				return bad
			}
			return upsert(ctx, d.Client, d.Index, upsertInput{MatchOn: a.MatchOn, Customers: rows, ImportKey: a.ImportKey}, progressDone(ctx, req))
		})
}

const upsertTool = "upsert_customers"

// upsertText is the text content of an upsert answer: the output, with
// the ids left to structuredContent when there are many (see idsResult).
type upsertText struct {
	upsertOutput
	IDs  []string `json:"ids,omitempty"`
	Note string   `json:"note,omitempty"`
}

// rowPlan is what upsert does with one row.
type rowPlan struct {
	create *billapi.Customer
	update *billapi.Customer
	id     string         // the matched customer, or the one the row made
	action journal.Action // once done: created, updated or unchanged
	fail   *itemError
}

// upsert runs under a journal whose items are the rows. A row done by an
// earlier call with the same importKey (or content) is answered from the
// journal with the action it had then, so a rerun after a crash reports
// what an uninterrupted run would have. The other rows are matched on a
// fresh read of the customers (maxAge 0), which settles the rows a crash
// left in doubt correctly without the FindCreated* recovery the bulk
// tools need: a create that landed is found by its match key and not made
// again, one that did not is made now; an update that landed leaves
// nothing to change, one that did not is sent again. A row in doubt found
// in place is answered with the action its journal begin named.
func upsert(ctx context.Context, c *billapi.Client, ix *index.Index, a upsertInput, progress func(done, total int)) *mcp.CallToolResult {
	digest, err := requestDigest(upsertTool, a.MatchOn, a.Customers)
	if err != nil {
		return digestFailed()
	}
	j, _, res := openJournal(ctx, upsertTool, a.ImportKey, digest, len(a.Customers))
	if res != nil {
		return res
	}
	defer j.Close()

	plans := make([]rowPlan, len(a.Customers))
	resumed := 0
	acts := j.Actions()
	// Rows an interrupted call did come from its journal. A journal whose
	// every row is done belongs to a call that finished: the same call
	// again is a new sync against BILL as it is now, not a replay.
	if done := j.Done(); len(done) < len(plans) {
		for i, id := range done {
			plans[i].id, plans[i].action = id, cmp.Or(acts[i], journal.Unchanged)
			resumed++
		}
	}
	if resumed < len(plans) {
		if res := planRows(ctx, c, ix, j, a, plans); res != nil {
			return res
		}
		sendRows(ctx, c, j, plans, progress)
	}
	return upsertAnswer(plans, resumed)
}

// planRows plans every row not done yet: matched on a fresh read of the
// customers, each is to be created, updated, or left as it is (done now,
// and journaled so), or fails.
func planRows(ctx context.Context, c *billapi.Client, ix *index.Index, j *journal.Journal, a upsertInput, plans []rowPlan) *mcp.CallToolResult {
	intents := j.Intents()
	all, err := ix.Customers(ctx, c, 0)
	if err != nil {
		return errorResult(err, customerEntity(), OpRead)
	}
	key := func(cu *billapi.Customer) string {
		if a.MatchOn == matchName {
			return normKey(billapi.Deref(cu.Name))
		}
		return normKey(billapi.Deref(cu.AccNumber))
	}
	existing := map[string][]*billapi.Customer{}
	for i := range all {
		if k := key(&all[i]); k != "" {
			existing[k] = append(existing[k], &all[i])
		}
	}

	left := map[journal.Action][]int{} // rows done without a write, by action
	seen := map[string]int{}
	for i, row := range a.Customers {
		want := row.customer()
		k := key(&want)
		switch {
		case k == "":
			plans[i].fail = &itemError{Code: CodeInvalidArgument, Message: fmt.Sprintf("row has no %s to match on", a.MatchOn), Hint: fmt.Sprintf("give every row a %s, or match on the other field", a.MatchOn)}
			continue
		case seen[k] > 0:
			plans[i].fail = &itemError{Code: CodeDuplicateRow, Message: fmt.Sprintf("row %d has the same %s", seen[k]-1, a.MatchOn), Hint: "merge the two rows into one and send it again"}
			continue
		}
		seen[k] = i + 1
		if plans[i].action != "" {
			continue // done by an earlier call
		}
		hits := existing[k]
		switch len(hits) {
		case 0:
			plans[i].create = &want
		case 1:
			plans[i].id = hits[0].ID
			if upd, differs := changes(hits[0], want); differs {
				plans[i].update = &upd
				continue
			}
			// in place: the write in doubt, if any, landed
			plans[i].action = journal.Unchanged
			if in := intents[i]; in == journal.Created || in == journal.Updated {
				plans[i].action = in
			}
			left[plans[i].action] = append(left[plans[i].action], i)
		default:
			plans[i].fail = &itemError{Code: CodeAmbiguous, Message: fmt.Sprintf("%d customers have this %s: %s", len(hits), a.MatchOn, joinIDs(hits)), Hint: "update the right one with update_customer"}
		}
	}
	for action, rows := range left {
		ids := make([]string, len(rows))
		for k, i := range rows {
			ids[k] = plans[i].id
		}
		// A journal that cannot be written loses only the resume shortcut.
		_ = j.SettleAs(action, rows, ids, nil)
	}
	return nil
}

// sendRows sends the planned creates, then the updates, each under a
// journal begin, journaling every chunk's outcome as it settles.
func sendRows(ctx context.Context, c *billapi.Client, j *journal.Journal, plans []rowPlan, progress func(done, total int)) {
	var creates, updates []billapi.Customer
	var createI, updateI []int
	for i, p := range plans {
		switch {
		case p.create != nil:
			creates, createI = append(creates, *p.create), append(createI, i)
		case p.update != nil:
			updates, updateI = append(updates, *p.update), append(updateI, i)
		}
	}
	total := len(creates) + len(updates)
	journalOK := true
	send := func(objs []billapi.Customer, idx []int, offset int, op Op, action journal.Action,
		bulk func(context.Context, []billapi.Customer, billapi.BulkOptions) ([]billapi.BulkResult[billapi.Customer], error)) {
		if len(objs) == 0 {
			return
		}
		if journalOK {
			_, err := j.BeginAs(action, idx)
			journalOK = err == nil
		}
		if !journalOK {
			for _, i := range idx {
				x := errJournalWrite
				plans[i].fail = &x
			}
			return
		}
		o := billapi.BulkOptions{Settled: settleRows(j, idx, action)}
		if progress != nil {
			o.Progress = func(done, _ int) { progress(offset+done, total) }
		}
		res, err := bulk(ctx, objs, o)
		for k, i := range idx {
			switch {
			case k < len(res) && res[k].Object != nil:
				plans[i].id, plans[i].action = res[k].Object.ID, action
			case k < len(res) && res[k].Err != nil:
				x := explain(res[k].Err, customerEntity(), op, time.Now())
				plans[i].fail = &x
			default:
				x := explain(orNoAnswer(err), customerEntity(), op, time.Now())
				plans[i].fail = &x
			}
		}
		// what Settled missed, if anything: the journal skips what it has
		settleRows(j, idx, action)(outcomes(res, customerID))
	}
	send(creates, createI, 0, OpCreate, journal.Created, c.BulkCreateCustomers)
	send(updates, updateI, len(creates), OpUpdate, journal.Updated, c.BulkUpdateCustomers)
}

// settleRows journals the outcomes of a bulk call over the rows idx with
// action; rows that may have been applied stay in doubt, for the next
// call's match.
func settleRows(j *journal.Journal, idx []int, action journal.Action) func([]billapi.ItemOutcome) {
	mayHave := func(e *billapi.Error) bool { return mayHaveApplied(e) }
	return func(outs []billapi.ItemOutcome) { settleOutcomes(j, action, idx, outs, mayHave) }
}

// upsertAnswer counts the rows' outcomes; its text repeats the ids only
// when there are few, as a bulk answer's does.
func upsertAnswer(plans []rowPlan, resumed int) *mcp.CallToolResult {
	out := upsertOutput{IDs: make([]string, len(plans)), Summary: upsertSummary{Total: len(plans), Resumed: resumed}}
	byCode := map[string]int{}
	for i, p := range plans {
		if p.fail != nil {
			out.Summary.Failed++
			byCode[p.fail.Code]++
			if len(out.Failures) < maxListedFailures {
				out.Failures = append(out.Failures, rowFailure{Index: i, itemError: *p.fail})
			}
			continue
		}
		out.IDs[i] = p.id
		switch p.action {
		case journal.Created:
			out.Summary.Created++
		case journal.Updated:
			out.Summary.Updated++
		default:
			out.Summary.Unchanged++
		}
	}
	if out.Summary.Failed > maxListedFailures {
		out.FailuresByCode = byCode
	}
	succeeded := out.Summary.Total - out.Summary.Failed
	return idsResult(out, out.IDs, succeeded, func(ids []string, note string) any {
		return upsertText{upsertOutput: out, IDs: ids, Note: note}
	})
}

// orNoAnswer is err, or an error saying BILL gave no answer for an item.
func orNoAnswer(err error) error {
	if err != nil {
		return err
	}
	return &billapi.Error{Code: billapi.CodeUndecidedOutcome, Class: billapi.ClassTransport, Message: "BILL gave no answer for this row"}
}

func normKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// changes returns an update of cur carrying the fields of want that differ
// (a field want leaves nil is not compared; nil and "" are equal), and
// whether any does. The update always carries the name, which BILL
// requires on every update.
func changes(cur *billapi.Customer, want billapi.Customer) (billapi.Customer, bool) {
	upd := billapi.Customer{ID: cur.ID}
	cv, wv, uv := reflect.ValueOf(cur).Elem(), reflect.ValueOf(want), reflect.ValueOf(&upd).Elem()
	differs := false
	for i := range wv.NumField() {
		w := wv.Field(i)
		if w.Kind() != reflect.Pointer || w.IsNil() {
			continue
		}
		cf := cv.Field(i)
		if !cf.IsNil() && reflect.DeepEqual(cf.Elem().Interface(), w.Elem().Interface()) {
			continue
		}
		if cf.IsNil() && w.Elem().Kind() == reflect.String && w.Elem().String() == "" {
			continue
		}
		uv.Field(i).Set(w)
		differs = true
	}
	if upd.Name == nil {
		upd.Name = cur.Name
	}
	return upd, differs
}
