package billapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Bulk calls take any number of items, send them MaxBulkItems per call,
// chunks running concurrently up to the in-flight cap (started in input
// order), and return one BulkResult per input item (Index = position
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

// runChunks runs do on every chunk [start, end) of MaxBulkItems of n
// items from one worker more than the client's in-flight cap: each call
// still passes the gate, shared with every other call of the client (so
// reads stay responsive during an import), and the extra worker waits
// there with its chunk ready while another decodes its answer, so no slot
// idles for the client's own work. Chunks start in input order: a chunk's
// first call enters the gate only once the chunk before has its slot (see
// turn), so the first chunks meet BILL first, whatever the scheduler. do
// writes its items' results itself and returns an error only when the
// failure is fatal for the whole bulk call: chunks not yet started are then
// not run, and runChunks returns that error once the running ones end.
// Progress is reported after each chunk, in order, never decreasing, from
// one goroutine of its own, so a slow reporter never holds a chunk back;
// runChunks returns after the last report.
func runChunks(ctx context.Context, c *Client, n int, o BulkOptions, do func(ctx context.Context, start, end int) error) error {
	chunks := (n + MaxBulkItems - 1) / MaxBulkItems
	workers := min(c.gate.max+1, chunks)
	var (
		mu    sync.Mutex
		next  int
		done  int
		fatal error
		wg    sync.WaitGroup
	)
	var reports chan int // buffered for every chunk: sending never blocks
	var reported sync.WaitGroup
	if o.Progress != nil {
		reports = make(chan int, chunks)
		reported.Go(func() {
			for d := range reports {
				o.Progress(d, n)
			}
		})
	}
	// turns[k] is closed once chunk k-1 has its slot (or needs none).
	turns := make([]chan struct{}, chunks+1)
	for k := range turns {
		turns[k] = make(chan struct{})
	}
	close(turns[0])
	var started sync.Once
	allStarted := func() {
		if o.AllStarted != nil {
			started.Do(o.AllStarted)
		}
	}
	defer allStarted()
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				if fatal != nil || next >= chunks {
					mu.Unlock()
					allStarted()
					return
				}
				k := next
				start := k * MaxBulkItems
				next++
				last := next == chunks
				mu.Unlock()
				if last {
					allStarted()
				}
				end := min(start+MaxBulkItems, n)
				t := &turn{wait: turns[k], done: turns[k+1]}
				err := do(withTurn(ctx, t), start, end)
				t.pass() // a chunk that made no call passes its turn here
				mu.Lock()
				if err != nil && fatal == nil {
					fatal = err
				}
				done += end - start
				if reports != nil {
					reports <- done
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if reports != nil {
		close(reports)
		reported.Wait()
	}
	return fatal
}

// turn orders the first gate entry of a bulk call's chunks: a chunk's
// first call waits for wait, and closes done once it holds a slot (or
// failed to get one), letting the next chunk's first call queue behind it.
// The chunk's later calls (retries, reconciliation) do not wait.
type turn struct {
	wait <-chan struct{}
	done chan struct{}
	once sync.Once
}

// pass lets the next chunk go; calling it again does nothing.
func (t *turn) pass() { t.once.Do(func() { close(t.done) }) }

type turnKey struct{}

func withTurn(ctx context.Context, t *turn) context.Context {
	return context.WithValue(ctx, turnKey{}, t)
}

// awaitTurn waits, for the first call of a chunk, until the chunk before
// holds its slot. It returns the function to call once this call holds
// its own (a no-op outside a bulk call and for a chunk's later calls).
func awaitTurn(ctx context.Context, op string) (passed func(), e *Error) {
	t, _ := ctx.Value(turnKey{}).(*turn)
	if t == nil {
		return func() {}, nil
	}
	select {
	case <-t.wait:
		return t.pass, nil
	case <-ctx.Done():
		t.pass()
		return nil, canceled(op, ctx.Err())
	}
}

// bulkItems is decodeBulkItems for c: each item's error carries BILL's own
// text, which is redacted and bounded like every upstream text (send does
// it for the answer as a whole, not for the items inside it).
func bulkItems[T any](c *Client, op string, raw json.RawMessage, want int) ([]outcome[T], *Error) {
	outs, e := decodeBulkItems[T](op, raw, want)
	for i := range outs {
		outs[i].err = c.scrub(outs[i].err)
	}
	return outs, e
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
		outs, e := bulkItems[T](c, op, raw, len(b))
		if e != nil {
			// BILL answered but unreadably: some items may have applied.
			return nil, &lostAnswer{cause: e}
		}
		for j, o := range outs {
			if o.err != nil && o.err.Code == CodeBadResponse {
				// An item's answer is unreadable: it may have applied.
				return nil, &lostAnswer{cause: o.err}
			}
			if o.obj != nil && !k.sameItem(&b[j], o.obj) {
				// The answers are not in request order (nothing documents
				// that they are): which item each belongs to is unknown.
				return nil, &lostAnswer{cause: mismatch(op, j)}
			}
		}
		return outs, nil
	}
	err := runChunks(ctx, c, len(objs), o, settling(o, k, res, func(ctx context.Context, start, end int) error {
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
		if len(batch) == 0 {
			return nil
		}
		outs, ferr := createReconciled(ctx, c, k, op, batch, send)
		for j, i := range idx {
			res[i].Object, res[i].Err = outs[j].obj, outs[j].err
		}
		return ferr
	}))
	if err != nil {
		failRest(res, 0, err)
		return res, err
	}
	return res, nil
}

