package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bill-mcp/bill-mcp/tools"
)

func TestRunWritesSchemasAndDropsStaleOnes(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "retired_tool.input.json")
	keep := filepath.Join(dir, "NOTES.md")
	for _, f := range []string{stale, keep} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale schema kept: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("unrelated file removed: %v", err)
	}
	schemas, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := tools.SchemaFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(schemas) != len(want) || len(want) == 0 {
		t.Errorf("%d schema files written, want %d (input, args and output per tool, item per bulk tool)", len(schemas), len(want))
	}
	before, err := os.Stat(filepath.Join(dir, "get_customer.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(filepath.Join(dir, "get_customer.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("an unchanged schema was rewritten")
	}
}
