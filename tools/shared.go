package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"

	invopop "github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
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
// server's words, what is wrong with item i. A message names an item by
// at[i], its index in the request (by i when at is nil). A bulk handler
// that reports schema failures per item uses it directly.
type itemChecker[I any] func(key string, raw []map[string]any, at []int) (items []I, bad map[int]itemError)

// newItemChecker returns the itemChecker of I for tool.
func newItemChecker[I any](tool string) itemChecker[I] {
	var (
		once   sync.Once
		schema *jsonschema.Schema
		doc    map[string]any
		err    error
	)
	return func(key string, raw []map[string]any, at []int) ([]I, map[int]itemError) {
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
			n := i // the request's index, for the wording
			if at != nil {
				n = at[i]
			}
			if err != nil {
				bad[i] = itemError{Code: CodeInternal, Message: "the server could not read its own item schema", Hint: "tell the user to report this bill-mcp bug"}
				continue
			}
			item, _ := coerce(doc, item).(map[string]any)
			// the decoded item as it is (the validator reads Go's JSON
			// values), then encoded once for the typed decode
			if detail, broken := violations(schema, item); broken {
				detail = fmt.Sprintf("%s[%d] %s", key, n, detail)
				bad[i] = itemError{Code: CodeInvalidArgument, Message: detail, Hint: validationHint(detail)}
				continue
			}
			enc, merr := json.Marshal(item)
			if merr != nil || json.Unmarshal(enc, &out[i]) != nil {
				detail := fmt.Sprintf("%s[%d] does not match the item schema", key, n)
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
		items, bad := check(key, raw, nil)
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

// listRecords lists one page of a customer's records (or everyone's) for
// list_customer_contacts and list_customer_bank_accounts: fields and
// filters checked, the page listed, each record projected and wrapped, the
// page cut to fit. It answers an error result instead when one fails.
func listRecords[T, R any](ctx context.Context, e entity, a listCommon, customerID string, fs []recordFilter,
	list func(context.Context, billapi.ListParams) ([]T, error), wrap func(record) R) ([]R, paging, *mcp.CallToolResult) {
	proj, bad := e.parseFields(a.Fields)
	if bad != nil {
		return nil, paging{}, bad.result()
	}
	filters, bad := listFilters(e, customerID, fs)
	if bad != nil {
		return nil, paging{}, bad.result()
	}
	items, pg, err := listPage(ctx, list, a.params(filters))
	if err != nil {
		return nil, paging{}, errorResult(err, e, OpRead)
	}
	recs := mapEach(items, func(x T) R { return wrap(e.toRecord(x, proj)) })
	return fitPage(recs, &pg), pg, nil
}

// filterArg is a list tool's filter argument: the two differ only in the
// descriptions their schemas carry.
type filterArg interface {
	customerFilter | recordFilter
}

// listFilters turns a list tool's filters into BILL's, after a customerId
// filter when customerID is set, refusing a field e cannot filter on.
func listFilters[F filterArg](e entity, customerID string, fs []F) ([]billapi.Filter, *itemError) {
	out := make([]billapi.Filter, 0, len(fs)+1)
	if customerID != "" {
		out = append(out, billapi.Filter{Field: "customerId", Op: billapi.OpEq, Value: customerID})
	}
	for _, f := range fs {
		g := customerFilter(f)
		if !slices.Contains(e.filterable, g.Field) {
			bad := badFilter(e, g.Field)
			return nil, &bad
		}
		out = append(out, billapi.Filter{Field: g.Field, Op: g.Op, Value: g.Value})
	}
	return out, nil
}