// bulkSend sends one chunk of an idempotent bulk call (Update, Delete,
// Undelete) and spreads the per-item answers over res at idx; ids[j] is the
// id of elems[j], sent[j] the update's object (nil for delete/undelete). It
// returns an error only when the failure is fatal for the rest of the bulk
// call.
//
// Answers are matched to items by id, not position alone. When they do not
// match, or the answer is unreadable, or an earlier attempt's answer was
// lost and this one refuses items (or the whole chunk), the items are read
// back and each is told its true state (see readBack).
func bulkSend[T, E any](ctx context.Context, c *Client, k kind[T], verb string, elems []E, ids []string, sent []*T, idx []int, res []BulkResult[T]) error {
	if len(elems) == 0 {
		return nil
	}
	op := "Bulk/Crud/" + verb + "/" + k.entity
	all := make([]int, len(elems))
	for j := range all {
		all[j] = j
	}
	raw, lost, err := c.callRawLostData(ctx, op, bulkData[E]{Bulk: elems}, modeIdempotent)
	if err != nil {
		var rl *refusedAfterLost
		if errors.As(err, &rl) {
			settleItems(ctx, c, k, verb, ids, sent, all, idx, res, rl.cause)
			return fatalOrNil(rl.cause)
		}
		e := asError(op, err)
		for _, i := range idx {
			res[i].Err = e
		}
		return fatalOrNil(e)
	}
	outs, e := bulkItems[T](c, op, raw, len(elems))
	if e == nil {
		for j, o := range outs {
			if o.obj != nil && !sameID(ids[j], k.id(o.obj)) {
				e = mismatch(op, j)
				break
			}
		}
	}
	if e != nil {
		settleItems(ctx, c, k, verb, ids, sent, all, idx, res, e)
		return nil
	}
	var refused []int
	for j, i := range idx {
		res[i].Object, res[i].Err = outs[j].obj, outs[j].err
		if outs[j].err != nil && lost {
			refused = append(refused, j)
		}
	}
	if len(refused) > 0 {
		settleItems(ctx, c, k, verb, ids, sent, refused, idx, res, nil)
	}
	return nil
}

// mismatch is the error of a Bulk answer whose item j answers another item.
func mismatch(op string, j int) *Error {
	return badResponse(op, 200, fmt.Sprintf("item %d of the Bulk answer is not the answer to item %d of the request", j, j))
}

// settleItems reads back the items at js (positions in the chunk) and
// tells each its true state: the record if it holds the change, else its
// own refusal (or cause) saying the record was checked, else undecided
// when the read fails. cause nil keeps each item's own error.
func settleItems[T any](ctx context.Context, c *Client, k kind[T], verb string, ids []string, sent []*T, js, idx []int, res []BulkResult[T], cause *Error) {
	want := make([]string, len(js))
	for n, j := range js {
		want[n] = ids[j]
	}
	recs, err := recordsByID(ctx, c, k, want)
	for _, j := range js {
		i := idx[j]
		why := cause
		if why == nil {
			why = res[i].Err
		}
		if why == nil {
			why = &Error{Op: "Bulk/Crud/" + verb + "/" + k.entity, Code: CodeBadResponse, Class: ClassServer, Message: "BILL's answer for this item was lost"}
		}
		if err != nil {
			res[i].Object, res[i].Err = nil, &Error{Op: why.Op, Code: CodeUndecidedOutcome, Class: ClassTransport, Err: errors.Join(why, err),
				Message: fmt.Sprintf("the answer for this item was lost or refused (%s: %s) and reading it back failed; the change may or may not have been made: get the %s to check", why.Code, why.Message, k.entity)}
			continue
		}
		var s *T
		if sent != nil {
			s = sent[j]
		}
		if rec, ok := recs[ids[j]]; ok && holds(k, verb, s, rec) {
			res[i].Object, res[i].Err = rec, nil
			continue
		}
		e := *why
		e.Message = why.Message + " (the record was read back and does not hold the change)"
		res[i].Object, res[i].Err = nil, &e
	}
}

