package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/vault"
)

// noKeyring plays a headless machine.
type noKeyring struct{}

func (noKeyring) Get(context.Context, string, string) (secret.Secret, error) {
	return secret.Secret{}, vault.ErrKeyringUnavailable
}
func (noKeyring) Set(context.Context, string, string, secret.Secret) error {
	return vault.ErrKeyringUnavailable
}

const (
	cliDevKey = "DEVKEY-SENTINEL-0123456789-wxyz"
	cliPass   = "PASS-SENTINEL-xyz"
)

type vaultCLI struct {
	t   *testing.T
	env map[string]string
}

func newVaultCLI(t *testing.T) *vaultCLI {
	return &vaultCLI{t: t, env: map[string]string{vault.EnvDir: filepath.Join(t.TempDir(), "v"), vault.EnvPassphrase: "pw"}}
}

// run runs `bill-mcp vault args...` with stdin and returns stdout, stderr, error.
func (c *vaultCLI) run(stdin string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	s := stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb, Getenv: func(k string) string { return c.env[k] }}
	err := runVaultWith(c.t.Context(), args, s, vault.Options{ScryptWorkFactor: 10, Keyring: noKeyring{}})
	return out.String(), errb.String(), err
}

func (c *vaultCLI) must(stdin string, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatalf("vault %v: %v\n%s", args, err, errOut)
	}
	return out
}

func noSecrets(t *testing.T, where string, s ...string) {
	t.Helper()
	for _, x := range s {
		if strings.Contains(x, "SENTINEL") {
			t.Errorf("%s shows a secret: %s", where, x)
		}
	}
}

