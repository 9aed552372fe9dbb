//go:build linux

package main

import (
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
	begin := time.Now()
	s := launchRawServer(tb, env, args...)
	s.initialize()
	s.send(map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
	if m := s.until(func(m map[string]any) bool { return m["id"] == float64(2) }); m["error"] != nil {
		tb.Fatalf("tools/list: %v", m["error"])
	}
	elapsed := time.Since(begin)
	peak := peakRSSMB(tb, s.cmd.Process.Pid)
	s.stop()
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
	dir := b.TempDir()
	idEnv := serverEnv("BILL_MCP_VAULT_DIR="+dir+"/v-id", "BILL_MCP_VAULT_IDENTITY_FILE="+dir+"/vault.key")
	ppEnv := serverEnv("BILL_MCP_VAULT_DIR="+dir+"/v-pp", "BILL_MCP_VAULT_PASSPHRASE=bench-passphrase")
	for _, env := range [][]string{idEnv, ppEnv} {
		demoVault(b, env)
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
