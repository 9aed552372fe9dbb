package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/term"

	"github.com/bill-mcp/bill-mcp/internal/httpauth"
	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/vault"
)

// vaultDetails ends `bill-mcp vault --help`.
const vaultDetails = `The vault is in $BILL_MCP_VAULT_DIR, else your config directory under bill-mcp.
Its key: the age identity file named by $BILL_MCP_VAULT_IDENTITY_FILE (init
creates it), else the passphrase file named by $BILL_MCP_VAULT_PASSPHRASE_FILE,
else $BILL_MCP_VAULT_PASSPHRASE, else a key in the OS keyring. A passphrase
costs about 1 s and 256 MiB at every start (scrypt); the others do not.
`

// vaultCommands are the vault command's subcommands; runVaultWith
// dispatches on their names.
func vaultCommands() []*command {
	return []*command{
		{name: "init", summary: "Create the vault (refuses to replace an existing one)."},
		{
			name: "set", args: "PROFILE",
			summary: "Add or change a profile; fields not given keep their current value.",
			details: `Secrets come from a hidden prompt, or from stdin as KEY=VALUE lines:
  devKey=...  userName=...  password=...  orgId=...  environment=sandbox|production
Secrets are never taken as flags.
`,
			flagSet: vaultSetFlagSet,
		},
		{name: "get", args: "PROFILE", summary: "Show a profile, secrets masked."},
		{name: "list", aliases: []string{"ls"}, summary: "List the profiles."},
		{name: "rm", aliases: []string{"remove"}, args: "PROFILE", summary: "Delete a profile and its cached session."},
		{name: "status", summary: "Key source, paths, permissions, counts; never a secret."},
		{name: "token", summary: "Make the HTTP bearer token, store it, print it once."},
	}
}

// vaultSetFlagSet defines `vault set`'s flags: only the non-secret fields.
func vaultSetFlagSet() *flag.FlagSet {
	fl := newFlagSet("vault set")
	fl.String("user", "", "BILL userName `U` (the login email)")
	fl.String("org-id", "", "BILL orgId `O` (begins with 008)")
	fl.String("env", "", "BILL environment: `sandbox|production`")
	return fl
}

// stdinFields are the KEY=VALUE names `vault set` reads, in prompt order.
var stdinFields = []string{"devKey", "userName", "password", "orgId", "environment"}

// maxStdin bounds what `vault set` reads from a pipe.
const maxStdin = 64 << 10

// runVault runs `bill-mcp vault ...`.
func runVault(ctx context.Context, args []string, s stdio) error {
	return runVaultWith(ctx, args, s, vault.Options{Getenv: s.Getenv})
}

// runVaultWith is runVault with the vault's options exposed for tests.
func runVaultWith(ctx context.Context, args []string, s stdio, o vault.Options) error {
	if len(args) == 0 {
		fmt.Fprint(s.Err, commandHelp("vault"))
		return fmt.Errorf("missing vault command: %w", errUsage)
	}
	if o.Getenv == nil {
		o.Getenv = s.Getenv
	}
	cmd, rest := args[0], args[1:]
	if isHelp(cmd) {
		fmt.Fprint(s.Out, commandHelp("vault"))
		return nil
	}
	sub := lookup(vaultCommands(), cmd)
	if sub == nil {
		fmt.Fprint(s.Err, commandHelp("vault"))
		return fmt.Errorf("unknown vault command %q: %w", cmd, errUsage)
	}
	if slices.ContainsFunc(rest, func(a string) bool { return a == "-h" || a == "--help" || a == "-help" }) {
		fmt.Fprint(s.Out, commandHelp("vault", sub.name))
		return nil
	}
	v, err := vault.Open(o)
	if err != nil {
		return err
	}
	switch sub.name {
	case "init":
		return vaultInit(ctx, v, rest, s)
	case "set":
		return vaultSet(ctx, v, rest, s)
	case "get":
		return vaultGet(ctx, v, rest, s)
	case "list":
		return vaultList(ctx, v, rest, s)
	case "rm":
		return vaultRemove(ctx, v, rest, s)
	case "status":
		return vaultStatus(ctx, v, rest, s)
	case "token":
		return vaultToken(ctx, v, rest, s)
	}
	return fmt.Errorf("vault %s: no handler (a bug in bill-mcp)", sub.name)
}

// noArgs rejects arguments to commands that take none.
func noArgs(cmd string, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("vault %s takes no arguments (got %q): %w", cmd, args[0], errUsage)
	}
	return nil
}

