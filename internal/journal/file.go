package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gofrs/flock"
)

// Record types.
const (
	recHeader = "h"
	recBegin  = "b"
	recDone   = "d"
	recFailed = "f"
)

// record is one journal entry. Nothing in it is a secret or a field value.
type record struct {
	T      string   `json:"t"`
	Tool   string   `json:"tool,omitempty"`
	Digest string   `json:"digest,omitempty"`
	N      int      `json:"n,omitempty"`
	Items  indexSet `json:"i,omitzero"`
	IDs    []string `json:"ids,omitempty"`
	A      Action   `json:"a,omitempty"` // what a begin's items are about to have done, or a done's items had done
	At     int64    `json:"at"`          // Unix ms
}

// indexSet is a set of item indices: ranges [start, end) flattened, or an
// explicit list whose order matters (done records pair it with IDs).
type indexSet struct {
	Ranges []int `json:"r,omitempty"`
	List   []int `json:"l,omitempty"`
}

// compress encodes items as ranges (order is not kept).
func compress(items []int) indexSet {
	s := slices.Clone(items)
	slices.Sort(s)
	var r []int
	for k := 0; k < len(s); {
		start := s[k]
		end := start + 1
		for k++; k < len(s) && s[k] <= end; k++ {
			end = max(end, s[k]+1)
		}
		r = append(r, start, end)
	}
	return indexSet{Ranges: r}
}

// list encodes items in their order, as ranges when they ascend by one.
func list(items []int) indexSet {
	for k := 1; k < len(items); k++ {
		if items[k] != items[k-1]+1 {
			return indexSet{List: items}
		}
	}
	return compress(items)
}

// expand returns the indices, dropping any outside [0, n).
func (s indexSet) expand(n int) []int {
	var out []int
	for k := 0; k+1 < len(s.Ranges); k += 2 {
		for i := max(s.Ranges[k], 0); i < min(s.Ranges[k+1], n); i++ {
			out = append(out, i)
		}
	}
	for _, i := range s.List {
		if i >= 0 && i < n {
			out = append(out, i)
		}
	}
	return out
}

// file is where one journal's records live.
type file interface {
	load() ([]record, error)
	append(r record, durable bool) error
	reset() error
	close() error
}

// memFile keeps records in memory, shared by the calls of one process.
type memFile struct{ recs []record }

func (m *memFile) load() ([]record, error) { return slices.Clone(m.recs), nil }
func (m *memFile) append(r record, _ bool) error {
	m.recs = append(m.recs, r)
	return nil
}
func (m *memFile) reset() error { m.recs = nil; return nil }
func (m *memFile) close() error { return nil }

func (s *Store) openFile(name string) (file, error) {
	if s.dir == "" {
		s.mu.Lock()
		defer s.mu.Unlock()
		f, ok := s.mem[name]
		if !ok {
			f = &memFile{}
			s.mem[name] = f
		}
		return f, nil
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal directory %s: %w", s.dir, err)
	}
	path := filepath.Join(s.dir, name+fileExt)
	lock := flock.New(path+".lock", flock.SetPermissions(0o600))
	ok, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock journal %s: %w", path, err)
	}
	if !ok {
		return nil, ErrBusy
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		_ = lock.Unlock()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	return &diskFile{f: f, lock: lock, seal: s.seal, path: path}, nil
}

const fileExt = ".journal"

// diskFile is a journal file: frames of uvarint(length) + sealed record.
type diskFile struct {
	f    *os.File
	lock *flock.Flock
	seal Sealer
	path string
}

// load reads every whole frame and cuts off a torn or unreadable tail
// (a write the process did not finish).
func (d *diskFile) load() ([]record, error) {
	data, err := os.ReadFile(d.path)
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", d.path, err)
	}
	var recs []record
	off := 0
	for off < len(data) {
		n, k := binary.Uvarint(data[off:])
		if k <= 0 || n > uint64(len(data)-off-k) {
			break
		}
		plain, err := d.seal.Open(data[off+k : off+k+int(n)])
		if err != nil {
			break
		}
		var r record
		if err := json.Unmarshal(plain, &r); err != nil {
			break
		}
		recs = append(recs, r)
		off += k + int(n)
	}
	if off < len(data) {
		if err := d.f.Truncate(int64(off)); err != nil {
			return nil, fmt.Errorf("cut the torn end of journal %s: %w", d.path, err)
		}
	}
	if _, err := d.f.Seek(int64(off), 0); err != nil {
		return nil, fmt.Errorf("journal %s: %w", d.path, err)
	}
	return recs, nil
}

func (d *diskFile) append(r record, durable bool) error {
	plain, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode journal record: %w", err)
	}
	sealed, err := d.seal.Seal(plain)
	if err != nil {
		return fmt.Errorf("seal journal record: %w", err)
	}
	var b bytes.Buffer
	b.Write(binary.AppendUvarint(nil, uint64(len(sealed))))
	b.Write(sealed)
	if _, err := d.f.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write journal %s: %w", d.path, err)
	}
	if durable {
		if err := d.f.Sync(); err != nil {
			return fmt.Errorf("sync journal %s: %w", d.path, err)
		}
	}
	return nil
}

func (d *diskFile) reset() error {
	if err := d.f.Truncate(0); err != nil {
		return fmt.Errorf("reset journal %s: %w", d.path, err)
	}
	_, err := d.f.Seek(0, 0)
	return err
}

func (d *diskFile) close() error {
	err := d.f.Close()
	_ = d.lock.Unlock()
	return err
}

// sweep deletes journals not written to for TTL, and their lock files.
func (s *Store) sweep() {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	now := s.now()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), fileExt) {
			continue
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) <= TTL {
			continue
		}
		path := filepath.Join(s.dir, e.Name())
		lock := flock.New(path + ".lock")
		if ok, err := lock.TryLock(); err != nil || !ok {
			continue
		}
		if err := os.Remove(path); err == nil || errors.Is(err, fs.ErrNotExist) {
			_ = os.Remove(path + ".lock")
		}
		_ = lock.Unlock()
	}
}
