package tools_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/tools"
)

// snapDir holds one golden snapshot per tool: the whole tool (name, title,
// description, annotations, input and output schema) as tools/list shows
// it, like github-mcp-server's toolsnaps.
var snapDir = filepath.Join("testdata", "toolsnaps")

const updateSnaps = "UPDATE_TOOLSNAPS"

// TestToolSnapshots fails when a tool differs from its snapshot, so a
// change to what agents read is always a reviewed diff. Regenerate with
// UPDATE_TOOLSNAPS=true go test ./tools -run TestToolSnapshots.
func TestToolSnapshots(t *testing.T) {
	update := os.Getenv(updateSnaps) == "true"
	if update {
		if err := os.MkdirAll(snapDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, d := range tools.Inventory() {
		name := d.Name + ".snap"
		want[name] = true
		got, err := tools.ToolSnapshot(d)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(snapDir, name)
		if update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s has no snapshot; run %s=true go test ./tools -run TestToolSnapshots and review the new file", d.Name, updateSnaps)
			continue
		}
		if !bytes.Equal(old, got) {
			t.Errorf("%s differs from its snapshot %s; if the change is meant, run %s=true go test ./tools -run TestToolSnapshots and review the diff.\ngot:\n%s", d.Name, path, updateSnaps, got)
		}
	}
	entries, err := os.ReadDir(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".snap") && !want[e.Name()] {
			if update {
				_ = os.Remove(filepath.Join(snapDir, e.Name()))
				continue
			}
			t.Errorf("snapshot %s belongs to no tool; delete it", e.Name())
		}
	}
}
