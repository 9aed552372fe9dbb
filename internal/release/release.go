// Package release builds bill-mcp's release artifacts from one checkout, the
// way a goreleaser configuration would: a static binary per platform with
// the version stamped into `bill-mcp version`, an archive of each with a
// checksums file, an MCPB bundle of each for Claude Desktop, and the
// server.json the MCP Registry publishes, with the bundles' digests filled
// in. `go run ./internal/release/build` drives it; nothing is
// published.
package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
)

// Target is one platform a release builds for, in Go's terms.
type Target struct {
	OS   string // linux, darwin, windows
	Arch string // amd64, arm64
}

func (t Target) String() string { return t.OS + "/" + t.Arch }

// BinaryName is the executable's file name on the target.
func (t Target) BinaryName() string {
	if t.OS == "windows" {
		return "bill-mcp.exe"
	}
	return "bill-mcp"
}

// MCPBPlatform is the target's name in an MCPB manifest (Node's
// process.platform): darwin, win32 or linux.
func (t Target) MCPBPlatform() string {
	if t.OS == "windows" {
		return "win32"
	}
	return t.OS
}

// AllTargets are the platforms a release builds: linux, macOS and
// Windows on amd64 and arm64.
func AllTargets() []Target {
	var out []Target
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			out = append(out, Target{goos, arch})
		}
	}
	return out
}

// HostTarget is the platform this process runs on.
func HostTarget() Target { return Target{runtime.GOOS, runtime.GOARCH} }

// ParseTargets reads "host", "all" or a comma-separated list of OS/ARCH
// drawn from AllTargets.
func ParseTargets(s string) ([]Target, error) {
	switch s {
	case "all":
		return AllTargets(), nil
	case "host", "":
		h := HostTarget()
		if !slices.Contains(AllTargets(), h) {
			return nil, fmt.Errorf("this machine (%s) is not a release platform; name targets from %v", h, AllTargets())
		}
		return []Target{h}, nil
	}
	var out []Target
	for _, part := range strings.Split(s, ",") {
		goos, arch, ok := strings.Cut(strings.TrimSpace(part), "/")
		t := Target{goos, arch}
		if !ok || !slices.Contains(AllTargets(), t) {
			return nil, fmt.Errorf("target %q: use host, all, or OS/ARCH from %v", part, AllTargets())
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// versionRE is a semantic version without a leading v: what the MCP
// Registry, MCPB manifests and `bill-mcp version` all accept.
var versionRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// CheckVersion refuses a version the registry or an MCPB client would
// refuse (a range, "latest", a leading v).
func CheckVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("version %q: use a semantic version such as 1.2.3 or 1.2.3-rc.1 (no leading v, no range)", v)
	}
	return nil
}

// Options say what to build and where.
type Options struct {
	Root    string   // the repository root: go.mod, server.json, README.md
	Out     string   // where artifacts go; created, and must be empty
	Version string   // stamped into every binary, archive, bundle and server.json
	Targets []Target // platforms to build
	Go      string   // the go command; "go" when empty
	Log     io.Writer
}

// Artifacts are what Build wrote, by target, plus the shared files.
type Artifacts struct {
	Binaries   map[Target]string // path of each static binary
	Archives   map[Target]string // .tar.gz (.zip for Windows) of each binary with README.md
	Bundles    map[Target]string // .mcpb of each binary
	Checksums  string            // checksums.txt: sha256 of every archive and bundle
	ServerJSON string            // server.json for this version, bundle digests filled in
}

// Build builds every artifact for o.Targets into o.Out.
func Build(ctx context.Context, o Options) (Artifacts, error) {
	var a Artifacts
	if err := CheckVersion(o.Version); err != nil {
		return a, err
	}
	if len(o.Targets) == 0 {
		return a, errors.New("no targets")
	}
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	tmpl, err := LoadServerJSON(filepath.Join(o.Root, "server.json"))
	if err != nil {
		return a, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return a, err
	}
	if entries, err := os.ReadDir(o.Out); err != nil {
		return a, err
	} else if len(entries) > 0 {
		return a, fmt.Errorf("%s is not empty: give an empty or new directory", o.Out)
	}
	readme, err := os.ReadFile(filepath.Join(o.Root, "README.md"))
	if err != nil {
		return a, fmt.Errorf("README.md goes into every archive: %w", err)
	}
	a.Binaries, a.Archives, a.Bundles = map[Target]string{}, map[Target]string{}, map[Target]string{}
	var sums []string // archives and bundles, in build order
	for _, t := range o.Targets {
		fmt.Fprintf(o.Log, "build %s\n", t)
		dir := filepath.Join(o.Out, "bin", t.OS+"_"+t.Arch)
		bin := filepath.Join(dir, t.BinaryName())
		if err := buildBinary(ctx, o, t, bin); err != nil {
			return a, err
		}
		a.Binaries[t] = bin
		arch, err := writeArchive(o.Out, o.Version, t, bin, readme)
		if err != nil {
			return a, fmt.Errorf("archive %s: %w", t, err)
		}
		a.Archives[t] = arch
		bundle := filepath.Join(o.Out, BundleName(o.Version, t))
		if err := WriteBundle(bundle, o.Version, t, bin); err != nil {
			return a, fmt.Errorf("MCPB bundle %s: %w", t, err)
		}
		a.Bundles[t] = bundle
		sums = append(sums, arch, bundle)
	}
	a.Checksums = filepath.Join(o.Out, "checksums.txt")
	digests, err := writeChecksums(a.Checksums, sums)
	if err != nil {
		return a, err
	}
	bundleDigests := map[string]string{}
	for _, p := range a.Bundles {
		bundleDigests[filepath.Base(p)] = digests[filepath.Base(p)]
	}
	out, err := tmpl.ForRelease(o.Version, bundleDigests, len(o.Targets) < len(AllTargets()))
	if err != nil {
		return a, err
	}
	a.ServerJSON = filepath.Join(o.Out, "server.json")
	if err := out.Write(a.ServerJSON); err != nil {
		return a, err
	}
	fmt.Fprintf(o.Log, "wrote %s\n", o.Out)
	return a, nil
}

// buildBinary runs go build for t: static (no cgo), trimmed paths, the
// version stamped into main.version.
func buildBinary(ctx context.Context, o Options, t Target, out string) error {
	cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X main.version="+o.Version, "-o", out, "./cmd/bill-mcp")
	cmd.Dir = o.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch)
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w", t, err)
	}
	return nil
}

// SnapshotVersion marks v as a snapshot: a build to check, not to publish.
func SnapshotVersion(v string) string {
	base, _, _ := strings.Cut(v, "+")
	if strings.Contains(base, "-") {
		return base + ".snapshot"
	}
	return base + "-snapshot"
}