// bulkByID runs Bulk Delete or Undelete.
func bulkByID[T any](ctx context.Context, c *Client, k kind[T], verb string, ids []string, o BulkOptions) ([]BulkResult[T], error) {
	op := "Bulk/Crud/" + verb + "/" + k.entity
	res := newResults[T](len(ids))
	err := runChunks(ctx, c, len(ids), o, settling(o, k, res, func(ctx context.Context, start, end int) error {
		var idx []int
		var elems []idData
		var sentIDs []string
		for i := start; i < end; i++ {
			if e := checkID(op, fmt.Sprintf("item %d: id", i), k.prefix, ids[i]); e != nil {
				res[i].Err = e
				continue
			}
			idx = append(idx, i)
			elems = append(elems, idData{ID: ids[i]})
			sentIDs = append(sentIDs, ids[i])
		}
		return bulkSend(ctx, c, k, verb, elems, sentIDs, nil, idx, res)
	}))
	if err != nil {
		failRest(res, 0, err)
		return res, err
	}
	return res, nil
}

// bulkUpdate runs Bulk Update. Items that leave a field BILL requires on
// update nil get it from the current record, fetched for the whole chunk
// with one List filtered on id in (...).
func bulkUpdate[T any](ctx context.Context, c *Client, k kind[T], objs []T, o BulkOptions) ([]BulkResult[T], error) {
	op := "Bulk/Crud/Update/" + k.entity
	res := newResults[T](len(objs))
	err := runChunks(ctx, c, len(objs), o, settling(o, k, res, func(ctx context.Context, start, end int) error {
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
				return e
			}
			return nil
		}
		var send []int
		var elems []objData[T]
		var sentIDs []string
		var sentObjs []*T
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
			w := k.forWrite(obj)
			send = append(send, i)
			elems = append(elems, objData[T]{Obj: w})
			sentIDs = append(sentIDs, k.id(&w))
			sentObjs = append(sentObjs, &w)
		}
		return bulkSend(ctx, c, k, "Update", elems, sentIDs, sentObjs, send, res)
	}))
	if err != nil {
		failRest(res, 0, err)
		return res, err
	}
	return res, nil
}

// currentRecords fetches the records of objs at idx by id.
func currentRecords[T any](ctx context.Context, c *Client, k kind[T], objs []T, idx []int) (map[string]*T, error) {
	ids := make([]string, 0, len(idx))
	for _, i := range idx {
		ids = append(ids, k.id(&objs[i]))
	}
	return recordsByID(ctx, c, k, ids)
}

// recordsByID fetches records by id: one List filtered on id in (...), or,
// once BILL has refused "in", one Read per id. Unknown ids are absent.
func recordsByID[T any](ctx context.Context, c *Client, k kind[T], ids []string) (map[string]*T, error) {
	out := make(map[string]*T, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if !c.inRefused.Load() {
		recs, err := collect[T](ctx, c, k.entity, ListParams{Max: MaxListPage, Filters: []Filter{{Field: "id", Op: OpIn, Value: strings.Join(ids, ",")}}})
		if err == nil {
			for j := range recs {
				out[k.id(&recs[j])] = &recs[j]
			}
			return out, nil
		}
		if !refusedFilter(err) {
			return nil, err
		}
		c.refuseIn(err)
	}
	for _, id := range ids {
		rec, err := byID(ctx, c, k, "Read", id)
		var e *Error
		switch {
		case err == nil:
			out[id] = rec
		case errors.As(err, &e) && e.Code == CodeNoDataFound:
		default:
			return nil, err
		}
	}
	return out, nil
}

// settling wraps a chunk function so that o.Settled hears each chunk's
// outcomes once it is done (from the chunk's own goroutine).
func settling[T any](o BulkOptions, k kind[T], res []BulkResult[T], do func(ctx context.Context, start, end int) error) func(ctx context.Context, start, end int) error {
	if o.Settled == nil {
		return do
	}
	return func(ctx context.Context, start, end int) error {
		err := do(ctx, start, end)
		outs := make([]ItemOutcome, 0, end-start)
		for i := start; i < end; i++ {
			out := ItemOutcome{Index: i, Err: res[i].Err}
			if res[i].Object != nil {
				out.ID = k.id(res[i].Object)
			}
			outs = append(outs, out)
		}
		o.Settled(outs)
		return err
	}
}
