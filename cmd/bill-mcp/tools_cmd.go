package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/bill-mcp/bill-mcp/tools"
)

// runTools prints the tool catalogue (no credentials needed): a plain
// table by default, JSON with --json, or with --markdown exactly the table
// README.md holds between <!-- tools:begin --> and <!-- tools:end -->.
func runTools(_ context.Context, args []string, s stdio) error {
	fs := flag.NewFlagSet("tools", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print JSON")
	asMarkdown := fs.Bool("markdown", false, "print the README's markdown table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.Out, usage)
			return nil
		}
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (tools takes --json or --markdown): %w", fs.Arg(0), errUsage)
	}
	if *asJSON && *asMarkdown {
		return fmt.Errorf("choose one of --json and --markdown: %w", errUsage)
	}
	switch {
	case *asJSON:
		raw, err := tools.CatalogueJSON()
		if err != nil {
			return err
		}
		_, err = s.Out.Write(raw)
		return err
	case *asMarkdown:
		_, err := io.WriteString(s.Out, tools.CatalogueMarkdown())
		return err
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tTOOLSET\tKIND\tTITLE\tDESCRIPTION")
	for _, e := range tools.Catalogue() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Name, e.Toolset, e.Kind, e.Title, e.Description)
	}
	return tw.Flush()
}
