package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cmdTimeout bounds one client run; the whole e2e suite stays well under
// two minutes on a 2-core machine.
const cmdTimeout = 90 * time.Second

// contractTools is the tool contract of DESIGN.md: the names agents and
// client configs depend on.
func contractTools() []string {
	names := []string{
		"create_customer", "get_customer", "update_customer", "delete_customer",
		"undelete_customer", "list_customers", "find_customers", "upsert_customers",
		"onboard_customer", "bulk_create_customers",
		"bulk_update_customers", "bulk_delete_customers", "bulk_undelete_customers",
		"create_customer_contact", "get_customer_contact", "update_customer_contact",
		"delete_customer_contact", "undelete_customer_contact", "list_customer_contacts",
		"find_customer_contacts", "bulk_create_customer_contacts", "bulk_update_customer_contacts",
		"bulk_delete_customer_contacts", "bulk_undelete_customer_contacts",
		"create_customer_bank_account", "get_customer_bank_account",
		"delete_customer_bank_account", "list_customer_bank_accounts",
	}
	slices.Sort(names)
	return names
}

// harness is what every client run shares: the built server, the e2e
// directory holding node_modules, and a hermetic environment.
type harness struct {
	bin string   // the bill-mcp binary under test
	dir string   // the e2e directory (package.json, node_modules)
	env []string // environment for node, npx and the server
}

// TestThirdPartyClients drives `bill-mcp serve --emulator` through the MCP
// Inspector CLI (stdio, streamable HTTP, SSE) and through agent-day.mjs on
// the TypeScript SDK (stdio, streamable HTTP).
func TestThirdPartyClients(t *testing.T) {
	h := newHarness(t)

	t.Run("inspector", func(t *testing.T) {
		t.Parallel()
		testInspector(t, h)
	})
	t.Run("readme-config", func(t *testing.T) {
		t.Parallel()
		testREADMEConfig(t, h)
	})
	t.Run("agent-day", func(t *testing.T) {
		t.Parallel()
		for _, transport := range []string{"stdio", "http"} {
			t.Run(transport, func(t *testing.T) {
				t.Parallel()
				for range agentDayRuns(t) {
					testAgentDay(t, h, transport)
				}
			})
		}
	})
}

// newHarness checks the prerequisites (failing, not skipping, with the fix
// when one is missing) and builds the server into a temporary directory.
func newHarness(t *testing.T) harness {
	t.Helper()
	for _, tool := range []string{"node", "npx"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH: install Node.js 20 or newer, then run: npm ci --prefix e2e", tool)
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for _, pkg := range []string{"@modelcontextprotocol/inspector", "@modelcontextprotocol/sdk"} {
		manifest := filepath.Join(dir, "node_modules", filepath.FromSlash(pkg), "package.json")
		if _, err := os.Stat(manifest); err != nil {
			t.Fatalf("e2e/node_modules lacks %s (the locked e2e packages are not installed): run: npm ci --prefix e2e", pkg)
		}
	}

	trackInputs(t, filepath.Dir(dir))

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bill-mcp")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		// The server runs under the race detector too when the tests do.
		args = append(args, "-race")
	}
	args = append(args, "github.com/bill-mcp/bill-mcp/cmd/bill-mcp")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", args...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	home := filepath.Join(tmp, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatalf("home: %v", err)
	}
	// A hermetic environment: no BILL_* settings or vault of the developer's
	// leak in, and nothing the clients write lands in the real home.
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BILL_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_") || strings.HasPrefix(kv, "GORACE=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"HOME="+home,
		"BILL_MCP_VAULT_DIR="+filepath.Join(home, "vault"),
		"GORACE=halt_on_error=1",
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"NO_COLOR=1",
	)
	return harness{bin: bin, dir: dir, env: env}
}

// trackInputs opens every file of the module (outside hidden directories
// and node_modules) so that go test's result cache is keyed on them: the
// test binary does not import the server it builds and runs, and without
// this a changed server or agent-day.mjs would be answered with a stale
// cached PASS.
func trackInputs(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		return f.Close()
	})
	if err != nil {
		t.Fatalf("reading the module's files: %v", err)
	}
}

// result is what one client run produced.
type result struct {
	exit   int
	stdout []byte
	stderr []byte
}

