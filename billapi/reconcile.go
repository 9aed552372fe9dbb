package billapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Exactly-once creates.
//
// A create whose answer is lost (connection reset or closed after the
// request was written, a timeout, BDC_1002, HTTP 5xx, a mangled answer) may
// or may not have created the record. The client never re-sends it blindly:
//
//  1. Before the first send it notes since = now - reconcileMargin (the
//     margin absorbs clock skew between this machine and BILL; the wall
//     clock is used, not Config.Now, because it is compared with BILL's).
//  2. After a lost answer it Lists the entity filtered on
//     createdTime >= since (BILL's timestamp format, UTC) and, for contacts
//     and bank accounts, customerId = / in the items' customers, and
//     matches candidates to the items by key: customer name (trimmed,
//     case-insensitive; names are unique in BILL); contact customerId +
//     firstName + lastName + email; bank account customerId + nameOnAccount
//     + routingNumber + last 4 digits of the (masked) accountNumber.
//  3. A candidate whose id this client already handed to a caller (it
//     remembers the ids it created, or claimed by reconciliation, for
//     knownTTL) is never matched again, and each candidate matches at most
//     one item, in createdTime order. Before listing, the reconciler waits
//     until no identical create of this client is still on the wire, so
//     their ids are known first. So two identical contacts created on
//     purpose, one after the other or at the same time from two
//     goroutines, are two records and each caller gets its own. The rule
//     cannot tell apart an identical record created in the same window by
//     another client: such a record is indistinguishable and may be claimed.
//  4. Matched items are done (the caller gets the record as if the answer
//     had arrived). Unmatched items were not applied and are sent again.
//     A customer re-sent after a lost answer that BILL refuses as a
//     duplicate name is reconciled once more: if a matching record created
//     since `since` exists and is not known, the earlier attempt applied
//     and that record is the result; otherwise the duplicate error stands.
//  5. When the reconciliation List itself keeps failing the client answers
//     CodeUndecidedOutcome: the record may or may not exist. It never guesses.

// reconcileMargin opens the createdTime window before the first send.
const reconcileMargin = 5 * time.Minute

// knownTTL is how long created ids are remembered; longer than any
// reconciliation window of a create still in progress.
const knownTTL = 3 * reconcileMargin

// reconcileTries bounds how often reconciliation repeats its whole List
// (each List already retries transient failures itself).
const reconcileTries = 3

// knownIDs remembers ids this client created or claimed recently.
// It also counts this client's creates on the wire by match key, so a
// reconciliation can wait for identical creates still in flight to land
// (and their ids to become known) before it claims a record.
type knownIDs struct {
	mu       sync.Mutex
	ids      map[string]time.Time
	seen     map[string]time.Time // first time an id appeared in any answer
	lastTrim time.Time
	inflight map[string]int
	frozen   map[string]int // keys a reconciliation is looking for: no identical create may start
	changed  chan struct{}  // closed and replaced whenever inflight drops or a key thaws
}

func newKnownIDs() *knownIDs {
	return &knownIDs{ids: make(map[string]time.Time), seen: make(map[string]time.Time), inflight: make(map[string]int), frozen: make(map[string]int), changed: make(chan struct{})}
}