// profileArg takes the one PROFILE argument.
func profileArg(cmd string, args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("usage: bill-mcp vault %s PROFILE: %w", cmd, errUsage)
	}
	if err := vault.ValidateProfileName(args[0]); err != nil {
		return "", fmt.Errorf("%w: %w", err, errUsage)
	}
	return args[0], nil
}

// usageIfInvalid turns a validation failure into a usage error (exit 2).
func usageIfInvalid(err error) error {
	if errors.Is(err, vault.ErrInvalidProfile) {
		return fmt.Errorf("%w: %w", err, errUsage)
	}
	return err
}

func vaultInit(ctx context.Context, v *vault.Vault, args []string, s stdio) error {
	if err := noArgs("init", args); err != nil {
		return err
	}
	if err := v.Init(ctx); err != nil {
		return err
	}
	src, _ := v.KeySource()
	fmt.Fprintf(s.Out, "created vault %s\nkey: %s\nnext: bill-mcp vault set default\n", v.Path(), src)
	return nil
}

// setInput is what `vault set` gathered; a nil entry was not given.
type setInput map[string]*string

func vaultSet(ctx context.Context, v *vault.Vault, args []string, s stdio) error {
	fl := vaultSetFlagSet()
	// flag name -> profile field
	fields := map[string]string{"user": "userName", "org-id": "orgId", "env": "environment"}
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fl.Parse(args); err != nil {
		return fmt.Errorf("%w (secrets are never taken as flags: give devKey and password on stdin or at the prompt): %w", err, errUsage)
	}
	if name == "" && fl.NArg() > 0 {
		name = fl.Arg(0)
		if err := fl.Parse(fl.Args()[1:]); err != nil {
			return fmt.Errorf("%w: %w", err, errUsage)
		}
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("vault set: unexpected argument %q (only PROFILE and flags): %w", fl.Arg(0), errUsage)
	}
	name, err := profileArg("set", []string{name})
	if err != nil {
		return err
	}
	flags := setInput{}
	fl.Visit(func(f *flag.Flag) {
		val := f.Value.String()
		flags[fields[f.Name]] = &val
	})

	var in setInput
	if f, ok := s.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		cur, exists, err := currentProfile(ctx, v, name)
		if err != nil {
			return err
		}
		in, err = promptProfile(f, s.Err, name, cur, exists, flags)
		if err != nil {
			return err
		}
	} else {
		in, err = readKeyValues(s.In)
		if err != nil {
			return err
		}
	}
	for k, val := range flags {
		if in[k] != nil {
			return fmt.Errorf("vault set: %s given both as a flag and on stdin; give it once: %w", k, errUsage)
		}
		in[k] = val
	}
	created := false
	err = v.EditProfile(ctx, name, func(p vault.Profile, exists bool) (vault.Profile, error) {
		created = !exists
		if !exists {
			p.Environment = vault.Sandbox
		}
		return applyInput(p, in)
	})
	if err != nil {
		return usageIfInvalid(err)
	}
	p, err := v.Profile(ctx, name)
	if err != nil {
		return err
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	fmt.Fprintf(s.Out, "%s profile %s (%s, orgId %s)\n", verb, name, p.Environment, p.OrgID)
	if in["orgId"] != nil {
		if w := orgIDWarning(p.OrgID); w != "" {
			fmt.Fprintf(s.Err, "warning: %s. The profile is saved as given; fix it with: bill-mcp vault set %s --org-id ORGID\n", w, name)
		}
	}
	return nil
}

// orgIDWarning says why id does not look like a BILL organization ID, or
// "" when it does. An orgId is not a secret, so the warning quotes it.
func orgIDWarning(id string) string {
	if strings.HasPrefix(id, vault.OrgIDPrefix) {
		return ""
	}
	return fmt.Sprintf("orgId %q does not look like a BILL organization ID, which begins with %s "+
		"(find it in BILL under Settings > Sync & Integrations, or in the API login details next to the devKey); BILL refuses a login with the wrong one",
		id, vault.OrgIDPrefix)
}

// currentProfile reads the profile if it exists.
func currentProfile(ctx context.Context, v *vault.Vault, name string) (vault.Profile, bool, error) {
	p, err := v.Profile(ctx, name)
	switch {
	case errors.Is(err, vault.ErrProfileNotFound):
		return vault.Profile{}, false, nil
	case err != nil:
		return vault.Profile{}, false, err
	}
	return p, true, nil
}

