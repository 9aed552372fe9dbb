package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bill-mcp/bill-mcp/internal/audit"
	"github.com/bill-mcp/bill-mcp/vault"
)

// auditDetails ends `bill-mcp audit --help`.
const auditDetails = `Without verify: the trail, one plain-English line a call (who, what, which
records, the decision and its rule, the outcome, how long). With verify: check
every line's hash and link; exit 1 naming the first line changed, removed or
inserted. The trail is audit.jsonl in the vault directory unless --audit-log
names it.
`

// auditFlags are audit's command line.
type auditFlags struct {
	path   string
	agent  string
	since  time.Duration
	asJSON bool
}

func (f *auditFlags) flagSet() *flag.FlagSet {
	fs := newFlagSet("audit")
	fs.StringVar(&f.path, "audit-log", "", "the trail file `PATH` (default: audit.jsonl in the vault directory)")
	fs.StringVar(&f.agent, "agent", "", "only calls of agent `NAME` (owner: the owner's)")
	fs.DurationVar(&f.since, "since", 0, "only calls in the last `DUR`, e.g. 24h")
	fs.BoolVar(&f.asJSON, "json", false, "print the records as JSON lines")
	return fs
}

// errAuditBroken: audit verify found a bad line.
var errAuditBroken = errors.New("audit trail does not verify")

func runAudit(_ context.Context, args []string, s stdio) error {
	verify := len(args) > 0 && args[0] == "verify"
	if verify {
		args = args[1:]
	}
	var f auditFlags
	fs := f.flagSet()
	if err := parseFlags(fs, args, s, "audit"); err != nil {
		return err
	}
	path, agent, since, asJSON := &f.path, &f.agent, &f.since, &f.asJSON
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