// begin records creates with these match keys going on the wire. It first
// waits while a reconciliation looks for any of those keys (see
// waitIdleAndFreeze): a create that started during that List could be
// claimed by it, and the same record answered twice.
func (k *knownIDs) begin(ctx context.Context, keys []string) error {
	for {
		k.mu.Lock()
		held := slices.ContainsFunc(keys, func(key string) bool { return k.frozen[key] > 0 })
		if !held {
			for _, key := range keys {
				k.inflight[key]++
			}
			k.mu.Unlock()
			return nil
		}
		ch := k.changed
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// knowLocked records ids ("" skipped) as seen now. k.mu is held.
func (k *knownIDs) knowLocked(ids []string) {
	now := time.Now()
	for _, id := range ids {
		if id != "" {
			k.addLocked(id, now)
		}
	}
}

// end records that those creates came back, and the ids they created: the
// ids become known before the keys stop counting as in flight.
func (k *knownIDs) end(keys, created []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.knowLocked(created)
	for _, key := range keys {
		if k.inflight[key]--; k.inflight[key] <= 0 {
			delete(k.inflight, key)
		}
	}
	close(k.changed)
	k.changed = make(chan struct{})
}

// waitIdleAndFreeze waits until no create with any of keys is on the wire,
// then holds back new creates with those keys (begin waits) until thaw is
// called: the reconciliation's List then sees no record of this client
// whose id is not yet known. On error nothing is held.
func (k *knownIDs) waitIdleAndFreeze(ctx context.Context, keys []string) (thaw func(), err error) {
	for {
		k.mu.Lock()
		busy := slices.ContainsFunc(keys, func(key string) bool { return k.inflight[key] > 0 })
		if !busy {
			for _, key := range keys {
				k.frozen[key]++
			}
			k.mu.Unlock()
			return func() { k.thaw(keys) }, nil
		}
		ch := k.changed
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// thaw lets creates with keys start again.
func (k *knownIDs) thaw(keys []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range keys {
		if k.frozen[key]--; k.frozen[key] <= 0 {
			delete(k.frozen, key)
		}
	}
	close(k.changed)
	k.changed = make(chan struct{})
}

// addLocked records id; k.mu must be held.
func (k *knownIDs) addLocked(id string, now time.Time) {
	k.ids[id] = now
	k.trimLocked(now)
}

// trimLocked forgets ids older than knownTTL, at most once a minute.
func (k *knownIDs) trimLocked(now time.Time) {
	if now.Sub(k.lastTrim) <= time.Minute {
		return
	}
	k.lastTrim = now
	for id, t := range k.ids {
		if now.Sub(t) > knownTTL {
			delete(k.ids, id)
		}
	}
	for id, t := range k.seen {
		if now.Sub(t) > knownTTL {
			delete(k.seen, id)
		}
	}
}

// saw records that ids appeared in an answer (first sighting only).
func (k *knownIDs) saw(ids ...string) {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, id := range ids {
		if _, ok := k.seen[id]; !ok && id != "" {
			k.seen[id] = now
		}
	}
	k.trimLocked(now)
}

// eligible reports whether id may be claimed by a reconciliation of a call
// that started at callStart: not handed out, not seen before the call.
func (k *knownIDs) eligible(id string, callStart time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.eligibleLocked(id, callStart)
}

func (k *knownIDs) eligibleLocked(id string, callStart time.Time) bool {
	if _, known := k.ids[id]; known {
		return false
	}
	t, seen := k.seen[id]
	return !seen || !t.Before(callStart)
}

// sendFunc sends one batch of creates. It returns one outcome per object,
// or an error for the whole batch (*lostAnswer when it may have applied).
type sendFunc[T any] func(ctx context.Context, objs []T) ([]outcome[T], error)

// createReconciled creates objs (already prepared for the wire) through
// send, reconciling lost answers as described above. It returns one
// outcome per object, and a non-nil error only when the failure will fail
// every later call too (see isFatal), which bulk callers propagate.
func createReconciled[T any](ctx context.Context, c *Client, k kind[T], op string, objs []T, send sendFunc[T]) ([]outcome[T], error) {
	out := make([]outcome[T], len(objs))
	callStart := time.Now()
	since := callStart.Add(-reconcileMargin)
	pending := make([]int, len(objs))
	for i := range pending {
		pending[i] = i
	}
	resent := false
	losses, malformed := 0, 0
	for len(pending) > 0 {
		batch := pick(objs, pending)
		keys := make([]string, len(batch))
		for i := range batch {
			keys[i] = k.matchKey(&batch[i])
		}
		if err := c.known.begin(ctx, keys); err != nil {
			e := canceled(op, err)
			fillErr(out, pending, e)
			return out, e
		}
		res, err := send(ctx, batch)
		var created []string
		if err == nil {
			for _, r := range res {
				if r.obj != nil {
					created = append(created, k.id(r.obj))
				}
			}
		}
		c.known.end(keys, created)
		var lost *lostAnswer
		if errors.As(err, &lost) {
			losses++
			resent = true
			if lost.cause.Code == CodeCanceled {
				e := undecided(op, k.entity, lost.cause, "the call was cancelled after the request was sent")
				fillErr(out, pending, e)
				return out, e
			}
			c.log.Debug().Str("op", op).Int("items", len(batch)).Str("code", lost.cause.Code).Msg("bill create: answer lost; reconciling")
			if isTimeout(lost.cause) {
				// BILL may still be working on it: give it a moment before looking.
				if se := sleep(ctx, op, backoffDelay(c.backoffBase, c.backoffMax, losses)); se != nil {
					e := undecided(op, k.entity, lost.cause, "the call was cancelled while checking")
					fillErr(out, pending, e)
					return out, e
				}
			}
			found, rerr := reconcile(ctx, c, k, batch, since, callStart)
			if rerr == nil && isTimeout(lost.cause) && slices.Contains(found, nil) {
				// A timed-out call may still be running at BILL: look a
				// second time, after a pause, before re-sending anything.
				if se := sleep(ctx, op, max(c.backoffBase, backoffDelay(c.backoffBase, c.backoffMax, losses+1))); se != nil {
					e := undecided(op, k.entity, lost.cause, "the call was cancelled while checking")
					fillErr(out, pending, e)
					return out, e
				}
				var again []*T
				again, rerr = reconcile(ctx, c, k, batch, since, callStart)
				for j := range found {
					if found[j] == nil && rerr == nil {
						found[j] = again[j]
					}
				}
			}
			if rerr != nil {
				e := undecided(op, k.entity, lost.cause, "checking whether it was applied failed: "+rerr.Error())
				e.Err = errors.Join(lost.cause, rerr)
				fillErr(out, pending, e)
				return out, fatalOrNil(rerr)
			}
			var next []int
			for j, i := range pending {
				if found[j] != nil {
					out[i].obj = found[j]
				} else {
					next = append(next, i)
				}
			}
			pending = next
			if len(pending) == 0 {
				break
			}
			if lost.cause.Code == CodeUnknownError {
				// BDC_1002: the request is malformed or names an unknown
				// parameter. Re-sent once; a second refusal is the caller's
				// input error.
				if malformed++; malformed >= 2 {
					fillErr(out, pending, malformedInput(lost.cause))
					return out, nil
				}
			}
			if losses >= c.maxAttempts {
				e := &Error{Op: op, Code: lost.cause.Code, Class: lost.cause.Class, HTTPStatus: lost.cause.HTTPStatus, Err: lost.cause,
					Message: fmt.Sprintf("the answer was lost %d times; the client checked and the %s was not created: try again later", losses, k.entity)}
				fillErr(out, pending, e)
				return out, nil
			}
			if se := sleep(ctx, op, backoffDelay(c.backoffBase, c.backoffMax, losses)); se != nil {
				fillErr(out, pending, se)
				return out, se
			}
			continue
		}
		if err != nil {
			e := asError(op, err)
			fillErr(out, pending, e)
			return out, fatalOrNil(e)
		}
		var dups []int
		for j, i := range pending {
			r := res[j]
			switch {
			case r.err == nil:
				out[i].obj = r.obj
			case resent && k.isDuplicate(r.err):
				dups = append(dups, i)
				out[i].err = r.err
			default:
				out[i].err = r.err
			}
		}
		if len(dups) > 0 {
			found, rerr := reconcile(ctx, c, k, pick(objs, dups), since, callStart)
			for j, i := range dups {
				switch {
				case rerr != nil:
					out[i].err = undecided(op, k.entity, out[i].err, "BILL refused the re-sent create as a duplicate and checking whether the first attempt applied failed: "+rerr.Error())
				case found[j] != nil:
					out[i] = outcome[T]{obj: found[j]}
				}
			}
		}
		break
	}
	return out, nil
}

// reconcile finds, for each of objs, the record a lost create made, or
// nil. Candidates were created since since, match an object's key, are not
// ids this client handed out, and were not seen in any answer before
// callStart (a record seen before the call cannot be its result).
func reconcile[T any](ctx context.Context, c *Client, k kind[T], objs []T, since, callStart time.Time) ([]*T, error) {
	found := make([]*T, len(objs))
	owners, ok := k.owners(objs)
	if !ok {
		return found, nil
	}
	// Identical creates of this client still on the wire may be about to
	// answer with a record that matches ours: let their ids become known
	// first, so we cannot claim them.
	keys := make([]string, len(objs))
	for i := range objs {
		keys[i] = k.matchKey(&objs[i])
	}
	thaw, err := c.known.waitIdleAndFreeze(ctx, keys)
	if err != nil {
		return nil, canceled("List/"+k.entity, err)
	}
	defer thaw()
	var cands []T
	busy := 0
	for try := 1; ; try++ {
		cands, err = candidates(ctx, c, k, objs, owners, since, callStart)
		if err == nil {
			break
		}
		if errors.Is(err, ErrConcurrency) && busy < 2*reconcileTries {
			// BDC_1322 while checking: our own timed-out call may still
			// hold one of BILL's slots. It is still running; look again.
			busy++
			try--
			if se := sleep(ctx, "List/"+k.entity, max(c.backoffBase, backoffDelay(c.backoffBase, c.backoffMax, busy+1))); se != nil {
				return nil, se
			}
			continue
		}
		if try >= reconcileTries || isFatal(err) || errors.Is(err, ErrInput) {
			return nil, err
		}
		if se := sleep(ctx, "List/"+k.entity, backoffDelay(c.backoffBase, c.backoffMax, try)); se != nil {
			return nil, se
		}
	}
	sort.SliceStable(cands, func(a, b int) bool {
		ca, cb := k.created(&cands[a]), k.created(&cands[b])
		if ca != cb {
			return ca < cb
		}
		return k.id(&cands[a]) < k.id(&cands[b])
	})
	byKey := make(map[string][]int, len(cands))
	for j := range cands {
		key := k.matchKey(&cands[j])
		byKey[key] = append(byKey[key], j)
	}
	now := time.Now()
	c.known.mu.Lock()
	defer c.known.mu.Unlock()
	for i := range objs {
		list := byKey[k.matchKey(&objs[i])]
		for n, j := range list {
			id := k.id(&cands[j])
			if !c.known.eligibleLocked(id, callStart) {
				continue
			}
			found[i] = &cands[j]
			c.known.addLocked(id, now)
			byKey[k.matchKey(&objs[i])] = list[n+1:]
			break
		}
	}
	return found, nil
}

// candidates lists the records objs' lost creates may have made: created
// since since, within objs' customers. Several customers are listed with
// one "in" filter, or, once BILL has refused "in", one "=" List each.
func candidates[T any](ctx context.Context, c *Client, k kind[T], objs []T, owners []string, since, callStart time.Time) ([]T, error) {
	base := Filter{Field: "createdTime", Op: OpGe, Value: FormatTime(since)}
	if len(owners) == 0 {
		return newestCandidates(ctx, c, k, objs, []Filter{base}, callStart)
	}
	if len(owners) > 1 && !c.inRefused.Load() {
		in := Filter{Field: "customerId", Op: OpIn, Value: strings.Join(owners, ",")}
		cands, err := newestCandidates(ctx, c, k, objs, []Filter{base, in}, callStart)
		if !refusedFilter(err) {
			return cands, err
		}
		c.refuseIn(err)
	}
	var all []T
	for _, owner := range owners {
		var mine []T
		for i := range objs {
			if k.ownerOf(&objs[i]) == owner {
				mine = append(mine, objs[i])
			}
		}
		cands, err := newestCandidates(ctx, c, k, mine, []Filter{base, {Field: "customerId", Op: OpEq, Value: owner}}, callStart)
		if err != nil {
			return nil, err
		}
		all = append(all, cands...)
	}
	return all, nil
}

// refusedFilter reports BILL refusing a List's filter as input (an "in"
// whose value format it does not take).
func refusedFilter(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Class == ClassInput && e.Code != CodeLocalInput
}

// refuseIn records that BILL refused the "in" operator: from now on the
// client uses "=" filters and reads by id instead.
func (c *Client) refuseIn(err error) {
	if !c.inRefused.Swap(true) {
		var e *Error
		code := ""
		if errors.As(err, &e) {
			code = e.Code
		}
		c.log.Info().Str("code", code).Msg("bill: BILL refused the List filter operator \"in\"; using = filters and reads by id")
	}
}

// uniquePage is the page size of a newest-first reconciliation List: a lost
// create is among the newest records, so one small page usually settles it.
const uniquePage = 200

// newestCandidates lists newest first and stops as soon as every object
// has an eligible candidate (matching key, not handed out, not seen before
// callStart), instead of listing the whole window.
func newestCandidates[T any](ctx context.Context, c *Client, k kind[T], objs []T, filters []Filter, callStart time.Time) ([]T, error) {
	want := make(map[string]int, len(objs))
	for i := range objs {
		want[k.matchKey(&objs[i])]++
	}
	left := len(objs)
	var cands []T
	p := ListParams{Max: uniquePage, Filters: filters, Sort: []Sort{{Field: "createdTime", Asc: false}}}
	for v, err := range listAll[T](ctx, c, k.entity, p) {
		if err != nil {
			return nil, err
		}
		key := k.matchKey(&v)
		if want[key] == 0 || !c.known.eligible(k.id(&v), callStart) {
			continue
		}
		cands = append(cands, v)
		want[key]--
		if left--; left == 0 {
			break
		}
	}
	return cands, nil
}

// undecided is the answer when the client cannot tell whether a create applied.
func undecided(op, entity string, cause *Error, why string) *Error {
	return &Error{Op: op, Code: CodeUndecidedOutcome, Class: ClassTransport, Err: cause,
		Message: fmt.Sprintf("the answer to this create was lost and %s; the %s may or may not exist: list %ss to check before creating it again", why, entity, entity)}
}

// isTimeout reports a per-attempt timeout (as opposed to a reset).
func isTimeout(e *Error) bool {
	if errors.Is(e, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e, &ne) && ne.Timeout()
}

// isFatal reports failures that will fail every later call as well:
// rejected credentials, a spent hourly limit, a cancelled context, a session
// BILL keeps refusing, BILL unreachable.
func isFatal(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return err != nil
	}
	return e.Class == ClassAuth || e.Class == ClassHourlyLimit || e.Class == ClassSession || e.Class == ClassUnreachable || e.Code == CodeCanceled
}

func fatalOrNil(err error) error {
	if isFatal(err) {
		return err
	}
	return nil
}

// asError returns err as an *Error (wrapping anything else as unknown).
func asError(op string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Op: op, Code: CodeBadResponse, Class: ClassUnknown, Message: err.Error(), Err: err}
}

func pick[T any](objs []T, idx []int) []T {
	out := make([]T, len(idx))
	for j, i := range idx {
		out[j] = objs[i]
	}
	return out
}

func fillErr[T any](out []outcome[T], idx []int, e *Error) {
	for _, i := range idx {
		out[i] = outcome[T]{err: e}
	}
}
