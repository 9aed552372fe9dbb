package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// binPath is the bill-mcp binary built once for the tests that run it as a
// real client would: as a child process.
var binPath string

// cacheHome is the children's XDG_CACHE_HOME: the local coordination
// backend keeps its files there without a vault, never in the user's own.
var cacheHome string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bill-mcp-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "bill-mcp")
	cacheHome = filepath.Join(dir, "cache")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build ./cmd/bill-mcp:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// recordingEmulator serves an emulator behind a wrapper that keeps every
// Login answer, so tests learn the session ids BILL handed out.
type recordingEmulator struct {
	*emulator.Emulator
	URL string // .../api/v2

	mu     sync.Mutex
	logins []string // raw Login response bodies
}

func startRecordingEmulator(t testing.TB, cfg emulator.Config) *recordingEmulator {
	t.Helper()
	re := &recordingEmulator{Emulator: emulator.New(cfg)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/Login.json") {
			re.Emulator.ServeHTTP(w, r)
			return
		}
		rec := &captureWriter{ResponseWriter: w}
		re.Emulator.ServeHTTP(rec, r)
		re.mu.Lock()
		re.logins = append(re.logins, rec.body.String())
		re.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	re.URL = srv.URL + "/api/v2"
	return re
}

// sessionIDs returns every sessionId the emulator handed out so far.
func (re *recordingEmulator) sessionIDs() []string {
	re.mu.Lock()
	defer re.mu.Unlock()
	var ids []string
	for _, body := range re.logins {
		var env struct {
			Data struct {
				SessionID string `json:"sessionId"`
			} `json:"response_data"`
		}
		if json.Unmarshal([]byte(body), &env) == nil && env.Data.SessionID != "" {
			ids = append(ids, env.Data.SessionID)
		}
	}
	return ids
}

// captureWriter copies what a handler writes; it still lets the emulator
// hijack the connection for its reset and lost-response faults.
type captureWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

func (c *captureWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(c.ResponseWriter).Hijack()
}

// serverEnv is the child's environment: PATH, HOME and a cache directory
// of the test run's own, plus extra (a later entry wins).
func serverEnv(extra ...string) []string {
	// A vault directory of the tests' own (empty unless a test makes one),
	// never the developer's; a test's own BILL_MCP_VAULT_DIR, later in the
	// list, wins.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "XDG_CACHE_HOME=" + cacheHome,
		"BILL_MCP_VAULT_DIR=" + filepath.Join(cacheHome, "vault")}
	return append(env, extra...)
}

// stdioServer starts `bill-mcp serve ARGS` as a child and an MCP client on
// its stdin/stdout; stderr is captured. Notifications are captured too.
type stdioServer struct {
	Client        *client.Client
	Stderr        *lockedBuffer
	Notifications *lockedBuffer
}

func startStdioServer(t *testing.T, env []string, args ...string) *stdioServer {
	t.Helper()
	s := &stdioServer{Stderr: &lockedBuffer{}, Notifications: &lockedBuffer{}}
	tr := transport.NewStdioWithOptions(binPath, env, append([]string{"serve"}, args...),
		transport.WithCommandStderrWriter(s.Stderr))
	if err := tr.Start(t.Context()); err != nil {
		t.Fatalf("start bill-mcp serve: %v", err)
	}
	c := client.NewClient(tr)
	t.Cleanup(func() { _ = c.Close() })
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		b, _ := json.Marshal(n)
		s.Notifications.Write(append(b, '\n'))
	})
	initialize(t, c)
	s.Client = c
	return s
}

func initialize(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = "2025-11-25"
	req.Params.ClientInfo = mcp.Implementation{Name: "bill-mcp-test", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatalf("initialize: %v", err)
	}
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// httpServer starts `bill-mcp serve --transport http ARGS` as a child and
// waits until it answers.
type httpServer struct {
	Addr   string
	Stderr *lockedBuffer
}

func startHTTPServer(t *testing.T, env []string, args ...string) *httpServer {
	t.Helper()
	s := &httpServer{Addr: freeAddr(t), Stderr: &lockedBuffer{}}
	cmd := exec.Command(binPath, append([]string{"serve", "--transport", "http", "--addr", s.Addr}, args...)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = s.Stderr, s.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start http server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("http server did not listen on %s; stderr:\n%s", s.Addr, s.Stderr.String())
	return nil
}

// httpClient connects an MCP client to s over streamable HTTP with token.
func (s *httpServer) client(t *testing.T, token string, notes *lockedBuffer) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient("http://"+s.Addr+"/mcp",
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if notes != nil {
		c.OnNotification(func(n mcp.JSONRPCNotification) {
			b, _ := json.Marshal(n)
			notes.Write(append(b, '\n'))
		})
	}
	initialize(t, c)
	return c
}

// callTool calls a tool and returns its result as JSON, plus whether it was an error result.
func callTool(t *testing.T, c *client.Client, name string, args map[string]any) (map[string]any, bool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = &mcp.Meta{ProgressToken: mcp.ProgressToken("p-" + name)}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		// A JSON-RPC error (e.g. unknown tool); keep its text for the leak scan.
		return nil, true, err.Error()
	}
	raw, _ := json.Marshal(res)
	var sc map[string]any
	if m, ok := res.StructuredContent.(map[string]any); ok {
		sc = m
	} else if res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &sc)
	}
	return sc, res.IsError, string(raw)
}
