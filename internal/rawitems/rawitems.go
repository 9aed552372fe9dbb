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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return 0, ErrNotArray
	}
	depth, n, inString, empty := 1, 0, false, true
	for i++; i < len(raw); i++ {
		c := raw[i]
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
				if j := skipSpace(raw, i+1); j != len(raw) {
					return 0, ErrNotArray
				}
				if !empty {
					n++
				}
				return n, nil
			}
		}
	}
	return 0, ErrNotArray
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
func Rewrite(frame []byte, itemsField func(tool string) string) []byte {
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
	if !ok || frame[start] != '[' {
		return frame
	}
	quoted, err := json.Marshal(Marker + string(frame[start:end]))
	if err != nil {
		return frame
	}
	out := make([]byte, 0, len(frame)-(end-start)+len(quoted))
	out = append(out, frame[:start]...)
	out = append(out, quoted...)
	return append(out, frame[end:]...)
}

// findArgument returns the byte span of params.arguments[field] in a valid
// JSON-RPC frame.
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
	var skip json.RawMessage
	if err := dec.Decode(&skip); err != nil {
		return 0, 0, false
	}
	return i, int(dec.InputOffset()), i < len(frame)
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
