package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

	invopop "github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// DefaultListMax is the page size of list tools when max is omitted: a page
// of compact records an agent's context can afford (max goes up to BILL's
// 999 on request, and the answer bound cuts a page that would not fit).
const DefaultListMax = 25

// paging tells an agent where a list page sits and where the next starts.
type paging struct {
	Start     int    `json:"start" jsonschema:"required"`
	Max       int    `json:"max" jsonschema:"required"`
	Count     int    `json:"count" jsonschema:"required"`
	HasMore   bool   `json:"hasMore" jsonschema:"required"`
	NextStart *int   `json:"nextStart,omitempty"`
	Note      string `json:"note,omitempty"`
}

// JSONSchema is paging's output shape: the fields always present (an
// output shape is open, so nextStart and note may follow).
func (paging) JSONSchema() *invopop.Schema {
	props := invopop.NewProperties()
	props.Set("hasMore", &invopop.Schema{Type: "boolean"})
	props.Set("count", &invopop.Schema{Type: "integer"})
	return &invopop.Schema{Type: "object", Properties: props, Required: []string{"hasMore", "count"}}
}

// listCommon are the arguments every list tool takes.
type listCommon struct {
	Start    int      `json:"start,omitempty" jsonschema:"minimum=0" jsonschema_description:"paging.nextStart"`
	Max      int      `json:"max,omitempty" jsonschema:"minimum=1,maximum=999" jsonschema_description:"Default 25."`
	Sort     string   `json:"sort,omitempty" jsonschema:"maxLength=40" jsonschema_description:"-field: descending."`
	IsActive string   `json:"isActive,omitempty" jsonschema:"enum=1,enum=2" jsonschema_description:"1 active, 2 deleted."`
	Fields   []string `json:"fields,omitempty" jsonschema:"maxLength=40" jsonschema_description:"More fields, or all."`
}

func (l listCommon) params(filters []billapi.Filter) billapi.ListParams {
	p := billapi.ListParams{Start: l.Start, Max: l.Max, Filters: filters}
	if p.Max <= 0 {
		p.Max = DefaultListMax
	}
	if l.IsActive != "" {
		p.Filters = append(p.Filters, billapi.Filter{Field: "isActive", Op: billapi.OpEq, Value: l.IsActive})
	}
	if f := strings.TrimSpace(l.Sort); f != "" {
		field, desc := strings.CutPrefix(f, "-")
		p.Sort = append(p.Sort, billapi.Sort{Field: field, Asc: !desc})
	}
	return p
}

// listPage fetches one page through list. It asks BILL for one item more
// than the page so that hasMore is exact, except at BILL's 999 ceiling
// where a full page reports hasMore true.
func listPage[T any](ctx context.Context, list func(context.Context, billapi.ListParams) ([]T, error), p billapi.ListParams) ([]T, paging, error) {
	want := p.Max
	if want < billapi.MaxListPage {
		p.Max = want + 1
	}
	items, err := list(ctx, p)
	if err != nil {
		return nil, paging{}, err
	}
	more := len(items) > want || (want >= billapi.MaxListPage && len(items) == want)
	if len(items) > want {
		items = items[:want]
	}
	return items, pageInfo(p.Start, want, len(items), more), nil
}

// matchingPage pages through all (every item BILL lists for the filters)
// keeping those match accepts, and returns the page [start, start+max) of
// the matches. It stops reading as soon as it knows whether more follow.
func matchingPage[T any](all iter.Seq2[T, error], match func(T) bool, start, max int) ([]T, paging, error) {
	var out []T
	seen := 0
	more := false
	for item, err := range all {
		if err != nil {
			return nil, paging{}, err
		}
		if !match(item) {
			continue
		}
		seen++
		if seen <= start {
			continue
		}
		if len(out) == max {
			more = true
			break
		}
		out = append(out, item)
	}
	return out, pageInfo(start, max, len(out), more), nil
}

func pageInfo(start, max, count int, more bool) paging {
	pg := paging{Start: start, Max: max, Count: count, HasMore: more}
	if more {
		next := start + count
		pg.NextStart = &next
	}
	return pg
}

