package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
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
	defer t.mu.Unlock()
	now := t.now()
	t.sweepLocked(now)
	for len(t.last) >= t.max {
		oldest, when := "", now
		for k, v := range t.last {
			if oldest == "" || v.Before(when) {
				oldest, when = k, v
			}
		}
		delete(t.last, oldest)
	}
	t.last[id] = now
	return id
}

// Validate accepts a live session and marks it used.
func (t *sessionTracker) Validate(id string) (bool, error) {
	if !strings.HasPrefix(id, sessionPrefix) {
		return false, errNoSession
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	last, ok := t.last[id]
	if !ok {
		return false, errNoSession
	}
	if now.Sub(last) > t.ttl {
		delete(t.last, id)
		return true, nil
	}
	t.last[id] = now
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

func (t *sessionTracker) sweepLocked(now time.Time) {
	for k, v := range t.last {
		if now.Sub(v) > t.ttl {
			delete(t.last, k)
		}
	}
}
