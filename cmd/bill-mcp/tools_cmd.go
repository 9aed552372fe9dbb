package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/bill-mcp/bill-mcp/tools"
)

// toolsFlags are the tools command's flags.
type toolsFlags struct {
	json, markdown bool
}

// flagSet defines the tools command's flags, bound to f.
func (f *toolsFlags) flagSet() *flag.FlagSet {
	fs := newFlagSet("tools")
	fs.BoolVar(&f.json, "json", false, "print the whole catalogue as JSON: names, descriptions, schemas, hints")
	fs.BoolVar(&f.markdown, "markdown", false, "print the markdown table README.md holds between its tools markers")
	return fs
}

// runTools prints the tool catalogue (no credentials needed): a plain
// table by default, JSON with --json, or with --markdown exactly the table
// README.md holds between <!-- tools:begin --> and <!-- tools:end -->.
func runTools(_ context.Context, args []string, s stdio) error {
	var f toolsFlags
	fs := f.flagSet()
	if err := parseFlags(fs, args, s, "tools"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (tools takes --json or --markdown): %w", fs.Arg(0), errUsage)
	}
	if f.json && f.markdown {
		return fmt.Errorf("choose one of --json and --markdown: %w", errUsage)
	}
	switch {
	case f.json:
		raw, err := tools.CatalogueJSON()
		if err != nil {
			return err
		}
		_, err = s.Out.Write(raw)
		return err
	case f.markdown:
		md, err := tools.CatalogueMarkdown()
		if err != nil {
			return err
		}
		_, err = io.WriteString(s.Out, md)
		return err
	}
	entries, err := tools.Catalogue()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tTOOLSET\tKIND\tTITLE\tDESCRIPTION")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Name, e.Toolset, e.Kind, e.Title, e.Description)
	}
	return tw.Flush()
}
