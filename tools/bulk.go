package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

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
	// maxListedFailures is how many failures an answer lists one by one.
	maxListedFailures = 100
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
	Resumed   int `json:"resumed,omitempty" jsonschema_description:"Items done by an earlier call with this importKey (counted in succeeded)."`
}

// bulkFailure is one failed item.
type bulkFailure struct {
	Index   int    `json:"index" jsonschema:"required" jsonschema_description:"0-based position in the request."`
	Code    string `json:"code" jsonschema:"required"`
	Message string `json:"message" jsonschema:"required"`
	Hint    string `json:"hint,omitempty" jsonschema_description:"What to do; omitted when an earlier failure with this code says it."`
}

// bulkOutput is every bulk tool's result.
type bulkOutput struct {
	Summary        bulkSummary    `json:"summary" jsonschema:"required"`
	Failures       []bulkFailure  `json:"failures,omitempty" jsonschema_description:"Failed items in request order (the first 100)."`
	FailuresByCode map[string]int `json:"failuresByCode,omitempty" jsonschema_description:"Failed items by code, when more than 100 failed."`
	IDs            []string       `json:"ids" jsonschema:"required" jsonschema_description:"Id per item in request order; empty where it failed."`
	ImportKey      string         `json:"importKey" jsonschema:"required" jsonschema_description:"Call again with it to finish this job after a crash."`
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
	ImportKey string `json:"importKey,omitempty" jsonschema:"maxLength=100" jsonschema_description:"Job id; after a crash, call again with it (or the same content) to finish without repeats."`
}

// bulkSpec describes one bulk tool over items In creating or changing Out.
type bulkSpec[In, Out any] struct {
	tool   string
	field  string // the array argument: customers, contacts, customerIds, contactIds
	entity entity
	op     opKind
	// itemSchema is the schema one item must satisfy (nil: items are ids).
	itemSchema json.RawMessage
	// decode maps one item, already valid, to what billapi takes.
	decode func(raw json.RawMessage) (In, error)
	bulk   func(context.Context, []In, billapi.BulkOptions) ([]billapi.BulkResult[Out], error)
	id     func(Out) string
	// find settles creates in doubt after a crash (nil for idempotent ops).
	find func(ctx context.Context, objs []In, sentAt time.Time, claimed []string) ([]*Out, error)

	once     sync.Once
	compiled *jsonschema.Schema
	compErr  error
}

// newBulkTool builds a bulk tool whose array argument accepts any items.
// An object item's schema is only its type and which tool's arguments it
// takes (itemOf): the same tool list already spells those out, so they are
// not repeated here, and each item is checked against them by the handler,
// so a bad item fails alone instead of rejecting the call.
func newBulkTool(name, title, description string, op opKind, field, itemOf string, in any) mcp.Tool {
	t := newTool(name, title, description, op, in, bulkOutput{})
	t.RawInputSchema = relaxItems(t.RawInputSchema, field, itemOf)
	return t
}

// relaxItems replaces the item schema of the array property field: an
// object item becomes {"type":"object"} described as itemOf's arguments;
// other items keep only their type. Any maxItems on the array goes.
func relaxItems(raw json.RawMessage, field, itemOf string) json.RawMessage {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		panic(fmt.Sprintf("tools: relax schema: %v", err))
	}
	props, _ := doc["properties"].(map[string]any)
	arr, _ := props[field].(map[string]any)
	if arr == nil {
		panic(fmt.Sprintf("tools: relax schema: no array property %q", field))
	}
	delete(arr, "maxItems")
	items, _ := arr["items"].(map[string]any)
	switch {
	case items == nil:
		panic(fmt.Sprintf("tools: relax schema: %q has no items", field))
	case items["type"] == "object":
		arr["items"] = map[string]any{"type": "object", "description": "Fields as " + itemOf + " takes them."}
	default:
		arr["items"] = map[string]any{"type": items["type"]}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		panic(fmt.Sprintf("tools: relax schema: %v", err))
	}
	return json.RawMessage(bytes.TrimSpace(b.Bytes()))
}

