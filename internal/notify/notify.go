// Package notify sends MCP notifications on the path the request's result
// takes, so they reach the client in order and before the result.
//
// mcp-go (v1.2.1, the newest release) queues a notification on the
// session's channel and writes it from another goroutine than the result:
// on stdio the final notification of a call can follow its result (clients
// drop progress for a finished request), and over streamable HTTP the
// per-request forwarder may drop what it dequeues after the request ended,
// or two notifications can overtake each other. This package bypasses the
// queue: the transport puts a Sender in the request's context (see Stdio,
// Streamable and SSE), and Send writes the notification itself,
// synchronously, on the path the result will take after the handler
// returns. Without a Sender (the in-process client) Send falls back to
// mcp-go's queue.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Sender writes one JSON-RPC notification frame to the client before it
// returns.
type Sender func(ctx context.Context, n mcp.JSONRPCNotification) error

type senderKey struct{}

// WithSender returns ctx carrying s.
func WithSender(ctx context.Context, s Sender) context.Context {
	return context.WithValue(ctx, senderKey{}, s)
}

// Send delivers a notification to the client of the request ctx belongs
// to: on the result's path when the transport put a Sender in ctx, else
// through mcp-go's session queue.
func Send(ctx context.Context, method string, params map[string]any) error {
	if s, ok := ctx.Value(senderKey{}).(Sender); ok && s != nil {
		return s(ctx, mcp.JSONRPCNotification{
			JSONRPC:      mcp.JSONRPC_VERSION,
			Notification: mcp.Notification{Method: method, Params: mcp.NotificationParams{AdditionalFields: params}},
		})
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return fmt.Errorf("notify %s: no MCP server in the context", method)
	}
	return srv.SendNotificationToClient(ctx, method, params)
}

// ResultGap is how long a result waits after the last notification its
// request sent on stdio. The TypeScript SDK (1.32; typescript-sdk#2580)
// hands a notification to onprogress in a later microtask but retires the
// request's progress handler as soon as it reads the result, so progress
// read in the same chunk as the result is dropped as "unknown token" (and
// some clients close the transport over it). One short gap per call, not
// per notification, lets the client read the notifications first.
const ResultGap = 10 * time.Millisecond

// lastSent is when a request last sent a notification on stdio.
type lastSent struct {
	mu sync.Mutex
	at time.Time
}

type lastSentKey struct{}

// sent notes, for the request of ctx, that a notification just went out.
func sent(ctx context.Context) {
	if l, ok := ctx.Value(lastSentKey{}).(*lastSent); ok {
		l.mu.Lock()
		l.at = time.Now()
		l.mu.Unlock()
	}
}

// Paced prepares one request's context; call wait after its handler
// returned and before its result is written: it waits out what is left of
// ResultGap after the request's last stdio notification (nothing when it
// sent none, or sent them over HTTP, where each event is read on its own).
func Paced(ctx context.Context) (paced context.Context, wait func()) {
	l := &lastSent{}
	return context.WithValue(ctx, lastSentKey{}, l), func() {
		l.mu.Lock()
		at := l.at
		l.mu.Unlock()
		if at.IsZero() {
			return
		}
		if d := ResultGap - time.Since(at); d > 0 {
			time.Sleep(d)
		}
	}
}

// frame encodes n as one JSON line body (no newline).
func frame(n mcp.JSONRPCNotification) ([]byte, error) {
	b, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encode notification %s: %w", n.Method, err)
	}
	return b, nil
}
