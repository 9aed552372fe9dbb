package tools

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	invopop "github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/journal"
	"github.com/bill-mcp/bill-mcp/internal/notify"
)

// Bulk tools.
//
// A bulk tool takes any number of items (the request size is the only
// limit) and answers a summary first, every failure (the first
// maxListedFailures, then a count by code) and the ids of what was done,
// one short string per item. Each item is checked on its own against the
// single-item schema, so a bad row fails as an item and never rejects the
// others. Every call runs under a journal (internal/journal): the same
// call again, with the same importKey or the same content, finishes what a
// crash interrupted, takes what was done from the journal, and creates
// nothing twice.

// Bounds of a bulk answer.
const (
	// maxIDsInText is how many items' ids the text content repeats; past
	// it the ids are in structuredContent only.
	maxIDsInText = 50
	// recoverBatch is how many items in doubt one recovery List settles.
	recoverBatch = billapi.MaxBulkItems
)

// CodeBusy marks a bulk call refused because a call with the same
// importKey is running.
const CodeBusy = "BUSY"

// bulkSummary counts a bulk tool's outcomes.
type bulkSummary struct {
	Total     int `json:"total" jsonschema:"required"`
	Succeeded int `json:"succeeded" jsonschema:"required"`
	Failed    int `json:"failed" jsonschema:"required"`
	Resumed   int `json:"resumed,omitempty"` // done by an earlier call with this importKey (counted in succeeded)
}

// bulkFailure is one failed item.
type bulkFailure struct {
	Index   int    `json:"index"` // 0-based position in the request
	Code    string `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"` // omitted when an earlier failure with this code gives it
}

// bulkOutput is every bulk tool's result.
type bulkOutput struct {
	Summary        bulkSummary    `json:"summary" jsonschema:"required"`
	Failures       []bulkFailure  `json:"failures,omitempty"`        // in request order, the first 100
	FailuresByCode map[string]int `json:"failuresByCode,omitempty"`  // when more than 100 failed
	IDs            []string       `json:"ids" jsonschema:"required"` // one per item in request order; "" where it failed
	ImportKey      string         `json:"importKey" jsonschema:"required"`
}

// JSONSchema is the lean output schema every bulk tool shares: the open
// object's main parts (the README and the tool descriptions give the rest).
func (bulkOutput) JSONSchema() *invopop.Schema {
	props := invopop.NewProperties()
	props.Set("summary", &invopop.Schema{Type: "object"})
	props.Set("failures", &invopop.Schema{Type: "array"})
	props.Set("ids", &invopop.Schema{Type: "array"})
	return &invopop.Schema{Type: "object", Properties: props, Required: []string{"summary", "ids"}}
}

// bulkText is the text content of a bulk answer: the output, with the ids
// left to structuredContent when there are many.
type bulkText struct {
	bulkOutput
	IDs  []string `json:"ids,omitempty"`
	Note string   `json:"note,omitempty"`
}

// importKeyArg is the optional argument of every bulk tool.
type importKeyArg struct {
	ImportKey string `json:"importKey,omitempty" jsonschema:"maxLength=100" jsonschema_description:"Repeat with it to resume after a crash."`
}

// bulkSpec describes one bulk tool over items In creating or changing Out.
type bulkSpec[In, Out any] struct {
	tool   string
	field  string // the array argument: customers, contacts, customerIds, contactIds
	entity entity
	op     Op
	// check validates object items one by one against the single-item
	// schema and maps them (bad[k] for raw[k], named by at[k], the request's
	// index); nil when items are ids.
	check func(key string, raw []map[string]any, at []int) (items []In, bad map[int]itemError)
	bulk  func(context.Context, []In, billapi.BulkOptions) ([]billapi.BulkResult[Out], error)
	id    func(Out) string
	// find settles creates in doubt after a crash (nil for idempotent ops).
	find func(ctx context.Context, objs []In, sentAt time.Time, claimed []string) ([]*Out, error)
}

