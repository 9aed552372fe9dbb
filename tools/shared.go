package tools

import (
	"context"
	"iter"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// DefaultListMax is the page size of list tools when max is omitted: a page
// an agent's context can afford (max goes up to BILL's 999 on request).
const DefaultListMax = 50

// newTool builds a tool with raw input and output schemas generated from
// in and out, its title, and all four hints set explicitly for op.
func newTool(name, title, description string, op opKind, in, out any) mcp.Tool {
	t := mcp.NewToolWithRawSchema(name, description, schemaFor(in))
	t.RawOutputSchema = schemaFor(out)
	t.Title = title
	readOnly, destructive, idempotent := hintsFor(op)
	t.Annotations = mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    mcp.ToBoolPtr(readOnly),
		DestructiveHint: mcp.ToBoolPtr(destructive),
		IdempotentHint:  mcp.ToBoolPtr(idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(true), // every tool talks to BILL
	}
	return t
}

// hintsFor decides the annotations of an operation:
//   - read (get, list): read-only, not destructive, idempotent.
//   - create: not idempotent (a second call makes a second object; BILL
//     refuses a duplicate customer name, but contacts have no such guard),
//     not destructive (it only adds).
//   - update: idempotent (the same arguments leave the same state), and
//     destructive: it overwrites field values BILL keeps no history of, which
//     is not an "additive" change in the MCP spec's sense.
//   - delete: destructive (the object disappears from BILL's default views)
//     and idempotent (deleting an inactive object succeeds unchanged).
//   - undelete: idempotent, not destructive (it restores).
func hintsFor(op opKind) (readOnly, destructive, idempotent bool) {
	switch op {
	case opRead:
		return true, false, true
	case opCreate:
		return false, false, false
	case opUpdate:
		return false, true, true
	case opDelete:
		return false, true, true
	default: // opUndelete
		return false, false, true
	}
}

// paging tells an agent where a list page sits and where the next starts.
type paging struct {
	Start     int  `json:"start" jsonschema:"required" jsonschema_description:"Index of the first item of this page."`
	Max       int  `json:"max" jsonschema:"required" jsonschema_description:"Page size asked for."`
	Count     int  `json:"count" jsonschema:"required" jsonschema_description:"Items in this page."`
	HasMore   bool `json:"hasMore" jsonschema:"required" jsonschema_description:"True when more items may follow; call again with start = nextStart."`
	NextStart *int `json:"nextStart,omitempty" jsonschema_description:"Where the next page starts; present only when hasMore is true."`
}

// sortArg orders a list by one field.
type sortArg struct {
	Field string `json:"field" jsonschema:"required,minLength=1" jsonschema_description:"Field to sort by, e.g. createdTime, updatedTime or id."`
	Asc   *bool  `json:"asc,omitempty" jsonschema_description:"true ascending (default), false descending."`
}

// listCommon are the arguments every list tool takes.
type listCommon struct {
	Start    int       `json:"start,omitempty" jsonschema:"minimum=0,default=0" jsonschema_description:"Index of the first item to return (0-based). To page, pass the previous answer's paging.nextStart."`
	Max      int       `json:"max,omitempty" jsonschema:"minimum=1,maximum=999,default=50" jsonschema_description:"Page size, 1..999; default 50. Ask for more only when you need them: each item costs context."`
	Sort     []sortArg `json:"sort,omitempty" jsonschema_description:"Sort order, first entry first."`
	IsActive string    `json:"isActive,omitempty" jsonschema:"enum=1,enum=2" jsonschema_description:"1 only active, 2 only inactive (deleted); omit for both."`
}

func (l listCommon) params(filters []billapi.Filter) billapi.ListParams {
	p := billapi.ListParams{Start: l.Start, Max: l.Max, Filters: filters}
	if p.Max <= 0 {
		p.Max = DefaultListMax
	}
	if l.IsActive != "" {
		p.Filters = append(p.Filters, billapi.Filter{Field: "isActive", Op: billapi.OpEq, Value: l.IsActive})
	}
	for _, s := range l.Sort {
		asc := s.Asc == nil || *s.Asc
		p.Sort = append(p.Sort, billapi.Sort{Field: s.Field, Asc: asc})
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

// handle decodes a call's arguments into A and runs fn; a handler built
// without a client answers an error instead.
func handle[A any](c *billapi.Client, fn func(context.Context, mcp.CallToolRequest, A) *mcp.CallToolResult) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if c == nil {
			return noClient(), nil
		}
		a, bad := decodeArgs[A](req)
		if bad != nil {
			return bad, nil
		}
		return fn(ctx, req, a), nil
	}
}

// noClient is the result of a handler built without a client (catalogue
// and schema generation only).
func noClient() *mcp.CallToolResult {
	return failure(CodeInternal, "this tool was built without a BILL client", "tell the user the server is misconfigured")
}
