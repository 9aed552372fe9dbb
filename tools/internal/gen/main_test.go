package main

import (
	"os"
	"path/filepath"
	"testing"
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
	if len(schemas) != 48 {
		t.Errorf("%d schema files, want 48", len(schemas))
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
