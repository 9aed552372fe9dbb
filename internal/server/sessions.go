package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults for streamable HTTP sessions.
const (
	DefaultSessionTTL  = 30 * time.Minute
	DefaultMaxSessions = 1000
)

// sessionTracker is the streamable HTTP transport's session id manager: it
// knows every live session and when it was last used, forgets one idle
// longer than ttl (its next request is answered 404, so the client starts a
// new session, as the spec says), and holds at most max: a new session
// beyond that evicts the one idle longest. Abandoned sessions therefore
// cost bounded memory.
type sessionTracker struct {
	ttl time.Duration
	max int
	now func() time.Time

	// gone releases the transport's state of a session the tracker
	// dropped (mcp-go keeps an initialized session registered until it is
	// deleted). Called without the lock held.
	gone func(id string)

	mu   sync.Mutex
	last map[string]time.Time
}

func newSessionTracker(ttl time.Duration, maxSessions int) *sessionTracker {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	if maxSessions <= 0 {
		maxSessions = DefaultMaxSessions
	}
	return &sessionTracker{ttl: ttl, max: maxSessions, now: time.Now, last: map[string]time.Time{}}
}

const sessionPrefix = "bmcp-"

var errNoSession = errors.New("no such session")

// Generate makes and records a new session id.
func (t *sessionTracker) Generate() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := sessionPrefix + hex.EncodeToString(b[:])
	t.mu.Lock()
	now := t.now()
	dropped := t.sweepLocked(now)
	for len(t.last) >= t.max {
		oldest, when := "", now
		for k, v := range t.last {
			if oldest == "" || v.Before(when) {
				oldest, when = k, v
			}
		}
		delete(t.last, oldest)
		dropped = append(dropped, oldest)
	}
	t.last[id] = now
	t.mu.Unlock()
	t.release(dropped)
	return id
}

func (t *sessionTracker) release(ids []string) {
	if t.gone == nil {
		return
	}
	for _, id := range ids {
		t.gone(id)
	}
}

// sweep drops every expired session.
func (t *sessionTracker) sweep() {
	t.mu.Lock()
	dropped := t.sweepLocked(t.now())
	t.mu.Unlock()
	t.release(dropped)
}

// run sweeps every half TTL (at least every second) until stop is closed.
func (t *sessionTracker) run(stop <-chan struct{}) {
	tick := time.NewTicker(max(t.ttl/2, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			t.sweep()
		}
	}
}

// Validate accepts a live session and marks it used.
func (t *sessionTracker) Validate(id string) (bool, error) {
	if !strings.HasPrefix(id, sessionPrefix) {
		return false, errNoSession
	}
	t.mu.Lock()
	now := t.now()
	last, ok := t.last[id]
	switch {
	case !ok:
		t.mu.Unlock()
		return false, errNoSession
	case now.Sub(last) > t.ttl:
		delete(t.last, id)
		t.mu.Unlock()
		t.release([]string{id})
		return true, nil
	}
	t.last[id] = now
	t.mu.Unlock()
	return false, nil
}

// Terminate forgets a session (DELETE, or mcp-go's idle sweeper).
func (t *sessionTracker) Terminate(id string) (bool, error) {
	t.mu.Lock()
	delete(t.last, id)
	t.mu.Unlock()
	return false, nil
}

// Len is the number of live sessions.
func (t *sessionTracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.last)
}

func (t *sessionTracker) sweepLocked(now time.Time) []string {
	var dropped []string
	for k, v := range t.last {
		if now.Sub(v) > t.ttl {
			delete(t.last, k)
			dropped = append(dropped, k)
		}
	}
	return dropped
}

// deleter returns a gone function that ends a session in h the way a
// client's DELETE does, so h frees what it holds for it.
func deleter(h http.Handler) func(id string) {
	return func(id string) {
		req, err := http.NewRequest(http.MethodDelete, PathStreamable, nil)
		if err != nil {
			return
		}
		req.Header.Set("Mcp-Session-Id", id)
		h.ServeHTTP(&discardWriter{h: http.Header{}}, req)
	}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