// objectItems is the check of items whose argument type is I, mapped to In.
func objectItems[I, In any](tool string, to func(I) In) func(string, []map[string]any, []int) ([]In, map[int]itemError) {
	check := newItemChecker[I](tool)
	return func(key string, raw []map[string]any, at []int) ([]In, map[int]itemError) {
		items, bad := check(key, raw, at)
		out := make([]In, len(items))
		for k := range items {
			if _, isBad := bad[k]; !isBad {
				out[k] = to(items[k])
			}
		}
		return out, bad
	}
}

// handler is the tool handler of s over deps.
func (s *bulkSpec[In, Out]) handler(deps Deps) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if deps.Client == nil {
			return noClient(), nil
		}
		return s.run(ctx, req), nil
	}
}

// bulkRun is the state of one bulk call.
type bulkRun struct {
	mu        sync.Mutex // guards the counts and progress; ids and errs are written per item, each by one goroutine
	n         int
	ids       []string
	errs      []*itemError
	resumed   int
	progress  func(succeeded, failed int)
	succeeded int
	failed    int
}

func (s *bulkSpec[In, Out]) run(ctx context.Context, req mcp.CallToolRequest) *mcp.CallToolResult {
	args := req.GetArguments()
	src, ok := newItemSource(args[s.field])
	if !ok {
		return badArgument(fmt.Sprintf("%s must be a non-empty array", s.field), fmt.Sprintf("send the items in %s, at least one", s.field))
	}
	importKey, _ := args["importKey"].(string)
	digest, err := src.digest(s.tool)
	if err != nil {
		return badArgument(fmt.Sprintf("%s is not valid JSON", s.field), "send the items as the input schema describes them")
	}
	n := src.n
	j, key, res := openJournal(ctx, s.tool, importKey, digest, n)
	if res != nil {
		return res
	}
	defer j.Close()

	r := &bulkRun{n: n, ids: make([]string, n), errs: make([]*itemError, n)}
	for i, id := range j.Done() {
		r.ids[i] = id
		r.resumed++
	}
	r.progress = progressReporter(ctx, req, n)
	if r.resumed > 0 && r.progress != nil {
		r.progress(r.resumed, 0)
	}

	// Settle what an interrupted call left in doubt.
	doubt, since := j.InDoubt()
	if s.find != nil && len(doubt) > 0 {
		if res := s.recover(ctx, j, r, src, doubt, since); res != nil {
			return res
		}
	}

	if res := s.sendAll(ctx, j, r, src); res != nil {
		return res
	}
	return bulkResult(r.output(key))
}

// Windows of a bulk call: the first is small, so the first chunks go out
// while later items are still being checked; the others are large enough
// that a window's work is mostly BILL's.
const (
	firstWindow = 3 * billapi.MaxBulkItems
	sendWindow  = 2_000
)

// bulkWindow is one window's items ready to send: indices and values.
type bulkWindow[In any] struct {
	todo  []int
	batch []In
}

// sendAll sends every item not yet done, a window at a time, as a
// pipeline: one goroutine checks and decodes the windows in order (so
// memory follows the windows, not the request, and raw items are dropped
// once decoded), and each window's bulk call starts as soon as the one
// before has started all its chunks, so the gate's slots never wait for
// the checking or for the last chunks of a window. It answers an error
// result when the journal cannot be written (nothing more is sent then).
func (s *bulkSpec[In, Out]) sendAll(ctx context.Context, j *journal.Journal, r *bulkRun, src *itemSource) *mcp.CallToolResult {
	ready := make(chan bulkWindow[In], 1)
	stop := make(chan struct{})
	go func() {
		defer close(ready)
		for w, size := 0, firstWindow; w < r.n; w, size = w+size, sendWindow {
			var idx []int
			for i := w; i < min(w+size, r.n); i++ {
				if r.ids[i] == "" && r.errs[i] == nil {
					idx = append(idx, i)
				}
			}
			todo, batch := s.items(r, src.values(idx, true), idx)
			r.mu.Lock()
			r.failed += len(idx) - len(todo) // refused here: done, and failed
			r.mu.Unlock()
			if len(todo) == 0 {
				continue
			}
			select {
			case ready <- bulkWindow[In]{todo, batch}:
			case <-stop:
				return
			}
		}
	}()
	defer func() {
		close(stop)
		for range ready { // let the checker end
		}
	}()

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed *mcp.CallToolResult
	)
	for w := range ready {
		started := make(chan struct{})
		var once sync.Once
		wg.Go(func() {
			defer once.Do(func() { close(started) })
			if res := s.send(ctx, j, r, w.todo, w.batch, func() { once.Do(func() { close(started) }) }); res != nil {
				mu.Lock()
				failed = cmp.Or(failed, res)
				mu.Unlock()
			}
		})
		<-started
		mu.Lock()
		stopNow := failed != nil
		mu.Unlock()
		if stopNow {
			break
		}
	}
	wg.Wait()
	return failed
}