// applyInput sets the fields given in in.
func applyInput(p vault.Profile, in setInput) (vault.Profile, error) {
	if v := in["devKey"]; v != nil {
		p.DevKey = secret.New(*v)
	}
	if v := in["userName"]; v != nil {
		p.UserName = secret.New(*v)
	}
	if v := in["password"]; v != nil {
		p.Password = secret.New(*v)
	}
	if v := in["orgId"]; v != nil {
		p.OrgID = strings.TrimSpace(*v)
	}
	if v := in["environment"]; v != nil {
		e, err := vault.ParseEnvironment(*v)
		if err != nil {
			return p, err
		}
		p.Environment = e
	}
	return p, nil
}

// readKeyValues reads KEY=VALUE lines (blank lines and # comments
// skipped). Errors name the line and key, never the value.
func readKeyValues(r io.Reader) (setInput, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxStdin+1))
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	if len(b) > maxStdin {
		return nil, fmt.Errorf("stdin is over %d bytes; give KEY=VALUE lines for %s: %w", maxStdin, strings.Join(stdinFields, ", "), errUsage)
	}
	in := setInput{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return nil, fmt.Errorf("stdin line %d is not KEY=VALUE (keys: %s): %w", i+1, strings.Join(stdinFields, ", "), errUsage)
		}
		known := false
		for _, f := range stdinFields {
			if key == f {
				known = true
			}
		}
		if !known {
			return nil, fmt.Errorf("stdin line %d: unknown key %q; use %s: %w", i+1, key, strings.Join(stdinFields, ", "), errUsage)
		}
		if in[key] != nil {
			return nil, fmt.Errorf("stdin line %d: %s given twice: %w", i+1, key, errUsage)
		}
		in[key] = &val
	}
	return in, nil
}

// promptProfile asks for each field not given by a flag; secrets are read
// without echo. An empty answer keeps the current value.
func promptProfile(tty *os.File, out io.Writer, name string, cur vault.Profile, exists bool, flags setInput) (setInput, error) {
	in := setInput{}
	if exists {
		fmt.Fprintf(out, "Changing profile %s; press Enter to keep a current value.\n", name)
	} else {
		fmt.Fprintf(out, "New profile %s.\n", name)
	}
	fd := int(tty.Fd())
	for _, f := range stdinFields {
		if flags[f] != nil {
			continue
		}
		secret := f == "devKey" || f == "password"
		hint := ""
		switch {
		case secret && exists:
			hint = " (hidden; Enter keeps it)"
		case secret:
			hint = " (hidden)"
		case f == "environment" && !exists:
			hint = " [sandbox]"
		case f == "environment":
			hint = " [" + string(cur.Environment) + "]"
		case f == "orgId" && exists:
			hint = " [" + cur.OrgID + "]"
		case f == "userName" && exists:
			hint = " [" + maskUser(cur.UserName) + "]"
		}
		fmt.Fprintf(out, "%s%s: ", f, hint)
		var line string
		if secret {
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(out)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", f, err)
			}
			line = string(b)
			clear(b)
		} else {
			l, err := readLine(tty)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", f, err)
			}
			line = l
		}
		if line != "" {
			in[f] = &line
		}
	}
	return in, nil
}

// readLine reads up to a newline one byte at a time, so nothing past the
// line is consumed from the terminal.
func readLine(r io.Reader) (string, error) {
	var b bytes.Buffer
	var c [1]byte
	for {
		n, err := r.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			b.WriteByte(c[0])
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			return "", err
		}
	}
}

// maskDevKey shows at most the last 4 characters, and only of a key long
// enough that 4 characters leave at least 12 hidden.
func maskDevKey(s secret.Secret) string {
	v := s.Reveal()
	if len(v) >= 16 {
		return "••••" + v[len(v)-4:]
	}
	return "••••"
}

// maskUser keeps enough of a userName to recognise the account: the first
// two characters and, for an email, the domain.
func maskUser(s secret.Secret) string {
	v := s.Reveal()
	local, domain, isEmail := strings.Cut(v, "@")
	keep := min(2, len(local)/2)
	masked := local[:keep] + "•••"
	if isEmail {
		masked += "@" + domain
	}
	return masked
}

