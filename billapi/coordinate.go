package billapi

import (
	"context"
	"sync"
	"time"
)

// BILL's limits belong to the devKey and org, not to one process: every
// client on the same devKey and org shares 3 calls in flight and the hourly
// budgets. A Coordinator is where clients share them. billapi knows no
// backend: the default (nil Config.Coordinator) shares nothing beyond this
// process; internal/coordination shares through file locks or Redis.

// Budget names one of BILL's hourly budgets.
type Budget int

const (
	// BudgetRequests is BILL's hourly request budget (every call but Login).
	BudgetRequests Budget = iota
	// BudgetLogins is BILL's separate hourly login budget.
	BudgetLogins
)

// String is "requests" or "logins".
func (b Budget) String() string {
	if b == BudgetLogins {
		return "logins"
	}
	return "requests"
}

// Spend is the outcome of Coordinator.Spend.
type Spend struct {
	// OK: one unit was counted and the call may go.
	OK bool
	// Blocked: BILL itself refused this budget (BDC_1144) until ResetAt.
	Blocked bool
	// ResetAt is when a refused budget is open again.
	ResetAt time.Time
}

// Usage is what a Coordinator sees of the shared limits now.
type Usage struct {
	Backend   string    // "process", "local", "redis://HOST:PORT/DB"
	Degraded  string    // why the backend is not shared right now ("" when it is)
	InFlight  int       // slots held by every holder together
	Holders   int       // processes holding slots or registered with the backend
	Requests  int       // requests counted in the clock hour of Hour
	Logins    int       // logins counted in the clock hour of Hour
	Hour      time.Time // start of the clock hour counted
	ResetAt   time.Time // when the hourly counters reset
	Blocked   time.Time // BILL refused requests (BDC_1144) until then
	LoginsOff time.Time // BILL refused logins until then
}

// Coordinator shares BILL's limits between clients on one devKey and org.
// Implementations must be safe for concurrent use.
type Coordinator interface {
	// Acquire waits for one of the shared in-flight slots, or until ctx
	// ends. release gives the slot back; call it exactly once.
	Acquire(ctx context.Context) (release func(), err error)
	// Spend counts one unit of budget b in the clock hour of now, unless
	// limit units were already counted in that hour or BILL's own refusal
	// (see Block) still lasts.
	Spend(ctx context.Context, b Budget, now time.Time, limit int) (Spend, error)
	// Block records that BILL refused budget b (BDC_1144) until until.
	Block(ctx context.Context, b Budget, until time.Time) error
	// Usage reports the shared state for the clock hour of now.
	Usage(ctx context.Context, now time.Time) (Usage, error)
}

// ProcessCoordinator shares nothing beyond its own process: no shared
// slots (Acquire never waits; the gate's own cap rules), budgets counted in
// memory. It is the Client's default, and the fallback of shared backends
// when they are unreachable.
type ProcessCoordinator struct {
	mu       sync.Mutex
	inFlight int
	hour     time.Time
	used     [2]int
	blocked  [2]time.Time
}

var _ Coordinator = (*ProcessCoordinator)(nil)

// NewProcessCoordinator returns an empty in-memory coordinator.
func NewProcessCoordinator() *ProcessCoordinator { return &ProcessCoordinator{} }

// Acquire counts the call in flight and never waits.
func (p *ProcessCoordinator) Acquire(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.inFlight++
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.inFlight--
			p.mu.Unlock()
		})
	}, nil
}

// Spend counts one unit of b in now's clock hour.
func (p *ProcessCoordinator) Spend(_ context.Context, b Budget, now time.Time, limit int) (Spend, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rollLocked(now)
	if now.Before(p.blocked[b]) {
		return Spend{Blocked: true, ResetAt: p.blocked[b]}, nil
	}
	if p.used[b] >= limit {
		return Spend{ResetAt: TopOfNextHour(now)}, nil
	}
	p.used[b]++
	return Spend{OK: true}, nil
}

// Add counts n more units of b in now's clock hour without a limit (a
// shared backend hands over what it counted while it was unreachable).
func (p *ProcessCoordinator) Add(b Budget, now time.Time, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rollLocked(now)
	p.used[b] += n
}

// Take returns and clears what was counted in now's clock hour.
func (p *ProcessCoordinator) Take(now time.Time) (requests, logins int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rollLocked(now)
	requests, logins = p.used[BudgetRequests], p.used[BudgetLogins]
	p.used = [2]int{}
	return requests, logins
}

// Block records BILL's refusal of b until until.
func (p *ProcessCoordinator) Block(_ context.Context, b Budget, until time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.blocked[b]) {
		p.blocked[b] = until
	}
	return nil
}

// Usage reports this process's counts.
func (p *ProcessCoordinator) Usage(_ context.Context, now time.Time) (Usage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rollLocked(now)
	holders := 0
	if p.inFlight > 0 {
		holders = 1
	}
	return Usage{
		Backend: "process", InFlight: p.inFlight, Holders: holders,
		Requests: p.used[BudgetRequests], Logins: p.used[BudgetLogins],
		Hour: now.Truncate(time.Hour), ResetAt: TopOfNextHour(now),
		Blocked: p.blocked[BudgetRequests], LoginsOff: p.blocked[BudgetLogins],
	}, nil
}

func (p *ProcessCoordinator) rollLocked(now time.Time) {
	if h := now.Truncate(time.Hour); !h.Equal(p.hour) {
		p.hour, p.used = h, [2]int{}
	}
}

// TopOfNextHour is when a budget counted in t's clock hour resets.
func TopOfNextHour(t time.Time) time.Time { return t.Truncate(time.Hour).Add(time.Hour) }