// run runs a command in the e2e directory with the harness environment.
func (h harness) run(t *testing.T, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = h.dir
	cmd.Env = h.env
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.exit = exitErr.ExitCode()
	default:
		t.Fatalf("%s %s: %v\nstderr:\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: did not finish within %s\nstderr:\n%s", name, strings.Join(args, " "), cmdTimeout, stderr.Bytes())
	}
	if bytes.Contains(r.stderr, []byte("WARNING: DATA RACE")) {
		t.Errorf("the race detector reported a data race in the server:\n%s", r.stderr)
	}
	return r
}

// inspector runs `npx @modelcontextprotocol/inspector --cli --format json
// OPTIONS TARGET` (the locked package; npx never installs anything here).
// For stdio the target is `-- bill-mcp serve --emulator`; for http and sse
// it starts that server on a free loopback port and points the Inspector at
// it, with the bearer token unless withToken is false.
func (h harness) inspector(t *testing.T, transport string, withToken bool, options ...string) result {
	t.Helper()
	args := []string{"--no", "--", "@modelcontextprotocol/inspector", "--cli", "--format", "json"}
	args = append(args, options...)
	switch transport {
	case "stdio":
		args = append(args, "--", h.bin, "serve", "--emulator")
	case "http", "sse":
		url, token := h.startServer(t, transport)
		args = append(args, "--transport", transport, "--server-url", url, "--stored-auth-only")
		if withToken {
			args = append(args, "--header", "Authorization: Bearer "+token)
		}
	default:
		t.Fatalf("unknown transport %q", transport)
	}
	return h.run(t, "npx", args...)
}

// startServer starts `bill-mcp serve --emulator --transport http|sse` on a
// free loopback port with a bearer token from BILL_MCP_TOKEN, waits until it
// accepts connections, and stops it when the test ends. It returns the
// endpoint URL (/mcp or /sse) and the token.
func (h harness) startServer(t *testing.T, transport string) (url, token string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("freeing port: %v", err)
	}
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		t.Fatalf("token: %v", err)
	}
	token = hex.EncodeToString(tok)

	cmd := exec.Command(h.bin, "serve", "--emulator", "--transport", transport, "--addr", addr)
	cmd.Env = append(slices.Clip(h.env), "BILL_MCP_TOKEN="+token)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s server: %v", transport, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("%s server did not stop within 10s of SIGINT", transport)
		}
		if strings.Contains(stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("the race detector reported a data race in the server:\n%s", stderr.String())
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("%s server exited before serving: %v\nstderr:\n%s", transport, err, stderr.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s server did not listen on %s within 30s\nstderr:\n%s", transport, addr, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	path := "/mcp"
	if transport == "sse" {
		path = "/sse"
	}
	return "http://" + addr + path, token
}

// lockedBuffer is a bytes.Buffer safe for a process writing while a test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// toolInfo is the part of a tools/list entry the tests assert on.
type toolInfo struct {
	Name         string         `json:"name"`
	Title        string         `json:"title"`
	Description  string         `json:"description"`
	InputSchema  map[string]any `json:"inputSchema"`
	OutputSchema map[string]any `json:"outputSchema"`
	Annotations  map[string]any `json:"annotations"`
}

// schemaFinding is one tool-schema portability finding of --strict.
type schemaFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Schema   string `json:"schema"`
	Path     string `json:"path"`
	Issue    string `json:"issue"`
}

