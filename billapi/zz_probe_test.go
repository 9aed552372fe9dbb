package billapi_test

import (
	"sync"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

func TestProbeRelease(t *testing.T) {
	for _, cm := range []int{1, 2, 3} {
		e := startEmu(t, emulator.Config{MaxInFlight: 1, Latency: time.Millisecond})
		c := newClient(t, e, func(cfg *billapi.Config) { cfg.MaxInFlight = cm; cfg.MaxAttempts = 100 })
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { _, _ = c.ListCustomers(t.Context(), billapi.ListParams{Max: 1}) })
		}
		wg.Wait()
		t.Logf("client %d: 1322s %d requests %d", cm, e.Stats().Errors["BDC_1322"], e.Stats().Requests)
	}
}
