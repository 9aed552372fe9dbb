package server

import (
	"testing"
	"time"
)

func TestSessionTracker(t *testing.T) {
	now := time.Unix(1000, 0)
	tr := newSessionTracker(time.Minute, 3)
	tr.now = func() time.Time { return now }
	var released []string
	tr.gone = func(id string) { released = append(released, id) }
	a := tr.Generate()
	now = now.Add(10 * time.Second)
	b := tr.Generate()
	now = now.Add(10 * time.Second)
	c := tr.Generate()
	if term, err := tr.Validate(a); term || err != nil { // a is now the most recently used
		t.Fatalf("Validate(a) = %v, %v", term, err)
	}
	d := tr.Generate() // at the cap: b, idle longest, goes
	if tr.Len() != 3 {
		t.Errorf("%d sessions, want the cap 3", tr.Len())
	}
	if _, err := tr.Validate(b); err == nil {
		t.Error("the session idle longest survived eviction")
	}
	now = now.Add(2 * time.Minute)
	if term, _ := tr.Validate(c); !term {
		t.Error("an idle session did not expire")
	}
	if _, err := tr.Validate(c); err == nil {
		t.Error("an expired session came back")
	}
	if len(released) != 2 || released[0] != b || released[1] != c {
		t.Errorf("released %v, want the evicted then the expired session", released)
	}
	_, _ = tr.Terminate(d)
	if _, err := tr.Validate(d); err == nil {
		t.Error("a terminated session is still valid")
	}
	if _, err := tr.Validate("mcp-session-forged"); err == nil {
		t.Error("a foreign id was accepted")
	}
}