func TestVaultCLIFlow(t *testing.T) {
	c := newVaultCLI(t)
	if out := c.must("", "init"); !strings.Contains(out, "created vault") || !strings.Contains(out, "passphrase variable") {
		t.Errorf("init said %q", out)
	}
	if _, _, err := c.run("", "init"); !errors.Is(err, vault.ErrExists) {
		t.Errorf("second init: %v", err)
	}
	in := "# BILL sandbox\ndevKey=" + cliDevKey + "\r\npassword=" + cliPass + "\n\nuserName=ann@example.com\n"
	out := c.must(in, "set", "default", "--org-id", "00801ABC", "--env", "sandbox")
	if !strings.Contains(out, "created profile default (sandbox, orgId 00801ABC)") {
		t.Errorf("set said %q", out)
	}
	// flags before the name; change only the environment
	c.must("", "set", "--env", "production", "default")
	got := c.must("", "get", "default")
	for _, want := range []string{"environment: production", "orgId:       00801ABC", "userName:    a•••@example.com", "devKey:      ••••wxyz", "password:    •••••••• (set)"} {
		if !strings.Contains(got, want) {
			t.Errorf("get lacks %q:\n%s", want, got)
		}
	}
	noSecrets(t, "get", got)
	// rotate the password only
	c.must("password=NEW-SENTINEL-pass\n", "set", "default")
	c.must(in, "set", "other", "--org-id", "00802XYZ")
	if list := c.must("", "list"); list != "default  production  00801ABC\nother    sandbox     00802XYZ\n" {
		t.Errorf("list:\n%s", list)
	}
	status := c.must("", "status")
	for _, want := range []string{"(drwx------ 0700)", "vault.age (-rw------- 0600)", "key source:      passphrase variable (BILL_MCP_VAULT_PASSPHRASE)", "start cost:      scrypt", "profiles:        2 default other", "http token:      none"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	noSecrets(t, "status", status)
	tokOut, tokErr, err := c.run("", "token")
	if err != nil {
		t.Fatal(err)
	}
	if tok := strings.TrimSpace(tokOut); len(tok) != 43 || strings.Contains(tokErr, tok) {
		t.Errorf("token printed %q (stderr %q)", tokOut, tokErr)
	}
	if !strings.Contains(c.must("", "status"), "http token:      stored") {
		t.Error("status does not see the token")
	}
	c.must("", "rm", "other")
	if _, _, err := c.run("", "get", "other"); !errors.Is(err, vault.ErrProfileNotFound) || !strings.Contains(err.Error(), "bill-mcp vault set other") {
		t.Errorf("get after rm: %v", err)
	}
}

func TestVaultCLIErrors(t *testing.T) {
	c := newVaultCLI(t)
	if _, _, err := c.run("devKey=x\n", "set", "p"); !errors.Is(err, vault.ErrNotInitialized) || !strings.Contains(err.Error(), "bill-mcp vault init") {
		t.Errorf("set before init: %v", err)
	}
	status, _, err := c.run("", "status")
	if err != nil || !strings.Contains(status, "not created yet") || !strings.Contains(status, "(missing)") {
		t.Errorf("status before init: %v\n%s", err, status)
	}
	c.must("", "init")
	tests := []struct {
		name  string
		stdin string
		args  []string
		says  []string
		usage bool
	}{
		{"no command", "", nil, []string{"missing vault command"}, true},
		{"unknown command", "", []string{"frob"}, []string{`"frob"`}, true},
		{"secret as a flag", "", []string{"set", "p", "--password", cliPass}, []string{"never taken as flags"}, true},
		{"unknown stdin key", "devkey=" + cliDevKey + "\n", []string{"set", "p"}, []string{`unknown key "devkey"`, "line 1"}, true},
		{"not key=value", cliPass + "\n", []string{"set", "p"}, []string{"line 1 is not KEY=VALUE"}, true},
		{"twice", "password=a\npassword=b\n", []string{"set", "p"}, []string{"password given twice"}, true},
		{"flag and stdin", "orgId=00801A\n", []string{"set", "p", "--org-id", "00801B"}, []string{"orgId given both"}, true},
		{"missing fields", "devKey=" + cliDevKey + "\n", []string{"set", "p"}, []string{"userName is required", "password is required", "orgId is required"}, true},
		{"bad env", "", []string{"set", "p", "--env", "prod"}, []string{"sandbox or production"}, true},
		{"bad name", "", []string{"set", "a/b"}, []string{"profile name"}, true},
		{"extra arg", "", []string{"get", "a", "b"}, []string{"PROFILE"}, true},
		{"list takes none", "", []string{"list", "x"}, []string{"no arguments"}, true},
		{"rm missing", "", []string{"rm", "ghost"}, []string{`no profile "ghost"`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := c.run(tt.stdin, tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, errUsage) != tt.usage {
				t.Errorf("usage error = %v, want %v (%v)", errors.Is(err, errUsage), tt.usage, err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			noSecrets(t, "error output", err.Error(), out, errOut)
		})
	}
	if list, errOut, err := c.run("", "list"); err != nil || list != "" || !strings.Contains(errOut, "no profiles") {
		t.Errorf("failed sets stored something: %q %q %v", list, errOut, err)
	}
}

func TestVaultCLIHeadless(t *testing.T) {
	c := newVaultCLI(t)
	delete(c.env, vault.EnvPassphrase)
	_, _, err := c.run("", "init")
	if !errors.Is(err, vault.ErrNoKey) || !strings.Contains(err.Error(), vault.EnvPassphraseFile) {
		t.Errorf("init without any key: %v", err)
	}
	status := c.must("", "status")
	if !strings.Contains(status, "key source:      OS keyring") || !strings.Contains(status, "keyring:  ") {
		t.Errorf("status:\n%s", status)
	}
}

// TestVaultSetWarnsOnOrgID: `vault set` saves the profile but warns on
// stderr when the orgId given does not begin with 008, as BILL's do; an
// unchanged orgId is not warned about again.
func TestVaultSetWarnsOnOrgID(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		warn  bool
	}{
		{"BILL-shaped by flag", "", []string{"--org-id", "00801ABCDEF"}, false},
		{"BILL-shaped on stdin, spaces trimmed", "orgId=  00802XYZ \n", nil, false},
		{"user id by flag", "", []string{"--org-id", "usr01ABCDEF"}, true},
		{"number on stdin", "orgId=12345\n", nil, true},
		{"not given: no warning", "", []string{"--env", "production"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newVaultCLI(t)
			c.must("", "init")
			// every profile starts with a BILL-shaped orgId
			c.must("devKey="+cliDevKey+"\npassword="+cliPass+"\nuserName=ann@example.com\norgId=00801START\n", "set", "p")
			out, errOut, err := c.run(tt.stdin, append([]string{"set", "p"}, tt.args...)...)
			if err != nil {
				t.Fatalf("set: %v", err)
			}
			if !strings.Contains(out, "updated profile p") {
				t.Errorf("stdout %q", out)
			}
			warned := strings.Contains(errOut, "does not look like a BILL organization ID, which begins with 008")
			if warned != tt.warn {
				t.Errorf("warned = %v, want %v; stderr %q", warned, tt.warn, errOut)
			}
			if tt.warn && !strings.Contains(errOut, "bill-mcp vault set p --org-id") {
				t.Errorf("the warning does not say how to fix it: %q", errOut)
			}
			noSecrets(t, "set", out, errOut)
		})
	}
}

// TestServeWarnsOnOrgID: credentials from the environment are not refused
// for an orgId without BILL's 008 prefix, but serve says so in its log.
func TestServeWarnsOnOrgID(t *testing.T) {
	emu := startRecordingEmulator(t, emulator.Config{})
	tests := []struct {
		orgID string
		warn  bool
	}{
		{"00801DEMO00000000001", false},
		{"ABC123", true},
	}
	for _, tt := range tests {
		t.Run(tt.orgID, func(t *testing.T) {
			t.Setenv("XDG_CACHE_HOME", t.TempDir()) // coordination files: not the developer's cache
			env := map[string]string{
				"BILL_DEV_KEY": "demo-dev-key", "BILL_USERNAME": "demo@bill-mcp.local", "BILL_PASSWORD": "demo-password",
				"BILL_ORG_ID": tt.orgID, "BILL_ENV": "sandbox", "BILL_MCP_VAULT_DIR": t.TempDir(),
			}
			var out, errOut lockedBuffer
			err := runServe(t.Context(), []string{"--credentials", "env", "--base-url", emu.URL},
				stdio{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(k string) string { return env[k] }})
			if err != nil {
				t.Fatalf("serve: %v\n%s", err, errOut.String())
			}
			warned := strings.Contains(errOut.String(), `orgId \"`+tt.orgID+`\" does not look like a BILL organization ID`)
			if warned != tt.warn {
				t.Errorf("warned = %v, want %v; stderr:\n%s", warned, tt.warn, errOut.String())
			}
			noSecrets(t, "serve log", errOut.String())
		})
	}
}
