package emulator_test

import (
	"context"
	"runtime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

func TestZZDebug(t *testing.T) {
	t0 := time.Now()
	defer func() { t.Logf("deferred at %v", time.Since(t0)) }()
	t.Cleanup(func() { t.Logf("last cleanup at %v", time.Since(t0)) })
	h := newHarness(t, emulator.Config{Latency: 5 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/GetSessionInfo.json", strings.NewReader(h.form(nil).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	began := time.Now()
	_, err := h.srv.Client().Do(req)
	t.Logf("do: %v %v", err, time.Since(began))
	for i := 0; i < 5; i++ {
		t.Logf("inflight %d at %v", h.e.Stats().InFlight, time.Since(began))
		time.Sleep(50 * time.Millisecond)
	}
	buf := make([]byte, 1<<20); n := runtime.Stack(buf, true); t.Logf("%s", buf[:n])
	h.srv.Close()
	t.Logf("pre-cancel %v", time.Since(t0)); cancel(); t.Logf("post-cancel %v", time.Since(t0))
	t.Cleanup(func() { t.Logf("first cleanup at %v", time.Since(t0)) })
	t.Logf("closed at %v", time.Since(began))
}
