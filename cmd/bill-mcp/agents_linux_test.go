package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/sys/unix"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/approval"
	"github.com/bill-mcp/bill-mcp/internal/audit"
	"github.com/bill-mcp/bill-mcp/internal/policy"
	"github.com/bill-mcp/bill-mcp/vault"
)

// govVault is a vault in a temporary directory, made and changed in
// process (with a cheap scrypt factor, which the binary's reads follow),
// and the environment that points the binary at it.
type govVault struct {
	t   *testing.T
	dir string
	env map[string]string
}

func newGovVault(t *testing.T) *govVault {
	t.Helper()
	g := &govVault{t: t, dir: filepath.Join(t.TempDir(), "v")}
	g.env = map[string]string{vault.EnvDir: g.dir, vault.EnvPassphrase: "pw-for-tests"}
	var out, errb bytes.Buffer
	if err := runVaultWith(t.Context(), []string{"init"}, g.stdio(&out, &errb), g.opts()); err != nil {
		t.Fatalf("vault init: %v\n%s", err, errb.String())
	}
	return g
}

func (g *govVault) opts() vault.Options {
	return vault.Options{ScryptWorkFactor: 10, Keyring: noKeyring{}}
}

func (g *govVault) stdio(out, errb io.Writer) stdio {
	return stdio{In: strings.NewReader(""), Out: out, Err: errb, Getenv: func(k string) string { return g.env[k] }}
}

