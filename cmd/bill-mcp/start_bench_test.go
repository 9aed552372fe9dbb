//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// startSample is one server start: time to its first tools/list answer
// and the process's peak resident memory.
type startSample struct {
	elapsed time.Duration
	peakMB  float64
}

// measureStart starts `bill-mcp serve ARGS`, times initialize + tools/list,
// and reads the server's peak RSS (peakRSSMB) before closing its stdin.
func measureStart(tb testing.TB, env []string, args ...string) startSample {
	tb.Helper()
	cmd := exec.Command(binPath, append([]string{"serve"}, args...)...)
	cmd.Env = env
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	send := func(s string) { _, _ = io.WriteString(in, s+"\n") }
	wait := func(id float64) {
		for lines.Scan() {
			var m map[string]any
			if json.Unmarshal(lines.Bytes(), &m) == nil && m["id"] == id {
				if m["error"] != nil {
					tb.Fatalf("request %v: %v", id, m["error"])
				}
				return
			}
		}
		tb.Fatalf("server ended before answering %v; stderr:\n%s", id, stderr)
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
	wait(1)
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	wait(2)
	elapsed := time.Since(begin)
	peak := peakRSSMB(tb, cmd.Process.Pid)
	_ = in.Close()
	_, _ = io.Copy(io.Discard, out)
	_ = cmd.Wait()
	return startSample{elapsed: elapsed, peakMB: peak}
}

// BenchmarkServeStart measures, side by side in one run, the time to the
// first tools/list answer and the peak memory of `serve` with
// --credentials env (the baseline), --profile with the vault locked by an
// identity file (BILL_MCP_VAULT_IDENTITY_FILE), and --profile with a
// passphrase (scrypt at age's default work factor), and that again with
// --agent (the agent is read from the same decrypted vault: one scrypt,
// not two). It reports the median
// of each and the ratio of each vault start to the env start. The OS
// keyring source is the identity-file path plus one keyring read; this
// headless machine has no keyring, so it is not measured here.
//
//	go test -run '^$' -bench BenchmarkServeStart -benchtime 5x ./cmd/bill-mcp
func BenchmarkServeStart(b *testing.B) {
	id := emulator.DemoIdentity()
	emu := startRecordingEmulator(b, emulator.Config{Identity: id})
	profile := "devKey=" + id.DevKey + "\nuserName=" + id.UserName + "\npassword=" + id.Password + "\norgId=" + id.OrgID + "\nenvironment=sandbox\n"
	dir := b.TempDir()
	idEnv := serverEnv("BILL_MCP_VAULT_DIR="+dir+"/v-id", "BILL_MCP_VAULT_IDENTITY_FILE="+dir+"/vault.key")
	ppEnv := serverEnv("BILL_MCP_VAULT_DIR="+dir+"/v-pp", "BILL_MCP_VAULT_PASSPHRASE=bench-passphrase")
	for _, env := range [][]string{idEnv, ppEnv} {
		vaultCmd(b, env, "", "init")
		vaultCmd(b, env, profile, "set", "acme")
	}
	agent := exec.Command(binPath, "agent", "add", "bench", "--grant", "customers=read")
	agent.Env = ppEnv
	if out, err := agent.CombinedOutput(); err != nil {
		b.Fatalf("agent add: %v\n%s", err, out)
	}
	envCreds := serverEnv("BILL_DEV_KEY="+id.DevKey, "BILL_USERNAME="+id.UserName, "BILL_PASSWORD="+id.Password, "BILL_ORG_ID="+id.OrgID)
	sources := []struct {
		name string
		env  []string
		args []string
	}{
		{"env", envCreds, []string{"--credentials", "env", "--base-url", emu.URL}},
		{"idfile", idEnv, []string{"--profile", "acme", "--base-url", emu.URL}},
		{"passphrase", ppEnv, []string{"--profile", "acme", "--base-url", emu.URL}},
		{"passphrase-agent", ppEnv, []string{"--profile", "acme", "--agent", "bench", "--base-url", emu.URL}},
	}
	samples := make([][]startSample, len(sources))
	for b.Loop() {
		for k, s := range sources {
			samples[k] = append(samples[k], measureStart(b, s.env, s.args...))
		}
	}
	median := func(xs []startSample) (ms, mb float64) {
		t := make([]float64, len(xs))
		m := make([]float64, len(xs))
		for i, x := range xs {
			t[i], m[i] = float64(x.elapsed.Microseconds())/1000, x.peakMB
		}
		sort.Float64s(t)
		sort.Float64s(m)
		return t[len(t)/2], m[len(m)/2]
	}
	baseMS, _ := median(samples[0])
	for k, s := range sources {
		ms, mb := median(samples[k])
		b.ReportMetric(ms, s.name+"-ms")
		b.ReportMetric(mb, s.name+"-peakMB")
		if k > 0 {
			b.ReportMetric(ms/baseMS, s.name+"/env")
		}
	}
	b.ReportMetric(0, "ns/op")
}
