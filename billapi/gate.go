package billapi

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// gate is the one door every HTTP call of a Client passes, Login included:
// a cap on calls in flight, and the local hourly budgets counted per clock
// hour (BILL resets its own at the top of the hour).
//
// The cap adapts: BILL's limit of 3 in flight is per devKey and org, so
// other processes on the same key share it. When BILL answers BDC_1322 the
// gate lowers its own cap by one (down to 1); after okToGrow successes in a
// row it raises it again by one, up to Config.MaxInFlight. Retries then stop
// colliding with fresh calls instead of losing to them over and over.
type gate struct {
	now func() time.Time
	max int

	mu           sync.Mutex
	wake         chan struct{} // closed and replaced when a slot frees or the cap grows
	limit        int           // current cap, 1..max
	inUse        int
	okStreak     int
	hour         time.Time // start of the clock hour the counters belong to
	requests     int
	logins       int
	reqBudget    int
	loginBudget  int
	reqBlocked   time.Time // BILL answered BDC_1144: fail fast until then
	loginBlocked time.Time
}

// okToGrow is how many successes in a row raise a lowered cap by one.
const okToGrow = 8

func newGate(maxInFlight, reqBudget, loginBudget int, now func() time.Time) *gate {
	return &gate{
		now:         now,
		max:         maxInFlight,
		limit:       maxInFlight,
		wake:        make(chan struct{}),
		reqBudget:   reqBudget,
		loginBudget: loginBudget,
	}
}

// topOfNextHour is when a budget counted in t's clock hour resets.
func topOfNextHour(t time.Time) time.Time { return t.Truncate(time.Hour).Add(time.Hour) }

// enter waits for a free slot, then takes one unit of the hourly budget
// (the login budget for Login, the request budget otherwise). On success the
// caller must call leave. A spent budget fails at once, without waiting.
func (g *gate) enter(ctx context.Context, op string, login bool) *Error {
	for {
		g.mu.Lock()
		if e := g.checkLocked(op, login, false); e != nil {
			g.mu.Unlock()
			return e
		}
		if g.inUse < g.limit {
			_ = g.checkLocked(op, login, true)
			g.inUse++
			g.mu.Unlock()
			return nil
		}
		ch := g.wake
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return canceled(op, ctx.Err())
		}
	}
}

// leave frees the slot taken by enter. busy reports that BILL answered
// BDC_1322 (lower the cap); ok that the call succeeded (count toward
// raising it).
func (g *gate) leave(busy, ok bool) {
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
	close(g.wake)
	g.wake = make(chan struct{})
}

// checkLocked reports a spent budget; with take set it also counts one
// call. g.mu is held.
func (g *gate) checkLocked(op string, login, take bool) *Error {
	now := g.now()
	if h := now.Truncate(time.Hour); !h.Equal(g.hour) {
		g.hour, g.requests, g.logins = h, 0, 0
	}
	count, budget, blocked, what := &g.requests, g.reqBudget, g.reqBlocked, "request"
	if login {
		count, budget, blocked, what = &g.logins, g.loginBudget, g.loginBlocked, "login"
	}
	if now.Before(blocked) {
		return &Error{Op: op, Code: CodeHourlyLimit, Class: ClassHourlyLimit, ResetAt: blocked,
			Message: fmt.Sprintf("BILL's hourly %s limit was reached; the client sends no %ss until the limit resets", what, what)}
	}
	if *count >= budget {
		return &Error{Op: op, Code: CodeLocalBudget, Class: ClassHourlyLimit, ResetAt: topOfNextHour(now),
			Message: fmt.Sprintf("this client's hourly %s budget of %d is spent; wait until it resets", what, budget)}
	}
	if take {
		*count++
	}
	return nil
}

// spent records BILL's BDC_1144: no more calls of that kind until reset.
func (g *gate) spent(login bool, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if login {
		g.loginBlocked = until
	} else {
		g.reqBlocked = until
	}
}

// counts returns the calls counted in the current clock hour.
func (g *gate) counts() (requests, logins int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.now().Truncate(time.Hour).Equal(g.hour) {
		return 0, 0
	}
	return g.requests, g.logins
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
