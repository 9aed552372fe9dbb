package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
)

// schemaFor reflects v's type into a flat JSON Schema object: "type":"object"
// at the root, every nested struct inlined, additionalProperties false, and
// no $schema, $id, $defs or $ref anywhere. MCP clients differ in how much of
// JSON Schema they follow; a flat schema is the one every client reads.
//
// It panics when the type cannot be made flat: the argument and result types
// are fixed at compile time, so that is a programming error a test catches.
func schemaFor(v any) json.RawMessage { return reflectSchema(v, false) }

// outputSchemaFor is schemaFor for results: the same flat shape, but
// without additionalProperties false, so that a record may carry fields
// beyond its compact shape (get answers the whole record; fields adds more).
func outputSchemaFor(v any) json.RawMessage { return reflectSchema(v, true) }

func reflectSchema(v any, open bool) json.RawMessage {
	return marshalSchema(v, reflectObject(v, open))
}

// publishedSchema is the input schema tools/list shows for arguments v:
// the strict schema with the root left open (the handler refuses unknown
// arguments by name, so the keyword need not cost every agent context),
// and, when keep is not nil, only the properties it names, the
// description extended with the names (and meanings) of the others.
func publishedSchema(v any, keep []string, description string) (json.RawMessage, string) {
	s := reflectObject(v, false)
	s.AdditionalProperties = nil
	if keep == nil {
		return marshalSchema(v, s), description
	}
	props := jsonschema.NewProperties()
	var others []string
	for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
		if slices.Contains(keep, pair.Key) {
			props.Set(pair.Key, pair.Value)
			continue
		}
		other := pair.Key
		if d := pair.Value.Description; d != "" {
			other += " (" + strings.TrimSuffix(d, ".") + ")"
		}
		others = append(others, other)
	}
	s.Properties = props
	if len(others) > 0 {
		description += " Also takes: " + strings.Join(groupNames(others), ", ") + "."
	}
	return marshalSchema(v, s), description
}

// groupNames writes runs of names that share a stem once:
// shipAddress1, shipAddress2, shipAddressCity -> shipAddress1/2/City.
func groupNames(names []string) []string {
	var out []string
	for i := 0; i < len(names); {
		stem := nameStem(names[i])
		j := i + 1
		for j < len(names) && len(stem) >= 6 && nameStem(names[j]) == stem && !strings.Contains(names[j], " ") {
			j++
		}
		if j-i < 2 || strings.Contains(names[i], " ") {
			out = append(out, names[i])
			i++
			continue
		}
		parts := []string{names[i]}
		for _, n := range names[i+1 : j] {
			parts = append(parts, strings.TrimPrefix(n, stem))
		}
		out = append(out, strings.Join(parts, "/"))
		i = j
	}
	return out
}

// nameStem is a camelCase name without its last word or trailing digits.
func nameStem(n string) string {
	if t := strings.TrimRight(n, "0123456789"); t != n {
		return t
	}
	for i := len(n) - 1; i > 0; i-- {
		if n[i] >= 'A' && n[i] <= 'Z' {
			return n[:i]
		}
	}
	return n
}

// reflectObject reflects v's type into a flat schema object.
func reflectObject(v any, open bool) *jsonschema.Schema {
	r := jsonschema.Reflector{
		DoNotReference:             true,
		ExpandedStruct:             true,
		AllowAdditionalProperties:  open,
		RequiredFromJSONSchemaTags: true,
	}
	s := r.Reflect(v)
	s.Version = ""
	s.ID = ""
	s.Definitions = nil
	return s
}

func marshalSchema(v any, s *jsonschema.Schema) json.RawMessage {
	if s.Type != "object" {
		panic(fmt.Sprintf("tools: schema of %s has type %q, want object", reflect.TypeOf(v), s.Type))
	}
	// Strictness where it catches a misspelled argument: at the root. Nested
	// objects (filters, sort) fail on their required fields anyway, and the
	// keyword costs every agent context in every tools/list.
	if s.Properties != nil {
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			openNested(pair.Value)
		}
	}
	enc, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tools: marshal schema of %s: %v", reflect.TypeOf(v), err))
	}
	// encoding/json escapes <, > and & as \u003c ...; keep the filter
	// operators readable for agents and reviewers. Both forms are the same JSON.
	unescape := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
	raw := json.RawMessage(unescape.Replace(string(enc)))
	if key := forbiddenSchemaKey(raw); key != "" {
		panic(fmt.Sprintf("tools: schema of %s holds %s", reflect.TypeOf(v), key))
	}
	return raw
}

// forbiddenSchemaKey walks a schema document and returns the first of
// $ref, $defs, definitions, $schema or $id it finds as an object key, or "".
func forbiddenSchemaKey(raw json.RawMessage) string {
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "invalid JSON"
	}
	return findForbidden(doc)
}

func findForbidden(v any) string {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			switch k {
			case "$ref", "$defs", "definitions", "$schema", "$id":
				return k
			}
			if k == "properties" {
				// property names are data, not keywords: check only their schemas
				if props, ok := child.(map[string]any); ok {
					for _, p := range props {
						if f := findForbidden(p); f != "" {
							return f
						}
					}
					continue
				}
			}
			if f := findForbidden(child); f != "" {
				return f
			}
		}
	case []any:
		for _, child := range t {
			if f := findForbidden(child); f != "" {
				return f
			}
		}
	}
	return ""
}

// indentSchema pretty-prints a schema for the files under schemas/.
func indentSchema(raw json.RawMessage) ([]byte, error) {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("indent schema: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// openNested drops additionalProperties false below the root.
func openNested(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	s.AdditionalProperties = nil
	if s.Items != nil {
		openNested(s.Items)
	}
	if s.Properties != nil {
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			openNested(pair.Value)
		}
	}
}
