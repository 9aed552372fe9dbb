package tools

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Forgiving where it is safe: before arguments are checked (newArgsChecker,
// newItemChecker), a number
// given for a digit-string enum becomes that string (isActive: 2 means
// "2"), and "true"/"false" given for a boolean become the boolean. Nothing
// else is coerced; the schema stays strict, so any other mistake is refused
// with an error that names the field.

// coerce walks value along schema.
func coerce(schema map[string]any, value any) any {
	switch x := value.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		if props == nil {
			return value
		}
		out := make(map[string]any, len(x))
		for k, child := range x {
			if ps, ok := props[k].(map[string]any); ok {
				out[k] = coerce(ps, child)
			} else {
				out[k] = child
			}
		}
		return out
	case []any:
		items, _ := schema["items"].(map[string]any)
		if items == nil {
			return value
		}
		out := make([]any, len(x))
		for i, child := range x {
			out[i] = coerce(items, child)
		}
		return out
	case float64:
		if digitEnum(schema) && x == math.Trunc(x) && x >= 0 && x < 1e9 {
			s := strconv.FormatInt(int64(x), 10)
			if inEnum(schema, s) {
				return s
			}
		}
	case json.Number:
		if digitEnum(schema) && inEnum(schema, x.String()) {
			return x.String()
		}
	case string:
		if schema["type"] == "boolean" {
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true":
				return true
			case "false":
				return false
			}
		}
	}
	return value
}

// digitEnum reports a string enum whose values are all digit strings.
func digitEnum(schema map[string]any) bool {
	enum, _ := schema["enum"].([]any)
	if len(enum) == 0 {
		return false
	}
	for _, e := range enum {
		s, ok := e.(string)
		if !ok || s == "" || strings.Trim(s, "0123456789") != "" {
			return false
		}
	}
	return true
}

func inEnum(schema map[string]any, s string) bool {
	enum, _ := schema["enum"].([]any)
	for _, e := range enum {
		if e == s {
			return true
		}
	}
	return false
}

// newArgsChecker returns a check of call arguments against the full
// argument schema raw (compiled once, on first use): it coerces what is
// forgivable, then refuses what breaks the schema before anything is sent.
func newArgsChecker(tool string, raw json.RawMessage) func(args any) (any, *mcp.CallToolResult) {
	var (
		once   sync.Once
		schema *jsonschema.Schema
		doc    map[string]any
		err    error
	)
	return func(args any) (any, *mcp.CallToolResult) {
		once.Do(func() {
			schema, err = compileSchema(tool+".args", raw)
			if err == nil {
				err = json.Unmarshal(raw, &doc)
			}
		})
		if err != nil {
			return nil, failure(CodeInternal, "the server could not read its own argument schema", "tell the user to report this bill-mcp bug")
		}
		args = coerce(doc, args)
		if detail, broken := violations(schema, args); broken {
			return nil, mcp.NewToolResultError(InvalidArgumentsText(detail))
		}
		return args, nil
	}
}
