package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// runCLI runs bill-mcp with args and no stdin, returning the exit code and
// both streams.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, stdio{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: noEnv})
	return code, out.String(), errOut.String()
}

// helpPath is one command or subcommand, as the words after bill-mcp.
type helpPath struct {
	path []string
	cmd  *command
}

// allCommands lists every command and subcommand in the table.
func allCommands() []helpPath {
	var out []helpPath
	for _, c := range commands() {
		out = append(out, helpPath{[]string{c.name}, c})
		for _, sub := range c.subs {
			out = append(out, helpPath{[]string{c.name, sub.name}, sub})
		}
	}
	return out
}

func flagNames(c *command) []string {
	var names []string
	for _, f := range flagsOf(c) {
		names = append(names, f.Name)
	}
	return names
}

// TestHelpListsEveryCommandAndFlag: `bill-mcp --help` names every command
// and every flag of every command; `bill-mcp COMMAND --help` (and -h)
// names every flag of COMMAND, on stdout, exit 0.
func TestHelpListsEveryCommandAndFlag(t *testing.T) {
	code, top, _ := runCLI(t, "--help")
	if code != 0 {
		t.Fatalf("bill-mcp --help exit %d", code)
	}
	for _, hp := range allCommands() {
		name := strings.Join(hp.path, " ")
		if len(hp.path) == 1 && !strings.Contains(top, "bill-mcp "+hp.cmd.name) {
			t.Errorf("bill-mcp --help does not name %q", name)
		}
		for _, f := range flagNames(hp.cmd) {
			if !strings.Contains(top, "[--"+f) {
				t.Errorf("bill-mcp --help lacks --%s of %s", f, name)
			}
		}
		for _, h := range []string{"--help", "-h"} {
			t.Run(name+" "+h, func(t *testing.T) {
				code, out, errOut := runCLI(t, append(slices.Clone(hp.path), h)...)
				if code != 0 || errOut != "" {
					t.Fatalf("exit %d, stderr %q", code, errOut)
				}
				if !strings.HasPrefix(out, "Usage:\n  bill-mcp "+name) || !strings.Contains(out, hp.cmd.summary) {
					t.Errorf("help of %s:\n%s", name, out)
				}
				for _, f := range flagNames(hp.cmd) {
					if !regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(f) + `\b`).MatchString(out) {
						t.Errorf("help of %s does not describe --%s:\n%s", name, f, out)
					}
				}
				for _, sub := range hp.cmd.subs {
					if !strings.Contains(out, "bill-mcp "+name+" "+sub.name) {
						t.Errorf("help of %s does not name subcommand %s", name, sub.name)
					}
				}
			})
		}
	}
	for _, hp := range allCommands() {
		args := append([]string{"help"}, hp.path...)
		code, viaHelp, _ := runCLI(t, args...)
		_, viaFlag, _ := runCLI(t, append(slices.Clone(hp.path), "--help")...)
		if code != 0 || viaHelp != viaFlag {
			t.Errorf("bill-mcp %v: exit %d, differs from --help:\n%s", args, code, viaHelp)
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}} {
		if code, out, _ := runCLI(t, args...); code != 0 || out != top {
			t.Errorf("bill-mcp %v: exit %d, help differs from --help", args, code)
		}
	}
}