// fitPage keeps the longest prefix of recs whose answer stays within
// MaxAnswerBytes, and when it cuts, says so in pg.
func fitPage[R any](recs []R, pg *paging) []R {
	const envelope = 400 // the object around the records, paging and note
	total := envelope
	for i, r := range recs {
		raw, err := json.Marshal(r)
		if err != nil {
			continue
		}
		total += len(raw) + 1
		if total > MaxAnswerBytes && i > 0 {
			next := pg.Start + i
			pg.Note = boundNote(len(recs), i)
			pg.Count, pg.HasMore, pg.NextStart = i, true, &next
			return recs[:i]
		}
	}
	return recs
}

// itemDecoder validates raw bulk items against the item schema and
// decodes them; key is the argument holding them, for the wording.
type itemDecoder[I any] func(key string, raw []map[string]any) ([]I, *mcp.CallToolResult)

// itemChecker validates raw items one by one against the item schema of I
// (compiled once, on first use), coercing what is forgivable: items[i] is
// the decoded item where bad has no entry i, and bad[i] says, in the
// server's words, what is wrong with item i. A bulk handler that reports
// schema failures per item (issue 8 item 4) uses it directly.
type itemChecker[I any] func(key string, raw []map[string]any) (items []I, bad map[int]itemError)

// newItemChecker returns the itemChecker of I for tool.
func newItemChecker[I any](tool string) itemChecker[I] {
	var (
		once   sync.Once
		schema *jsonschema.Schema
		doc    map[string]any
		err    error
	)
	return func(key string, raw []map[string]any) ([]I, map[int]itemError) {
		once.Do(func() {
			var zero I
			rawSchema := schemaFor(zero)
			schema, err = compileSchema(tool+".item", rawSchema)
			if err == nil {
				err = json.Unmarshal(rawSchema, &doc)
			}
		})
		out := make([]I, len(raw))
		bad := map[int]itemError{}
		for i, item := range raw {
			if err != nil {
				bad[i] = itemError{Code: CodeInternal, Message: "the server could not read its own item schema", Hint: "tell the user to report this bill-mcp bug"}
				continue
			}
			item, _ := coerce(doc, item).(map[string]any)
			if detail, broken := violations(schema, item); broken {
				detail = fmt.Sprintf("%s[%d] %s", key, i, detail)
				bad[i] = itemError{Code: CodeInvalidArgument, Message: detail, Hint: validationHint(detail)}
				continue
			}
			enc, _ := json.Marshal(item)
			if json.Unmarshal(enc, &out[i]) != nil {
				detail := fmt.Sprintf("%s[%d] does not match the item schema", key, i)
				bad[i] = itemError{Code: CodeInvalidArgument, Message: detail, Hint: validationHint(detail)}
			}
		}
		return out, bad
	}
}

// newItemDecoder is all or nothing over newItemChecker: an item that
// breaks the schema refuses the whole call, naming its index (the first
// five are named), before anything is sent.
func newItemDecoder[I any](tool string) itemDecoder[I] {
	check := newItemChecker[I](tool)
	return func(key string, raw []map[string]any) ([]I, *mcp.CallToolResult) {
		items, bad := check(key, raw)
		if len(bad) == 0 {
			return items, nil
		}
		var parts []string
		for i := range raw {
			if x, ok := bad[i]; ok {
				if x.Code != CodeInvalidArgument {
					return nil, x.result()
				}
				parts = append(parts, x.Message)
				if len(parts) == 5 {
					break
				}
			}
		}
		detail := strings.Join(parts, "; ")
		return nil, failure(CodeInvalidArgument, "nothing was sent to BILL: "+detail, validationHint(detail))
	}
}

// bulkItem is the outcome of one item of a bulk tool.
type bulkItem struct {
	Index int        `json:"index" jsonschema:"required"`
	OK    bool       `json:"ok" jsonschema:"required"`
	ID    string     `json:"id,omitempty"`
	Error *itemError `json:"error,omitempty"`
}

// JSONSchema is a bulk result item's output shape, kept small: it is
// repeated in every bulk tool.
func (bulkItem) JSONSchema() *invopop.Schema {
	return &invopop.Schema{Type: "object"}
}

// JSONSchema is the bulk summary's output shape, kept small likewise.
func (bulkSummary) JSONSchema() *invopop.Schema {
	return &invopop.Schema{Type: "object"}
}

