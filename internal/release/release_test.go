package release

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bill-mcp/bill-mcp/tools"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// compileSchema compiles a schema from testdata, asserting formats (uri).
func compileSchema(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	url := "file:///testdata/" + file
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s: %v", file, err)
	}
	return sch
}

// validateJSON validates raw JSON against sch.
func validateJSON(sch *jsonschema.Schema, raw []byte) error {
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		in      string
		want    []Target
		wantErr string
	}{
		{"all", AllTargets(), ""},
		{"host", []Target{HostTarget()}, ""},
		{"linux/arm64, windows/amd64,linux/arm64", []Target{{"linux", "arm64"}, {"windows", "amd64"}}, ""},
		{"plan9/386", nil, `target "plan9/386"`},
		{"linux", nil, `target "linux"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTargets(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if n := len(AllTargets()); n != 6 {
		t.Errorf("%d targets, want linux, darwin, windows x amd64, arm64", n)
	}
}

func TestVersions(t *testing.T) {
	tests := []struct {
		v        string
		ok       bool
		snapshot string
	}{
		{"1.2.3", true, "1.2.3-snapshot"},
		{"0.1.0-dev", true, "0.1.0-dev.snapshot"},
		{"1.0.0-rc.1+build.5", true, "1.0.0-rc.1.snapshot"},
		{"v1.2.3", false, ""},
		{"latest", false, ""},
		{"^1.2.3", false, ""},
		{"1.2", false, ""},
		{"01.2.3", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			if err := CheckVersion(tt.v); (err == nil) != tt.ok {
				t.Errorf("CheckVersion(%q) = %v, want ok=%v", tt.v, err, tt.ok)
			}
			if tt.ok {
				s := SnapshotVersion(tt.v)
				if s != tt.snapshot || CheckVersion(s) != nil {
					t.Errorf("SnapshotVersion(%q) = %q, want %q (a valid version)", tt.v, s, tt.snapshot)
				}
			}
		})
	}
}

// fakeDigests are digests for every bundle of a full release of version.
func fakeDigests(version string) map[string]string {
	d := map[string]string{}
	for i, tg := range AllTargets() {
		d[BundleName(version, tg)] = fmt.Sprintf("%064x", i+1)
	}
	return d
}

// TestServerJSONTemplate checks the repository's server.json: on the
// registry's current schema once a release fills in the bundle digests
// (which only a build can know, so the template holds none); one MCPB
// bundle per release platform; the OCI image tagged with the version; and
// the image carrying the label by which the registry checks who owns it.
func TestServerJSONTemplate(t *testing.T) {
	tmpl, err := LoadServerJSON(filepath.Join(repoRoot, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tmpl.Packages {
		if p.FileSHA256 != "" {
			t.Errorf("%s: the template holds a digest; the release fills it in from the bundle it built", p.Identifier)
		}
	}
	full, err := tmpl.ForRelease(tmpl.Version, fakeDigests(tmpl.Version), false)
	if err != nil {
		t.Fatalf("server.json does not list exactly one bundle per release platform: %v", err)
	}
	raw, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateJSON(compileSchema(t, "registry-server.schema.json"), raw); err != nil {
		t.Errorf("server.json, digests filled in, breaks the registry's rules:\n%v", err)
	}
	var oci []Package
	for _, p := range full.Packages {
		if p.RegistryType == "oci" {
			oci = append(oci, p)
		}
		if p.Transport.Type != "stdio" {
			t.Errorf("%s: transport %q, want stdio", p.Identifier, p.Transport.Type)
		}
	}
	if len(oci) != 1 || !strings.HasSuffix(oci[0].Identifier, ":"+tmpl.Version) {
		t.Errorf("want one OCI image tagged %s, got %+v", tmpl.Version, oci)
	}
	// A name io.github.OWNER/... is granted to the GitHub user OWNER: the
	// repository's owner.
	owner, _, _ := strings.Cut(strings.TrimPrefix(tmpl.Name, "io.github."), "/")
	if tmpl.Repository == nil || !strings.HasPrefix(tmpl.Repository.URL, "https://github.com/"+owner+"/") {
		t.Errorf("name %s is not in the namespace of repository %+v", tmpl.Name, tmpl.Repository)
	}
	dockerfile, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	label := fmt.Sprintf(`LABEL io.modelcontextprotocol.server.name="%s"`, tmpl.Name)
	if !strings.Contains(string(dockerfile), label) {
		t.Errorf("Dockerfile lacks %s (the registry checks OCI ownership by it)", label)
	}
}

// TestRegistrySchemaRefuses makes sure the schema in testdata is not
// vacuous: each change to a valid server.json breaks one registry rule.
func TestRegistrySchemaRefuses(t *testing.T) {
	sch := compileSchema(t, "registry-server.schema.json")
	tmpl, err := LoadServerJSON(filepath.Join(repoRoot, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	valid, err := tmpl.ForRelease(tmpl.Version, fakeDigests(tmpl.Version), false)
	if err != nil {
		t.Fatal(err)
	}
	mcpb := slices.IndexFunc(valid.Packages, func(p Package) bool { return p.RegistryType == "mcpb" })
	oci := slices.IndexFunc(valid.Packages, func(p Package) bool { return p.RegistryType == "oci" })
	tests := []struct {
		name string
		edit func(m map[string]any)
	}{
		{"old schema", func(m map[string]any) {
			m["$schema"] = "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json"
		}},
		{"no slash in name", func(m map[string]any) { m["name"] = "bill-mcp" }},
		{"description over 100", func(m map[string]any) { m["description"] = strings.Repeat("x", 101) }},
		{"no version", func(m map[string]any) { delete(m, "version") }},
		{"version range", func(m map[string]any) { m["version"] = "^1.0.0" }},
		{"unknown field", func(m map[string]any) { m["websiteURL"] = "https://example.com" }},
		{"mcpb without digest", func(m map[string]any) { delete(pkg(m, mcpb), "fileSha256") }},
		{"mcpb digest in capitals", func(m map[string]any) { pkg(m, mcpb)["fileSha256"] = strings.Repeat("A", 64) }},
		{"mcpb off GitHub", func(m map[string]any) { pkg(m, mcpb)["identifier"] = "https://example.com/b.mcpb" }},
		{"oci without tag", func(m map[string]any) { pkg(m, oci)["identifier"] = "ghcr.io/bill-mcp/bill-mcp" }},
		{"oci on a private registry", func(m map[string]any) { pkg(m, oci)["identifier"] = "registry.example.com/bill-mcp:1.0.0" }},
		{"no transport", func(m map[string]any) { delete(pkg(m, oci), "transport") }},
		{"named argument without name", func(m map[string]any) {
			pkg(m, oci)["packageArguments"] = []any{map[string]any{"type": "named", "value": "x"}}
		}},
		{"positional argument without value", func(m map[string]any) {
			pkg(m, oci)["packageArguments"] = []any{map[string]any{"type": "positional"}}
		}},
	}
	raw, err := json.Marshal(valid)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateJSON(sch, raw); err != nil {
		t.Fatalf("the unchanged document fails: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			tt.edit(m)
			changed, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if validateJSON(sch, changed) == nil {
				t.Errorf("accepted:\n%s", changed)
			}
		})
	}
}

func pkg(m map[string]any, i int) map[string]any {
	return m["packages"].([]any)[i].(map[string]any)
}

func TestForRelease(t *testing.T) {
	tmpl, err := LoadServerJSON(filepath.Join(repoRoot, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	host := BundleName("2.0.0", HostTarget())
	tests := []struct {
		name     string
		digests  map[string]string
		partial  bool
		wantMCPB int
		wantErr  string
	}{
		{"full release", fakeDigests("2.0.0"), false, 6, ""},
		{"host only, partial", map[string]string{host: strings.Repeat("a", 64)}, true, 1, ""},
		{"host only, not partial", map[string]string{host: strings.Repeat("a", 64)}, false, 0, "did not build"},
		{"a bundle the template lacks", map[string]string{"bill-mcp_2.0.0_plan9_386.mcpb": strings.Repeat("a", 64)}, true, 0, "not in server.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tmpl.ForRelease("2.0.0", tt.digests, tt.partial)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Version != "2.0.0" {
				t.Errorf("version %q", out.Version)
			}
			n := 0
			for _, p := range out.Packages {
				if strings.Contains(p.Identifier, tmpl.Version) || !strings.Contains(p.Identifier, "2.0.0") {
					t.Errorf("identifier %s does not carry the release's version", p.Identifier)
				}
				if p.RegistryType == "mcpb" {
					n++
					if p.FileSHA256 != tt.digests[filepath.Base(p.Identifier)] || p.Version != "2.0.0" {
						t.Errorf("%s: digest %q version %q", p.Identifier, p.FileSHA256, p.Version)
					}
				}
			}
			if n != tt.wantMCPB {
				t.Errorf("%d bundles, want %d", n, tt.wantMCPB)
			}
		})
	}
	if _, err := tmpl.ForRelease("latest", nil, true); err == nil {
		t.Error("ForRelease accepted version latest")
	}
}

// TestManifest checks every platform's MCPB manifest against the MCPB
// rules in testdata, and what bill-mcp adds: the binary's name on the
// platform, no secret among the user's settings, and every setting the
// command uses defined.
func TestManifest(t *testing.T) {
	sch := compileSchema(t, "mcpb-manifest.schema.json")
	setting := regexp.MustCompile(`\$\{user_config\.([a-z_]+)\}`)
	for _, tg := range AllTargets() {
		t.Run(tg.String(), func(t *testing.T) {
			m, err := NewManifest("1.2.3", tg)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateJSON(sch, raw); err != nil {
				t.Errorf("manifest breaks the MCPB rules: %v", err)
			}
			if m.Server.EntryPoint != "server/"+tg.BinaryName() {
				t.Errorf("entry point %q", m.Server.EntryPoint)
			}
			cmd := m.Server.MCPConfig.Command
			if o, ok := m.Server.MCPConfig.PlatformOverrides[tg.MCPBPlatform()]; ok {
				cmd = o.Command
			}
			if cmd != "${__dirname}/"+m.Server.EntryPoint {
				t.Errorf("on %s the client runs %q, not the bundled %s", tg.MCPBPlatform(), cmd, m.Server.EntryPoint)
			}
			if !slices.Equal(m.Compatibility.Platforms, []string{tg.MCPBPlatform()}) {
				t.Errorf("platforms %v", m.Compatibility.Platforms)
			}
			for key, c := range m.UserConfig {
				if c.Sensitive {
					t.Errorf("user_config %s is a secret: secrets stay in the vault", key)
				}
			}
			if _, ok := m.UserConfig["profile"]; !ok {
				t.Error("no user_config for the vault profile")
			}
			for _, arg := range m.Server.MCPConfig.Args {
				for _, s := range setting.FindAllStringSubmatch(arg, -1) {
					if _, ok := m.UserConfig[s[1]]; !ok {
						t.Errorf("argument %q uses undefined setting %s", arg, s[1])
					}
				}
			}
			entries, err := tools.Catalogue()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Tools) != len(entries) || m.Tools[0].Name != entries[0].Name {
				t.Errorf("manifest lists %d tools, the server has %d", len(m.Tools), len(entries))
			}
		})
	}
}