// schema compiles itemSchema once.
func (s *bulkSpec[In, Out]) schema() (*jsonschema.Schema, error) {
	s.once.Do(func() {
		if s.itemSchema == nil {
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.itemSchema))
		if err != nil {
			s.compErr = err
			return
		}
		url := "mem:///bill-mcp/" + s.tool + ".item.json"
		c := jsonschema.NewCompiler()
		if err := c.AddResource(url, doc); err != nil {
			s.compErr = err
			return
		}
		s.compiled, s.compErr = c.Compile(url)
	})
	return s.compiled, s.compErr
}

// check validates one item against the item schema, or that it is a
// string when items are ids. It returns what is wrong in plain words.
func (s *bulkSpec[In, Out]) check(raw json.RawMessage) (string, bool) {
	if s.itemSchema == nil {
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return "must be a string id", false
		}
		return "", true
	}
	sch, err := s.schema()
	if err != nil {
		return "the server could not read its own item schema", false
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return "is not valid JSON", false
	}
	var verr *jsonschema.ValidationError
	if err := sch.Validate(v); err == nil {
		return "", true
	} else if !errors.As(err, &verr) {
		return "does not match the schema", false
	}
	p := message.NewPrinter(language.English)
	var parts []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		loc := "/" + strings.Join(e.InstanceLocation, "/")
		what := e.ErrorKind.LocalizedString(p)
		if strings.Contains(strings.ToLower(loc), "accountnumber") {
			what = "must be 4 to 17 digits" // never echo an account number
		}
		if loc == "/" {
			parts = append(parts, what)
		} else {
			parts = append(parts, loc[1:]+": "+what)
		}
	}
	walk(verr)
	return strings.Join(parts, "; "), false
}

// handler is the tool handler of s over c.
func (s *bulkSpec[In, Out]) handler(c *billapi.Client) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if c == nil {
			return noClient(), nil
		}
		return s.run(ctx, req), nil
	}
}

// bulkRun is the state of one bulk call.
type bulkRun struct {
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
	rawItems, ok := args[s.field].([]any)
	if !ok || len(rawItems) == 0 {
		return badArgument(fmt.Sprintf("%s must be a non-empty array", s.field), fmt.Sprintf("send the items in %s, at least one", s.field))
	}
	importKey, _ := args["importKey"].(string)
	digest, err := itemsDigest(s.tool, rawItems)
	if err != nil {
		return badArgument(fmt.Sprintf("%s is not valid JSON", s.field), "send the items as the input schema describes them")
	}
	key := importKey
	if key == "" {
		key = journal.DeriveKey(digest)
	}
	n := len(rawItems)
	store := journal.FromContext(ctx)
	if store == nil {
		store = journal.NewMemory("")
	}
	j, err := store.Open(ctx, s.tool, key, digest, n)
	switch {
	case errors.Is(err, journal.ErrMismatch):
		return badArgument(fmt.Sprintf("importKey %q belongs to a different request (%v)", key, err),
			"to finish that job send exactly the same items; for a new job use a new importKey or omit it")
	case errors.Is(err, journal.ErrBusy):
		return failure(CodeBusy, "a call with this importKey is still running",
			"wait for it to finish, then call again with the same importKey to get its whole outcome")
	case err != nil:
		return failure(CodeInternal, "the server could not open the import journal, so nothing was sent",
			"retry once; if it fails again, tell the user to check the bill-mcp server log")
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
		if res := s.recover(ctx, j, r, rawItems, doubt, since); res != nil {
			return res
		}
	}

	// Send the rest a window at a time: only a window's items are decoded,
	// and its results dropped once they are ids, so memory follows the
	// window, not the request. A window holds many chunks, which billapi
	// runs through the gate as it pleases.
	for w := 0; w < n; w += sendWindow {
		var todo []int
		var batch []In
		for i := w; i < min(w+sendWindow, n); i++ {
			if r.ids[i] != "" || r.errs[i] != nil {
				rawItems[i] = nil
				continue
			}
			in, ok := s.item(r, rawItems, i)
			if !ok {
				r.failed++ // refused here: done, and failed
				continue
			}
			todo, batch = append(todo, i), append(batch, in)
		}
		if len(todo) == 0 {
			continue
		}
		if res := s.send(ctx, j, r, todo, batch); res != nil {
			return res
		}
	}
	return bulkResult(r.output(key))
}

