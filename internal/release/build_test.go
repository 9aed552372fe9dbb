package release

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/tools"
)

// TestBuildHostRelease builds a release for this machine, as CI does, and
// checks every artifact: the version stamped into the binary, a static
// binary, checksums that verify, the archive's contents, server.json with
// the bundle's real digest on the registry's schema, and the MCPB bundle.
// Then it follows the Claude Desktop install guide as far as a machine
// without a desktop can: unpack the bundle as the client does, make the
// vault profile the user names at install, run the manifest's command
// with the settings' defaults over stdio, and list and call tools (against
// an emulator, so no BILL account is needed).
func TestBuildHostRelease(t *testing.T) {
	const version = "9.8.7-test"
	host := HostTarget()
	out := t.TempDir()
	a, err := Build(t.Context(), Options{Root: repoRoot, Out: out, Version: version, Targets: []Target{host}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("binary", func(t *testing.T) {
		got, err := exec.Command(a.Binaries[host], "version").Output()
		if err != nil || string(got) != "bill-mcp "+version+"\n" {
			t.Errorf("bill-mcp version = %q, %v", got, err)
		}
		if host.OS != "linux" {
			return
		}
		f, err := elf.Open(a.Binaries[host])
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("the binary is dynamically linked (program header %v)", p.Type)
			}
		}
	})

	t.Run("checksums", func(t *testing.T) {
		raw, err := os.ReadFile(a.Checksums)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			digest, name, ok := strings.Cut(sc.Text(), "  ")
			if !ok {
				t.Fatalf("line %q is not DIGEST  NAME", sc.Text())
			}
			got, err := FileSHA256(filepath.Join(out, name))
			if err != nil || got != digest {
				t.Errorf("%s: digest %s, file has %s (%v)", name, digest, got, err)
			}
			names = append(names, name)
		}
		want := []string{filepath.Base(a.Archives[host]), filepath.Base(a.Bundles[host])}
		if !slices.Equal(names, want) {
			t.Errorf("checksums cover %v, want %v", names, want)
		}
	})

	t.Run("archive", func(t *testing.T) {
		files := readArchive(t, a.Archives[host])
		bin, err := os.ReadFile(a.Binaries[host])
		if err != nil {
			t.Fatal(err)
		}
		if f := files[host.BinaryName()]; !bytes.Equal(f.data, bin) || f.mode&0o111 == 0 {
			t.Errorf("archive's %s: %d bytes, mode %v; want the built binary, executable", host.BinaryName(), len(f.data), f.mode)
		}
		if _, ok := files["README.md"]; !ok || len(files) != 2 {
			t.Errorf("archive holds %d files; want the binary and README.md", len(files))
		}
	})

	t.Run("server.json", func(t *testing.T) {
		raw, err := os.ReadFile(a.ServerJSON)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateJSON(compileSchema(t, "registry-server.schema.json"), raw); err != nil {
			t.Errorf("the release's server.json breaks the registry's rules: %v", err)
		}
		s, err := LoadServerJSON(a.ServerJSON)
		if err != nil {
			t.Fatal(err)
		}
		digest, err := FileSHA256(a.Bundles[host])
		if err != nil {
			t.Fatal(err)
		}
		var bundles []Package
		for _, p := range s.Packages {
			if p.RegistryType == "mcpb" {
				bundles = append(bundles, p)
			}
		}
		if s.Version != version || len(bundles) != 1 || bundles[0].FileSHA256 != digest ||
			filepath.Base(bundles[0].Identifier) != filepath.Base(a.Bundles[host]) {
			t.Errorf("server.json: version %s, bundles %+v; want %s and %s with digest %s", s.Version, bundles, version, filepath.Base(a.Bundles[host]), digest)
		}
	})

	// Unpack the bundle as Claude Desktop does.
	dir := t.TempDir()
	unzip(t, a.Bundles[host], dir)
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validateJSON(compileSchema(t, "mcpb-manifest.schema.json"), raw); err != nil {
		t.Fatalf("the bundle's manifest.json breaks the MCPB rules: %v", err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.Version != version {
		t.Errorf("manifest version %q", m.Version)
	}
	fi, err := os.Stat(filepath.Join(dir, m.Server.EntryPoint))
	if err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("entry point %s: %v (mode %v)", m.Server.EntryPoint, err, fi)
	}
	command, args := resolveLaunch(m, host, dir)

	t.Run("installed bundle serves tools", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		emuURL, _, stop, err := emulator.Start(ctx, "127.0.0.1:0", emulator.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		env := []string{
			"HOME=" + t.TempDir(),
			"BILL_MCP_VAULT_DIR=" + filepath.Join(t.TempDir(), "vault"),
			"BILL_MCP_VAULT_PASSPHRASE=install-guide-passphrase",
			"BILL_BASE_URL=" + emuURL,
		}
		// The install guide's step before installing: a vault profile named
		// as the bundle's setting (its default here).
		id := emulator.DemoIdentity()
		profile := m.UserConfig["profile"].Default.(string)
		runTool(t, command, env, "", "vault", "init")
		runTool(t, command, env, "devKey="+id.DevKey+"\nuserName="+id.UserName+"\npassword="+id.Password+"\norgId="+id.OrgID+"\nenvironment=sandbox\n",
			"vault", "set", profile)

		stderr := &lockedWriter{w: &bytes.Buffer{}}
		tr := transport.NewStdioWithOptions(command, env, args, transport.WithCommandStderrWriter(stderr))
		defer func() {
			if t.Failed() {
				t.Logf("the server's stderr:\n%s", stderr.String())
			}
		}()
		if err := tr.Start(ctx); err != nil {
			t.Fatalf("start %s %v: %v", command, args, err)
		}
		c := client.NewClient(tr)
		defer c.Close()
		initReq := mcp.InitializeRequest{}
		initReq.Params.ProtocolVersion = "2025-11-25"
		initReq.Params.ClientInfo = mcp.Implementation{Name: "install-guide-test", Version: "1"}
		res, err := c.Initialize(ctx, initReq)
		if err != nil {
			t.Fatalf("initialize: %v", err)
		}
		if res.ServerInfo.Version != version {
			t.Errorf("serverInfo.version %q, want %q", res.ServerInfo.Version, version)
		}
		list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		entries, err := tools.Catalogue()
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, tl := range list.Tools {
			got = append(got, tl.Name)
		}
		for _, e := range entries {
			want = append(want, e.Name)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("tools/list through the bundle:\n got %v\nwant %v", got, want)
		}
		call := func(name string, args map[string]any) string {
			t.Helper()
			req := mcp.CallToolRequest{}
			req.Params.Name, req.Params.Arguments = name, args
			r, err := c.CallTool(ctx, req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			b, _ := json.Marshal(r)
			if r.IsError {
				t.Fatalf("%s answered an error: %s", name, b)
			}
			return string(b)
		}
		call("create_customer", map[string]any{"name": "Install Guide Ltd"})
		if got := call("list_customers", map[string]any{}); !strings.Contains(got, "Install Guide Ltd") {
			t.Errorf("list_customers after create: %s", got)
		}
	})
}

// resolveLaunch is the command line the client runs for the manifest on
// target t, with the bundle unpacked in dir and every setting at its
// default: ${__dirname} and ${user_config.KEY} substituted, the
// platform's override applied.
func resolveLaunch(m Manifest, t Target, dir string) (string, []string) {
	cfg := m.Server.MCPConfig
	command := cfg.Command
	if o, ok := cfg.PlatformOverrides[t.MCPBPlatform()]; ok {
		command = o.Command
	}
	subst := func(s string) string {
		s = strings.ReplaceAll(s, "${__dirname}", dir)
		for key, c := range m.UserConfig {
			v, _ := json.Marshal(c.Default)
			s = strings.ReplaceAll(s, "${user_config."+key+"}", strings.Trim(string(v), `"`))
		}
		return s
	}
	var args []string
	for _, a := range cfg.Args {
		args = append(args, subst(a))
	}
	return filepath.FromSlash(subst(command)), args
}

// runTool runs the unpacked binary with args (a CLI step of the guide).
func runTool(t *testing.T, bin string, env []string, stdin string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bill-mcp %v: %v\n%s", args, err, out)
	}
}

// lockedWriter serialises writes from the transport's stderr goroutine.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.(*bytes.Buffer).String()
}

type archived struct {
	data []byte
	mode os.FileMode
}

// readArchive reads a .tar.gz or .zip release archive.
func readArchive(t *testing.T, path string) map[string]archived {
	t.Helper()
	files := map[string]archived{}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name] = archived{b, f.Mode()}
		}
		return files
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = archived{b, h.FileInfo().Mode()}
	}
	return files
}

// unzip unpacks an MCPB bundle into dir, keeping each file's mode.
func unzip(t *testing.T, path, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(dst, filepath.Clean(dir)+string(filepath.Separator)) {
			t.Fatalf("bundle entry %q escapes the bundle", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, f.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}
