package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"filippo.io/age"
)

// ageSealer seals with an X25519 identity, as the vault's Sealer does.
type ageSealer struct{ id *age.X25519Identity }

func (s ageSealer) Seal(p []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := age.Encrypt(&b, s.id.Recipient())
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(p); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (s ageSealer) Open(p []byte) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(p), s.id)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(r)
	return b.Bytes(), err
}

func newSealer(t *testing.T) ageSealer {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return ageSealer{id}
}

// stores returns a memory store and a disk store, for table tests.
func stores(t *testing.T) map[string]func() *Store {
	dir := t.TempDir()
	seal := newSealer(t)
	mem := NewMemory("org")
	return map[string]func() *Store{
		"memory": func() *Store { return mem },
		"disk": func() *Store {
			s, err := NewDir(dir, seal, "org")
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func TestJournalRecordsAndResumes(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			j, err := open().Open(t.Context(), "tool", "k1", "d1", 10)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.Begin([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}); err != nil {
				t.Fatal(err)
			}
			if err := j.Settle([]int{0, 1, 2}, []string{"a", "b", "c"}, []int{3}); err != nil {
				t.Fatal(err)
			}
			// a second opener is refused while the first holds it
			if _, err := open().Open(t.Context(), "tool", "k1", "d1", 10); !errors.Is(err, ErrBusy) {
				t.Errorf("second open: %v, want ErrBusy", err)
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			j2, err := open().Open(t.Context(), "tool", "k1", "d1", 10)
			if err != nil {
				t.Fatal(err)
			}
			defer j2.Close()
			if got := j2.Done(); len(got) != 3 || got[0] != "a" || got[2] != "c" {
				t.Errorf("done = %v", got)
			}
			doubt, since := j2.InDoubt()
			if !slices.Equal(doubt, []int{4, 5, 6, 7, 8, 9}) || since.IsZero() {
				t.Errorf("in doubt = %v since %v", doubt, since)
			}
			// same key, other content
			if _, err := open().Open(t.Context(), "tool", "k1", "other", 10); !errors.Is(err, ErrBusy) && !errors.Is(err, ErrMismatch) {
				t.Errorf("other digest: %v", err)
			}
		})
	}
}

// TestJournalFailedThenResentIsInDoubt: an item that failed, was sent
// again by a later call and then lost to a crash is in doubt: its
// earlier failure says nothing of whether the second send was applied.
func TestJournalFailedThenResentIsInDoubt(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			store := open()
			step := func(f func(j *Journal) error) {
				t.Helper()
				j, err := store.Open(t.Context(), "tool", "k", "d", 5)
				if err != nil {
					t.Fatal(err)
				}
				if err := f(j); err != nil {
					t.Fatal(err)
				}
				if err := j.Close(); err != nil {
					t.Fatal(err)
				}
			}
			step(func(j *Journal) error { // call 1: item 3 fails, the rest are done
				if _, err := j.Begin([]int{0, 1, 2, 3, 4}); err != nil {
					return err
				}
				return j.Settle([]int{0, 1, 2, 4}, []string{"a", "b", "c", "e"}, []int{3})
			})
			step(func(j *Journal) error { // call 2: item 3 sent again, then a crash
				if doubt, _ := j.InDoubt(); len(doubt) != 0 {
					t.Errorf("before the resend: in doubt %v, want none", doubt)
				}
				_, err := j.Begin([]int{3})
				return err
			})
			step(func(j *Journal) error { // call 3
				if doubt, _ := j.InDoubt(); !slices.Equal(doubt, []int{3}) {
					t.Errorf("after the resend was lost: in doubt %v, want [3]", doubt)
				}
				return nil
			})
		})
	}
}

