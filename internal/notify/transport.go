package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// lineWriter serialises whole frames onto one stream.
type lineWriter struct {
	mu  sync.Mutex
	out io.Writer
}

// Write writes p in one piece; mcp-go writes one frame per call.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

// Stdio prepares the stdio transport: give mcp-go the returned writer in
// place of out, and install the returned function as its context function
// (StdioServer.SetContextFunc). Notifications sent with Send then go to out
// as whole lines from the handler's own goroutine, before the handler
// returns and so before its result.
func Stdio(out io.Writer) (io.Writer, func(context.Context) context.Context) {
	w := &lineWriter{out: out}
	send := func(ctx context.Context, n mcp.JSONRPCNotification) error {
		b, err := frame(n)
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		sent(ctx)
		return err
	}
	return w, func(ctx context.Context) context.Context { return WithSender(ctx, send) }
}

// SSE returns the Sender of a legacy SSE session: queue puts an event on the
// session's stream (mcp-go's SSEServer.SendEventToSession), the queue its
// results take too, so a notification sent before the handler returns is
// written before the result. A full queue is waited out (the stream's
// writer drains it), never skipped.
func SSE(queue func(event any) error) Sender {
	return func(ctx context.Context, n mcp.JSONRPCNotification) error {
		for wait := 100 * time.Microsecond; ; wait = min(2*wait, 20*time.Millisecond) {
			err := queue(n)
			if err == nil || !strings.Contains(err.Error(), "queue full") {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
	}
}

// Streamable wraps mcp-go's streamable HTTP handler. For each POST it puts a
// Sender in the request's context that upgrades the response to an SSE
// stream (as mcp-go itself does when a notification arrives) and writes the
// notification as one event, flushed, before the handler returns. mcp-go
// then writes the result on the same response: as an SSE event when it
// knows the stream was upgraded, or else as a JSON body that the wrapper
// turns into the stream's final event.
func Streamable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		sw := &sseResponse{w: w}
		if f, ok := w.(http.Flusher); ok {
			sw.flusher = f
		}
		next.ServeHTTP(sw, r.WithContext(WithSender(r.Context(), sw.send)))
	})
}

// errNoStream means the response cannot stream, so a notification cannot
// be delivered ahead of the result.
var errNoStream = errors.New("notify: the HTTP response cannot stream")

// sseResponse is the response writer of one POST.
type sseResponse struct {
	w       http.ResponseWriter
	flusher http.Flusher

	mu         sync.Mutex
	headerSent bool // the status line went out (by us or by mcp-go)
	upgraded   bool // this wrapper sent SSE headers itself
	wrapJSON   bool // mcp-go answers JSON after we upgraded: wrap it as an event
	jsonBody   bytes.Buffer
}

func (s *sseResponse) Header() http.Header { return s.w.Header() }

// WriteHeader passes the status through unless the stream was already
// upgraded; then it notes whether mcp-go meant to answer plain JSON.
func (s *sseResponse) WriteHeader(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeHeaderLocked(code)
}

func (s *sseResponse) writeHeaderLocked(code int) {
	if s.upgraded {
		ct := s.w.Header().Get("Content-Type")
		if !strings.HasPrefix(ct, "text/event-stream") {
			s.wrapJSON = true
			s.w.Header().Set("Content-Type", "text/event-stream")
		}
		return
	}
	if s.headerSent {
		return
	}
	s.headerSent = true
	s.w.WriteHeader(code)
}

// Write passes bytes through, except a JSON result written after this
// wrapper upgraded the response: that becomes one SSE event.
func (s *sseResponse) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.headerSent && !s.upgraded {
		s.headerSent = true
		s.w.WriteHeader(http.StatusOK)
	}
	if s.upgraded && !s.wrapJSON {
		// mcp-go wrote no status of its own yet: a body now is JSON.
		if !strings.HasPrefix(s.w.Header().Get("Content-Type"), "text/event-stream") {
			s.wrapJSON = true
		}
	}
	if !s.wrapJSON {
		return s.w.Write(p)
	}
	// json.Encoder writes the whole value and its newline at once, but
	// do not rely on it: emit an event per complete line.
	s.jsonBody.Write(p)
	for {
		line, err := s.jsonBody.ReadBytes('\n')
		if err != nil {
			// incomplete: keep it for the next Write
			rest := append([]byte(nil), line...)
			s.jsonBody.Reset()
			s.jsonBody.Write(rest)
			break
		}
		if err := s.eventLocked(bytes.TrimRight(line, "\r\n")); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush flushes the underlying writer.
func (s *sseResponse) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrapJSON && s.jsonBody.Len() > 0 {
		_ = s.eventLocked(bytes.TrimSpace(s.jsonBody.Bytes()))
		s.jsonBody.Reset()
	}
	if s.flusher != nil {
		s.flusher.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (s *sseResponse) Unwrap() http.ResponseWriter { return s.w }

// send writes n as an SSE event, upgrading the response first.
func (s *sseResponse) send(_ context.Context, n mcp.JSONRPCNotification) error {
	if s.flusher == nil {
		return errNoStream
	}
	b, err := frame(n)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.headerSent {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Connection", "keep-alive")
		h.Set("Cache-Control", "no-cache")
		s.w.WriteHeader(http.StatusOK)
		s.headerSent, s.upgraded = true, true
	} else if !strings.HasPrefix(s.w.Header().Get("Content-Type"), "text/event-stream") {
		return fmt.Errorf("notify %s: the response already started as %q", n.Method, s.w.Header().Get("Content-Type"))
	}
	if err := s.eventLocked(b); err != nil {
		return err
	}
	s.flusher.Flush()
	return nil
}

// eventLocked writes data as one SSE message event, the framing mcp-go uses.
func (s *sseResponse) eventLocked(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(s.w, "event: message\ndata: %s\n\n", data); err != nil {
		return fmt.Errorf("write SSE event: %w", err)
	}
	return nil
}
