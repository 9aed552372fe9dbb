package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// clientConfig is the "mcpServers" config file Claude Desktop, Cursor and
// the Inspector read.
type clientConfig struct {
	MCPServers map[string]serverEntry `json:"mcpServers"`
}

// serverEntry is one server of a client config.
type serverEntry struct {
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env,omitempty"`
}

// testREADMEConfig follows the README's "Try it without an account" guide
// with a real client: the README's emulator config, its command replaced
// by the binary's absolute path as the guide says, loaded by the
// Inspector CLI from a config file (--config, --server), must list the
// contract's tools.
func testREADMEConfig(t *testing.T, h harness) {
	raw, err := os.ReadFile(filepath.Join(h.dir, "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var name string
	var cfg clientConfig
	for _, block := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(raw), -1) {
		var c clientConfig
		if json.Unmarshal([]byte(block[1]), &c) != nil {
			continue
		}
		for n, srv := range c.MCPServers {
			if slices.Equal(srv.Args, []string{"serve", "--emulator"}) {
				name, cfg = n, c
			}
		}
	}
	if name == "" {
		t.Fatal(`README.md has no client config with "args": ["serve", "--emulator"]`)
	}
	srv := cfg.MCPServers[name]
	srv.Command = h.bin
	cfg.MCPServers = map[string]serverEntry{name: srv}
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "mcp.json")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	r := h.run(t, "npx", "--no", "--", "@modelcontextprotocol/inspector", "--cli", "--format", "json",
		"--config", file, "--server", name, "--method", "tools/list")
	if r.exit != 0 {
		t.Fatalf("inspector --config %s --server %s: exit %d\nstdout:\n%s\nstderr:\n%s", file, name, r.exit, r.stdout, r.stderr)
	}
	var names []string
	for _, tool := range decodeInspector(t, r).Result.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, contractTools()) {
		t.Errorf("tools/list through the README's config:\n got %v\nwant %v", names, contractTools())
	}
}
