// Package rawitems keeps a large bulk call's items as JSON text on their
// way through mcp-go.
//
// mcp-go decodes a call's arguments into a tree of map[string]any: for
// 100,000 customers that tree, with the copies of the frame it is built
// from, is some 25 times the request. A transport therefore rewrites a
// large tools/call frame before mcp-go reads it (Rewrite): the items array
// becomes one string, Marker followed by the array's JSON, which mcp-go
// decodes into a single Go string. The tool then decodes the items a window
// at a time (Decoder), so memory follows the window, not the request.
//
// A marked string means exactly the array it holds, whoever wrote it: an
// agent that sends one itself only sends its own items another way. Its
// length is never taken from the sender: Count scans the array.
package rawitems

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Marker starts a string that holds a JSON array of items.
const Marker = "\x00bill-mcp/items\x00"

// MinFrame is the smallest frame Rewrite considers. Below it (10,000
// short records are some 0.6 MB) mcp-go's decoding holds little memory and
// costs less CPU than reading the items twice here (once for the journal's
// digest, once a window at a time), which BenchmarkBulk10k measured.
const MinFrame = 2 << 20

// Items returns the JSON array a marked string holds.
func Items(v any) (raw string, ok bool) {
	s, isString := v.(string)
	if !isString || !strings.HasPrefix(s, Marker) {
		return "", false
	}
	return s[len(Marker):], true
}

// ErrNotArray is Count's and Decoder's error for text that is not one JSON
// array.
var ErrNotArray = errors.New("the items are not a JSON array")

// Count returns how many elements the JSON array raw holds, scanning it
// once without decoding anything. It fails for anything but one valid-looking
// array (the elements themselves are checked when they are decoded).
func Count(raw string) (int, error) {
	end, n, ok := scanArray(raw, skipSpace(raw, 0))
	if !ok || skipSpace(raw, end) != len(raw) {
		return 0, ErrNotArray
	}
	return n, nil
}

// scanArray scans the JSON array that starts at s[i], without decoding
// anything, and returns the index just past its closing bracket and how
// many elements it holds; ok is false when s[i] begins no array or the
// array does not end.
func scanArray[T ~string | ~[]byte](s T, i int) (end, n int, ok bool) {
	if i >= len(s) || s[i] != '[' {
		return 0, 0, false
	}
	depth, inString, empty := 1, false, true
	for i++; i < len(s); i++ {
		c := s[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case ',':
			if depth == 1 {
				n++
			}
			continue
		}
		if depth == 1 && c != ']' {
			empty = false
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				if !empty {
					n++
				}
				return i + 1, n, true
			}
		}
	}
	return 0, 0, false
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// Decoder reads the elements of a JSON array one at a time, in order, each
// decoded as encoding/json decodes into any (objects as map[string]any,
// numbers as float64): the values mcp-go would have handed the tool.
type Decoder struct {
	dec  *json.Decoder
	next int // index of the element Next returns
}

// NewDecoder starts reading the array raw.
func NewDecoder(raw string) (*Decoder, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return nil, ErrNotArray
	}
	return &Decoder{dec: dec}, nil
}

// Pos is the index of the element Next returns.
func (d *Decoder) Pos() int { return d.next }

// Next returns the next element and its index; io.EOF after the last.
func (d *Decoder) Next() (int, any, error) {
	if !d.dec.More() {
		return d.next, nil, io.EOF
	}
	var v any
	if err := d.dec.Decode(&v); err != nil {
		return d.next, nil, fmt.Errorf("item %d: %w", d.next, err)
	}
	d.next++
	return d.next - 1, v, nil
}

// Rewrite returns frame with the items of a large tools/call marked (see
// the package doc): itemsField names the argument holding a tool's items
// ("" for a tool without). It returns frame itself, untouched, for anything
// else: a small frame, another method, a batch, a tool without items, items
// that are not an array, or a frame that is not valid JSON (mcp-go answers
// that one).
//
// With a Stash, the items do not go into the frame at all: the stash keeps
// them (as the marked string) and the frame carries only a reference, which
// the server's first middleware trades back (Stash.Take) before anything
// else reads the arguments; mcp-go then never copies the items. Without
// one (nil), the marked string goes into the frame.
func Rewrite(frame []byte, itemsField func(tool string) string, st *Stash) []byte {
	if len(frame) < MinFrame {
		return frame
	}
	var head struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if json.Unmarshal(frame, &head) != nil || head.Method != "tools/call" {
		return frame
	}
	field := itemsField(head.Params.Name)
	if field == "" {
		return frame
	}
	start, end, ok := findArgument(frame, field)
	if !ok {
		return frame
	}
	value := Marker + string(frame[start:end])
	if st != nil {
		value = st.put(value)
	}
	quoted, err := json.Marshal(value)
	if err != nil {
		return frame
	}
	out := make([]byte, 0, len(frame)-(end-start)+len(quoted))
	out = append(out, frame[:start]...)
	out = append(out, quoted...)
	return append(out, frame[end:]...)
}

