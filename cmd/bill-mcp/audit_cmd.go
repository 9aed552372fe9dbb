package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/bill-mcp/bill-mcp/internal/audit"
	"github.com/bill-mcp/bill-mcp/vault"
)

const auditUsage = `Usage:
  bill-mcp audit [--agent NAME] [--since DUR] [--json] [--audit-log PATH]
                        the trail of tool calls, one plain-English line a call
  bill-mcp audit verify [--audit-log PATH]
                        check the hash chain; exits 1 naming the first bad line

The trail is audit.jsonl in the vault directory unless --audit-log names it.
`

// errAuditBroken: audit verify found a bad line.
var errAuditBroken = errors.New("audit trail does not verify")

func runAudit(_ context.Context, args []string, s stdio) error {
	verify := len(args) > 0 && args[0] == "verify"
	if verify {
		args = args[1:]
	}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("audit-log", "", "the trail file (default: audit.jsonl in the vault directory)")
	agent := fs.String("agent", "", "only this agent's calls (owner for the owner's)")
	since := fs.Duration("since", 0, "only calls in this last duration, e.g. 24h")
	asJSON := fs.Bool("json", false, "print the records as JSON lines")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.Out, auditUsage)
			return nil
		}
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	p := *path
	if p == "" {
		dir, err := vault.DefaultDir(s.Getenv)
		if err != nil {
			return err
		}
		p = filepath.Join(dir, audit.FileName)
	}
	if verify {
		n, err := audit.Verify(p)
		if err != nil {
			return fmt.Errorf("%s: %w: %w", p, errAuditBroken, err)
		}
		fmt.Fprintf(s.Out, "audit trail %s: %d lines, chain intact\n", p, n)
		return nil
	}
	recs, err := audit.Read(p)
	if err != nil {
		return err
	}
	cutoff := time.Time{}
	if *since > 0 {
		cutoff = time.Now().Add(-*since)
	}
	enc := json.NewEncoder(s.Out)
	for _, r := range recs {
		if (*agent != "" && r.Agent != *agent) || r.Time.Before(cutoff) {
			continue
		}
		if *asJSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(s.Out, r.English())
	}
	return nil
}