// bulkSummary counts a bulk tool's outcomes.
type bulkSummary struct {
	Total     int `json:"total" jsonschema:"required"`
	Succeeded int `json:"succeeded" jsonschema:"required"`
	Failed    int `json:"failed" jsonschema:"required"`
}

// bulkOutput is every bulk tool's result.
type bulkOutput struct {
	Results []bulkItem  `json:"results" jsonschema:"required"`
	Summary bulkSummary `json:"summary" jsonschema:"required"`
}

// bulkFunc is a billapi bulk method.
type bulkFunc[In, Out any] func(context.Context, []In, billapi.BulkOptions) ([]billapi.BulkResult[Out], error)

// runBulk calls bulk with items, reporting progress to the client after
// each chunk when the request carried a progress token, and returns one
// result per item plus a summary. An error for the whole call marks every
// item without its own answer as failed with that error; it never hides
// the answers that did arrive.
func runBulk[In, Out any](ctx context.Context, req mcp.CallToolRequest, bulk bulkFunc[In, Out], items []In, id func(Out) string, e entity, op Op) *mcp.CallToolResult {
	results, err := bulk(ctx, items, billapi.BulkOptions{Progress: progressReporter(ctx, req)})
	if err != nil && len(results) == 0 {
		return errorResult(err, e, op)
	}
	out := bulkOutput{Results: make([]bulkItem, len(items)), Summary: bulkSummary{Total: len(items)}}
	answered := make([]bool, len(items))
	for _, r := range results {
		if r.Index < 0 || r.Index >= len(items) {
			continue
		}
		answered[r.Index] = true
		switch {
		case r.Err != nil:
			x := explain(r.Err, e, op, time.Now())
			out.Results[r.Index] = bulkItem{Index: r.Index, Error: &x}
		case r.Object != nil:
			out.Results[r.Index] = bulkItem{Index: r.Index, OK: true, ID: id(*r.Object)}
		default:
			answered[r.Index] = false
		}
	}
	for i := range items {
		if answered[i] {
			continue
		}
		var x itemError
		if err != nil {
			x = explain(err, e, op, time.Now())
		} else {
			x = itemError{Code: CodeInternal, Message: "BILL gave no answer for this item", Hint: fmt.Sprintf("check with %s whether it was applied, then send it again if not", e.listTool)}
		}
		out.Results[i] = bulkItem{Index: i, Error: &x}
	}
	for _, r := range out.Results {
		if r.OK {
			out.Summary.Succeeded++
		} else {
			out.Summary.Failed++
		}
	}
	return structured(out)
}

// progressReporter returns a BulkOptions.Progress callback that sends
// notifications/progress with the request's progress token, or nil when
// the client asked for none.
func progressReporter(ctx context.Context, req mcp.CallToolRequest) func(done, total int) {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return nil
	}
	token := req.Params.Meta.ProgressToken
	return func(done, total int) {
		// A client that went away cannot be told; the bulk call goes on.
		err := srv.SendNotificationToClient(ctx, "notifications/progress", map[string]any{
			"progressToken": token,
			"progress":      done,
			"total":         total,
			"message":       fmt.Sprintf("%d of %d items done", done, total),
		})
		if err == nil {
			awaitNotificationDelivery(ctx)
		}
	}
}

// Bounds of awaitNotificationDelivery.
const (
	deliveryPoll  = time.Millisecond
	deliveryLimit = 250 * time.Millisecond
	deliveryGrace = 5 * time.Millisecond
)

// awaitNotificationDelivery holds the handler back until the session's
// notification queue is empty, plus a short grace for the write in hand.
//
// mcp-go v1.2.1 delivers notifications on another goroutine than the
// result (stdio: StdioServer.handleNotifications; streamable HTTP: the
// per-request forwarder, which drops what it dequeues after the request
// ended), so a bulk call's final progress notification could arrive after
// its result, where clients discard it, or not at all, and over HTTP two
// notifications could overtake each other. Waiting after each one (once per
// chunk of 100 items, so at most a few ms per 100) keeps them in order and
// ahead of the result. The wait is bounded and honours ctx.
func awaitNotificationDelivery(ctx context.Context) {
	session := server.ClientSessionFromContext(ctx)
	if session == nil {
		return
	}
	ch := session.NotificationChannel()
	deadline := time.Now().Add(deliveryLimit)
	for len(ch) > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(deliveryPoll):
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(deliveryGrace):
	}
}