// Stash keeps large calls' items between a transport's reader and the
// tools (see Rewrite). An entry is taken once; one never taken (the call
// failed before any tool saw it) is dropped after stashTTL, and the oldest
// go first past stashMaxBytes.
type Stash struct {
	mu    sync.Mutex
	held  map[string]stashed
	bytes int
	max   int // stashMaxBytes
	now   func() time.Time
}

type stashed struct {
	marked string
	at     time.Time
}

// Bounds of what a Stash holds that no tool took.
const (
	stashTTL      = 10 * time.Minute
	stashMaxBytes = 512 << 20
)

// Ref starts the string a frame carries in place of stashed items.
const Ref = "\x00bill-mcp/stashed\x00"

// NewStash returns an empty stash.
func NewStash() *Stash { return &Stash{held: map[string]stashed{}, max: stashMaxBytes, now: time.Now} }

// put keeps marked and returns the reference that names it: Ref and 128
// random bits, so no other call can name it.
func (s *Stash) put(marked string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	ref := Ref + hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.held[ref] = stashed{marked: marked, at: now}
	s.bytes += len(marked)
	for r, e := range s.held { // what no tool took in time
		if r != ref && now.Sub(e.at) >= stashTTL {
			s.drop(r)
		}
	}
	for s.bytes > s.max { // the oldest others, never the new one
		oldest := ""
		for r, e := range s.held {
			if r != ref && (oldest == "" || e.at.Before(s.held[oldest].at)) {
				oldest = r
			}
		}
		if oldest == "" {
			break
		}
		s.drop(oldest)
	}
	return ref
}

func (s *Stash) drop(ref string) {
	s.bytes -= len(s.held[ref].marked)
	delete(s.held, ref)
}

// Take returns, once, the marked items a reference names; ok is false for
// anything else.
func (s *Stash) Take(v any) (marked string, ok bool) {
	ref, isString := v.(string)
	if s == nil || !isString || !strings.HasPrefix(ref, Ref) {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.held[ref]
	if ok {
		s.drop(ref)
	}
	return e.marked, ok
}

type stashKey struct{}

// WithStash returns ctx carrying st, for the middleware that takes from it.
func WithStash(ctx context.Context, st *Stash) context.Context {
	return context.WithValue(ctx, stashKey{}, st)
}

// StashFrom returns the stash of ctx, or nil.
func StashFrom(ctx context.Context) *Stash {
	st, _ := ctx.Value(stashKey{}).(*Stash)
	return st
}

// findArgument returns the byte span of params.arguments[field] in a valid
// JSON-RPC frame; ok is false unless that value is an array.
func findArgument(frame []byte, field string) (start, end int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(frame))
	if !enterObject(dec) || !seekKey(dec, "params") || !enterObject(dec) || !seekKey(dec, "arguments") || !enterObject(dec) || !seekKey(dec, field) {
		return 0, 0, false
	}
	// after the key: skip the colon and spaces up to the value
	i := int(dec.InputOffset())
	for i < len(frame) && (frame[i] == ':' || frame[i] == ' ' || frame[i] == '\t' || frame[i] == '\r' || frame[i] == '\n') {
		i++
	}
	// Only an array is wanted, and the frame is valid JSON: scan to its
	// end rather than have the decoder buffer and copy it.
	end, _, ok = scanArray(frame, i)
	return i, end, ok
}

func enterObject(dec *json.Decoder) bool {
	tok, err := dec.Token()
	return err == nil && tok == json.Delim('{')
}

// seekKey reads keys of the current object, skipping their values, until
// key; the decoder is then before key's value.
func seekKey(dec *json.Decoder, key string) bool {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if k, _ := tok.(string); k == key {
			return true
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}