func TestJournalMismatchAndScope(t *testing.T) {
	s := NewMemory("org")
	j, err := s.Open(t.Context(), "tool", "k", "d1", 3)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if _, err := s.Open(t.Context(), "tool", "k", "d2", 3); !errors.Is(err, ErrMismatch) {
		t.Errorf("other digest: %v, want ErrMismatch", err)
	}
	if j, err := s.Open(t.Context(), "other_tool", "k", "d2", 3); err != nil {
		t.Errorf("same key for another tool: %v", err)
	} else {
		j.Close()
	}
}

// TestJournalTornTail: a frame cut short by a kill is dropped and the
// records before it kept; the journal stays appendable.
func TestJournalTornTail(t *testing.T) {
	dir := t.TempDir()
	seal := newSealer(t)
	s, _ := NewDir(dir, seal, "org")
	j, err := s.Open(t.Context(), "tool", "k", "d", 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Begin([]int{0, 1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if err := j.Settle([]int{0}, []string{"id0"}, nil); err != nil {
		t.Fatal(err)
	}
	j.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+fileExt))
	if len(files) != 1 {
		t.Fatalf("journal files: %v", files)
	}
	f, _ := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{200, 1, 'x', 'y'}) // a frame that promises 200 bytes
	f.Close()
	j2, err := s.Open(t.Context(), "tool", "k", "d", 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := j2.Done(); got[0] != "id0" {
		t.Errorf("done after a torn tail = %v", got)
	}
	if err := j2.Settle([]int{1}, []string{"id1"}, nil); err != nil {
		t.Fatal(err)
	}
	j2.Close()
	j3, _ := s.Open(t.Context(), "tool", "k", "d", 5)
	defer j3.Close()
	if got := j3.Done(); got[1] != "id1" {
		t.Errorf("a record after the cut is lost: %v", got)
	}
	// nothing readable in the clear
	raw, _ := os.ReadFile(files[0])
	if bytes.Contains(raw, []byte("id0")) || bytes.Contains(raw, []byte(`"t"`)) {
		t.Errorf("journal file holds plaintext")
	}
}

func TestJournalExpires(t *testing.T) {
	now := time.Now()
	s := NewMemory("org")
	s.now = func() time.Time { return now }
	j, _ := s.Open(t.Context(), "tool", "k", "d1", 2)
	j.Settle([]int{0}, []string{"x"}, nil)
	j.Close()
	now = now.Add(TTL + time.Hour)
	j2, err := s.Open(t.Context(), "tool", "k", "d2", 2)
	if err != nil {
		t.Fatalf("expired journal still binds its key: %v", err)
	}
	defer j2.Close()
	if len(j2.Done()) != 0 {
		t.Errorf("expired journal's outcomes came back")
	}
}

func TestJournalSweepsOldFiles(t *testing.T) {
	dir := t.TempDir()
	s, _ := NewDir(dir, newSealer(t), "org")
	j, _ := s.Open(t.Context(), "tool", "old", "d", 1)
	j.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+fileExt))
	old := time.Now().Add(-TTL - time.Hour)
	for _, f := range files {
		os.Chtimes(f, old, old)
	}
	s2, _ := NewDir(dir, newSealer(t), "org")
	j2, _ := s2.Open(t.Context(), "tool", "new", "d", 1)
	j2.Close()
	left, _ := filepath.Glob(filepath.Join(dir, "*"+fileExt))
	if len(left) != 1 {
		t.Errorf("after the sweep %d journals remain, want only the new one", len(left))
	}
}

func TestIndexSets(t *testing.T) {
	cases := [][]int{{0, 1, 2, 3}, {5, 3, 4, 10}, {7, 2, 9}, {4, 4, 5}}
	for _, in := range cases {
		if got := list(in).expand(100); !slices.Equal(got, in) && !slices.Equal(got, slices.Compact(in)) {
			t.Errorf("list(%v) -> %v, want the order kept", in, got)
		}
		want := slices.Compact(slices.Sorted(slices.Values(in)))
		if got := compress(in).expand(100); !slices.Equal(got, want) {
			t.Errorf("compress(%v) -> %v, want %v", in, got, want)
		}
	}
	if got := compress([]int{0, 1, 99, 150}).expand(100); !slices.Equal(got, []int{0, 1, 99}) {
		t.Errorf("indices past n kept: %v", got)
	}
}