// items checks and decodes vals, the items at idx; bad items are marked
// failed. It returns the good ones and their indices.
func (s *bulkSpec[In, Out]) items(r *bulkRun, vals []any, idx []int) ([]int, []In) {
	var good []int
	var out []In
	if s.check == nil {
		for k, i := range idx {
			id, ok := vals[k].(string)
			if !ok {
				r.fail(i, itemError{Code: CodeInvalidArgument, Message: fmt.Sprintf("%s[%d] must be a string id", s.field, i), Hint: "send ids as strings"})
				continue
			}
			var in In
			if v, ok := any(&in).(*string); ok {
				*v = id
			}
			good, out = append(good, i), append(out, in)
		}
		return good, out
	}
	raws := make([]map[string]any, 0, len(idx))
	pos := make([]int, 0, len(idx))
	for k, i := range idx {
		m, ok := vals[k].(map[string]any)
		if !ok {
			r.fail(i, itemError{Code: CodeInvalidArgument, Message: fmt.Sprintf("%s[%d] must be an object", s.field, i), Hint: "send each item as an object of the fields the tool takes"})
			continue
		}
		raws, pos = append(raws, m), append(pos, i)
	}
	items, bad := s.check(s.field, raws, pos)
	for k, i := range pos {
		if x, isBad := bad[k]; isBad {
			r.fail(i, x)
			continue
		}
		if out == nil { // sized once: an In may be a large record
			good, out = make([]int, 0, len(pos)-k), make([]In, 0, len(pos)-k)
		}
		good, out = append(good, i), append(out, items[k])
	}
	return good, out
}

// send sends batch (the items at indices todo) under a journal begin
// record and records each chunk's outcome as it settles.
func (s *bulkSpec[In, Out]) send(ctx context.Context, j *journal.Journal, r *bulkRun, todo []int, batch []In, allStarted func()) *mcp.CallToolResult {
	if _, err := j.Begin(todo); err != nil {
		return errJournalWrite.result()
	}
	settle := func(outs []billapi.ItemOutcome) {
		r.mu.Lock()
		defer r.mu.Unlock()
		applied, failed := settleOutcomes(j, "", todo, outs, s.inDoubt)
		r.succeeded += applied
		r.failed += failed
		if r.progress != nil {
			r.progress(r.resumed+r.succeeded, r.failed)
		}
	}
	results, err := s.bulk(ctx, batch, billapi.BulkOptions{Settled: settle, AllStarted: allStarted})
	answered := make([]bool, len(todo))
	for _, res := range results {
		if res.Index < 0 || res.Index >= len(todo) {
			continue
		}
		i := todo[res.Index]
		switch {
		case res.Object != nil:
			r.ids[i] = s.id(*res.Object)
		case res.Err != nil:
			x := explain(res.Err, s.entity, s.op, time.Now())
			r.errs[i] = &x
		default:
			continue
		}
		answered[res.Index] = true
	}
	for k, i := range todo {
		if answered[k] {
			continue
		}
		var x itemError
		if err != nil {
			x = explain(err, s.entity, s.op, time.Now())
		} else {
			x = itemError{Code: CodeInternal, Message: "BILL gave no answer for this item",
				Hint: "call again with the same importKey: the server checks whether it was applied before sending it again"}
		}
		r.errs[i] = &x
	}
	// what Settled missed, if anything: the journal skips what it has
	settleOutcomes(j, "", todo, outcomes(results, s.id), s.inDoubt)
	return nil
}

