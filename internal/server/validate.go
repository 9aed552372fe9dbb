package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// argExplainer re-validates arguments that failed mcp-go's input validation
// to describe each violation in plain words ("at /customerId: 'cpu...' does
// not match pattern ..."), since mcp-go's own text prints Go structs.
type argExplainer struct {
	schemas map[string]json.RawMessage // input schema by tool name

	mu       sync.Mutex
	compiled map[string]*jsonschema.Schema
}

func newArgExplainer(schemas map[string]json.RawMessage) *argExplainer {
	return &argExplainer{schemas: schemas, compiled: map[string]*jsonschema.Schema{}}
}

func (x *argExplainer) schema(tool string) (*jsonschema.Schema, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if s, ok := x.compiled[tool]; ok {
		return s, true
	}
	raw, ok := x.schemas[tool]
	if !ok {
		return nil, false
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, false
	}
	url := "mem:///bill-mcp/" + tool + ".input.json"
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		return nil, false
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, false
	}
	x.compiled[tool] = s
	return s, true
}

// explain describes why args do not satisfy tool's input schema; ok is
// false when it cannot tell (the caller then keeps mcp-go's text).
func (x *argExplainer) explain(tool string, args any) (string, bool) {
	s, ok := x.schema(tool)
	if !ok {
		return "", false
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return "", false
	}
	if string(raw) == "null" {
		raw = []byte("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return "", false
	}
	var verr *jsonschema.ValidationError
	if err := s.Validate(v); !errors.As(err, &verr) {
		return "", false
	}
	p := message.NewPrinter(language.English)
	var parts []string
	collectLeaves(verr, func(e *jsonschema.ValidationError) {
		loc := "/" + strings.Join(e.InstanceLocation, "/")
		what := e.ErrorKind.LocalizedString(p)
		if loc == "/accountNumber" {
			// never echo an account number, even a malformed one
			what = "must be 4 to 17 digits"
		}
		if loc == "/" {
			parts = append(parts, what)
			return
		}
		parts = append(parts, "at "+loc+": "+what)
	})
	if len(parts) == 0 {
		return "", false
	}
	return strings.Join(parts, "; "), true
}

func collectLeaves(e *jsonschema.ValidationError, f func(*jsonschema.ValidationError)) {
	if len(e.Causes) == 0 {
		f(e)
		return
	}
	for _, c := range e.Causes {
		collectLeaves(c, f)
	}
}
