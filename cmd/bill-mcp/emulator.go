package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// runEmulator serves the in-memory BILL v2 emulator until ctx ends.
func runEmulator(ctx context.Context, args []string, s stdio) error {
	demo := emulator.DemoIdentity()
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:8809", "listen address")
	latency := fs.Duration("latency", 0, "fixed delay added to every API call")
	faults := fs.String("faults", "", "fault spec, e.g. p=0.05,kinds=system+concurrency+session+reset+lost-response")
	seed := fs.Int64("seed", 0, "seed for faults and generated ids")
	idle := fs.Duration("session-idle", emulator.DefaultSessionIdle, "session idle expiry")
	hourly := fs.Int("hourly-limit", emulator.DefaultHourlyLimit, "requests per clock hour per devKey")
	logins := fs.Int("login-limit", emulator.DefaultLoginLimit, "logins per clock hour per devKey")
	user := fs.String("user", demo.UserName, "user name accepted at Login")
	passwordFile := fs.String("password-file", "", "file holding the password accepted at Login (default: the demo password)")
	orgID := fs.String("org-id", demo.OrgID, "organization id accepted at Login")
	devKey := fs.String("dev-key", demo.DevKey, "developer key accepted on every call")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.Out, usage)
			return nil
		}
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (emulator takes only flags): %w", fs.Arg(0), errUsage)
	}
	switch {
	case *latency < 0:
		return fmt.Errorf("--latency must not be negative, got %s: %w", *latency, errUsage)
	case *idle <= 0:
		return fmt.Errorf("--session-idle must be positive, got %s: %w", *idle, errUsage)
	case *hourly < 1:
		return fmt.Errorf("--hourly-limit must be at least 1, got %d: %w", *hourly, errUsage)
	case *logins < 1:
		return fmt.Errorf("--login-limit must be at least 1, got %d: %w", *logins, errUsage)
	case strings.TrimSpace(*user) == "":
		return fmt.Errorf("--user must not be empty: %w", errUsage)
	case strings.TrimSpace(*orgID) == "":
		return fmt.Errorf("--org-id must not be empty: %w", errUsage)
	case strings.TrimSpace(*devKey) == "":
		return fmt.Errorf("--dev-key must not be empty: %w", errUsage)
	}
	spec, err := emulator.ParseFaults(*faults)
	if err != nil {
		return fmt.Errorf("--faults: %v: %w", err, errUsage)
	}
	id := emulator.Identity{UserName: *user, Password: demo.Password, OrgID: *orgID, DevKey: *devKey}
	if *passwordFile != "" {
		raw, err := os.ReadFile(*passwordFile)
		if err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
		id.Password = strings.TrimRight(string(raw), "\r\n")
		if id.Password == "" {
			return fmt.Errorf("--password-file %s is empty: %w", *passwordFile, errUsage)
		}
	}

	baseURL, _, stop, err := emulator.Start(ctx, *addr, emulator.Config{
		Identity:    id,
		Latency:     *latency,
		Faults:      spec,
		Seed:        *seed,
		SessionIdle: *idle,
		HourlyLimit: *hourly,
		LoginLimit:  *logins,
	})
	if err != nil {
		return fmt.Errorf("emulator: listen on %s: %w", *addr, err)
	}
	defer stop()

	password := "(from " + *passwordFile + ")"
	if *passwordFile == "" {
		password = id.Password + " (the demo password)"
	}
	fmt.Fprintf(s.Out, "BILL v2 emulator (not BILL) listening\n")
	fmt.Fprintf(s.Out, "  base URL:  %s\n", baseURL)
	fmt.Fprintf(s.Out, "  userName:  %s\n", id.UserName)
	fmt.Fprintf(s.Out, "  password:  %s\n", password)
	fmt.Fprintf(s.Out, "  orgId:     %s\n", id.OrgID)
	fmt.Fprintf(s.Out, "  devKey:    %s\n", id.DevKey)
	if *latency > 0 {
		fmt.Fprintf(s.Out, "  latency:   %s\n", *latency)
	}
	if spec.Enabled() {
		fmt.Fprintf(s.Out, "  faults:    %s (seed %d)\n", spec, *seed)
	}
	fmt.Fprintf(s.Out, "  stats:     GET %s/__emulator/stats\n", strings.TrimSuffix(baseURL, "/api/v2"))
	<-ctx.Done()
	return nil
}