// inDoubt reports an item error after which the item may have been
// applied and must be looked for before it is sent again. billapi has
// already settled every item it could (reading records back, finding
// created ones), so only OUTCOME_UNKNOWN is left uncertain, unlike the
// single calls of onboard and upsert (mayHaveApplied); and only a create
// needs looking for, as an update or delete sent again does no harm.
func (s *bulkSpec[In, Out]) inDoubt(e *billapi.Error) bool {
	return s.op == OpCreate && e != nil && e.Code == billapi.CodeUndecidedOutcome
}

// recover settles the creates in doubt: each found at BILL is done (its id
// taken), each not found was not applied and is sent again. It answers an
// error result when BILL cannot be asked; nothing is sent then.
func (s *bulkSpec[In, Out]) recover(ctx context.Context, j *journal.Journal, r *bulkRun, src *itemSource, doubt []int, since time.Time) *mcp.CallToolResult {
	claimed := make([]string, 0, r.resumed)
	for _, id := range r.ids {
		if id != "" {
			claimed = append(claimed, id)
		}
	}
	var part []int
	var objs []In
	flush := func() *mcp.CallToolResult {
		if len(part) == 0 {
			return nil
		}
		found, err := s.find(ctx, objs, since, claimed)
		if err != nil {
			x := explain(err, s.entity, OpRead, time.Now())
			return failure(x.Code, "an earlier call with this importKey was interrupted and the server could not check with BILL what it did, so nothing was sent",
				"call again with the same importKey in a little while")
		}
		var doneIdx []int
		var doneIDs []string
		for k, f := range found {
			if f == nil {
				continue
			}
			i := part[k]
			r.ids[i] = s.id(*f)
			claimed = append(claimed, r.ids[i])
			doneIdx, doneIDs = append(doneIdx, i), append(doneIDs, r.ids[i])
			r.resumed++
		}
		part, objs = part[:0], objs[:0]
		if err := j.Settle(doneIdx, doneIDs, nil); err != nil {
			return errJournalWrite.result()
		}
		return nil
	}
	var want []int
	for _, i := range doubt {
		if i >= 0 && i < r.n && r.ids[i] == "" {
			want = append(want, i)
		}
	}
	slices.Sort(want)
	probe := &bulkRun{n: r.n, ids: r.ids, errs: make([]*itemError, r.n)} // bad items fail later, unsent
	good, ins := s.items(probe, src.values(want, false), want)
	for k, i := range good {
		part, objs = append(part, i), append(objs, ins[k])
		if len(part) == recoverBatch {
			if res := flush(); res != nil {
				return res
			}
		}
	}
	return flush()
}

func (r *bulkRun) fail(i int, x itemError) { r.errs[i] = &x }

// output builds the answer: summary, failures, ids.
func (r *bulkRun) output(key string) bulkOutput {
	out := bulkOutput{Summary: bulkSummary{Total: r.n, Resumed: r.resumed}, IDs: r.ids, ImportKey: key}
	hinted := map[string]string{}
	byCode := map[string]int{}
	for i := range r.n {
		if r.ids[i] != "" {
			out.Summary.Succeeded++
			continue
		}
		out.Summary.Failed++
		x := r.errs[i]
		if x == nil {
			x = &itemError{Code: CodeInternal, Message: "the server lost track of this item", Hint: "call again with the same importKey"}
		}
		byCode[x.Code]++
		if len(out.Failures) < maxListedFailures {
			f := bulkFailure{Index: i, Code: x.Code, Message: x.Message, Hint: x.Hint}
			if hinted[x.Code] == x.Hint {
				f.Hint = ""
			} else {
				hinted[x.Code] = x.Hint
			}
			out.Failures = append(out.Failures, f)
		}
	}
	if out.Summary.Failed > maxListedFailures {
		out.FailuresByCode = byCode
	}
	return out
}