// inspectorOutput is the Inspector CLI's --format json envelope.
type inspectorOutput struct {
	Result struct {
		Tools             []toolInfo      `json:"tools"`
		IsError           bool            `json:"isError"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		Content           []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"result"`
	SchemaFindings []struct {
		ToolName string          `json:"toolName"`
		Findings []schemaFinding `json:"findings"`
	} `json:"schemaFindings"`
}

func decodeInspector(t *testing.T, r result) inspectorOutput {
	t.Helper()
	var out inspectorOutput
	if err := json.Unmarshal(bytes.TrimSpace(r.stdout), &out); err != nil {
		t.Fatalf("inspector stdout is not its JSON envelope: %v\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return out
}

var (
	customerIDPattern = regexp.MustCompile(`^0cu[0-9A-Za-z]{17}$`)
	toolErrorPattern  = regexp.MustCompile(`(?s)^(BDC_\d{4}|[A-Z][A-Z_]+): \S.*Next: \S`)
)

func testInspector(t *testing.T, h harness) {
	checkCatalogue := func(t *testing.T, out inspectorOutput) {
		t.Helper()
		var names []string
		for _, tool := range out.Result.Tools {
			names = append(names, tool.Name)
			if tool.InputSchema["type"] != "object" || tool.OutputSchema["type"] != "object" {
				t.Errorf("%s: input and output schema must have type object at the root, got %v and %v",
					tool.Name, tool.InputSchema["type"], tool.OutputSchema["type"])
			}
			if tool.Title == "" && tool.Annotations["title"] == nil {
				t.Errorf("%s: no title", tool.Name)
			}
			if tool.Description == "" {
				t.Errorf("%s: no description", tool.Name)
			}
			for _, hint := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} {
				if _, ok := tool.Annotations[hint].(bool); !ok {
					t.Errorf("%s: annotations.%s must be set explicitly, got %v", tool.Name, hint, tool.Annotations[hint])
				}
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, contractTools()) {
			t.Errorf("tools/list through the Inspector:\n got %d: %v\nwant %d: %v", len(names), names, len(contractTools()), contractTools())
		}
	}

	tests := []struct {
		name      string
		transport string // stdio, http or sse
		noToken   bool   // http/sse: leave out the bearer token
		options   []string
		wantExit  int // the Inspector's: 0 ok, 3 auth required, 5 tool error, 6 unportable schema
		check     func(t *testing.T, out inspectorOutput)
	}{
		{
			name:      "tools/list",
			transport: "stdio",
			options:   []string{"--method", "tools/list"},
			check: func(t *testing.T, out inspectorOutput) {
				checkCatalogue(t, out)
			},
		},
		{
			// --strict lints every tool schema for portability across
			// clients and exits 6 on any error-severity finding; here any
			// finding fails, warnings included: the catalogue is meant to
			// be portable to every client.
			name:      "tools/list --strict",
			transport: "stdio",
			options:   []string{"--strict", "--method", "tools/list"},
			check: func(t *testing.T, out inspectorOutput) {
				checkCatalogue(t, out)
				for _, tf := range out.SchemaFindings {
					for _, f := range tf.Findings {
						t.Errorf("%s %s.%s: %s (%s): %s", tf.ToolName, f.Schema, f.Path, f.Rule, f.Severity, f.Issue)
					}
				}
			},
		},
		{
			name:      "tools/call create_customer",
			transport: "stdio",
			options: []string{"--method", "tools/call", "--tool-name", "create_customer",
				"--tool-args-json", `{"name":"Inspector Test Co","email":"ap@inspector.example","companyName":"Inspector Test Company"}`},
			check: func(t *testing.T, out inspectorOutput) {
				if out.Result.IsError {
					t.Fatalf("create_customer returned isError: %+v", out.Result.Content)
				}
				var sc struct {
					Customer map[string]any `json:"customer"`
				}
				if err := json.Unmarshal(out.Result.StructuredContent, &sc); err != nil || sc.Customer == nil {
					t.Fatalf("structuredContent must be {\"customer\": {...}}, got %s (%v)", out.Result.StructuredContent, err)
				}
				c := sc.Customer
				if id, _ := c["id"].(string); !customerIDPattern.MatchString(id) {
					t.Errorf("customer.id = %v, want a 20-character id beginning 0cu", c["id"])
				}
				for field, want := range map[string]string{
					"name": "Inspector Test Co", "email": "ap@inspector.example",
					"companyName": "Inspector Test Company", "isActive": "1",
				} {
					if c[field] != want {
						t.Errorf("customer.%s = %v, want %q", field, c[field], want)
					}
				}
			},
		},
		{
			// A BILL error arrives as an isError result, which the Inspector
			// turns into exit 5 after printing it.
			name:      "tools/call get_customer with an unknown id",
			transport: "stdio",
			options: []string{"--method", "tools/call", "--tool-name", "get_customer",
				"--tool-args-json", `{"customerId":"0cuNOSUCHCUSTOMER000"}`},
			wantExit: 5,
			check: func(t *testing.T, out inspectorOutput) {
				if !out.Result.IsError {
					t.Fatalf("get_customer of an unknown id must be an isError result, got %+v", out.Result)
				}
				if len(out.Result.Content) == 0 {
					t.Fatal("isError result without content")
				}
				text := out.Result.Content[0].Text
				if !toolErrorPattern.MatchString(text) || !strings.HasPrefix(text, "BDC_1120: ") {
					t.Errorf("error text %q: want \"BDC_1120: <message> ... Next: <what to do>\"", text)
				}
			},
		},
		{
			name:      "tools/list over streamable HTTP",
			transport: "http",
			options:   []string{"--strict", "--method", "tools/list"},
			check: func(t *testing.T, out inspectorOutput) {
				checkCatalogue(t, out)
			},
		},
		{
			name:      "tools/list over SSE",
			transport: "sse",
			options:   []string{"--method", "tools/list"},
			check: func(t *testing.T, out inspectorOutput) {
				checkCatalogue(t, out)
			},
		},
		{
			// 401 without the token: the Inspector reports that the server
			// wants authorization (exit 3) and lists nothing.
			name:      "streamable HTTP without the bearer token",
			transport: "http",
			noToken:   true,
			options:   []string{"--method", "tools/list"},
			wantExit:  3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := h.inspector(t, tt.transport, !tt.noToken, tt.options...)
			if r.exit != tt.wantExit {
				t.Fatalf("inspector over %s %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s",
					tt.transport, strings.Join(tt.options, " "), r.exit, tt.wantExit, r.stdout, r.stderr)
			}
			if tt.check != nil {
				tt.check(t, decodeInspector(t, r))
			}
		})
	}
}

// agentDaySummary is the JSON line agent-day.mjs prints when the day went well.
type agentDaySummary struct {
	Transport       string `json:"transport"`
	ProtocolVersion string `json:"protocolVersion"`
	Tools           int    `json:"tools"`
	Calls           int    `json:"calls"`
	Progress        []struct {
		Progress float64 `json:"progress"`
		Total    float64 `json:"total"`
	} `json:"progress"`
	ProgressSeenBySDK int `json:"progressSeenBySDK"`
	Upsert            struct {
		Created, Updated, Unchanged, Failed int
	} `json:"upsert"`
	UnauthorizedStatus int `json:"unauthorizedStatus"`
	MS                 int `json:"ms"`
}

// agentDayRuns is how many times each agent-day runs in a row: 1, or
// E2E_AGENT_DAY_RUNS (e.g. 50, to show progress notifications arrive in
// order before the result every time, not just once).
func agentDayRuns(t *testing.T) int {
	v := os.Getenv("E2E_AGENT_DAY_RUNS")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("E2E_AGENT_DAY_RUNS=%q: want a positive number", v)
	}
	return n
}

func testAgentDay(t *testing.T, h harness, transport string) {
	r := h.run(t, "node", "agent-day.mjs", "--transport", transport, "--binary", h.bin)
	if r.exit != 0 {
		t.Fatalf("agent-day over %s: exit %d\n%s\n%s", transport, r.exit, r.stdout, r.stderr)
	}
	var s agentDaySummary
	if err := json.Unmarshal(bytes.TrimSpace(r.stdout), &s); err != nil {
		t.Fatalf("agent-day stdout is not its summary line: %v\n%s", err, r.stdout)
	}
	if s.Transport != transport {
		t.Errorf("summary.transport = %q, want %q", s.Transport, transport)
	}
	if s.ProtocolVersion != "2025-11-25" {
		t.Errorf("negotiated protocol version %q, want 2025-11-25", s.ProtocolVersion)
	}
	if s.Tools != len(contractTools()) {
		t.Errorf("the SDK listed %d tools, want %d", s.Tools, len(contractTools()))
	}
	if len(s.Progress) < 3 {
		t.Errorf("%d progress notifications during the 250-customer import, want at least 3", len(s.Progress))
	}
	if n := len(s.Progress); n > 0 && (s.Progress[n-1].Progress != 250 || s.Progress[n-1].Total != 250) {
		t.Errorf("last progress %+v, want 250 of 250", s.Progress[n-1])
	}
	if u := s.Upsert; u.Created != 200 || u.Updated != 50 || u.Unchanged != 50 || u.Failed != 0 {
		t.Errorf("upsert of 300 rows (100 existing, 50 changed) = %+v, want 200 created, 50 updated, 50 unchanged", u)
	}
	if transport == "http" && s.UnauthorizedStatus != 401 {
		t.Errorf("a request without the bearer token got %d, want 401", s.UnauthorizedStatus)
	}
	t.Logf("agent-day over %s: %d tool calls in %d ms; %d progress notifications on the wire, %d reached the SDK's onprogress",
		transport, s.Calls, s.MS, len(s.Progress), s.ProgressSeenBySDK)
}
