package main

import (
	"context"

	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bill-mcp/bill-mcp/internal/httpauth"
	"github.com/bill-mcp/bill-mcp/internal/policy"
	"github.com/bill-mcp/bill-mcp/vault"
)

// agentDetails ends `bill-mcp agent --help`.
const agentDetails = `AREA is customers, contacts or bank_accounts. LEVEL is off, read (get, list,
find), write (read + create, update, undelete, upsert, onboard) or full (write +
delete and bulk delete; creating or deleting a bank account needs full). A new
agent has no access until granted. Over stdio an agent is served with
bill-mcp serve --agent NAME; over HTTP/SSE it sends its own bearer token.
`

// agentCommands are the subcommands of `bill-mcp agent`.
func agentCommands() []*command {
	return []*command{
		{name: "add", args: "NAME", summary: "Create an agent; print its HTTP bearer token once (stdout, alone).", flagSet: agentAddFlagSet},
		{name: "grant", args: "NAME AREA=LEVEL...", summary: "Change an agent's access; LEVEL off removes it."},
		{name: "list", aliases: []string{"ls"}, summary: "Names, grants, confirm mode, enabled; never a token."},
		{name: "disable", args: "NAME", summary: "Refuse the agent's calls from its next call on, also in running servers."},
		{name: "enable", args: "NAME", summary: "Let a disabled agent call again."},
		{name: "token", args: "NAME", summary: "Make a new bearer token; the old one stops working."},
		{name: "rm", aliases: []string{"remove"}, args: "NAME", summary: "Delete an agent."},
	}
}

// agentAddFlagSet defines `agent add`'s flags.
func agentAddFlagSet() *flag.FlagSet {
	fs := newFlagSet("agent add")
	fs.Var(new(grantList), "grant", "give access `AREA=LEVEL` (repeatable), e.g. customers=read")
	fs.String("confirm", "none", "which calls wait for a person's approval: `none|destructive|writes`")
	return fs
}

// runAgent runs `bill-mcp agent ...`.
func runAgent(ctx context.Context, args []string, s stdio) error {
	return runAgentWith(ctx, args, s, vault.Options{Getenv: s.Getenv})
}

// runAgentWith is runAgent with the vault's options exposed for tests.
func runAgentWith(ctx context.Context, args []string, s stdio, o vault.Options) error {
	if len(args) == 0 {
		fmt.Fprint(s.Err, commandHelp("agent"))
		return fmt.Errorf("missing agent command: %w", errUsage)
	}
	if o.Getenv == nil {
		o.Getenv = s.Getenv
	}
	cmd, rest := args[0], args[1:]
	if isHelp(cmd) {
		fmt.Fprint(s.Out, commandHelp("agent"))
		return nil
	}
	sub := lookup(agentCommands(), cmd)
	if sub == nil {
		fmt.Fprint(s.Err, commandHelp("agent"))
		return fmt.Errorf("unknown agent command %q: %w", cmd, errUsage)
	}
	if slices.ContainsFunc(rest, func(a string) bool { return a == "-h" || a == "--help" || a == "-help" }) {
		fmt.Fprint(s.Out, commandHelp("agent", sub.name))
		return nil
	}
	v, err := vault.Open(o)
	if err != nil {
		return err
	}
	switch sub.name {
	case "add":
		return agentAdd(ctx, v, rest, s)
	case "grant":
		return agentGrant(ctx, v, rest, s)
	case "list":
		if len(rest) > 0 {
			return fmt.Errorf("agent list takes no arguments (got %q): %w", rest[0], errUsage)
		}
		return agentList(ctx, v, s)
	case "disable", "enable":
		name, err := oneName(sub.name, rest)
		if err != nil {
			return err
		}
		on := sub.name == "enable"
		if err := v.EditAgent(ctx, name, func(a vault.Agent, ok bool) (vault.Agent, error) {
			if !ok {
				return a, v.NoAgentError(name)
			}
			a.Enabled = on
			return a, nil
		}); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "agent %s %sd\n", name, sub.name)
		return nil
	case "token":
		name, err := oneName(sub.name, rest)
		if err != nil {
			return err
		}
		return agentToken(ctx, v, name, s)
	case "rm":
		name, err := oneName(sub.name, rest)
		if err != nil {
			return err
		}
		if err := v.RemoveAgent(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "removed agent %s\n", name)
		return nil
	}
	return fmt.Errorf("agent %s: no handler (a bug in bill-mcp)", sub.name)
}

func oneName(cmd string, args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("agent %s takes one agent name: %w", cmd, errUsage)
	}
	if err := vault.ValidateAgentName(args[0]); err != nil {
		return "", fmt.Errorf("%v: %w", err, errUsage)
	}
	return args[0], nil
}

// grantList collects repeated --grant flags.
type grantList []string

func (g *grantList) String() string     { return strings.Join(*g, ",") }
func (g *grantList) Set(v string) error { *g = append(*g, v); return nil }