// sendWindow is how many items one billapi bulk call of a tool gets.
const sendWindow = 10_000

// itemsDigest is the digest of a bulk request, streamed into the hash.
func itemsDigest(tool string, items []any) (string, error) {
	h := journal.NewDigest(tool)
	if err := json.NewEncoder(h).Encode(items); err != nil {
		return "", err
	}
	return h.Sum(), nil
}

// item checks and decodes item i, releasing its raw form; a bad item is
// marked failed.
func (s *bulkSpec[In, Out]) item(r *bulkRun, rawItems []any, i int) (In, bool) {
	var zero In
	x := rawItems[i]
	rawItems[i] = nil
	raw, err := json.Marshal(x)
	if err != nil {
		r.fail(i, itemError{Code: CodeInvalidArgument, Message: fmt.Sprintf("item %d is not valid JSON", i), Hint: "fix this item, then send the failed items again"})
		return zero, false
	}
	if what, ok := s.check(raw); !ok {
		r.fail(i, itemError{Code: CodeInvalidArgument, Message: fmt.Sprintf("item %d: %s", i, what),
			Hint: "fix the item as the message says and send just the failed items again; ask the user for a value you do not have rather than invent one"})
		return zero, false
	}
	in, err := s.decode(raw)
	if err != nil {
		r.fail(i, itemError{Code: CodeInvalidArgument, Message: fmt.Sprintf("item %d does not match the item schema", i), Hint: "fix this item, then send the failed items again"})
		return zero, false
	}
	return in, true
}

