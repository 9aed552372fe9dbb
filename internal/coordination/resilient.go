package coordination

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// backend is what Resilient needs of a shared backend. Errors that wrap
// errUnavailable mean the backend is out of reach; a ctx error is the
// caller's.
type backend interface {
	name() string
	ping(ctx context.Context) error
	// acquire waits for a slot among the first capacity ones.
	acquire(ctx context.Context, capacity int) (release func(), err error)
	// force takes a slot regardless of the cap: a call begun in fallback
	// still in flight when the backend comes back.
	force(ctx context.Context) (release func(), err error)
	spend(ctx context.Context, b billapi.Budget, now time.Time, limit int) (billapi.Spend, error)
	add(ctx context.Context, b billapi.Budget, now time.Time, n int) error
	block(ctx context.Context, b billapi.Budget, until time.Time) error
	usage(ctx context.Context, now time.Time) (billapi.Usage, error)
}

// Resilient is the billapi.Coordinator of an open backend. While the
// backend answers it is the backend; when the backend cannot be reached it
// falls back: one call in flight in this process (counting calls still
// holding shared slots), budgets counted in memory. A probe tries the
// backend every Options.Probe; when it answers again, every call of this
// process still in flight (begun in fallback, or holding a slot the backend
// may have lost) is registered as a holder, what was counted meanwhile is added
// to the shared budgets, and new calls wait two probe periods, so that
// every other process has rejoined too, before taking shared slots.
type Resilient struct {
	b        backend
	log      zerolog.Logger
	probe    time.Duration
	capacity int
	fallback *billapi.ProcessCoordinator

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced when the state below changes
	down      error         // why the backend is out of reach; nil when shared
	holdUntil time.Time     // after a rejoin: no new shared slots before then
	held      []*heldSlot   // slots this process handed out and not yet released
	stopOnce  sync.Once
	stopCh    chan struct{}
	probing   bool
}

// heldSlot is a slot this process handed out.
type heldSlot struct {
	release func() // the backend's release; nil for a slot taken in fallback
	extra   func() // set when the call was registered again on rejoin
}

var _ billapi.Coordinator = (*Resilient)(nil)

func newResilient(b backend, log zerolog.Logger, probe time.Duration) *Resilient {
	return &Resilient{b: b, log: log, probe: probe, capacity: billapi.MaxInFlightLimit,
		fallback: billapi.NewProcessCoordinator(), changed: make(chan struct{}), stopCh: make(chan struct{})}
}

// SetCapacity sets how many shared slots this process may use (its
// --max-in-flight): 1..3.
func (r *Resilient) SetCapacity(n int) {
	r.mu.Lock()
	r.capacity = min(max(n, 1), billapi.MaxInFlightLimit)
	r.mu.Unlock()
}

func (r *Resilient) stop() { r.stopOnce.Do(func() { close(r.stopCh) }) }

// Down reports why the backend is not shared right now (nil when it is).
func (r *Resilient) Down() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down
}

func (r *Resilient) broadcastLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// markDown switches to the fallback and starts the probe.
func (r *Resilient) markDown(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down != nil {
		return
	}
	r.down = err
	r.broadcastLocked()
	r.log.Warn().Str("backend", r.b.name()).Str("error", err.Error()).
		Msg("coordination backend unreachable: this process falls back to 1 call in flight and its own hourly counts until it answers again")
	if !r.probing {
		r.probing = true
		go r.probeLoop()
	}
}

