package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"testing"
)

// rawServer is `bill-mcp serve` over stdio driven by raw JSON-RPC lines,
// so a test can kill the process at a chosen message and a benchmark can
// time and weigh exactly what the server does.
type rawServer struct {
	tb    testing.TB
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   io.Reader
	lines *bufio.Scanner
	// last is the line until last accepted, as the server wrote it.
	last []byte
}

// startRawServer starts `bill-mcp serve ARGS` and completes the MCP
// handshake.
func startRawServer(tb testing.TB, env []string, args ...string) *rawServer {
	tb.Helper()
	s := launchRawServer(tb, env, args...)
	s.initialize()
	return s
}

// launchRawServer starts `bill-mcp serve ARGS` and nothing more. The
// process is killed when the test ends, if it still runs.
func launchRawServer(tb testing.TB, env []string, args ...string) *rawServer {
	tb.Helper()
	cmd := exec.Command(binPath, append([]string{"serve"}, args...)...)
	cmd.Env = env
	cmd.Stderr = &lockedBuffer{}
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	s := &rawServer{tb: tb, cmd: cmd, in: in, out: out, lines: bufio.NewScanner(out)}
	s.lines.Buffer(make([]byte, 1<<20), 256<<20)
	return s
}

// initialize is the MCP handshake: initialize, then initialized.
func (s *rawServer) initialize() {
	s.tb.Helper()
	s.send(map[string]any{"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "raw-test", "version": "1"}}})
	if m := s.until(func(m map[string]any) bool { return m["id"] == float64(0) }); m["error"] != nil {
		s.tb.Fatalf("initialize: %v", m["error"])
	}
	s.send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
}

// send writes v as one JSON-RPC line.
func (s *rawServer) send(v any) {
	s.tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		s.tb.Fatal(err)
	}
	s.sendLine(b)
}

// sendLine writes b, one encoded JSON-RPC message, as a line.
func (s *rawServer) sendLine(b []byte) {
	s.tb.Helper()
	if _, err := s.in.Write(append(b, '\n')); err != nil {
		s.tb.Fatalf("write to server: %v", err)
	}
}

// until reads messages until stop accepts one, which it returns (and
// keeps as written in s.last).
func (s *rawServer) until(stop func(map[string]any) bool) map[string]any {
	s.tb.Helper()
	for s.lines.Scan() {
		var m map[string]any
		if err := json.Unmarshal(s.lines.Bytes(), &m); err != nil {
			s.tb.Fatalf("stdout line is not JSON: %.200q", s.lines.Text())
		}
		if stop(m) {
			s.last = bytes.Clone(s.lines.Bytes())
			return m
		}
	}
	s.tb.Fatalf("server output ended: %v; stderr:\n%s", s.lines.Err(), s.cmd.Stderr)
	return nil
}

// stop closes the server's stdin, as a client that is done does, and
// waits for it to exit.
func (s *rawServer) stop() {
	_ = s.in.Close()
	_, _ = io.Copy(io.Discard, s.out)
	_ = s.cmd.Wait()
}