// parseInterleaved parses flags that may come before or after positional
// arguments, returning the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%v: %w", err, errUsage)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func applyGrants(grants map[string]string, specs []string) error {
	for _, g := range specs {
		area, lvl, err := policy.ParseGrant(g)
		if err != nil {
			return fmt.Errorf("%v: %w", err, errUsage)
		}
		if lvl == policy.Off {
			delete(grants, area)
		} else {
			grants[area] = lvl.String()
		}
	}
	return nil
}

func agentAdd(ctx context.Context, v *vault.Vault, args []string, s stdio) error {
	fs := agentAddFlagSet()
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	name, err := oneName("add", pos)
	if err != nil {
		return err
	}
	grants := *fs.Lookup("grant").Value.(*grantList)
	mode, err := policy.ParseConfirm(fs.Lookup("confirm").Value.String())
	if err != nil {
		return fmt.Errorf("--confirm: %v: %w", err, errUsage)
	}
	g := map[string]string{}
	if err := applyGrants(g, grants); err != nil {
		return err
	}
	tok, err := httpauth.NewToken()
	if err != nil {
		return err
	}
	err = v.EditAgent(ctx, name, func(_ vault.Agent, exists bool) (vault.Agent, error) {
		if exists {
			return vault.Agent{}, fmt.Errorf("agent %s already exists; change it with `bill-mcp agent grant`, or make a new token with `bill-mcp agent token %s`: %w", name, name, vault.ErrInvalidAgent)
		}
		return vault.Agent{Grants: g, Confirm: string(mode), Enabled: true, TokenHash: vault.HashToken(tok), Created: time.Now()}, nil
	})
	if err != nil {
		return err
	}
	// The one place the token is shown.
	fmt.Fprintln(s.Out, tok.Reveal())
	a, _ := policy.FromVault(vault.Agent{Name: name, Grants: g, Confirm: string(mode), Enabled: true})
	fmt.Fprintf(s.Err, "agent %s added; access: %s; confirm: %s.\nOver HTTP/SSE its MCP client sends \"Authorization: Bearer <the token above>\"; it is not shown again.\nOver stdio, put `bill-mcp serve --agent %s` in the client's configuration.\n", name, a.GrantsString(), mode, name)
	if len(g) == 0 {
		fmt.Fprintf(s.Err, "It has no access yet: grant some with `bill-mcp agent grant %s customers=read`.\n", name)
	}
	return nil
}

func agentGrant(ctx context.Context, v *vault.Vault, args []string, s stdio) error {
	if len(args) < 2 {
		return fmt.Errorf("agent grant takes a name and at least one AREA=LEVEL: %w", errUsage)
	}
	name := args[0]
	if err := vault.ValidateAgentName(name); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	var after vault.Agent
	err := v.EditAgent(ctx, name, func(a vault.Agent, ok bool) (vault.Agent, error) {
		if !ok {
			return a, v.NoAgentError(name)
		}
		if a.Grants == nil {
			a.Grants = map[string]string{}
		}
		if err := applyGrants(a.Grants, args[1:]); err != nil {
			return a, err
		}
		after = a
		return a, nil
	})
	if err != nil {
		return err
	}
	pa, err := policy.FromVault(after)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "agent %s: %s\n", name, pa.GrantsString())
	return nil
}

func agentList(ctx context.Context, v *vault.Vault, s stdio) error {
	agents, err := v.Agents(ctx)
	if err != nil {
		return err
	}
	if len(agents) == 0 {
		fmt.Fprintln(s.Err, "no agents yet; add one with: bill-mcp agent add NAME --grant customers=read")
		return nil
	}
	names := make([]string, 0, len(agents))
	width := 4
	for n := range maps.Keys(agents) {
		names = append(names, n)
		width = max(width, len(n))
	}
	slices.Sort(names)
	fmt.Fprintf(s.Out, "%-*s  %-8s  %-11s  %s\n", width, "NAME", "ENABLED", "CONFIRM", "GRANTS")
	for _, n := range names {
		a, err := policy.FromVault(agents[n])
		if err != nil {
			return err
		}
		en := "yes"
		if !a.Enabled {
			en = "no"
		}
		fmt.Fprintf(s.Out, "%-*s  %-8s  %-11s  %s\n", width, n, en, a.Confirm, a.GrantsString())
	}
	return nil
}

func agentToken(ctx context.Context, v *vault.Vault, name string, s stdio) error {
	tok, err := httpauth.NewToken()
	if err != nil {
		return err
	}
	if err := v.EditAgent(ctx, name, func(a vault.Agent, ok bool) (vault.Agent, error) {
		if !ok {
			return a, v.NoAgentError(name)
		}
		a.TokenHash = vault.HashToken(tok)
		return a, nil
	}); err != nil {
		return err
	}
	fmt.Fprintln(s.Out, tok.Reveal())
	fmt.Fprintf(s.Err, "new token for agent %s; the old one no longer works (running servers notice at its next request). It is not shown again.\n", name)
	return nil
}
