package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// emulatorDetails ends `bill-mcp emulator --help`.
const emulatorDetails = `Fault kinds: system (BDC_1001, nothing applied), concurrency (BDC_1322),
ratelimit (BDC_1144), session (BDC_1109), reset (connection closed before the
call is applied), lost-response (applied, then the connection closes),
applied-error (applied, then BDC_1001), echo (BDC_1001 quoting the request).
GET /__emulator/stats answers counters; POST /__emulator/reset empties it all.
`

// emulatorFlags are the emulator command's flags.
type emulatorFlags struct {
	addr         string
	latency      time.Duration
	faults       string
	seed         int64
	idle         time.Duration
	hourly       int
	logins       int
	user         string
	passwordFile string
	orgID        string
	devKey       string
	dupNames     bool
	maskRouting  bool
	refuseIn     bool
	countAnswer  bool
}

// flagSet defines the emulator command's flags, bound to f.
func (f *emulatorFlags) flagSet() *flag.FlagSet {
	demo := emulator.DemoIdentity()
	fs := newFlagSet("emulator")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8809", "`ADDR` to listen on")
	fs.DurationVar(&f.latency, "latency", 0, "fixed delay `DUR` added to every API call, e.g. 50ms")
	fs.StringVar(&f.faults, "faults", "", "fault `SPEC`, e.g. p=0.05,kinds=system+concurrency+ratelimit+session+reset+lost-response")
	fs.Int64Var(&f.seed, "seed", 0, "seed `N` for faults and generated ids (repeatable runs)")
	fs.DurationVar(&f.idle, "session-idle", emulator.DefaultSessionIdle, "a session expires after `DUR` idle")
	fs.IntVar(&f.hourly, "hourly-limit", emulator.DefaultHourlyLimit, "`N` requests per clock hour per devKey")
	fs.IntVar(&f.logins, "login-limit", emulator.DefaultLoginLimit, "`N` logins per clock hour per devKey")
	fs.StringVar(&f.user, "user", demo.UserName, "userName `U` accepted at Login")
	fs.StringVar(&f.passwordFile, "password-file", "", "`FILE` holding the password accepted at Login (default: the demo password)")
	fs.StringVar(&f.orgID, "org-id", demo.OrgID, "orgId `O` accepted at Login")
	fs.StringVar(&f.devKey, "dev-key", demo.DevKey, "devKey `K` accepted on every call")
	fs.BoolVar(&f.dupNames, "duplicate-names", false, "let customers share a name (BILL's rule is undocumented)")
	fs.BoolVar(&f.maskRouting, "mask-routing", false, "answer routing numbers masked, e.g. *****0358")
	fs.BoolVar(&f.refuseIn, "refuse-in", false, "refuse the in and nin list filters with BDC_1131")
	fs.BoolVar(&f.countAnswer, "count-while-answering", false, "count a call against the in-flight cap until its answer is written out, not just until it is ready")
	return fs
}

// runEmulator serves the in-memory BILL v2 emulator until ctx ends.
func runEmulator(ctx context.Context, args []string, s stdio) error {
	demo := emulator.DemoIdentity()
	var f emulatorFlags
	fs := f.flagSet()
	if err := parseFlags(fs, args, s, "emulator"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (emulator takes only flags): %w", fs.Arg(0), errUsage)
	}
	switch {
	case f.latency < 0:
		return fmt.Errorf("--latency must not be negative, got %s: %w", f.latency, errUsage)
	case f.idle <= 0:
		return fmt.Errorf("--session-idle must be positive, got %s: %w", f.idle, errUsage)
	case f.hourly < 1:
		return fmt.Errorf("--hourly-limit must be at least 1, got %d: %w", f.hourly, errUsage)
	case f.logins < 1:
		return fmt.Errorf("--login-limit must be at least 1, got %d: %w", f.logins, errUsage)
	case strings.TrimSpace(f.user) == "":
		return fmt.Errorf("--user must not be empty: %w", errUsage)
	case strings.TrimSpace(f.orgID) == "":
		return fmt.Errorf("--org-id must not be empty: %w", errUsage)
	case strings.TrimSpace(f.devKey) == "":
		return fmt.Errorf("--dev-key must not be empty: %w", errUsage)
	}
	spec, err := emulator.ParseFaults(f.faults)
	if err != nil {
		return fmt.Errorf("--faults: %v: %w", err, errUsage)
	}
	id := emulator.Identity{UserName: f.user, Password: demo.Password, OrgID: f.orgID, DevKey: f.devKey}
	if f.passwordFile != "" {
		raw, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
		id.Password = strings.TrimRight(string(raw), "\r\n")
		if id.Password == "" {
			return fmt.Errorf("--password-file %s is empty: %w", f.passwordFile, errUsage)
		}
	}

	baseURL, _, stop, err := emulator.Start(ctx, f.addr, emulator.Config{
		Identity:    id,
		Latency:     f.latency,
		Faults:      spec,
		Seed:        f.seed,
		SessionIdle: f.idle,
		HourlyLimit: f.hourly,
		LoginLimit:  f.logins,

		DuplicateNames:      f.dupNames,
		MaskRoutingNumbers:  f.maskRouting,
		RefuseInFilter:      f.refuseIn,
		CountWhileAnswering: f.countAnswer,
	})
	if err != nil {
		return fmt.Errorf("emulator: listen on %s: %w", f.addr, err)
	}
	defer stop()

	password := "(from " + f.passwordFile + ")"
	if f.passwordFile == "" {
		password = id.Password + " (the demo password)"
	}
	fmt.Fprintf(s.Out, "BILL v2 emulator (not BILL) listening\n")
	fmt.Fprintf(s.Out, "  base URL:  %s\n", baseURL)
	fmt.Fprintf(s.Out, "  userName:  %s\n", id.UserName)
	fmt.Fprintf(s.Out, "  password:  %s\n", password)
	fmt.Fprintf(s.Out, "  orgId:     %s\n", id.OrgID)
	fmt.Fprintf(s.Out, "  devKey:    %s\n", id.DevKey)
	if f.latency > 0 {
		fmt.Fprintf(s.Out, "  latency:   %s\n", f.latency)
	}
	if spec.Enabled() {
		fmt.Fprintf(s.Out, "  faults:    %s (seed %d)\n", spec, f.seed)
	}
	fmt.Fprintf(s.Out, "  stats:     GET %s/__emulator/stats\n", strings.TrimSuffix(baseURL, "/api/v2"))
	<-ctx.Done()
	return nil
}