// TestHelpFlagsAreTheParsedFlags: what help describes is what the command
// parses. Each flag help lists, given to the command itself before --help,
// is accepted by the command's own parser (a flag the parser did not
// define would stop it with "flag provided but not defined" before it
// reached --help), and an undefined flag is refused with a pointer to
// --help.
func TestHelpFlagsAreTheParsedFlags(t *testing.T) {
	for _, hp := range allCommands() {
		name := strings.Join(hp.path, " ")
		for _, f := range flagsOf(hp.cmd) {
			arg := "--" + f.Name
			if !isBoolFlag(f) {
				arg += "=" + f.DefValue
			}
			code, out, errOut := runCLI(t, append(slices.Clone(hp.path), arg, "--help")...)
			switch {
			case strings.Contains(errOut, "not defined"):
				t.Errorf("bill-mcp %s: help lists --%s but the command does not parse it: %s", name, f.Name, errOut)
			case code == 0 && !strings.HasPrefix(out, "Usage:\n  bill-mcp "+name):
				t.Errorf("bill-mcp %s %s --help printed %q", name, arg, out)
			case code != 0 && !strings.Contains(errOut, "invalid value"):
				t.Errorf("bill-mcp %s %s --help: exit %d, %s", name, arg, code, errOut)
			}
		}
	}
	tests := [][]string{{"serve", "--no-such-flag"}, {"emulator", "--no-such-flag"}, {"tools", "--no-such-flag"}}
	for _, args := range tests {
		code, _, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(errOut, "no-such-flag") || !strings.Contains(errOut, "bill-mcp "+args[0]+" --help") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a pointer to --help", args, code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "bill-mcp serve") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// readmeMention is a flag the README mentions: on a bill-mcp command line
// (cmd is the command path, e.g. "vault set"), or alone in prose (cmd "").
type readmeMention struct {
	cmd, flag string
	line      int
}

var (
	flagToken   = regexp.MustCompile(`^--([a-z][a-z0-9-]*)(=.*)?$`)
	inlineCode  = regexp.MustCompile("`([^`]+)`")
	jsonArgsRow = regexp.MustCompile(`"args"\s*:\s*\[([^\]]*)\]`)
)

// readmeMentions finds every command and flag README.md mentions. In code
// blocks and in inline code, the words after "bill-mcp COMMAND [SUB]" up to
// a shell separator or comment are that command's arguments (also through
// a path such as ./cmd/bill-mcp or /usr/local/bin/bill-mcp, and through
// docker run's image name); a client config's "args": [...] are
// arguments of its first element. Inline code that starts with a flag
// mentions that flag for no command in particular. Flags of other
// programs (npm, docker, curl, go) are not after bill-mcp and are ignored.
func readmeMentions(text string) (mentions []readmeMention, cmds map[string]bool) {
	cmds = map[string]bool{}
	top := commands()
	scan := func(words []string, line int) {
		for i := 0; i < len(words); i++ {
			w := strings.Trim(words[i], `"',[]()$`)
			if w != "bill-mcp" && !strings.HasSuffix(w, "/bill-mcp") || i+1 >= len(words) {
				continue
			}
			c := lookup(top, strings.Trim(words[i+1], `"',`))
			if c == nil {
				continue
			}
			path := c.name
			j := i + 2
			if j < len(words) {
				if sub := lookup(c.subs, strings.Trim(words[j], `"',`)); sub != nil {
					path += " " + sub.name
					j++
				}
			}
			cmds[path] = true
			for ; j < len(words); j++ {
				a := strings.Trim(words[j], `"',[]`)
				if a == "|" || a == "&&" || a == "||" || a == ";" || strings.HasPrefix(a, "#") {
					break
				}
				if m := flagToken.FindStringSubmatch(a); m != nil {
					mentions = append(mentions, readmeMention{path, m[1], line})
				}
			}
			i = j
		}
	}
	lines := strings.Split(text, "\n")
	inCode := false
	for n := 0; n < len(lines); n++ {
		l := lines[n]
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inCode = !inCode
			continue
		}
		if inCode {
			start := n
			for strings.HasSuffix(l, `\`) && n+1 < len(lines) {
				n++
				l = strings.TrimSuffix(l, `\`) + " " + lines[n]
			}
			if m := jsonArgsRow.FindStringSubmatch(l); m != nil {
				l = "bill-mcp " + strings.ReplaceAll(m[1], ",", " ")
			}
			scan(strings.Fields(l), start+1)
			continue
		}
		for _, m := range inlineCode.FindAllStringSubmatch(l, -1) {
			words := strings.Fields(m[1])
			if len(words) > 0 && flagToken.MatchString(words[0]) {
				mentions = append(mentions, readmeMention{"", flagToken.FindStringSubmatch(words[0])[1], n + 1})
				continue
			}
			scan(words, n+1)
		}
	}
	return mentions, cmds
}

// TestREADMEAndHelpAgree: every command and flag the README mentions is
// in the help (on the command it is written with), and every command,
// subcommand and flag in the help is mentioned in the README.
func TestREADMEAndHelpAgree(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	mentions, cmds := readmeMentions(string(raw))
	if len(mentions) < 10 {
		t.Fatalf("found only %d flag mentions in README.md: the scanner is broken", len(mentions))
	}
	helpFlags := map[string][]string{} // command path -> flags
	anyCommand := map[string]bool{}
	for _, hp := range allCommands() {
		name := strings.Join(hp.path, " ")
		helpFlags[name] = flagNames(hp.cmd)
		for _, f := range helpFlags[name] {
			anyCommand[f] = true
		}
	}
	mentioned := map[string]bool{} // "cmd --flag" and "--flag"
	for _, m := range mentions {
		if m.flag == "help" {
			continue
		}
		if m.cmd == "" {
			mentioned["--"+m.flag] = true
			if !anyCommand[m.flag] {
				t.Errorf("README.md:%d mentions --%s, which no command's help lists", m.line, m.flag)
			}
			continue
		}
		mentioned[m.cmd+" --"+m.flag] = true
		if !slices.Contains(helpFlags[m.cmd], m.flag) {
			t.Errorf("README.md:%d: bill-mcp %s --%s, which is not in bill-mcp %s --help", m.line, m.cmd, m.flag, m.cmd)
		}
	}
	for _, hp := range allCommands() {
		name := strings.Join(hp.path, " ")
		if !cmds[name] && len(hp.cmd.subs) == 0 { // a command with subcommands is shown through them
			t.Errorf("README.md never shows `bill-mcp %s`", name)
		}
		for _, f := range helpFlags[name] {
			if !mentioned[name+" --"+f] && !mentioned["--"+f] {
				t.Errorf("README.md never mentions --%s of bill-mcp %s", f, name)
			}
		}
	}
}

// TestREADMEScanner pins the scanner on the shapes the README uses.
func TestREADMEScanner(t *testing.T) {
	text := "Use `--read-only` or `bill-mcp vault set acme --org-id X`.\n" +
		"```sh\n" +
		"npm ci --prefix e2e && go run ./cmd/bill-mcp tools --markdown # not --json\n" +
		"docker run -i --rm bill-mcp serve \\\n  --emulator | tee --x\n" +
		"claude mcp add --scope user bill -- \"$(command -v bill-mcp)\" serve --read-only\n" +
		"```\n" +
		"```json\n" +
		`      "args": ["serve", "--profile", "acme"]` + "\n" +
		"```\n"
	mentions, cmds := readmeMentions(text)
	want := []readmeMention{
		{"", "read-only", 1}, {"vault set", "org-id", 1}, {"tools", "markdown", 3},
		{"serve", "emulator", 4}, {"serve", "read-only", 6}, {"serve", "profile", 9},
	}
	if !slices.Equal(mentions, want) {
		t.Errorf("mentions:\n got %v\nwant %v", mentions, want)
	}
	for _, c := range []string{"vault set", "tools", "serve"} {
		if !cmds[c] {
			t.Errorf("command %q not seen: %v", c, cmds)
		}
	}
}

// TestREADMEInstallGuides: the README's first screen shows the two
// commands; it has a guide per client, an emulator block and what to do
// when no tools show; every client config parses and starts bill-mcp by
// an absolute path (desktop apps do not read the shell's PATH); and the
// flags the configs pass exist (TestREADMEAndHelpAgree checks those).
func TestREADMEInstallGuides(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	firstScreen := strings.Join(strings.SplitN(text, "\n", 25)[:24], "\n")
	for _, cmd := range []string{"go run ./cmd/bill-mcp serve --emulator", "npm ci --prefix e2e && go test -race ./..."} {
		if !strings.Contains(firstScreen, cmd) {
			t.Errorf("the README's first screen lacks %q", cmd)
		}
	}
	for _, want := range []string{
		"**Claude Desktop, MCPB bundle**", "**Claude Desktop, JSON**", "**Claude Code**", "**Cursor**", "**VS Code**",
		"claude mcp add", "command -v bill-mcp", "where.exe bill-mcp",
		"## Try it without an account", `"args": ["serve", "--emulator"]`,
		"### When the client shows no tools",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	absolute := regexp.MustCompile(`^(/|[A-Za-z]:\\)`)
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(text, -1)
	configs := 0
	for _, b := range blocks {
		var doc map[string]map[string]struct {
			Command string   `json:"command"`
			Args    []string `json:"args"`
		}
		if err := json.Unmarshal([]byte(b[1]), &doc); err != nil {
			t.Errorf("a JSON block does not parse: %v\n%s", err, b[1])
			continue
		}
		for _, key := range []string{"mcpServers", "servers"} {
			for name, srv := range doc[key] {
				configs++
				if !absolute.MatchString(srv.Command) || !strings.HasSuffix(srv.Command, "bill-mcp") {
					t.Errorf("config %q starts %q: give bill-mcp's absolute path", name, srv.Command)
				}
				if len(srv.Args) == 0 || srv.Args[0] != "serve" {
					t.Errorf("config %q runs %v, want serve ...", name, srv.Args)
				}
			}
		}
	}
	if configs < 4 {
		t.Errorf("found %d client configs in JSON blocks", configs)
	}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "claude mcp add ") {
			continue
		}
		_, after, ok := strings.Cut(line, " -- ")
		fields := strings.Fields(after)
		if !ok || len(fields) < 2 || (!absolute.MatchString(fields[0]) && fields[0] != `"$(command`) || !slices.Contains(fields, "serve") {
			t.Errorf("%q: want claude mcp add NAME -- /absolute/bill-mcp serve ...", line)
		}
	}
}
