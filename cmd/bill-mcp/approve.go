package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/bill-mcp/bill-mcp/internal/approval"
	"github.com/bill-mcp/bill-mcp/vault"
)

// approveDetails ends `bill-mcp approve --help`.
const approveDetails = `An agent whose confirm mode holds a call back gets an APPROVAL_REQUIRED answer
with a code. Approving needs a person at a controlling terminal: the question
is asked on /dev/tty, never on stdin, so an agent's shell tool cannot answer it.
The agent then runs the call once with run_approved_call.
`

// approveFlagSet defines approve's flags.
func approveFlagSet() *flag.FlagSet {
	fs := newFlagSet("approve")
	fs.Bool("list", false, "show the calls waiting for approval instead")
	return fs
}

// ttyPath is the controlling terminal.
const ttyPath = "/dev/tty"

// errNoTerminal: approve was run without a controlling terminal.
var errNoTerminal = errors.New("no controlling terminal")

func runApprove(ctx context.Context, args []string, s stdio) error {
	return runApproveWith(ctx, args, s, vault.Options{Getenv: s.Getenv})
}

func runApproveWith(ctx context.Context, args []string, s stdio, o vault.Options) error {
	if slices.ContainsFunc(args, isHelp) {
		fmt.Fprint(s.Out, commandHelp("approve"))
		return nil
	}
	fs := approveFlagSet()
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	list := fs.Lookup("list").Value.String() == "true"
	if list != (len(pos) == 0) || len(pos) > 1 {
		fmt.Fprint(s.Err, commandHelp("approve"))
		return fmt.Errorf("give one approval code, or --list: %w", errUsage)
	}
	if o.Getenv == nil {
		o.Getenv = s.Getenv
	}
	v, err := vault.Open(o)
	if err != nil {
		return err
	}
	open := func() (*approval.Store, error) {
		sealer, err := v.Sealer(ctx)
		if err != nil {
			return nil, err
		}
		return approval.NewStore(filepath.Join(v.Dir(), approval.DirName), sealer), nil
	}
	if list {
		store, err := open()
		if err != nil {
			return err
		}
		calls, err := store.List()
		if err != nil {
			return err
		}
		if len(calls) == 0 {
			fmt.Fprintln(s.Err, "no calls are waiting for approval")
			return nil
		}
		for _, c := range calls {
			fmt.Fprintf(s.Out, "%s  %-8s  expires %s  %s\n", c.Code, c.State, c.Expires.Local().Format("15:04:05"), c.Summary)
		}
		return nil
	}
	// A person at a terminal, before anything else.
	tty, err := os.OpenFile(ttyPath, os.O_RDWR, 0)
	if err != nil || !term.IsTerminal(int(tty.Fd())) {
		if tty != nil {
			tty.Close()
		}
		return fmt.Errorf("approving needs a person at a terminal, and this process has no controlling terminal (an agent's shell tool has none, which is the point); run `bill-mcp approve %s` yourself in a terminal: %w", pos[0], errNoTerminal)
	}
	defer tty.Close()
	store, err := open()
	if err != nil {
		return err
	}
	call, err := store.Decide(ctx, pos[0], func(c approval.Call) (bool, error) {
		fmt.Fprintf(tty, "Approval %s\n  agent:   %s\n  call:    %s\n  what:    %s\n  rule:    %s\n  asked:   %s (expires %s)\nApprove this call? [y/N] ",
			c.Code, c.Agent, c.Tool, c.Summary, c.Rule, c.Created.Local().Format("2006-01-02 15:04:05"), c.Expires.Local().Format("15:04:05"))
		line, err := readLine(tty)
		if err != nil {
			return false, fmt.Errorf("read the answer: %w", err)
		}
		a := strings.ToLower(strings.TrimSpace(line))
		return a == "y" || a == "yes", nil
	})
	if err != nil {
		return err
	}
	if call.State == approval.StateApproved {
		fmt.Fprintf(s.Out, "approved %s: agent %s may run it once with run_approved_call until %s\n", call.Code, call.Agent, call.Expires.Local().Format(time.Kitchen))
		return nil
	}
	fmt.Fprintf(s.Out, "denied %s: agent %s will be told you declined\n", call.Code, call.Agent)
	return nil
}
