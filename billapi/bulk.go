package billapi

import (
	"context"
	"fmt"
	"strings"
)

// Bulk calls take any number of items, send them MaxBulkItems per call in
// input order, and return one BulkResult per input item (Index = position
// in the input). An item BILL refuses gets BILL's per-item error. An item
// the client can tell is wrong (a malformed id) gets a local input error
// and costs no call. A chunk that fails as a whole after retries gives its
// items that error and later chunks still run, except when the failure
// will fail everything (credentials refused, hourly limit, session refused
// after a fresh login, context ended): then every item not yet done gets
// that error and the bulk call returns it as its error too.

func newResults[T any](n int) []BulkResult[T] {
	res := make([]BulkResult[T], n)
	for i := range res {
		res[i].Index = i
	}
	return res
}

// failRest gives every item from index from on that has no result yet err.
func failRest[T any](res []BulkResult[T], from int, err error) {
	e := asError("", err)
	for i := from; i < len(res); i++ {
		if res[i].Object == nil && res[i].Err == nil {
			res[i].Err = e
		}
	}
}

// settled reports the outcomes of the items [start, end) to o.Settled.
func settled[T any](o BulkOptions, k kind[T], res []BulkResult[T], start, end int) {
	if o.Settled == nil || start >= end {
		return
	}
	outs := make([]ItemOutcome, 0, end-start)
	for i := start; i < end; i++ {
		out := ItemOutcome{Index: i, Err: res[i].Err}
		if res[i].Object != nil {
			out.ID = k.id(res[i].Object)
		}
		outs = append(outs, out)
	}
	o.Settled(outs)
}

func progress(o BulkOptions, done, total int) {
	if o.Progress != nil {
		o.Progress(done, total)
	}
}

// bulkCreate creates objs with exactly-once reconciliation per chunk: after
// a lost answer only the items not found in BILL are sent again.
func bulkCreate[T any](ctx context.Context, c *Client, k kind[T], objs []T, o BulkOptions, wrap func(T) any) ([]BulkResult[T], error) {
	op := "Bulk/Crud/Create/" + k.entity
	res := newResults[T](len(objs))
	send := func(ctx context.Context, b []T) ([]outcome[T], error) {
		items := make([]any, len(b))
		for i := range b {
			items[i] = wrap(b[i])
		}
		raw, err := c.call(ctx, op, bulkData[any]{Bulk: items}, modeCreate)
		if err != nil {
			return nil, err
		}
		outs, e := decodeBulkItems[T](op, raw, len(b))
		if e != nil {
			// BILL answered but unreadably: some items may have applied.
			return nil, &lostAnswer{cause: e}
		}
		for _, o := range outs {
			if o.err != nil && o.err.Code == CodeBadResponse {
				// An item's answer is unreadable: it may have applied.
				return nil, &lostAnswer{cause: o.err}
			}
		}
		return outs, nil
	}
	for start := 0; start < len(objs); start += MaxBulkItems {
		end := min(start+MaxBulkItems, len(objs))
		var idx []int
		var batch []T
		for i := start; i < end; i++ {
			if e := checkNewObject(op, k, &objs[i]); e != nil {
				res[i].Err = e
				continue
			}
			idx = append(idx, i)
			batch = append(batch, k.forWrite(objs[i]))
		}
		if len(batch) > 0 {
			outs, ferr := createReconciled(ctx, c, k, op, batch, send)
			for j, i := range idx {
				res[i].Object, res[i].Err = outs[j].obj, outs[j].err
			}
			if ferr != nil {
				failRest(res, end, ferr)
				settled(o, k, res, start, end)
				progress(o, end, len(objs))
				return res, ferr
			}
		}
		settled(o, k, res, start, end)
		progress(o, end, len(objs))
	}
	return res, nil
}

// bulkSend sends one chunk of an idempotent bulk call (Update, Delete,
// Undelete) and spreads the per-item answers over res at idx. It returns an
// error only when the failure is fatal for the rest of the bulk call.
func bulkSend[T, E any](ctx context.Context, c *Client, op string, elems []E, idx []int, res []BulkResult[T]) error {
	if len(elems) == 0 {
		return nil
	}
	raw, err := c.call(ctx, op, bulkData[E]{Bulk: elems}, modeIdempotent)
	if err != nil {
		e := asError(op, err)
		for _, i := range idx {
			res[i].Err = e
		}
		return fatalOrNil(e)
	}
	outs, e := decodeBulkItems[T](op, raw, len(elems))
	if e != nil {
		for _, i := range idx {
			res[i].Err = e
		}
		return nil
	}
	for j, i := range idx {
		res[i].Object, res[i].Err = outs[j].obj, outs[j].err
	}
	return nil
}

