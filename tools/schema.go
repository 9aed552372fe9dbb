package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
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
	if s.Type != "object" {
		panic(fmt.Sprintf("tools: schema of %s has type %q, want object", reflect.TypeOf(v), s.Type))
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
