// Command bill-mcp is an MCP server that lets AI agents manage BILL
// accounts-receivable customers, contacts and bank accounts, holding the
// credentials itself. Subcommands: serve, emulator, vault, tools, version.
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

const usage = `bill-mcp: an MCP server for BILL customers, contacts and bank accounts

Usage:
  bill-mcp serve     [--transport stdio|sse|http] [--addr 127.0.0.1:8808]
                     [--profile NAME | --credentials env] [--emulator] [--base-url URL]
                     [--agent NAME] [--read-only] [--toolsets customers,contacts,bank_accounts|all]
                     [--max-in-flight 1..3] [--allowed-hosts H,...] [--audit-log PATH]
                     [--confirm-via terminal|elicitation] [--log-format json|console] [--log-level LEVEL]
  bill-mcp emulator  [--addr 127.0.0.1:8809] [--latency DUR] [--faults SPEC] [--seed N]
                     [--session-idle DUR] [--hourly-limit N] [--login-limit N]
                     [--user U] [--password-file F] [--org-id O] [--dev-key K]
  bill-mcp vault     init | set PROFILE | get PROFILE | list | rm PROFILE | status | token
  bill-mcp agent     add NAME [--grant AREA=LEVEL]... [--confirm none|destructive|writes]
                     | grant NAME AREA=LEVEL... | list | disable NAME | enable NAME | token NAME | rm NAME
  bill-mcp approve   CODE | --list          (needs a controlling terminal)
  bill-mcp audit     [--agent NAME] [--since DUR] [--json] | verify
  bill-mcp tools     [--json]
  bill-mcp version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// run dispatches a subcommand and turns its error into an exit code.
func run(ctx context.Context, args []string, s stdio) int {
	if len(args) == 0 {
		fmt.Fprint(s.Err, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], s)
	case "emulator":
		err = runEmulator(ctx, args[1:], s)
	case "vault":
		err = runVault(ctx, args[1:], s)
	case "tools":
		err = runTools(ctx, args[1:], s)
	case "agent":
		err = runAgent(ctx, args[1:], s)
	case "approve":
		err = runApprove(ctx, args[1:], s)
	case "audit":
		err = runAudit(ctx, args[1:], s)
	case "version", "--version", "-v":
		fmt.Fprintln(s.Out, "bill-mcp", version)
	case "help", "--help", "-h":
		fmt.Fprint(s.Out, usage)
	default:
		fmt.Fprintf(s.Err, "bill-mcp: unknown command %q\n\n%s", args[0], usage)
		return 2
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
