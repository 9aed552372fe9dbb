package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// command is one bill-mcp command, or one subcommand of a command (vault
// set). The table commands() is the single list of commands: run()
// dispatches from it, and `bill-mcp --help`, `bill-mcp COMMAND --help` and
// the README test are generated from it.
//
// A command's flags are defined once, by its flagSet function, which the
// command's run function also calls to get the FlagSet it parses. Help is
// printed from that same FlagSet, so a flag cannot be parsed without being
// documented. To add a flag, define it in the command's flagSet function
// (with a usage string; put the value's placeholder in backquotes, e.g.
// "listen `ADDR`"). To add a command, add an entry below with a run
// function that parses with parseFlags; a command with subcommands lists
// them in subs and finds the one asked for with lookup, as runVault does.
type command struct {
	name    string
	aliases []string // other accepted names, not shown in help
	// args is the synopsis of the positional arguments, e.g. "PROFILE";
	// empty when the command takes none.
	args    string
	summary string // one line: what the command does
	details string // more text for `bill-mcp COMMAND --help`; may be empty
	// flagSet returns a new FlagSet holding the command's flags, bound to
	// fresh values; nil when the command has no flags.
	flagSet func() *flag.FlagSet
	subs    []*command // subcommands, e.g. vault init, vault set
	// run runs the command with the arguments after its name. Commands
	// with subcommands dispatch to them inside run.
	run func(ctx context.Context, args []string, s stdio) error
}

// commands is the table of bill-mcp's commands, in the order help lists
// them.
func commands() []*command {
	return []*command{
		{
			name:    "serve",
			summary: "Run the MCP server: stdio unless --transport says otherwise.",
			details: serveDetails,
			flagSet: func() *flag.FlagSet { return new(serveFlags).flagSet() },
			run:     runServe,
		},
		{
			name:    "emulator",
			summary: "Run the in-memory BILL v2 emulator (not BILL) with its demo identity.",
			details: emulatorDetails,
			flagSet: func() *flag.FlagSet { return new(emulatorFlags).flagSet() },
			run:     runEmulator,
		},
		{
			name:    "vault",
			summary: "Keep BILL credentials in the local age-encrypted vault.",
			details: vaultDetails,
			subs:    vaultCommands(),
			run:     runVault,
		},
		{
			name:    "agent",
			summary: "Give each AI agent its own access, area by area (stored in the vault).",
			details: agentDetails,
			subs:    agentCommands(),
			run:     runAgent,
		},
		{
			name:    "approve",
			args:    "CODE",
			summary: "Approve (or deny) a call an agent's confirm mode held back; needs a terminal.",
			details: approveDetails,
			flagSet: approveFlagSet,
			run:     runApprove,
		},
		{
			name:    "audit",
			args:    "[verify]",
			summary: "Print the audit trail of tool calls in plain English, or verify its hash chain.",
			details: auditDetails,
			flagSet: func() *flag.FlagSet { return new(auditFlags).flagSet() },
			run:     runAudit,
		},
		{
			name:    "limits",
			summary: "Show BILL's limits as every bill-mcp on the devKey and org shares them.",
			details: limitsDetails,
			flagSet: func() *flag.FlagSet { return new(limitsFlags).flagSet() },
			run:     runLimits,
		},
		{
			name:    "tools",
			summary: "Print the tool catalogue (no credentials needed).",
			flagSet: func() *flag.FlagSet { return new(toolsFlags).flagSet() },
			run:     runTools,
		},
		{
			name:    "version",
			aliases: []string{"--version", "-v"},
			summary: "Print the version.",
			run:     runVersion,
		},
	}
}

// lookup finds a command (or subcommand) of cmds by name or alias.
func lookup(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name || slices.Contains(c.aliases, name) {
			return c
		}
	}
	return nil
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// newFlagSet is how every command's flagSet function starts: parse errors
// come back as errors (run prints them once), nothing is printed by the
// flag package itself.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// errHelpShown is returned by parseFlags when it printed help; the command
// then returns nil without doing anything.
var errHelpShown = errors.New("help shown")

// parseFlags parses args with fs, the FlagSet of the command named by
// path (e.g. "vault", "set"). On -h/--help it prints the command's help to
// s.Out and returns errHelpShown; any other parse error is a usage error.
func parseFlags(fs *flag.FlagSet, args []string, s stdio, path ...string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(s.Out, commandHelp(path...))
		return errHelpShown
	default:
		return fmt.Errorf("%v (bill-mcp %s --help lists the flags): %w", err, strings.Join(path, " "), errUsage)
	}
}

// runVersion prints the version stamped in at build time.
func runVersion(_ context.Context, args []string, s stdio) error {
	if len(args) > 0 {
		if isHelp(args[0]) {
			fmt.Fprint(s.Out, commandHelp("version"))
			return nil
		}
		return fmt.Errorf("version takes no arguments (got %q): %w", args[0], errUsage)
	}
	fmt.Fprintln(s.Out, "bill-mcp", version)
	return nil
}

// Help text ------------------------------------------------------------

const helpIntro = "bill-mcp: an MCP server for BILL customers, contacts and bank accounts\n"

