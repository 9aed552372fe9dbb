package tools_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/tools"
)

// README markers around the generated tool catalogue.
const (
	readmeBegin = "<!-- tools:begin -->"
	readmeEnd   = "<!-- tools:end -->"
)

// TestREADMECatalogue keeps README.md's tool table equal to the code's.
func TestREADMECatalogue(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatalf("read README.md: %v", err)
	}
	readme := string(raw)
	_, rest, ok := strings.Cut(readme, readmeBegin)
	if !ok {
		t.Fatalf("README.md has no %s marker; put the output of `bill-mcp tools --markdown` between %s and %s", readmeBegin, readmeBegin, readmeEnd)
	}
	table, _, ok := strings.Cut(rest, readmeEnd)
	if !ok {
		t.Fatalf("README.md has no %s marker after %s", readmeEnd, readmeBegin)
	}
	want, err := tools.CatalogueMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(table) != strings.TrimSpace(want) {
		t.Errorf("README.md's tool table differs from the code; replace the text between %s and %s with the output of `go run ./cmd/bill-mcp tools --markdown`.\nwant:\n%s", readmeBegin, readmeEnd, want)
	}
}
