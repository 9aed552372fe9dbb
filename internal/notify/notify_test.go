package notify

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestPacedHoldsTheResultAfterStdioProgress: a request that sent a
// notification on stdio has its result held until ResultGap after it; one
// that sent none is not held, and the notification itself went out at once.
func TestPacedHoldsTheResultAfterStdioProgress(t *testing.T) {
	for _, tt := range []struct {
		name   string
		notify bool
	}{{"after a notification", true}, {"without one", false}} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, withSender := Stdio(&out)
			ctx, wait := Paced(withSender(context.Background()))
			var sentAt time.Time
			if tt.notify {
				sentAt = time.Now() // before Send notes its own time
				if err := Send(ctx, "notifications/progress", map[string]any{"progressToken": "t", "progress": 1}); err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(out.Bytes(), []byte(`"notifications/progress"`)) {
					t.Fatalf("the notification was not written before the handler returned: %q", out.String())
				}
				wait()
				if held := time.Since(sentAt); held < ResultGap {
					t.Errorf("the result was let go %v after the notification, want at least %v", held, ResultGap)
				}
				return
			}
			// Not held: the quickest of a few waits (a loaded machine may
			// pause any one of them) is far below the gap.
			quickest := time.Hour
			for range 5 {
				began := time.Now()
				wait()
				quickest = min(quickest, time.Since(began))
			}
			if quickest >= ResultGap/2 {
				t.Errorf("a result with no notification before it was held %v, want no wait", quickest)
			}
		})
	}
}
