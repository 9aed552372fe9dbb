package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/tools"
)

// lockedBuffer collects a stream written from another goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls buf until re matches, returning the submatches.
func waitFor(t *testing.T, buf *lockedBuffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stderr never matched %s:\n%s", re, buf.String())
	return nil
}

func noEnv(string) string { return "" }

func TestServeFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--transport", "websocket"}, "use stdio, sse or http"},
		{[]string{"--max-in-flight", "0"}, "use 1 to 3"},
		{[]string{"--max-in-flight", "4"}, "use 1 to 3"},
		{[]string{"--credentials", "file"}, "the only value is env"},
		{[]string{"--credentials", "env", "--profile", "p"}, "not both"},
		{[]string{"--emulator", "--profile", "p"}, "--emulator uses"},
		{[]string{"--emulator", "--base-url", "http://x"}, "--emulator uses"},
		{[]string{"--log-format", "xml"}, "use json or console"},
		{[]string{"--log-level", "loud"}, "use trace, debug"},
		{[]string{"--toolsets", "customers,invoices"}, `unknown toolset "invoices"`},
		{[]string{"--nope"}, "flag provided but not defined"},
		{[]string{"extra"}, "serve takes only flags"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runServe(t.Context(), tt.args, stdio{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: noEnv})
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a usage error containing %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout written: %q", out.String())
			}
		})
	}
}

func TestServeEmulatorStdio(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(t.Context(), []string{"--emulator"}, stdio{In: inR, Out: outW, Err: &errOut, Getenv: noEnv})
		outW.Close()
	}()
	frames := bufio.NewScanner(outR)
	frames.Buffer(make([]byte, 1<<20), 4<<20)
	send := func(msg string) map[string]any {
		t.Helper()
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			t.Fatal(err)
		}
		if !frames.Scan() {
			t.Fatalf("no answer: %v\nstderr:\n%s", frames.Err(), errOut.String())
		}
		var m map[string]any
		if err := json.Unmarshal(frames.Bytes(), &m); err != nil {
			t.Fatalf("stdout is not a JSON-RPC frame: %q", frames.Text())
		}
		return m
	}
	init := send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	result, _ := init["result"].(map[string]any)
	if instr, _ := result["instructions"].(string); !strings.Contains(instr, "emulator, not BILL") {
		t.Errorf("instructions do not say it is the emulator: %v", init)
	}
	if _, err := io.WriteString(inW, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	created := send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_customer","arguments":{"name":"Stdio Co"}}}`)
	if r, _ := created["result"].(map[string]any); r == nil || r["isError"] == true {
		t.Fatalf("create_customer over stdio: %v\nstderr:\n%s", created, errOut.String())
	}
	inW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop when stdin closed")
	}
	logs := errOut.String()
	if !strings.Contains(logs, "NOT BILL") || !strings.Contains(logs, `"tool":"create_customer"`) {
		t.Errorf("stderr lacks the emulator warning or the call line:\n%s", logs)
	}
	if strings.Contains(logs, emulator.DemoIdentity().Password) || strings.Contains(logs, emulator.DemoIdentity().DevKey) {
		t.Errorf("stderr holds a credential:\n%s", logs)
	}
}

func TestServeEmulatorHTTPGeneratesToken(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--emulator", "--transport", "http", "--addr", "127.0.0.1:0"},
			stdio{In: strings.NewReader(""), Out: io.Discard, Err: &errOut, Getenv: noEnv})
	}()
	token := waitFor(t, &errOut, regexp.MustCompile(`bearer token for this run: (\S+)\n`))[1]
	url := waitFor(t, &errOut, regexp.MustCompile(`"url":"(http://127\.0\.0\.1:\d+/mcp)"`))[1]
	if strings.Count(errOut.String(), token) != 1 {
		t.Errorf("the token appears more than once on stderr (logs must redact it)")
	}

	post := func(auth string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := post(""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without token: HTTP %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	resp := post("Bearer " + token)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"serverInfo"`) {
		t.Errorf("with token: HTTP %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on cancel")
	}
}

func TestToolsCommand(t *testing.T) {
	md, err := tools.CatalogueMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		check   func(t *testing.T, out string)
		wantErr bool
	}{
		{[]string{"--markdown"}, func(t *testing.T, out string) {
			if out != md {
				t.Errorf("--markdown differs from tools.CatalogueMarkdown")
			}
		}, false},
		{[]string{"--json"}, func(t *testing.T, out string) {
			var entries []tools.CatalogueEntry
			if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 28 {
				t.Errorf("--json: %d entries, %v", len(entries), err)
			}
		}, false},
		{nil, func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 29 || !strings.HasPrefix(lines[0], "TOOL") || !strings.Contains(out, "list_customer_bank_accounts") {
				t.Errorf("plain table:\n%s", out)
			}
		}, false},
		{[]string{"--json", "--markdown"}, nil, true},
		{[]string{"extra"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := runTools(t.Context(), tt.args, stdio{Out: &out, Err: io.Discard, Getenv: noEnv})
			if tt.wantErr {
				if !errors.Is(err, errUsage) {
					t.Errorf("err = %v, want usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, out.String())
		})
	}
}

func TestServeHTTPTokenFromEnvironment(t *testing.T) {
	const good = "env-token-0123456789abcdefghijklmnopqrstuv"
	tests := []struct {
		name    string
		token   string
		wantErr string
	}{
		{"a configured token is used", good, ""},
		{"a configured but weak token is refused", "short", "shorter than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			getenv := func(k string) string {
				if k == "BILL_MCP_TOKEN" {
					return tt.token
				}
				return ""
			}
			var errOut lockedBuffer
			done := make(chan error, 1)
			go func() {
				done <- runServe(ctx, []string{"--emulator", "--transport", "sse", "--addr", "127.0.0.1:0"},
					stdio{In: strings.NewReader(""), Out: io.Discard, Err: &errOut, Getenv: getenv})
			}()
			if tt.wantErr != "" {
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), tt.token+" ") {
						t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("serve did not fail")
				}
				return
			}
			url := waitFor(t, &errOut, regexp.MustCompile(`"url":"(http://127\.0\.0\.1:\d+/sse)"`))[1]
			if strings.Contains(errOut.String(), "bearer token for this run") {
				t.Errorf("a token was generated although one is configured")
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+good)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Errorf("GET /sse with the configured token: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			resp.Body.Close()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not stop on cancel")
			}
		})
	}
}