// bulkResult returns out as structured content, and as text a compact
// rendering an agent can afford: the ids only when there are few.
func bulkResult(out bulkOutput) *mcp.CallToolResult {
	return idsResult(out, out.IDs, out.Summary.Succeeded, func(ids []string, note string) any {
		return bulkText{bulkOutput: out, IDs: ids, Note: note}
	})
}

// idsResult returns out, an answer with one id per item (ids, succeeded of
// them set), as structured content, and as text what text renders: out
// with its ids when there are at most maxIDsInText, else without them and
// with a note saying where they are. text's value shadows out's ids field
// with its own, omitted when empty.
func idsResult(out any, ids []string, succeeded int, text func(ids []string, note string) any) *mcp.CallToolResult {
	var t any
	if len(ids) <= maxIDsInText {
		t = text(ids, "")
	} else {
		t = text(nil, fmt.Sprintf("The %d ids are in structuredContent.ids, in request order; list tools find them too.", succeeded))
	}
	raw, err := json.Marshal(t)
	if err != nil {
		return failure(CodeInternal, "the server could not encode the result", "retry the call with the same importKey; if it fails again, report a bug in bill-mcp")
	}
	return mcp.NewToolResultStructured(out, string(raw))
}

// progressReporter returns a function that sends notifications/progress
// with the request's progress token (nil when the client asked for none).
// The caller calls it under its lock with counts that only rise, so the
// notifications go out in order; notify.Send writes each on the result's
// path before the handler returns, so all of them precede the result.
func progressReporter(ctx context.Context, req mcp.CallToolRequest, total int) func(succeeded, failed int) {
	send := progressSender(ctx, req)
	if send == nil {
		return nil
	}
	return func(succeeded, failed int) {
		send(succeeded+failed, total, fmt.Sprintf("%d of %d items done: %d succeeded, %d failed", succeeded+failed, total, succeeded, failed))
	}
}

// progressDone is a billapi BulkOptions.Progress callback sending
// notifications/progress on the result's path, for multi-step tools that
// count items done (nil when the client asked for no progress).
func progressDone(ctx context.Context, req mcp.CallToolRequest) func(done, total int) {
	send := progressSender(ctx, req)
	if send == nil {
		return nil
	}
	return func(done, total int) { send(done, total, fmt.Sprintf("%d of %d items done", done, total)) }
}

// progressSender sends notifications/progress for req on the result's
// path; nil when the client asked for no progress. A client that went
// away cannot be told; the call goes on.
func progressSender(ctx context.Context, req mcp.CallToolRequest) func(progress, total int, message string) {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	token := req.Params.Meta.ProgressToken
	return func(progress, total int, message string) {
		_ = notify.Send(ctx, "notifications/progress", map[string]any{
			"progressToken": token, "progress": progress, "total": total, "message": message,
		})
	}
}

// bulkDef declares a bulk tool run by the spec newSpec builds over a
// server's deps: args is the zero value of its arguments, item of one
// object item's argument type (nil when the items are ids).
func bulkDef[In, Out any](toolset, name, field string, op Op, title, description string, args, item any, newSpec func(Deps) *bulkSpec[In, Out]) Def {
	return Def{
		Name: name, Toolset: toolset, Kind: op.Kind(), Op: op,
		Title: title, Description: description,
		Args: args, Result: bulkOutput{}, Item: item, ItemsField: field,
		Bind: func(deps Deps) server.ToolHandlerFunc {
			s := newSpec(deps)
			s.tool, s.field, s.op = name, field, op
			return s.handler(deps)
		},
	}
}

