package billapi

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// gate is the one door every HTTP call of a Client passes, Login included:
// a cap on calls in flight in this client, then one of the slots and one
// unit of the hourly budgets shared through the Coordinator with every
// client on the same devKey and org (BILL resets its budgets at the top of
// the clock hour).
//
// The local cap adapts: BILL's limit of 3 in flight is per devKey and org,
// so integrations that do not share our Coordinator share it too. When BILL
// answers BDC_1322 the gate lowers its own cap by one (down to 1); after
// okToGrow successes in a row it raises it again by one, up to
// Config.MaxInFlight. Retries then stop colliding with fresh calls instead
// of losing to them over and over.
//
// Local waiters are served first come, first served, so a read that
// arrives during a bulk import waits behind at most the chunks already
// queued, not behind every later one.
type gate struct {
	now         func() time.Time
	max         int
	coord       Coordinator
	reqBudget   int
	loginBudget int

	mu       sync.Mutex
	limit    int // current cap, 1..max
	inUse    int
	okStreak int
	queue    []chan struct{} // waiters, oldest first; closed when handed a slot
	refused  [2]time.Time    // a budget refused until then: fail fast without asking
}

// okToGrow is how many successes in a row raise a lowered cap by one.
const okToGrow = 8

func newGate(maxInFlight, reqBudget, loginBudget int, now func() time.Time, coord Coordinator) *gate {
	if coord == nil {
		coord = NewProcessCoordinator()
	}
	return &gate{
		now:         now,
		max:         maxInFlight,
		limit:       maxInFlight,
		coord:       coord,
		reqBudget:   reqBudget,
		loginBudget: loginBudget,
	}
}

// enter waits for a local slot and a shared one, then takes one unit of
// the hourly budget (the login budget for Login, the request budget
// otherwise). On success the caller must call the returned leave exactly
// once. A spent budget fails at once, without waiting.
func (g *gate) enter(ctx context.Context, op string, login bool) (leave func(busy, ok bool), e *Error) {
	b := BudgetRequests
	if login {
		b = BudgetLogins
	}
	if !login { // a Login on the chunk's way is not its turn
		passed, e := awaitTurn(ctx, op)
		if e != nil {
			return nil, e
		}
		defer passed()
	}
	if e := g.refusedErr(op, b); e != nil {
		return nil, e
	}
	if e := g.takeLocal(ctx, op); e != nil {
		return nil, e
	}
	limit := g.reqBudget
	if login {
		limit = g.loginBudget
	}
	sp, err := g.coord.Spend(ctx, b, g.now(), limit)
	if err != nil {
		g.leaveLocal(false, false)
		return nil, coordError(op, ctx, err)
	}
	if !sp.OK {
		g.leaveLocal(false, false)
		g.mu.Lock()
		if sp.ResetAt.After(g.refused[b]) {
			g.refused[b] = sp.ResetAt
		}
		g.mu.Unlock()
		return nil, budgetError(op, b, sp, limit)
	}
	release, err := g.coord.Acquire(ctx)
	if err != nil {
		g.leaveLocal(false, false)
		return nil, coordError(op, ctx, err)
	}
	return func(busy, ok bool) {
		release()
		g.leaveLocal(busy, ok)
	}, nil
}

// refusedErr fails fast while a refusal seen earlier still holds.
func (g *gate) refusedErr(op string, b Budget) *Error {
	g.mu.Lock()
	until := g.refused[b]
	g.mu.Unlock()
	if !g.now().Before(until) {
		return nil
	}
	limit := g.reqBudget
	if b == BudgetLogins {
		limit = g.loginBudget
	}
	return budgetError(op, b, Spend{ResetAt: until}, limit)
}

// budgetError says which budget is spent and when it resets.
func budgetError(op string, b Budget, sp Spend, limit int) *Error {
	what := "request"
	if b == BudgetLogins {
		what = "login"
	}
	reset := sp.ResetAt.UTC().Format("15:04 UTC")
	if sp.Blocked {
		return &Error{Op: op, Code: CodeHourlyLimit, Class: ClassHourlyLimit, ResetAt: sp.ResetAt,
			Message: fmt.Sprintf("BILL's hourly %s limit was reached; no %ss are sent until it resets at %s", what, what, reset)}
	}
	return &Error{Op: op, Code: CodeLocalBudget, Class: ClassHourlyLimit, ResetAt: sp.ResetAt,
		Message: fmt.Sprintf("the hourly %s budget of %d shared by every bill-mcp on this devKey and org is spent; it resets at %s", what, limit, reset)}
}

// coordError is a Coordinator failure: the context's end, or trouble the
// backend could not absorb.
func coordError(op string, ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		return canceled(op, ctx.Err())
	}
	return &Error{Op: op, Code: CodeCoordination, Class: ClassUnreachable, Message: "nothing was sent: the limits shared with other bill-mcp processes could not be checked: " + err.Error(), Err: err}
}

// takeLocal waits, first come first served, for a slot under the local cap.
func (g *gate) takeLocal(ctx context.Context, op string) *Error {
	g.mu.Lock()
	if g.inUse < g.limit && len(g.queue) == 0 {
		g.inUse++
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	g.queue = append(g.queue, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		for i, w := range g.queue {
			if w == ch {
				g.queue = append(g.queue[:i], g.queue[i+1:]...)
				g.mu.Unlock()
				return canceled(op, ctx.Err())
			}
		}
		g.mu.Unlock()
		// Handed a slot while giving up: pass it on.
		g.leaveLocal(false, false)
		return canceled(op, ctx.Err())
	}
}

// leaveLocal frees a local slot. busy reports that BILL answered BDC_1322
// (lower the cap); ok that the call succeeded (count toward raising it).
func (g *gate) leaveLocal(busy, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inUse--
	switch {
	case busy:
		g.okStreak = 0
		if g.limit > 1 {
			g.limit--
		}
	case ok && g.limit < g.max:
		if g.okStreak++; g.okStreak >= okToGrow {
			g.okStreak = 0
			g.limit++
		}
	}
	for g.inUse < g.limit && len(g.queue) > 0 {
		ch := g.queue[0]
		g.queue = g.queue[1:]
		g.inUse++
		close(ch)
	}
}

// spent records BILL's BDC_1144: no more calls of that kind until reset,
// in this client at once and, through the Coordinator, in every other.
func (g *gate) spent(ctx context.Context, login bool, until time.Time) {
	b := BudgetRequests
	if login {
		b = BudgetLogins
	}
	g.mu.Lock()
	if until.After(g.refused[b]) {
		g.refused[b] = until
	}
	g.mu.Unlock()
	_ = g.coord.Block(context.WithoutCancel(ctx), b, until)
}

// counts returns the calls counted in the current clock hour.
func (g *gate) counts() (requests, logins int) {
	u, err := g.coord.Usage(context.Background(), g.now())
	if err != nil {
		return 0, 0
	}
	return u.Requests, u.Logins
}

// backoffDelay is exponential backoff with full jitter: a random duration
// in [0, min(max, base*2^(attempt-1))].
func backoffDelay(base, limit time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, op string, d time.Duration) *Error {
	if d <= 0 {
		if ctx.Err() != nil {
			return canceled(op, ctx.Err())
		}
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return canceled(op, ctx.Err())
	}
}

// canceled is the error of a call whose context ended.
func canceled(op string, cause error) *Error {
	return &Error{Op: op, Code: CodeCanceled, Class: ClassUnknown, Message: "the call was cancelled or timed out before it finished: " + cause.Error(), Err: cause}
}
