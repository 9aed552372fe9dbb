package billapi_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// mixedCall is one of a spread of calls, by index: reads, lists, creates,
// updates.
func mixedCall(t *testing.T, c *billapi.Client, seedID string, i int) error {
	ctx := t.Context()
	var err error
	switch i % 4 {
	case 0:
		_, err = c.GetCustomer(ctx, seedID)
	case 1:
		_, err = c.ListCustomers(ctx, billapi.ListParams{Max: 5})
	case 2:
		_, err = c.CreateCustomer(ctx, billapi.Customer{Name: billapi.String(fmt.Sprintf("Conc %d", i))})
	default:
		_, err = c.UpdateCustomer(ctx, billapi.Customer{ID: seedID, Phone: billapi.String(fmt.Sprint(i))})
	}
	return err
}

// TestGateCapsInFlight: 50 goroutines at once; the emulator (limit 3)
// never sees more calls in flight than the client's MaxInFlight, and when
// the emulator's own limit is lowered below the client's, its BDC_1322
// answers are absorbed and never reach a caller.
func TestGateCapsInFlight(t *testing.T) {
	tests := []struct {
		name        string
		clientMax   int
		emulatorMax int
	}{
		{"client 1 emulator 3", 1, 3},
		{"client 2 emulator 3", 2, 3},
		{"client 3 emulator 3", 3, 3},
		{"client 3 emulator lowered to 1", 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEmu(t, emulator.Config{MaxInFlight: tt.emulatorMax, Latency: time.Millisecond})
			c := newClient(t, e, func(cfg *billapi.Config) { cfg.MaxInFlight = tt.clientMax; cfg.MaxAttempts = 10 })
			seed, err := c.CreateCustomer(t.Context(), billapi.Customer{Name: billapi.String("Seed")})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var failed atomic.Int32
			start := make(chan struct{})
			for i := range 50 {
				wg.Go(func() {
					<-start
					if err := mixedCall(t, c, seed.ID, i); err != nil {
						failed.Add(1)
						t.Errorf("call %d: %v", i, err)
					}
				})
			}
			close(start)
			wg.Wait()
			st := e.Stats()
			if want := int64(min(tt.clientMax, tt.emulatorMax)); st.MaxInFlight > want {
				t.Fatalf("emulator maxInFlight = %d, want <= %d", st.MaxInFlight, want)
			}
			if tt.clientMax > 1 && tt.clientMax <= tt.emulatorMax && st.MaxInFlight < 2 {
				t.Fatalf("emulator maxInFlight = %d: the client never ran calls in parallel", st.MaxInFlight)
			}
			if busy := st.Errors[billapi.CodeTooManyInFlight]; tt.clientMax > tt.emulatorMax && (busy == 0 || busy > 50) {
				// Some BDC_1322 proves the lowered limit was met; many would
				// mean the gate kept colliding instead of lowering its cap.
				t.Fatalf("BDC_1322 answered %d times for 50 calls, want 1..50", busy)
			}
			t.Logf("maxInFlight %d, BDC_1322 answered %d, failed callers %d", st.MaxInFlight, st.Errors[billapi.CodeTooManyInFlight], failed.Load())
		})
	}
}

// TestLoginEconomy: 50 concurrent first calls cause one login; sessions
// expiring in the middle of a busy run cause exactly one re-login and no
// failed call.
func TestLoginEconomy(t *testing.T) {
	e := startEmu(t, emulator.Config{Latency: 500 * time.Microsecond})
	c := newClient(t, e, func(cfg *billapi.Config) { cfg.MaxInFlight = 3 })
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			if _, err := c.ListCustomers(t.Context(), billapi.ListParams{Max: 1}); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if st := e.Stats(); st.Logins != 1 {
		t.Fatalf("50 concurrent first calls made %d logins, want 1", st.Logins)
	}

	var done atomic.Int32
	expired := make(chan struct{})
	go func() {
		defer close(expired)
		for done.Load() < 100 {
			time.Sleep(100 * time.Microsecond)
		}
		e.ExpireSessions()
	}()
	for g := range 50 {
		wg.Go(func() {
			for i := range 6 {
				if _, err := c.ListCustomers(t.Context(), billapi.ListParams{Max: 1}); err != nil {
					t.Errorf("goroutine %d call %d: %v", g, i, err)
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	<-expired
	st := e.Stats()
	if st.Logins != 2 {
		t.Fatalf("logins = %d, want 2 (one re-login after the expiry)", st.Logins)
	}
	if st.Errors[billapi.CodeSessionInvalid] == 0 {
		t.Fatal("no call met the expired session: the test did not exercise the re-login")
	}
	t.Logf("calls that met the expired session: %d", st.Errors[billapi.CodeSessionInvalid])
}

// TestBulkChunksShareTheGate: one bulk call's chunks fill every slot of
// the cap (the emulator sees 3 in flight, never more), answers stay in
// request order, and a read made during the import is answered while the
// import is still running: it queues behind the chunks already waiting,
// not behind the whole import.
func TestBulkChunksShareTheGate(t *testing.T) {
	tests := []struct {
		name      string
		clientMax int
	}{
		{"cap 1", 1},
		{"cap 3", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 3000
			e := startEmu(t, emulator.Config{Latency: 20 * time.Millisecond})
			c := newClient(t, e, func(cfg *billapi.Config) { cfg.MaxInFlight = tt.clientMax })
			seed, err := c.CreateCustomer(t.Context(), billapi.Customer{Name: billapi.String("Seed")})
			if err != nil {
				t.Fatal(err)
			}
			objs := make([]billapi.Customer, n)
			for i, name := range names("Chunk", n) {
				objs[i] = billapi.Customer{Name: billapi.String(name)}
			}
			var doneAtRead, lastDone atomic.Int64
			started := make(chan struct{})
			var once sync.Once
			var wg sync.WaitGroup
			wg.Go(func() {
				<-started
				if _, err := c.GetCustomer(t.Context(), seed.ID); err != nil {
					t.Error(err)
				}
				doneAtRead.Store(lastDone.Load())
			})
			res, err := c.BulkCreateCustomers(t.Context(), objs, billapi.BulkOptions{Progress: func(done, total int) {
				if int64(done) < lastDone.Load() {
					t.Errorf("progress went back from %d to %d", lastDone.Load(), done)
				}
				lastDone.Store(int64(done))
				once.Do(func() { close(started) })
			}})
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Index != i || r.Err != nil || r.Object == nil || billapi.Deref(r.Object.Name) != billapi.Deref(objs[i].Name) {
					t.Fatalf("result %d = %+v, want %q", i, r, billapi.Deref(objs[i].Name))
				}
			}
			st := e.Stats()
			if st.MaxInFlight != int64(tt.clientMax) {
				t.Fatalf("emulator maxInFlight = %d, want exactly the cap %d", st.MaxInFlight, tt.clientMax)
			}
			if got := doneAtRead.Load(); got >= n {
				t.Fatalf("the read made during the import was answered only after it (%d of %d done)", got, n)
			}
			t.Logf("read answered with %d of %d items done; BDC_1322 %d", doneAtRead.Load(), n, st.Errors[billapi.CodeTooManyInFlight])
		})
	}
}