func vaultGet(ctx context.Context, v *vault.Vault, args []string, s stdio) error {
	name, err := profileArg("get", args)
	if err != nil {
		return err
	}
	p, err := v.Profile(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "profile:     %s\nenvironment: %s\norgId:       %s\nuserName:    %s\ndevKey:      %s\npassword:    •••••••• (set)\n",
		name, p.Environment, p.OrgID, maskUser(p.UserName), maskDevKey(p.DevKey))
	return nil
}

func vaultList(ctx context.Context, v *vault.Vault, args []string, s stdio) error {
	if err := noArgs("list", args); err != nil {
		return err
	}
	ps, err := v.Profiles(ctx)
	if err != nil {
		return err
	}
	names, err := v.ProfileNames(ctx)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		fmt.Fprintln(s.Err, "no profiles yet; add one with: bill-mcp vault set default")
		return nil
	}
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(s.Out, "%-*s  %-10s  %s\n", width, n, ps[n].Environment, ps[n].OrgID)
	}
	return nil
}

func vaultRemove(ctx context.Context, v *vault.Vault, args []string, s stdio) error {
	name, err := profileArg("rm", args)
	if err != nil {
		return err
	}
	if err := v.RemoveProfile(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "removed profile %s\n", name)
	return nil
}

// describePath says whether path exists and its permissions.
func describePath(path string) string {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path + " (missing)"
	case err != nil:
		return fmt.Sprintf("%s (%v)", path, err)
	}
	return fmt.Sprintf("%s (%s %04o)", path, fi.Mode().String(), fi.Mode().Perm())
}

// vaultStatus prints where things are and which key would be used. It
// returns an error when an existing vault cannot be opened, so scripts
// and health checks can rely on its exit status.
func vaultStatus(ctx context.Context, v *vault.Vault, args []string, s stdio) error {
	if err := noArgs("status", args); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "vault directory: %s\n", describePath(v.Dir()))
	fmt.Fprintf(s.Out, "vault file:      %s\n", describePath(v.Path()))
	fmt.Fprintf(s.Out, "session caches:  %s\n", describePath(filepath.Join(v.Dir(), "sessions")))
	src, srcErr := v.KeySource()
	if srcErr != nil {
		fmt.Fprintf(s.Out, "key source:      unusable: %v\n", srcErr)
	} else {
		fmt.Fprintf(s.Out, "key source:      %s\n", src)
		fmt.Fprintf(s.Out, "start cost:      %s\n", src.Kind.StartCost())
		if src.Kind == vault.KeyKeyring {
			if err := v.ProbeKey(ctx); err != nil {
				fmt.Fprintf(s.Out, "keyring:         %v\n", err)
			} else {
				fmt.Fprintln(s.Out, "keyring:         reachable")
			}
		}
	}
	exists, err := v.Exists()
	if err != nil {
		return err
	}
	if !exists {
		fmt.Fprintln(s.Out, "profiles:        none: the vault is not created yet (bill-mcp vault init)")
		return nil
	}
	names, err := v.ProfileNames(ctx)
	if err != nil {
		fmt.Fprintln(s.Out, "profiles:        unknown: the vault cannot be opened (below)")
		return err
	}
	fmt.Fprintf(s.Out, "profiles:        %d %s\n", len(names), strings.Join(names, " "))
	_, hasToken, err := v.HTTPToken(ctx)
	if err != nil {
		return err
	}
	tok := "none (bill-mcp vault token makes one)"
	if hasToken {
		tok = "stored"
	}
	fmt.Fprintf(s.Out, "http token:      %s\n", tok)
	agents, err := v.AgentNames(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "agents:          %d %s\n", len(agents), strings.Join(agents, " "))
	return nil
}

func vaultToken(ctx context.Context, v *vault.Vault, args []string, s stdio) error {
	if err := noArgs("token", args); err != nil {
		return err
	}
	_, had, err := v.HTTPToken(ctx)
	if err != nil {
		return err
	}
	tok, err := httpauth.NewToken()
	if err != nil {
		return err
	}
	if err := v.SetHTTPToken(ctx, tok); err != nil {
		return err
	}
	// The one place the token is shown: the user copies it into the MCP
	// client's configuration (Authorization: Bearer ...).
	fmt.Fprintln(s.Out, tok.Reveal())
	note := "stored in the vault; give it to your MCP client as \"Authorization: Bearer <token>\". It is not shown again."
	if had {
		note += " The previous token no longer works once servers restart."
	}
	fmt.Fprintln(s.Err, note)
	return nil
}
