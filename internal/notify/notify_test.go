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
				if err := Send(ctx, "notifications/progress", map[string]any{"progressToken": "t", "progress": 1}); err != nil {
					t.Fatal(err)
				}
				sentAt = time.Now()
				if !bytes.Contains(out.Bytes(), []byte(`"notifications/progress"`)) {
					t.Fatalf("the notification was not written before the handler returned: %q", out.String())
				}
			}
			wait()
			if tt.notify && time.Since(sentAt) < ResultGap-time.Millisecond {
				t.Errorf("the result was let go %v after the notification, want at least %v", time.Since(sentAt), ResultGap)
			}
		})
	}
}
