package billapi

import (
	"context"
	"testing"
	"time"
)

// TestReconcileHoldsBackIdenticalCreates: while a reconciliation looks for
// records with a match key, a create with that key must not start (its
// record could be claimed by the List before its id is known); a create with
// another key starts at once, and the held one starts after thaw.
func TestReconcileHoldsBackIdenticalCreates(t *testing.T) {
	k := newKnownIDs()
	thaw, err := k.waitIdleAndFreeze(t.Context(), []string{"same"})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.begin(t.Context(), []string{"other"}); err != nil {
		t.Fatalf("a create with another key was held: %v", err)
	}
	started := make(chan error, 1)
	go func() { started <- k.begin(context.Background(), []string{"x", "same"}) }()
	select {
	case err := <-started:
		t.Fatalf("an identical create started during the reconciliation (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	short, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := k.begin(short, []string{"same"}); err == nil {
		t.Fatal("a held create whose context ended did not give up")
	}
	thaw()
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held create did not start after thaw")
	}
	// The started create is in flight: a new reconciliation waits for it.
	waiting, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel2()
	if _, err := k.waitIdleAndFreeze(waiting, []string{"same"}); err == nil {
		t.Fatal("a reconciliation did not wait for an identical create on the wire")
	}
	k.end([]string{"x", "same"}, []string{"cpu00000000000000001"})
	thaw2, err := k.waitIdleAndFreeze(t.Context(), []string{"same"})
	if err != nil {
		t.Fatal(err)
	}
	thaw2()
}
