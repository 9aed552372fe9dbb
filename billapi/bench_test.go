package billapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// BenchmarkRoundTrip measures one GetCustomer through the whole client
// (gate, session, form encoding, HTTP over loopback, envelope decoding)
// against the in-process emulator.
func BenchmarkRoundTrip(b *testing.B) {
	// Budgets far above BILL's: a benchmark makes more calls than an hour allows.
	e := startEmu(b, emulator.Config{HourlyLimit: 1 << 30})
	c := newClient(b, e, func(cfg *billapi.Config) { cfg.HourlyRequestBudget = 1 << 30 })
	cu, err := c.CreateCustomer(b.Context(), billapi.Customer{Name: billapi.String("Bench"), Email: billapi.String("bench@x.example")})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetCustomer(b.Context(), cu.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBulkImport10k imports 10,000 customers with 20 ms emulator
// latency through billapi alone, 3 chunks in flight. The ideal is 34 rounds
// of 3 bulk calls x 20 ms = 0.68 s; x-ideal reports wall time over that
// ideal (1.00 is perfect). cmd/bill-mcp's BenchmarkBulk10k measures the
// same through the tool, beside a plain 3-worker client.
func BenchmarkBulkImport10k(b *testing.B) {
	const n, latency = 10000, 20 * time.Millisecond
	ideal := time.Duration((n/billapi.MaxBulkItems+billapi.MaxInFlightLimit-1)/billapi.MaxInFlightLimit) * latency
	e := startEmu(b, emulator.Config{Latency: latency, HourlyLimit: 1 << 30})
	c := newClient(b, e, func(cfg *billapi.Config) { cfg.MaxInFlight = 3; cfg.HourlyRequestBudget = 1 << 30 })
	if err := c.Login(b.Context()); err != nil {
		b.Fatal(err)
	}
	objs := make([]billapi.Customer, n)
	for i, name := range names("Import", n) {
		objs[i] = billapi.Customer{Name: billapi.String(name), Email: billapi.String(fmt.Sprintf("i%d@x.example", i))}
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e.Reset()
		b.StartTimer()
		start := time.Now()
		res, err := c.BulkCreateCustomers(b.Context(), objs, billapi.BulkOptions{})
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatalf("item %d: %v", r.Index, r.Err)
			}
		}
	}
	st := e.Stats()
	b.Logf("emulator: %d requests, maxInFlight %d, errors %v", st.Requests, st.MaxInFlight, st.Errors)
	b.ReportMetric(float64(total)/float64(b.N)/float64(ideal), "x-ideal")
	b.ReportMetric((float64(total)/float64(b.N))/1e9, "wall-s/op")
}
