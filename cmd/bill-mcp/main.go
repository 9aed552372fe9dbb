// Command bill-mcp is an MCP server that lets AI agents manage BILL
// accounts-receivable customers, contacts and bank accounts, holding the
// credentials itself. `bill-mcp --help` lists its commands (see cli.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// stdio bundles the process's standard streams and environment so that
// subcommands can be driven from tests.
type stdio struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	Getenv func(string) string
}

// errUsage marks a command-line mistake; main exits 2 for it.
var errUsage = errors.New("usage error")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// run dispatches a subcommand and turns its error into an exit code.
func run(ctx context.Context, args []string, s stdio) int {
	if len(args) == 0 {
		fmt.Fprint(s.Err, usage())
		return 2
	}
	if isHelp(args[0]) {
		if len(args) > 1 { // bill-mcp help vault set
			fmt.Fprint(s.Out, commandHelp(args[1:]...))
			return 0
		}
		fmt.Fprint(s.Out, usage())
		return 0
	}
	c := lookup(commands(), args[0])
	if c == nil {
		fmt.Fprintf(s.Err, "bill-mcp: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
	err := c.run(ctx, args[1:], s)
	if errors.Is(err, errHelpShown) {
		return 0
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(s.Err, "bill-mcp %s: %v\n", args[0], err)
		return 2
	case errors.Is(err, context.Canceled):
		return 0
	default:
		fmt.Fprintf(s.Err, "bill-mcp %s: %v\n", args[0], err)
		return 1
	}
}
