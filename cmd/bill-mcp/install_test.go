package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/internal/release"
)

// TestServerJSONMatchesBinary: the repository's server.json and the MCPB
// manifest describe this binary: the version `bill-mcp version` prints,
// and only flags `bill-mcp serve` defines.
func TestServerJSONMatchesBinary(t *testing.T) {
	s, err := release.LoadServerJSON("../../server.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binPath, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "bill-mcp "+s.Version {
		t.Errorf("server.json version %s, the binary says %q: bump both together", s.Version, got)
	}
	serveFlagNames := flagNames(lookup(commands(), "serve"))
	checkFlag := func(where, arg string) {
		name, _, _ := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if !strings.HasPrefix(arg, "--") {
			return
		}
		found := false
		for _, f := range serveFlagNames {
			found = found || f == name
		}
		if !found {
			t.Errorf("%s passes %s, which bill-mcp serve does not define", where, arg)
		}
	}
	for _, p := range s.Packages {
		for i, a := range p.PackageArguments {
			if i == 0 && (a.Type != "positional" || a.Value != "serve") {
				t.Errorf("%s: the first package argument is %+v, want serve", p.Identifier, a)
			}
			if a.Type == "named" {
				checkFlag("server.json "+p.RegistryType, a.Name)
			}
		}
	}
	for _, tg := range release.AllTargets() {
		m, err := release.NewManifest(s.Version, tg)
		if err != nil {
			t.Fatal(err)
		}
		args := m.Server.MCPConfig.Args
		if len(args) == 0 || args[0] != "serve" {
			t.Fatalf("the MCPB command is %v, want serve ...", args)
		}
		for _, a := range args[1:] {
			checkFlag("the MCPB manifest", a)
		}
	}
}
