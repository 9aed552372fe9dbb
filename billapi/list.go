package billapi

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
)

// sortData is one sort entry as BILL takes it: asc is the string "true"/"false".
type sortData struct {
	Field string `json:"field"`
	Asc   string `json:"asc"`
}

// listData is List's data.
type listData struct {
	Start   int        `json:"start"`
	Max     int        `json:"max"`
	Filters []Filter   `json:"filters"`
	Sort    []sortData `json:"sort"`
	Nested  bool       `json:"nested"`
}

// listRequest validates p and builds List's data. Filter fields and
// operators are left to BILL (BDC_1130/BDC_1131 name the bad one).
func listRequest(op string, p ListParams) (listData, *Error) {
	if p.Start < 0 {
		return listData{}, &Error{Op: op, Code: CodeLocalInput, Class: ClassInput, Message: fmt.Sprintf("start %d is negative: pass 0 or more", p.Start)}
	}
	if p.Max < 0 || p.Max > MaxListPage {
		return listData{}, &Error{Op: op, Code: CodeLocalInput, Class: ClassInput, Message: fmt.Sprintf("max %d is out of range: pass 1..%d (0 means %d)", p.Max, MaxListPage, MaxListPage)}
	}
	d := listData{Start: p.Start, Max: p.Max, Filters: p.Filters, Sort: make([]sortData, len(p.Sort))}
	if d.Max == 0 {
		d.Max = MaxListPage
	}
	if d.Filters == nil {
		d.Filters = []Filter{}
	}
	for i, s := range p.Sort {
		d.Sort[i] = sortData{Field: s.Field, Asc: "false"}
		if s.Asc {
			d.Sort[i].Asc = "true"
		}
	}
	return d, nil
}

// listPage fetches one page of entity.
func listPage[T any](ctx context.Context, c *Client, entity string, p ListParams) ([]T, error) {
	op := "List/" + entity
	d, e := listRequest(op, p)
	if e != nil {
		return nil, e
	}
	raw, err := c.call(ctx, op, d, modeRead)
	if err != nil {
		return nil, err
	}
	var page []T
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, badResponse(op, 200, "List answered something other than an array of "+entity)
	}
	sawIDs(c, page)
	return page, nil
}

// listAll pages through every record matching p, from p.Start in pages of
// p.Max (0: 999), until a page comes back short.
func listAll[T any](ctx context.Context, c *Client, entity string, p ListParams) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if _, e := listRequest("List/"+entity, p); e != nil {
			yield(zero, e)
			return
		}
		if p.Max == 0 {
			p.Max = MaxListPage
		}
		for {
			page, err := listPage[T](ctx, c, entity, p)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, v := range page {
				if !yield(v, nil) {
					return
				}
			}
			if len(page) < p.Max {
				return
			}
			p.Start += len(page)
		}
	}
}

// collect gathers every record listAll yields.
func collect[T any](ctx context.Context, c *Client, entity string, p ListParams) ([]T, error) {
	var out []T
	for v, err := range listAll[T](ctx, c, entity, p) {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