// TestJournalActions: done items keep the action they were settled with,
// items in doubt the action of their begin, across a reopen; an action
// outside the fixed set is refused.
func TestJournalActions(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			j, err := open().Open(t.Context(), "tool", "acts", "d", 6)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.BeginAs(Created, []int{0, 1, 2}); err != nil {
				t.Fatal(err)
			}
			if _, err := j.BeginAs(Updated, []int{3, 4}); err != nil {
				t.Fatal(err)
			}
			if err := j.SettleAs(Created, []int{0}, []string{"c0"}, []int{2}); err != nil {
				t.Fatal(err)
			}
			if err := j.SettleAs(Unchanged, []int{5}, []string{"u5"}, nil); err != nil {
				t.Fatal(err)
			}
			if err := j.SettleAs(Updated, []int{3}, []string{"u3"}, nil); err != nil {
				t.Fatal(err)
			}
			// a plain settle of a done item keeps its action
			if err := j.Settle([]int{3}, []string{"u3"}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := j.BeginAs(Action("Acme Corp"), []int{1}); !errors.Is(err, ErrAction) {
				t.Errorf("BeginAs with a field value: %v, want ErrAction", err)
			}
			if err := j.SettleAs(Action("4111"), []int{1}, []string{"x"}, nil); !errors.Is(err, ErrAction) {
				t.Errorf("SettleAs with a field value: %v, want ErrAction", err)
			}
			j.Close()

			j2, err := open().Open(t.Context(), "tool", "acts", "d", 6)
			if err != nil {
				t.Fatal(err)
			}
			defer j2.Close()
			want := map[int]Action{0: Created, 3: Updated, 5: Unchanged}
			if got := j2.Actions(); len(got) != len(want) || got[0] != Created || got[3] != Updated || got[5] != Unchanged {
				t.Errorf("actions = %v, want %v", got, want)
			}
			if got := j2.Intents(); !maps.Equal(got, map[int]Action{1: Created, 4: Updated}) {
				t.Errorf("intents = %v, want 1: created, 4: updated", got)
			}
		})
	}
}

// TestJournalReadsRecordsWithoutActions: frames written before actions
// existed (no "a"), and frames naming an action this version does not
// know, are read; their items are done without an action.
func TestJournalReadsRecordsWithoutActions(t *testing.T) {
	dir := t.TempDir()
	seal := newSealer(t)
	s, _ := NewDir(dir, seal, "org")
	j, err := s.Open(t.Context(), "tool", "old", "d", 3)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+fileExt))
	if len(files) != 1 {
		t.Fatalf("journal files: %v", files)
	}
	f, err := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UnixMilli()
	for _, plain := range []string{
		fmt.Sprintf(`{"t":"b","i":{"r":[0,3]},"at":%d}`, at),
		fmt.Sprintf(`{"t":"d","i":{"l":[0]},"ids":["id0"],"at":%d}`, at),
		fmt.Sprintf(`{"t":"d","i":{"l":[1]},"ids":["id1"],"a":"merged","at":%d}`, at),
	} {
		sealed, err := seal.Seal([]byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		f.Write(append(binary.AppendUvarint(nil, uint64(len(sealed))), sealed...))
	}
	f.Close()
	j2, err := s.Open(t.Context(), "tool", "old", "d", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if got := j2.Done(); len(got) != 2 || got[0] != "id0" || got[1] != "id1" {
		t.Errorf("done = %v", got)
	}
	if got := j2.Actions(); len(got) != 0 {
		t.Errorf("actions = %v, want none", got)
	}
	if doubt, _ := j2.InDoubt(); !slices.Equal(doubt, []int{2}) || len(j2.Intents()) != 0 {
		t.Errorf("in doubt = %v (intents %v), want [2] without an intent", doubt, j2.Intents())
	}
}
