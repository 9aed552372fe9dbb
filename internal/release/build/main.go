// Command build makes a bill-mcp release in a directory, publishing
// nothing: static binaries, archives and checksums, MCPB bundles and the
// server.json for the MCP Registry.
//
//	go run ./internal/release/build --targets all --version 1.2.3 --out dist
//	go run ./internal/release/build --snapshot      # this machine only, as CI does
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bill-mcp/bill-mcp/internal/release"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	version := fs.String("version", "", "the release's version, e.g. 1.2.3 (default: server.json's)")
	snapshot := fs.Bool("snapshot", false, "mark the version as a snapshot (a build to check, not to publish)")
	targets := fs.String("targets", "host", "host, all, or a comma-separated list of OS/ARCH")
	out := fs.String("out", "dist", "an empty or new directory for the artifacts")
	root := fs.String("root", ".", "the repository root")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ts, err := release.ParseTargets(*targets)
	if err != nil {
		return err
	}
	tmpl, err := release.LoadServerJSON(filepath.Join(*root, "server.json"))
	if err != nil {
		return err
	}
	v := *version
	if v == "" {
		v = tmpl.Version
	}
	if *snapshot {
		v = release.SnapshotVersion(v)
	}
	a, err := release.Build(ctx, release.Options{Root: *root, Out: *out, Version: v, Targets: ts, Log: os.Stderr})
	if err != nil {
		return err
	}
	var lines []string
	for _, m := range []map[release.Target]string{a.Archives, a.Bundles} {
		for _, p := range m {
			lines = append(lines, p)
		}
	}
	sort.Strings(lines)
	fmt.Printf("bill-mcp %s for %v\n  %s\n  %s\n  %s\n", v, ts, strings.Join(lines, "\n  "), a.Checksums, a.ServerJSON)
	return nil
}