// probeLoop pings the backend until it answers, then rejoins.
func (r *Resilient) probeLoop() {
	t := time.NewTicker(r.probe)
	defer t.Stop()
	for {
		select {
		case <-r.stopCh:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
		err := r.b.ping(ctx)
		if err == nil {
			err = r.rejoin(ctx)
		}
		cancel()
		if err == nil {
			return
		}
	}
}

// rejoin registers the fallback calls still in flight and the budgets
// counted meanwhile with the backend, then shares again.
func (r *Resilient) rejoin(ctx context.Context) error {
	r.mu.Lock()
	pending := append([]*heldSlot(nil), r.held...)
	r.mu.Unlock()
	for _, hs := range pending {
		rel, err := r.b.force(ctx)
		if err != nil {
			return err
		}
		r.mu.Lock()
		if hs.extra == nil && r.holds(hs) {
			hs.extra = rel
			rel = nil
		}
		r.mu.Unlock()
		if rel != nil { // the call ended meanwhile
			rel()
		}
	}
	now := time.Now()
	req, logins := r.fallback.Take(now)
	if req > 0 {
		if err := r.b.add(ctx, billapi.BudgetRequests, now, req); err != nil {
			r.fallback.Add(billapi.BudgetRequests, now, req)
			return err
		}
	}
	if logins > 0 {
		if err := r.b.add(ctx, billapi.BudgetLogins, now, logins); err != nil {
			r.fallback.Add(billapi.BudgetLogins, now, logins)
			return err
		}
	}
	r.mu.Lock()
	r.down = nil
	r.probing = false
	r.holdUntil = time.Now().Add(2 * r.probe)
	r.broadcastLocked()
	r.mu.Unlock()
	r.log.Info().Str("backend", r.b.name()).Msg("coordination backend answers again: limits are shared again")
	return nil
}

func (r *Resilient) holds(hs *heldSlot) bool {
	for _, h := range r.held {
		if h == hs {
			return true
		}
	}
	return false
}

// Acquire takes a shared slot, or the process's one fallback slot while
// the backend is out of reach.
func (r *Resilient) Acquire(ctx context.Context) (func(), error) {
	for {
		r.mu.Lock()
		down, hold, ch, capacity := r.down, r.holdUntil, r.changed, r.capacity
		if down != nil && len(r.held) == 0 {
			r.mu.Unlock()
			return r.hold(nil), nil
		}
		r.mu.Unlock()
		var wait <-chan time.Time
		switch {
		case down != nil:
			// Wait for this process's one call to end, or the backend.
		case time.Now().Before(hold):
			wait = time.After(time.Until(hold))
		default:
			rel, err := r.b.acquire(ctx, capacity)
			if err == nil {
				return r.hold(rel), nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !errors.Is(err, errUnavailable) {
				return nil, err
			}
			r.markDown(err)
			continue
		}
		select {
		case <-ch:
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// hold records a slot handed out (rel is the backend's release, nil in
// fallback) and returns its release.
func (r *Resilient) hold(rel func()) func() {
	hs := &heldSlot{release: rel}
	r.mu.Lock()
	r.held = append(r.held, hs)
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			for i, h := range r.held {
				if h == hs {
					r.held = append(r.held[:i], r.held[i+1:]...)
					break
				}
			}
			extra := hs.extra
			r.broadcastLocked()
			r.mu.Unlock()
			if hs.release != nil {
				hs.release()
			}
			if extra != nil {
				extra()
			}
		})
	}
}

// Spend counts against the shared budget, or in memory while the backend
// is out of reach.
func (r *Resilient) Spend(ctx context.Context, b billapi.Budget, now time.Time, limit int) (billapi.Spend, error) {
	if r.Down() == nil {
		sp, err := r.b.spend(ctx, b, now, limit)
		if err == nil || !errors.Is(err, errUnavailable) {
			return sp, err
		}
		r.markDown(err)
	}
	return r.fallback.Spend(ctx, b, now, limit)
}

// Block records BILL's refusal in the backend and in memory.
func (r *Resilient) Block(ctx context.Context, b billapi.Budget, until time.Time) error {
	_ = r.fallback.Block(ctx, b, until)
	if r.Down() == nil {
		if err := r.b.block(ctx, b, until); err != nil && errors.Is(err, errUnavailable) {
			r.markDown(err)
		}
	}
	return nil
}

// Usage reports the backend's view, or, while it is out of reach, this
// process's own with the reason.
func (r *Resilient) Usage(ctx context.Context, now time.Time) (billapi.Usage, error) {
	if down := r.Down(); down == nil {
		u, err := r.b.usage(ctx, now)
		if err == nil || !errors.Is(err, errUnavailable) {
			return u, err
		}
		r.markDown(err)
	}
	u, err := r.fallback.Usage(ctx, now)
	u.Backend = r.b.name()
	r.mu.Lock()
	u.InFlight = len(r.held)
	r.mu.Unlock()
	if down := r.Down(); down != nil {
		u.Degraded = down.Error() + ": this process runs 1 call in flight on its own until the backend answers"
	}
	return u, err
}