// agent runs `bill-mcp agent ARGS` and returns stdout.
func (g *govVault) agent(args ...string) string {
	g.t.Helper()
	var out, errb bytes.Buffer
	if err := runAgentWith(g.t.Context(), args, g.stdio(&out, &errb), g.opts()); err != nil {
		g.t.Fatalf("agent %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// childEnv is the binary's environment.
func (g *govVault) childEnv() []string {
	return serverEnv(vault.EnvDir+"="+g.dir, vault.EnvPassphrase+"="+g.env[vault.EnvPassphrase])
}

// bin runs the binary with args and stdin, without a controlling terminal.
func (g *govVault) bin(stdin string, args ...string) (string, string, error) {
	cmd := exec.Command(binPath, args...)
	cmd.Env = g.childEnv()
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// openPTY opens a pseudo-terminal pair through /dev/ptmx.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	return m, s
}

// approveAtTerminal runs `bill-mcp approve CODE` on a pseudo-terminal that
// is its controlling terminal, answers answer, and returns what the
// terminal showed and the exit error.
func (g *govVault) approveAtTerminal(code, answer string) (string, error) {
	g.t.Helper()
	master, slave := openPTY(g.t)
	defer master.Close()
	cmd := exec.Command(binPath, "approve", code)
	cmd.Env = g.childEnv()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	slave.Close()
	var shown lockedBuffer
	readDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(&shown, master) // ends with EIO when the child exits
		close(readDone)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(shown.String(), "[y/N]") {
		select {
		case err := <-exited:
			<-readDone
			return shown.String(), err
		case <-deadline:
			g.t.Fatalf("approve never asked:\n%s", shown.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := master.Write([]byte(answer + "\n")); err != nil {
		g.t.Fatal(err)
	}
	err := <-exited
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
	}
	return shown.String(), err
}

var codeRE = regexp.MustCompile(`Approval code: ([A-Z0-9]{4}-[A-Z0-9]{4})`)

// toolNames lists the tools c sees.
func toolNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	res, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

// allowedTools is what policy lets an agent with these grants see.
func allowedTools(t *testing.T, grants map[string]string, confirm string) []string {
	t.Helper()
	cat, err := policy.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	a, err := policy.FromVault(vault.Agent{Name: "x", Grants: grants, Confirm: confirm, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, op := range cat.Sorted() {
		if policy.Decide(a, op).Allowed {
			names = append(names, op.Tool)
		}
	}
	if a.MayNeedApproval(cat) {
		names = append(names, "run_approved_call")
	}
	slices.Sort(names)
	return names
}

func mustOK(t *testing.T, c *client.Client, tool string, args map[string]any) map[string]any {
	t.Helper()
	sc, isErr, raw := callTool(t, c, tool, args)
	if isErr {
		t.Fatalf("%s: %s", tool, raw)
	}
	return sc
}

func mustFail(t *testing.T, c *client.Client, tool string, args map[string]any, want ...string) string {
	t.Helper()
	_, isErr, raw := callTool(t, c, tool, args)
	if !isErr {
		t.Fatalf("%s succeeded, want an error with %q: %s", tool, want, raw)
	}
	for _, w := range want {
		if !strings.Contains(raw, w) {
			t.Errorf("%s error lacks %q: %s", tool, w, raw)
		}
	}
	return raw
}

func customerID(t *testing.T, sc map[string]any) string {
	t.Helper()
	cust, _ := sc["customer"].(map[string]any)
	id, _ := cust["id"].(string)
	if id == "" {
		t.Fatalf("no customer id in %v", sc)
	}
	return id
}

// TestAgentsApprovalsAudit drives the real binary through agents, grants,
// the kill switch, approvals at a (pseudo-)terminal, and the audit trail.
func TestAgentsApprovalsAudit(t *testing.T) {
	g := newGovVault(t)
	readerTok := strings.TrimSpace(g.agent("add", "reader", "--grant", "customers=read"))
	janitorTok := strings.TrimSpace(g.agent("add", "janitor", "--grant", "customers=full", "--grant", "bank_accounts=full", "--confirm", "destructive"))
	otherTok := strings.TrimSpace(g.agent("add", "other", "--grant", "customers=full", "--confirm", "destructive"))
	emptyTok := strings.TrimSpace(g.agent("add", "nobody"))
	for _, tok := range []string{readerTok, janitorTok, otherTok, emptyTok} {
		if len(tok) != 43 {
			t.Fatalf("agent add printed %q, want the token alone", tok)
		}
	}
	var status bytes.Buffer
	if err := runVaultWith(t.Context(), []string{"status"}, g.stdio(&status, io.Discard), g.opts()); err != nil || !strings.Contains(status.String(), "agents:          4 janitor nobody other reader") {
		t.Errorf("vault status: %v\n%s", err, status.String())
	}
	if list := g.agent("list"); !strings.Contains(list, "janitor  yes       destructive  customers=full bank_accounts=full") || strings.Contains(list, janitorTok) {
		t.Errorf("agent list:\n%s", list)
	}

	t.Run("read grant sees only read tools and is refused a create", func(t *testing.T) {
		srv := startStdioServer(t, g.childEnv(), "--emulator", "--agent", "reader")
		if got, want := toolNames(t, srv.Client), allowedTools(t, map[string]string{"customers": "read"}, ""); !slices.Equal(got, want) || len(got) == 0 {
			t.Errorf("tools/list = %v, want %v", got, want)
		}
		mustFail(t, srv.Client, "create_customer", map[string]any{"name": "Reader Co"}, "PERMISSION_DENIED", "agent reader", "customers: write")
		mustOK(t, srv.Client, "list_customers", map[string]any{})

		// The kill switch: disabled while the server runs.
		g.agent("disable", "reader")
		mustFail(t, srv.Client, "list_customers", map[string]any{}, "PERMISSION_DENIED", "agent reader is disabled")
		if got := toolNames(t, srv.Client); len(got) != 0 {
			t.Errorf("a disabled agent still lists %v", got)
		}
		g.agent("enable", "reader")
		mustOK(t, srv.Client, "list_customers", map[string]any{})
		g.agent("rm", "reader")
		mustFail(t, srv.Client, "list_customers", map[string]any{}, "PERMISSION_DENIED", "agent reader no longer exists")
	})

	t.Run("agent without grants starts and lists nothing", func(t *testing.T) {
		srv := startStdioServer(t, g.childEnv(), "--emulator", "--agent", "nobody")
		if got := toolNames(t, srv.Client); len(got) != 0 {
			t.Errorf("tools/list = %v, want none", got)
		}
		mustFail(t, srv.Client, "get_customer", map[string]any{"customerId": "0cu01234567890123456"}, "PERMISSION_DENIED", "agent nobody", "customers: read")
	})

	t.Run("approval through a terminal runs the call exactly once", func(t *testing.T) {
		srv := startStdioServer(t, g.childEnv(), "--emulator", "--agent", "janitor")
		if got := toolNames(t, srv.Client); !slices.Contains(got, "run_approved_call") || !slices.Contains(got, "delete_customer") {
			t.Errorf("janitor lists %v", got)
		}
		doomed := customerID(t, mustOK(t, srv.Client, "create_customer", map[string]any{"name": "Doomed Co"}))
		kept := customerID(t, mustOK(t, srv.Client, "create_customer", map[string]any{"name": "Kept Co"}))
		raw := mustFail(t, srv.Client, "delete_customer", map[string]any{"customerId": doomed}, "APPROVAL_REQUIRED", doomed, "bill-mcp approve")
		code := codeRE.FindStringSubmatch(raw)[1]

		// Not yet approved; and no terminal, no approval.
		mustFail(t, srv.Client, "run_approved_call", map[string]any{"approvalCode": code}, "APPROVAL_REFUSED", "not approved yet")
		if _, errOut, err := g.bin("y\n", "approve", code); err == nil || !strings.Contains(errOut, "no controlling terminal") {
			t.Errorf("approve without a terminal: err=%v stderr=%s", err, errOut)
		}
		mustFail(t, srv.Client, "run_approved_call", map[string]any{"approvalCode": code}, "not approved yet")
		if out, _, err := g.bin("", "approve", "--list"); err != nil || !strings.Contains(out, code) || !strings.Contains(out, "delete customer") {
			t.Errorf("approve --list: %v\n%s", err, out)
		}

		shown, err := g.approveAtTerminal(code, "y")
		if err != nil || !strings.Contains(shown, "agent:   janitor") || !strings.Contains(shown, doomed) || !strings.Contains(shown, "approved "+code) {
			t.Fatalf("approve at a terminal: %v\n%s", err, shown)
		}
		mustOK(t, srv.Client, "run_approved_call", map[string]any{"approvalCode": code})
		if c := mustOK(t, srv.Client, "get_customer", map[string]any{"customerId": doomed})["customer"].(map[string]any); fmt.Sprint(c["isActive"]) == "1" {
			t.Errorf("approved delete did not delete %s: %v", doomed, c)
		}
		if c := mustOK(t, srv.Client, "get_customer", map[string]any{"customerId": kept})["customer"].(map[string]any); fmt.Sprint(c["isActive"]) != "1" {
			t.Errorf("another customer changed: %v", c)
		}
		mustFail(t, srv.Client, "run_approved_call", map[string]any{"approvalCode": code}, "APPROVAL_REFUSED", "already used")

		// Another agent's code.
		raw = mustFail(t, srv.Client, "delete_customer", map[string]any{"customerId": kept}, "APPROVAL_REQUIRED")
		code2 := codeRE.FindStringSubmatch(raw)[1]
		if _, err := g.approveAtTerminal(code2, "y"); err != nil {
			t.Fatal(err)
		}
		other := startStdioServer(t, g.childEnv(), "--emulator", "--agent", "other")
		mustFail(t, other.Client, "run_approved_call", map[string]any{"approvalCode": code2}, "APPROVAL_REFUSED", "not issued to agent other")

		// A bank account create waits for approval; its number is kept sealed.
		mustFail(t, srv.Client, "create_customer_bank_account", map[string]any{
			"customerId": kept, "nameOnAccount": "Kept Co", "routingNumber": "021000021", "accountNumber": canaryAccount, "agreedWithTOS": true,
		}, "APPROVAL_REQUIRED", "account ending "+canaryAccount[len(canaryAccount)-4:])
	})

	t.Run("expired code", func(t *testing.T) {
		srv := startStdioServer(t, g.childEnv(), "--emulator", "--agent", "janitor", "--approval-ttl", "300ms")
		id := customerID(t, mustOK(t, srv.Client, "create_customer", map[string]any{"name": "Late Co"}))
		code := codeRE.FindStringSubmatch(mustFail(t, srv.Client, "delete_customer", map[string]any{"customerId": id}, "APPROVAL_REQUIRED"))[1]
		time.Sleep(400 * time.Millisecond)
		if shown, err := g.approveAtTerminal(code, "y"); err == nil || !strings.Contains(shown, "expired") {
			t.Errorf("approving an expired code: %v\n%s", err, shown)
		}
		mustFail(t, srv.Client, "run_approved_call", map[string]any{"approvalCode": code}, "APPROVAL_REFUSED", "expired")
	})

	trail := filepath.Join(g.dir, audit.FileName)
	t.Run("audit in plain English", func(t *testing.T) {
		out, errOut, err := g.bin("", "audit")
		if err != nil {
			t.Fatalf("audit: %v\n%s", err, errOut)
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  reader  create customer "Reader Co"  refused \(customers: read, needs write\)  \d+ ms$`),
			regexp.MustCompile(`(?m)  reader  list customers  refused \(agent disabled\)`),
			regexp.MustCompile(`(?m)  reader  list customers  refused \(agent removed\)`),
			regexp.MustCompile(`(?m)  janitor  created customer "Doomed Co" \(0cu\w{17}\)  allowed \(customers: full\)  \d+ ms$`),
			regexp.MustCompile(`(?m)  janitor  delete customer 0cu\w{17}  waiting for approval [A-Z0-9-]{9} \(customers: full, confirm destructive\)`),
			regexp.MustCompile(`(?m)  janitor  run approved call  refused \(not approved\)`),
			regexp.MustCompile(`(?m)  janitor  deleted customer "Doomed Co" \(0cu\w{17}\)  approved [A-Z0-9-]{9} \(customers: full, confirm destructive\)`),
			regexp.MustCompile(`(?m)  janitor  run approved call  refused \(used\)`),
			regexp.MustCompile(`(?m)  other  run approved call  refused \(other agent\)`),
			regexp.MustCompile(`(?m)  janitor  run approved call  refused \(expired\)`),
			regexp.MustCompile(`(?m)  janitor  create bank account 0cu\w{17}  waiting for approval`),
		} {
			if !want.MatchString(out) {
				t.Errorf("audit lacks %s:\n%s", want, out)
			}
		}
		if only, _, _ := g.bin("", "audit", "--agent", "other"); strings.Contains(only, "janitor") || !strings.Contains(only, "other") {
			t.Errorf("audit --agent other:\n%s", only)
		}
		if js, _, _ := g.bin("", "audit", "--json", "--since", "1h"); !strings.Contains(js, `"decision":"approval_required"`) || !strings.Contains(js, `"client":"bill-mcp-test/1"`) {
			t.Errorf("audit --json:\n%s", js)
		}
	})

	t.Run("canary: no secret in the trail or the approvals", func(t *testing.T) {
		raw, err := os.ReadFile(trail)
		if err != nil {
			t.Fatal(err)
		}
		files := [][]byte{raw}
		entries, _ := os.ReadDir(filepath.Join(g.dir, approval.DirName))
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(g.dir, approval.DirName, e.Name()))
			files = append(files, b)
		}
		demo := emulator.DemoIdentity()
		for _, f := range files {
			for _, secret := range []string{readerTok, janitorTok, otherTok, emptyTok, canaryAccount, demo.Password, demo.DevKey, g.env[vault.EnvPassphrase], "021000021"} {
				if bytes.Contains(f, []byte(secret)) {
					t.Errorf("a secret (%.6s...) is in %s", secret, f[:min(len(f), 80)])
				}
			}
			if bytes.Contains(f, []byte("sessionId")) || bytes.Contains(f, []byte("bmcp-")) {
				t.Error("a session id is in the trail")
			}
		}
	})

	t.Run("verify passes, and fails after an edit", func(t *testing.T) {
		if out, errOut, err := g.bin("", "audit", "verify"); err != nil || !strings.Contains(out, "chain intact") {
			t.Fatalf("verify: %v %s %s", err, out, errOut)
		}
		raw, _ := os.ReadFile(trail)
		lines := bytes.SplitAfter(raw, []byte("\n"))
		edited := slices.Clone(lines)
		edited[2] = bytes.Replace(edited[2], []byte(`"agent":"`), []byte(`"agent":"x`), 1)
		removed := append(slices.Clone(lines[:3]), lines[4:]...)
		for _, tt := range []struct {
			name string
			data [][]byte
			want string
		}{{"edited", edited, "line 3: its content does not match"}, {"removed", removed, "line 4: it does not follow"}} {
			p := filepath.Join(t.TempDir(), "audit.jsonl")
			if err := os.WriteFile(p, bytes.Join(tt.data, nil), 0o600); err != nil {
				t.Fatal(err)
			}
			_, errOut, err := g.bin("", "audit", "verify", "--audit-log", p)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !strings.Contains(errOut, tt.want) {
				t.Errorf("%s: verify err=%v stderr=%s, want %q", tt.name, err, errOut, tt.want)
			}
		}
	})
}

// canaryAccount is a full bank account number that must never be stored in clear.
const canaryAccount = "987654321098"

// TestAuditCanaryAgainstBILLCredentials: an agent's calls against
// credentials from the environment leave no devKey, userName, password,
// session id, owner token, agent token or account number in the trail.
func TestAuditCanaryAgainstBILLCredentials(t *testing.T) {
	g := newGovVault(t)
	tok := strings.TrimSpace(g.agent("add", "canary", "--grant", "customers=full", "--grant", "bank_accounts=full", "--confirm", "destructive"))
	emu := startRecordingEmulator(t, emulator.Config{Identity: canaryIdentity(), Seed: 7})
	env := append(canaryEnv(emu.URL, canaryPassword), vault.EnvDir+"="+g.dir, vault.EnvPassphrase+"="+g.env[vault.EnvPassphrase])
	srv := startStdioServer(t, env, "--credentials", "env", "--agent", "canary")
	id := customerID(t, mustOK(t, srv.Client, "create_customer", map[string]any{"name": "Canary Co", "email": "ap@canary.example"}))
	mustOK(t, srv.Client, "list_customers", map[string]any{})
	mustFail(t, srv.Client, "create_customer_bank_account", map[string]any{
		"customerId": id, "nameOnAccount": "Canary Co", "routingNumber": "021000021", "accountNumber": canaryAccount, "agreedWithTOS": true,
	}, "APPROVAL_REQUIRED")
	mustFail(t, srv.Client, "delete_customer", map[string]any{"customerId": id}, "APPROVAL_REQUIRED")
	_ = srv.Client.Close()

	raw, err := os.ReadFile(filepath.Join(g.dir, audit.FileName))
	if err != nil {
		t.Fatal(err)
	}
	sessions := emu.sessionIDs()
	if len(sessions) == 0 {
		t.Fatal("the emulator handed out no session: the test proves nothing")
	}
	secrets := append([]string{canaryDevKey, canaryUser, canaryPassword, canaryToken, tok, canaryAccount, "021000021", "ap@canary.example"}, sessions...)
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the audit trail holds a secret (%.6s...)", s)
		}
	}
	if !bytes.Contains(raw, []byte(id)) || !bytes.Contains(raw, []byte("Canary Co")) {
		t.Errorf("the trail does not name the customer it touched:\n%s", raw)
	}
}