// send sends batch (the items at indices todo) under a journal begin
// record and records each chunk's outcome as it settles.
func (s *bulkSpec[In, Out]) send(ctx context.Context, j *journal.Journal, r *bulkRun, todo []int, batch []In) *mcp.CallToolResult {
	if _, err := j.Begin(todo); err != nil {
		return failure(CodeInternal, "the server could not write the import journal, so nothing more was sent",
			"retry once with the same importKey; if it fails again, tell the user to check the bill-mcp server log")
	}
	var mu sync.Mutex
	settle := func(outs []billapi.ItemOutcome) {
		mu.Lock()
		defer mu.Unlock()
		var doneIdx, failedIdx []int
		var doneIDs []string
		for _, o := range outs {
			if o.Index < 0 || o.Index >= len(todo) {
				continue
			}
			i := todo[o.Index]
			switch {
			case o.ID != "":
				doneIdx, doneIDs = append(doneIdx, i), append(doneIDs, o.ID)
				r.succeeded++
			case o.Err != nil:
				if !s.inDoubt(o.Err) {
					failedIdx = append(failedIdx, i)
				}
				r.failed++
			}
		}
		// A journal that cannot be written loses only the resume
		// shortcut for these items: the call itself goes on.
		_ = j.Settle(doneIdx, doneIDs, failedIdx)
		if r.progress != nil {
			r.progress(r.resumed+r.succeeded, r.failed)
		}
	}
	results, err := s.bulk(ctx, batch, billapi.BulkOptions{Settled: settle})
	answered := make([]bool, len(todo))
	var doneIdx, failedIdx []int
	var doneIDs []string
	for _, res := range results {
		if res.Index < 0 || res.Index >= len(todo) {
			continue
		}
		i := todo[res.Index]
		switch {
		case res.Object != nil:
			r.ids[i] = s.id(*res.Object)
			doneIdx, doneIDs = append(doneIdx, i), append(doneIDs, r.ids[i])
		case res.Err != nil:
			x := explain(res.Err, s.entity, s.op, time.Now())
			r.errs[i] = &x
			if !s.inDoubt(res.Err) {
				failedIdx = append(failedIdx, i)
			}
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
	_ = j.Settle(doneIdx, doneIDs, failedIdx)
	return nil
}

// inDoubt reports an item error after which the item may have been applied.
func (s *bulkSpec[In, Out]) inDoubt(e *billapi.Error) bool {
	return s.op == opCreate && e != nil && e.Code == billapi.CodeUndecidedOutcome
}

// recover settles the creates in doubt: each found at BILL is done (its id
// taken), each not found was not applied and is sent again. It answers an
// error result when BILL cannot be asked; nothing is sent then.
func (s *bulkSpec[In, Out]) recover(ctx context.Context, j *journal.Journal, r *bulkRun, rawItems []any, doubt []int, since time.Time) *mcp.CallToolResult {
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
			x := explain(err, s.entity, opRead, time.Now())
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
			return failure(CodeInternal, "the server could not write the import journal, so nothing more was sent",
				"retry once with the same importKey; if it fails again, tell the user to check the bill-mcp server log")
		}
		return nil
	}
	for _, i := range doubt {
		if r.ids[i] != "" || rawItems[i] == nil {
			continue
		}
		raw, err := json.Marshal(rawItems[i])
		if err != nil {
			continue
		}
		if _, ok := s.check(raw); !ok {
			continue // it fails again below, unsent
		}
		in, err := s.decode(raw)
		if err != nil {
			continue
		}
		part, objs = append(part, i), append(objs, in)
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
	t := bulkText{bulkOutput: out}
	if len(out.IDs) <= maxIDsInText {
		t.IDs = out.IDs
	} else {
		t.Note = fmt.Sprintf("The %d ids are in structuredContent.ids, in request order; list tools find them too.", out.Summary.Succeeded)
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
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	token := req.Params.Meta.ProgressToken
	return func(succeeded, failed int) {
		// A client that went away cannot be told; the bulk call goes on.
		_ = notify.Send(ctx, "notifications/progress", map[string]any{
			"progressToken": token,
			"progress":      succeeded + failed,
			"total":         total,
			"message":       fmt.Sprintf("%d of %d items done: %d succeeded, %d failed", succeeded+failed, total, succeeded, failed),
		})
	}
}

// progressDone is a billapi BulkOptions.Progress callback sending
// notifications/progress on the result's path, for multi-step tools that
// count items done (nil when the client asked for no progress).
func progressDone(ctx context.Context, req mcp.CallToolRequest) func(done, total int) {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	token := req.Params.Meta.ProgressToken
	return func(done, total int) {
		_ = notify.Send(ctx, "notifications/progress", map[string]any{
			"progressToken": token, "progress": done, "total": total,
			"message": fmt.Sprintf("%d of %d items done", done, total),
		})
	}
}

// decodeItem decodes one item into its argument type A and maps it.
func decodeItem[A, In any](f func(A) In) func(json.RawMessage) (In, error) {
	return func(raw json.RawMessage) (In, error) {
		var a A
		if err := json.Unmarshal(raw, &a); err != nil {
			var zero In
			return zero, err
		}
		return f(a), nil
	}
}

// decodeID decodes one id item.
func decodeID(raw json.RawMessage) (string, error) {
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// bulkHow is the part every bulk tool's description shares.
const bulkHow = " Any number of items, sent 100 per BILL call (progress per chunk with a progressToken); a bad item fails alone. " +
	"Answers a summary, each failure with a hint, and the ids. After a crash or timeout, call again with the same importKey (or content): it finishes the job and repeats nothing."

// BulkCreateCustomers is bulk_create_customers.
func BulkCreateCustomers(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newBulkTool("bulk_create_customers", "Create many customers",
		"Create customers; prefer it to create_customer for more than 5."+bulkHow,
		opCreate, "customers", "create_customer", bulkCreateCustomersArgs{})
	s := &bulkSpec[billapi.Customer, billapi.Customer]{tool: t.Name, field: "customers", entity: customerEntity(), op: opCreate,
		itemSchema: schemaFor(createCustomerArgs{}), decode: decodeItem(createCustomerArgs.customer),
		bulk: c.BulkCreateCustomers, id: customerID, find: c.FindCreatedCustomers}
	return t, s.handler(c)
}

// BulkUpdateCustomers is bulk_update_customers.
func BulkUpdateCustomers(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newBulkTool("bulk_update_customers", "Update many customers",
		"Change fields of customers: each item names its customerId and only the fields to change."+bulkHow,
		opUpdate, "customers", "update_customer", bulkUpdateCustomersArgs{})
	s := &bulkSpec[billapi.Customer, billapi.Customer]{tool: t.Name, field: "customers", entity: customerEntity(), op: opUpdate,
		itemSchema: schemaFor(updateCustomerArgs{}), decode: decodeItem(updateCustomerArgs.customer),
		bulk: c.BulkUpdateCustomers, id: customerID}
	return t, s.handler(c)
}

// BulkDeleteCustomers is bulk_delete_customers.
func BulkDeleteCustomers(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newBulkTool("bulk_delete_customers", "Delete many customers",
		"Soft-delete customers by id; bulk_undelete_customers restores them."+bulkHow,
		opDelete, "customerIds", "", customerIDsArgs{})
	s := &bulkSpec[string, billapi.Customer]{tool: t.Name, field: "customerIds", entity: customerEntity(), op: opDelete,
		decode: decodeID, bulk: c.BulkDeleteCustomers, id: customerID}
	return t, s.handler(c)
}

// BulkUndeleteCustomers is bulk_undelete_customers.
func BulkUndeleteCustomers(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newBulkTool("bulk_undelete_customers", "Undelete many customers",
		"Restore deleted customers by id."+bulkHow,
		opUndelete, "customerIds", "", customerIDsArgs{})
	s := &bulkSpec[string, billapi.Customer]{tool: t.Name, field: "customerIds", entity: customerEntity(), op: opUndelete,
		decode: decodeID, bulk: c.BulkUndeleteCustomers, id: customerID}
	return t, s.handler(c)
}

// BulkCreateCustomerContacts is bulk_create_customer_contacts.
func BulkCreateCustomerContacts(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newBulkTool("bulk_create_customer_contacts", "Create many customer contacts",
		"Create contacts, for one or many customers."+bulkHow,
		opCreate, "contacts", "create_customer_contact", bulkCreateContactsArgs{})
	s := &bulkSpec[billapi.CustomerContact, billapi.CustomerContact]{tool: t.Name, field: "contacts", entity: contactEntity(), op: opCreate,
		itemSchema: schemaFor(createContactArgs{}), decode: decodeItem(createContactArgs.contact),
		bulk: c.BulkCreateCustomerContacts, id: contactID, find: c.FindCreatedCustomerContacts}
	return t, s.handler(c)
}

// BulkUpdateCustomerContacts is bulk_update_customer_contacts.
func BulkUpdateCustomerContacts(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newBulkTool("bulk_update_customer_contacts", "Update many customer contacts",
		"Change fields of contacts: each item names its contactId and only the fields to change."+bulkHow,
		opUpdate, "contacts", "update_customer_contact", bulkUpdateContactsArgs{})
	s := &bulkSpec[billapi.CustomerContact, billapi.CustomerContact]{tool: t.Name, field: "contacts", entity: contactEntity(), op: opUpdate,
		itemSchema: schemaFor(updateContactArgs{}), decode: decodeItem(updateContactArgs.contact),
		bulk: c.BulkUpdateCustomerContacts, id: contactID}
	return t, s.handler(c)
}

// BulkDeleteCustomerContacts is bulk_delete_customer_contacts.
func BulkDeleteCustomerContacts(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newBulkTool("bulk_delete_customer_contacts", "Delete many customer contacts",
		"Soft-delete contacts by id; bulk_undelete_customer_contacts restores them."+bulkHow,
		opDelete, "contactIds", "", contactIDsArgs{})
	s := &bulkSpec[string, billapi.CustomerContact]{tool: t.Name, field: "contactIds", entity: contactEntity(), op: opDelete,
		decode: decodeID, bulk: c.BulkDeleteCustomerContacts, id: contactID}
	return t, s.handler(c)
}

// BulkUndeleteCustomerContacts is bulk_undelete_customer_contacts.
func BulkUndeleteCustomerContacts(c *billapi.Client) (mcp.Tool, server.ToolHandlerFunc) {
	t := newBulkTool("bulk_undelete_customer_contacts", "Undelete many customer contacts",
		"Restore deleted contacts by id."+bulkHow,
		opUndelete, "contactIds", "", contactIDsArgs{})
	s := &bulkSpec[string, billapi.CustomerContact]{tool: t.Name, field: "contactIds", entity: contactEntity(), op: opUndelete,
		decode: decodeID, bulk: c.BulkUndeleteCustomerContacts, id: contactID}
	return t, s.handler(c)
}