// bulkByID runs Bulk Delete or Undelete.
func bulkByID[T any](ctx context.Context, c *Client, k kind[T], verb string, ids []string, o BulkOptions) ([]BulkResult[T], error) {
	op := "Bulk/Crud/" + verb + "/" + k.entity
	res := newResults[T](len(ids))
	for start := 0; start < len(ids); start += MaxBulkItems {
		end := min(start+MaxBulkItems, len(ids))
		var idx []int
		var elems []idData
		for i := start; i < end; i++ {
			if e := checkID(op, fmt.Sprintf("item %d: id", i), k.prefix, ids[i]); e != nil {
				res[i].Err = e
				continue
			}
			idx = append(idx, i)
			elems = append(elems, idData{ID: ids[i]})
		}
		if err := bulkSend(ctx, c, op, elems, idx, res); err != nil {
			failRest(res, end, err)
			settled(o, k, res, start, end)
			progress(o, end, len(ids))
			return res, err
		}
		settled(o, k, res, start, end)
		progress(o, end, len(ids))
	}
	return res, nil
}

// bulkUpdate runs Bulk Update. Items that leave a field BILL requires on
// update nil get it from the current record, fetched for the whole chunk
// with one List filtered on id in (...).
func bulkUpdate[T any](ctx context.Context, c *Client, k kind[T], objs []T, o BulkOptions) ([]BulkResult[T], error) {
	op := "Bulk/Crud/Update/" + k.entity
	res := newResults[T](len(objs))
	for start := 0; start < len(objs); start += MaxBulkItems {
		end := min(start+MaxBulkItems, len(objs))
		var idx, needFill []int
		for i := start; i < end; i++ {
			if e := checkID(op, fmt.Sprintf("item %d: id", i), k.prefix, k.id(&objs[i])); e != nil {
				res[i].Err = e
				continue
			}
			idx = append(idx, i)
			if len(k.missingForUpdate(&objs[i])) > 0 {
				needFill = append(needFill, i)
			}
		}
		cur, err := currentRecords(ctx, c, k, objs, needFill)
		if err != nil {
			e := asError(op, err)
			for _, i := range idx {
				res[i].Err = e
			}
			if isFatal(e) {
				failRest(res, end, e)
				settled(o, k, res, start, end)
				progress(o, end, len(objs))
				return res, e
			}
			settled(o, k, res, start, end)
			progress(o, end, len(objs))
			continue
		}
		var send []int
		var elems []objData[T]
		for _, i := range idx {
			obj := objs[i]
			if missing := k.missingForUpdate(&obj); len(missing) > 0 {
				rec, ok := cur[k.id(&obj)]
				if !ok {
					res[i].Err = &Error{Op: op, Code: CodeLocalInput, Class: ClassInput,
						Message: fmt.Sprintf("item %d: no %s with id %q exists to take the required %s from: pass them, or check the id", i, k.entity, k.id(&obj), joinFields(missing))}
					continue
				}
				k.fill(&obj, rec)
			}
			send = append(send, i)
			elems = append(elems, objData[T]{Obj: k.forWrite(obj)})
		}
		if err := bulkSend(ctx, c, op, elems, send, res); err != nil {
			failRest(res, end, err)
			settled(o, k, res, start, end)
			progress(o, end, len(objs))
			return res, err
		}
		settled(o, k, res, start, end)
		progress(o, end, len(objs))
	}
	return res, nil
}

// currentRecords fetches the records of objs at idx by id, in one List.
func currentRecords[T any](ctx context.Context, c *Client, k kind[T], objs []T, idx []int) (map[string]*T, error) {
	out := make(map[string]*T, len(idx))
	if len(idx) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(idx))
	for _, i := range idx {
		ids = append(ids, k.id(&objs[i]))
	}
	recs, err := collect[T](ctx, c, k.entity, ListParams{Max: MaxListPage, Filters: []Filter{{Field: "id", Op: OpIn, Value: strings.Join(ids, ",")}}})
	if err != nil {
		return nil, err
	}
	for j := range recs {
		out[k.id(&recs[j])] = &recs[j]
	}
	return out, nil
}