// usage is the top-level help: every command with every flag.
func usage() string {
	var b strings.Builder
	b.WriteString(helpIntro)
	b.WriteString("\nUsage:\n")
	for _, c := range commands() {
		writeSynopsis(&b, "  bill-mcp ", c, true)
	}
	b.WriteString("\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("\n`bill-mcp COMMAND --help` says what each flag of COMMAND does.\n")
	return b.String()
}

// commandHelp is the help of the command at path, e.g. ("vault", "set"):
// its synopsis, summary, every flag with its meaning and default, and its
// subcommands. An unknown path gives the top-level help.
func commandHelp(path ...string) string {
	cmds := commands()
	var c *command
	for _, name := range path {
		c = lookup(cmds, name)
		if c == nil {
			return usage()
		}
		cmds = c.subs
	}
	if c == nil {
		return usage()
	}
	prefix := "bill-mcp " + strings.Join(path[:len(path)-1], " ")
	if len(path) > 1 {
		prefix += " "
	}
	var b strings.Builder
	b.WriteString("Usage:\n")
	writeSynopsis(&b, "  "+prefix, c, len(path) == 1)
	fmt.Fprintf(&b, "\n%s\n", c.summary)
	writeFlags(&b, c)
	for _, sub := range c.subs {
		fmt.Fprintf(&b, "\n%s\n  %s\n", strings.Join(synopsisWords(sub, prefix+c.name+" "+sub.name), " "), sub.summary)
		if sub.details != "" {
			b.WriteString(indent(sub.details, "  "))
		}
		writeFlags(&b, sub)
	}
	if c.details != "" {
		b.WriteString("\n" + c.details)
	}
	return b.String()
}

// synopsisWidth is where synopsis lines wrap.
const synopsisWidth = 92

// writeSynopsis writes "PREFIX NAME ARGS [--flag VALUE]..." wrapped to
// synopsisWidth, continuation lines aligned after the name (padded to a
// column when pad is set). A command with subcommands gets one line per
// subcommand.
func writeSynopsis(b *strings.Builder, prefix string, c *command, pad bool) {
	head := prefix + c.name + " "
	if pad {
		head = fmt.Sprintf("%s%-9s ", prefix, c.name)
	}
	if len(c.subs) > 0 {
		for i, sub := range c.subs {
			h := head
			if i > 0 {
				h = strings.Repeat(" ", len(head))
			}
			writeWrapped(b, h, synopsisWords(sub, sub.name))
		}
		return
	}
	writeWrapped(b, head, synopsisWords(c, ""))
}

// synopsisWords are the words of c's synopsis after its name: lead (a
// subcommand's name), the positional arguments, then one [--flag VALUE]
// per flag.
func synopsisWords(c *command, lead string) []string {
	var words []string
	if lead != "" {
		words = append(words, lead)
	}
	if c.args != "" {
		words = append(words, c.args)
	}
	for _, f := range flagsOf(c) {
		name, _ := flag.UnquoteUsage(f)
		w := "[--" + f.Name
		if name != "" {
			w += " " + placeholder(name)
		}
		words = append(words, w+"]")
	}
	return words
}

// writeWrapped writes head then words separated by spaces, wrapping at
// synopsisWidth with continuation lines indented to len(head).
func writeWrapped(b *strings.Builder, head string, words []string) {
	line := head
	fresh := true
	for _, w := range words {
		if !fresh && len(line)+1+len(w) > synopsisWidth {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line, fresh = strings.Repeat(" ", len(head)), true
		}
		if !fresh {
			line += " "
		}
		line += w
		fresh = false
	}
	b.WriteString(strings.TrimRight(line, " ") + "\n")
}

// writeFlags writes c's flags, one entry each: the flag, its placeholder,
// then its meaning and default on the next line.
func writeFlags(b *strings.Builder, c *command) {
	fl := flagsOf(c)
	if len(fl) == 0 {
		return
	}
	b.WriteString("\nFlags:\n")
	for _, f := range fl {
		name, use := flag.UnquoteUsage(f)
		fmt.Fprintf(b, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(b, " %s", placeholder(name))
		}
		b.WriteString("\n        " + use)
		if !isZeroDefault(f.DefValue) {
			fmt.Fprintf(b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	}
}

// flagsOf lists c's flags, sorted by name as the flag package keeps them.
func flagsOf(c *command) []*flag.Flag {
	if c.flagSet == nil {
		return nil
	}
	var out []*flag.Flag
	c.flagSet().VisitAll(func(f *flag.Flag) { out = append(out, f) })
	return out
}

// placeholder turns flag.UnquoteUsage's value name into what help shows:
// the backquoted word of the usage when there is one, else a word for the
// type.
func placeholder(name string) string {
	switch name {
	case "string", "value":
		return "VALUE"
	case "int", "uint", "int64", "uint64":
		return "N"
	case "duration":
		return "DUR"
	case "float":
		return "X"
	}
	return name
}

// isZeroDefault reports whether a default is not worth showing.
func isZeroDefault(v string) bool {
	switch v {
	case "", "false", "0", "0s", "[]":
		return true
	}
	return false
}

// indent prefixes every non-empty line of s.
func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