// customerBulkDefs are the customers toolset's bulk tools.
func customerBulkDefs() []Def {
	return []Def{
		bulkDef(ToolsetCustomers, "bulk_create_customers", "customers", OpCreate, "Create many customers",
			"Create any number of customers.", bulkCreateCustomersArgs{}, createCustomerArgs{},
			func(d Deps) *bulkSpec[billapi.Customer, billapi.Customer] {
				return &bulkSpec[billapi.Customer, billapi.Customer]{entity: customerEntity(),
					check: objectItems("bulk_create_customers", createCustomerArgs.customer),
					bulk:  d.Client.BulkCreateCustomers, id: customerID, find: d.Client.FindCreatedCustomers}
			}),
		bulkDef(ToolsetCustomers, "bulk_update_customers", "customers", OpUpdate, "Update many customers",
			"Update many customers; each item names its customerId.", bulkUpdateCustomersArgs{}, updateCustomerArgs{},
			func(d Deps) *bulkSpec[billapi.Customer, billapi.Customer] {
				return &bulkSpec[billapi.Customer, billapi.Customer]{entity: customerEntity(),
					check: objectItems("bulk_update_customers", updateCustomerArgs.customer),
					bulk:  d.Client.BulkUpdateCustomers, id: customerID}
			}),
		bulkDef(ToolsetCustomers, "bulk_delete_customers", "customerIds", OpDelete, "Delete many customers",
			"Soft-delete many customers by id.", customerIDsArgs{}, nil,
			func(d Deps) *bulkSpec[string, billapi.Customer] {
				return &bulkSpec[string, billapi.Customer]{entity: customerEntity(),
					bulk: d.Client.BulkDeleteCustomers, id: customerID}
			}),
		bulkDef(ToolsetCustomers, "bulk_undelete_customers", "customerIds", OpUndelete, "Undelete many customers",
			"Restore many deleted customers by id.", customerIDsArgs{}, nil,
			func(d Deps) *bulkSpec[string, billapi.Customer] {
				return &bulkSpec[string, billapi.Customer]{entity: customerEntity(),
					bulk: d.Client.BulkUndeleteCustomers, id: customerID}
			}),
	}
}

// contactBulkDefs are the contacts toolset's bulk tools.
func contactBulkDefs() []Def {
	return []Def{
		bulkDef(ToolsetContacts, "bulk_create_customer_contacts", "contacts", OpCreate, "Create many customer contacts",
			"Create any number of contacts, for one or many customers.", bulkCreateContactsArgs{}, createContactArgs{},
			func(d Deps) *bulkSpec[billapi.CustomerContact, billapi.CustomerContact] {
				return &bulkSpec[billapi.CustomerContact, billapi.CustomerContact]{entity: contactEntity(),
					check: objectItems("bulk_create_customer_contacts", createContactArgs.contact),
					bulk:  d.Client.BulkCreateCustomerContacts, id: contactID, find: d.Client.FindCreatedCustomerContacts}
			}),
		bulkDef(ToolsetContacts, "bulk_update_customer_contacts", "contacts", OpUpdate, "Update many customer contacts",
			"Update many contacts; each item names its contactId.", bulkUpdateContactsArgs{}, updateContactArgs{},
			func(d Deps) *bulkSpec[billapi.CustomerContact, billapi.CustomerContact] {
				return &bulkSpec[billapi.CustomerContact, billapi.CustomerContact]{entity: contactEntity(),
					check: objectItems("bulk_update_customer_contacts", updateContactArgs.contact),
					bulk:  d.Client.BulkUpdateCustomerContacts, id: contactID}
			}),
		bulkDef(ToolsetContacts, "bulk_delete_customer_contacts", "contactIds", OpDelete, "Delete many customer contacts",
			"Soft-delete many contacts by id.", contactIDsArgs{}, nil,
			func(d Deps) *bulkSpec[string, billapi.CustomerContact] {
				return &bulkSpec[string, billapi.CustomerContact]{entity: contactEntity(),
					bulk: d.Client.BulkDeleteCustomerContacts, id: contactID}
			}),
		bulkDef(ToolsetContacts, "bulk_undelete_customer_contacts", "contactIds", OpUndelete, "Undelete many customer contacts",
			"Restore many deleted contacts by id.", contactIDsArgs{}, nil,
			func(d Deps) *bulkSpec[string, billapi.CustomerContact] {
				return &bulkSpec[string, billapi.CustomerContact]{entity: contactEntity(),
					bulk: d.Client.BulkUndeleteCustomerContacts, id: contactID}
			}),
	}
}
