// Command gen writes every tool's input and output JSON Schema into a
// directory (schemas/ of the repository): `go generate ./...` runs it from
// tools/. Files for tools that no longer exist are removed.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bill-mcp/bill-mcp/tools"
)

func main() {
	out := flag.String("out", "../schemas", "directory to write the schema files into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := tools.SchemaFiles()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	existing, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	var errs []error
	for _, e := range existing {
		name := e.Name()
		if _, keep := files[name]; keep {
			continue
		}
		if strings.HasSuffix(name, ".input.json") || strings.HasSuffix(name, ".output.json") || strings.HasSuffix(name, ".item.json") {
			errs = append(errs, os.Remove(filepath.Join(dir, name)))
		}
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
			continue
		}
		errs = append(errs, os.WriteFile(path, content, 0o644))
	}
	return errors.Join(errs...)
}
