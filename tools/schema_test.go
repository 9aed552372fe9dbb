package tools_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/tools"
)

const regenerate = "run `go generate ./tools/...` (or `go generate ./...`) and commit schemas/"

// TestSchemasUpToDate fails when the committed schemas/ differ from what
// the code generates.
func TestSchemasUpToDate(t *testing.T) {
	want, err := tools.SchemaFiles()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "schemas")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v; %s", dir, err, regenerate)
	}
	var onDisk []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			onDisk = append(onDisk, e.Name())
		}
	}
	for name, content := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("schemas/%s is missing; %s", name, regenerate)
			continue
		}
		if !bytes.Equal(got, content) {
			t.Errorf("schemas/%s differs from the code; %s", name, regenerate)
		}
	}
	for _, name := range onDisk {
		if _, ok := want[name]; !ok {
			t.Errorf("schemas/%s belongs to no tool; %s", name, regenerate)
		}
	}
	wantFiles := 0
	for _, d := range tools.Inventory() {
		wantFiles += 3
		if d.IsBulk() {
			wantFiles++
		}
	}
	if len(want) != wantFiles {
		t.Errorf("%d schema files, want %d (input, args and output per tool, item per bulk tool)", len(want), wantFiles)
	}
}

// TestSchemasAreFlat walks every schema: an object at the root and no
// $ref, $defs, $schema or $id anywhere (clients such as the TypeScript SDK
// reject a tool list holding one that is not).
func TestSchemasAreFlat(t *testing.T) {
	files, err := tools.SchemaFiles()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(files[name], &doc); err != nil {
				t.Fatalf("not a JSON object: %v", err)
			}
			if doc["type"] != "object" {
				t.Errorf("root type = %v, want object", doc["type"])
			}
			if _, ok := doc["properties"].(map[string]any); !ok {
				t.Errorf("root has no properties")
			}
			walkSchema(t, "#", doc)
		})
	}
}

func walkSchema(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			switch k {
			case "$ref", "$defs", "definitions", "$schema", "$id":
				t.Errorf("%s holds %s", path, k)
			}
			if k == "properties" {
				props, _ := child.(map[string]any)
				for name, p := range props {
					walkSchema(t, path+"/properties/"+name, p)
				}
				continue
			}
			walkSchema(t, path+"/"+k, child)
		}
	case []any:
		for _, child := range x {
			walkSchema(t, path+"[]", child)
		}
	}
}

// TestIDPatternsInSchemas checks that every id argument carries its prefix
// pattern, so a wrong id is refused before BILL is called.
func TestIDPatternsInSchemas(t *testing.T) {
	files, err := tools.SchemaFiles()
	if err != nil {
		t.Fatal(err)
	}
	prefix := map[string]string{"customerId": "^0cu", "contactId": "^cpu", "bankAccountId": "^cba"}
	for name, content := range files {
		if !strings.HasSuffix(name, ".input.json") {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal(content, &doc); err != nil {
			t.Fatal(err)
		}
		var check func(v any)
		check = func(v any) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			if props, ok := m["properties"].(map[string]any); ok {
				for field, p := range props {
					if want, isID := prefix[field]; isID {
						pat, _ := p.(map[string]any)["pattern"].(string)
						if !strings.HasPrefix(pat, want) {
							t.Errorf("%s: %s has pattern %q, want one starting %s", name, field, pat, want)
						}
					}
					check(p)
				}
			}
			if !strings.HasPrefix(name, "bulk_") {
				// a bulk tool's items are checked one by one by its handler,
				// against the single-item schema, so a bad item fails alone
				check(m["items"])
			}
		}
		check(doc)
	}
}
