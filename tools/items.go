package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/bill-mcp/bill-mcp/internal/journal"
	"github.com/bill-mcp/bill-mcp/internal/rawitems"
)

// itemSource is a bulk call's items: decoded by mcp-go (list), or still
// JSON (raw: a large call's items, marked by the transport, see
// internal/rawitems), decoded here a window at a time.
type itemSource struct {
	n    int
	list []any
	raw  string
	dec  *rawitems.Decoder // raw: reads on from the last item values gave
}

// newItemSource takes a bulk tool's items argument; ok is false unless it
// is an array (or a marked one) of at least one item.
func newItemSource(v any) (src *itemSource, ok bool) {
	if list, isList := v.([]any); isList {
		return &itemSource{n: len(list), list: list}, len(list) > 0
	}
	raw, marked := rawitems.Items(v)
	if !marked {
		return nil, false
	}
	n, err := rawitems.Count(raw)
	if err != nil || n == 0 {
		return nil, false
	}
	return &itemSource{n: n, raw: raw}, true
}

// digest is the journal digest of the items: the same for the same items
// whichever way they came (one pass over raw items, decoding each, so the
// encoding is the one a decoded list gets). It fails for items that are
// not valid JSON, before anything is sent.
func (s *itemSource) digest(tool string) (string, error) {
	if s.list != nil {
		return requestDigest(tool, s.list)
	}
	// As requestDigest's json.Encoder writes a []any: "[", items joined
	// by ",", "]\n".
	h := journal.NewDigest(tool)
	dec, err := rawitems.NewDecoder(s.raw)
	if err != nil {
		return "", err
	}
	if _, err := h.Write([]byte{'['}); err != nil {
		return "", err
	}
	for {
		i, v, err := dec.Next()
		if errors.Is(err, io.EOF) {
			if i != s.n {
				return "", fmt.Errorf("%d items, counted %d", i, s.n)
			}
			break
		}
		if err != nil {
			return "", err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b = append([]byte{','}, b...)
		}
		if _, err := h.Write(b); err != nil {
			return "", err
		}
	}
	if _, err := h.Write([]byte("]\n")); err != nil {
		return "", err
	}
	return h.Sum(), nil
}

// values returns the items at idx (ascending), aligned with it. With
// release, a decoded list lets go of them: each is asked for once.
func (s *itemSource) values(idx []int, release bool) []any {
	out := make([]any, len(idx))
	if s.list != nil {
		for k, i := range idx {
			out[k] = s.list[i]
			if release {
				s.list[i] = nil
			}
		}
		return out
	}
	if !slices.IsSorted(idx) {
		panic("itemSource.values: indices out of order")
	}
	for k, i := range idx {
		out[k] = s.at(i)
	}
	return out
}

// at decodes raw item i, reading on from the last one (or from the start
// when i lies behind it). digest has decoded every item once, so none
// fails here; should one, it is nil, which fails as an item.
func (s *itemSource) at(i int) any {
	if s.dec == nil || s.dec.Pos() > i {
		d, err := rawitems.NewDecoder(s.raw)
		if err != nil {
			return nil
		}
		s.dec = d
	}
	for {
		j, v, err := s.dec.Next()
		if err != nil {
			s.dec = nil
			return nil
		}
		if j == i {
			return v
		}
	}
}
