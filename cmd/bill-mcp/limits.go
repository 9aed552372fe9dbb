package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/coordination"
	"github.com/bill-mcp/bill-mcp/internal/credentials"
	"github.com/bill-mcp/bill-mcp/internal/logging"
)

// limitsDetails ends `bill-mcp limits --help`.
const limitsDetails = `Shows what every bill-mcp on the profile's devKey and org shares: calls in
flight, requests and logins used this clock hour, when the hour resets, the
backend and how many processes it sees. Never a secret. Give it the same
--coordination as the servers (or set BILL_MCP_COORDINATION).
`

// limitsFlags are limits' command line.
type limitsFlags struct {
	profile     string
	credentials string
	baseURL     string
	coord       string
}

// flagSet defines limits' flags, bound to f.
func (f *limitsFlags) flagSet() *flag.FlagSet {
	fs := newFlagSet("limits")
	fs.StringVar(&f.profile, "profile", "", "vault profile `NAME` (default $BILL_MCP_PROFILE, else default)")
	fs.StringVar(&f.credentials, "credentials", "", "`env` reads the BILL_* variables instead of the vault")
	fs.StringVar(&f.baseURL, "base-url", "", "BILL v2 base `URL` the servers use (default $BILL_BASE_URL)")
	fs.StringVar(&f.coord, "coordination", "", "the servers' backend: `local|redis://HOST:PORT[/DB]` (default $BILL_MCP_COORDINATION, else local)")
	return fs
}

// runLimits prints the shared limits of a profile's devKey and org.
func runLimits(ctx context.Context, args []string, s stdio) error {
	var f limitsFlags
	fs := f.flagSet()
	if err := parseFlags(fs, args, s, "limits"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (limits takes only flags): %w", fs.Arg(0), errUsage)
	}
	if f.credentials != "" && f.credentials != "env" {
		return fmt.Errorf("--credentials %q: the only value is env (or use --profile): %w", f.credentials, errUsage)
	}
	spec, err := coordinationSpec(f.coord, s)
	if err != nil {
		return err
	}
	redactor := logging.NewRedactingWriter(io.Discard)
	res, err := credentials.Resolve(ctx, credentials.Options{
		Profile: f.profile, Env: f.credentials == "env", BaseURL: f.baseURL, Getenv: s.Getenv, Redactor: redactor,
	})
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	c, err := coordination.Open(ctx, coordination.Options{
		Spec: spec, Credentials: res.Credentials, BaseURL: res.BaseURL, Dir: res.VaultDir,
		Logger: zerolog.Nop(), Observer: true,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	now := time.Now()
	u, err := c.Usage(ctx, now)
	if err != nil {
		return fmt.Errorf("read the shared limits: %w", err)
	}
	writeLimits(s.Out, res.Source, u, now)
	return nil
}

// writeLimits prints u for people.
func writeLimits(w io.Writer, source string, u billapi.Usage, now time.Time) {
	fmt.Fprintf(w, "credentials:  %s\n", source)
	if u.Degraded != "" {
		fmt.Fprintf(w, "backend:      %s UNREACHABLE (%s)\n", u.Backend, u.Degraded)
		fmt.Fprintln(w, "              servers fall back to 1 call in flight each and count their own budgets until it answers")
		return
	}
	fmt.Fprintf(w, "backend:      %s (shared)\n", u.Backend)
	fmt.Fprintf(w, "holders:      %d server process(es)\n", u.Holders)
	fmt.Fprintf(w, "in flight:    %d of %d\n", u.InFlight, billapi.MaxInFlightLimit)
	fmt.Fprintf(w, "requests:     %d this hour\n", u.Requests)
	fmt.Fprintf(w, "logins:       %d this hour\n", u.Logins)
	fmt.Fprintf(w, "hour resets:  %s (in %s)\n", u.ResetAt.UTC().Format("15:04:05 UTC"), u.ResetAt.Sub(now).Round(time.Second))
	if now.Before(u.Blocked) {
		fmt.Fprintf(w, "BILL refused requests (BDC_1144) until %s\n", u.Blocked.UTC().Format("15:04:05 UTC"))
	}
	if now.Before(u.LoginsOff) {
		fmt.Fprintf(w, "BILL refused logins (BDC_1144) until %s\n", u.LoginsOff.UTC().Format("15:04:05 UTC"))
	}
}

// coordinationSpec reads --coordination, else $BILL_MCP_COORDINATION.
func coordinationSpec(flagVal string, s stdio) (coordination.Spec, error) {
	v := flagVal
	if v == "" {
		v = s.Getenv(coordination.EnvCoordination)
	}
	spec, err := coordination.ParseSpec(v)
	if err != nil {
		return spec, fmt.Errorf("%v: %w", err, errUsage)
	}
	return spec, nil
}

// coordinate opens the coordination backend for cfg's credentials and sets
// cfg.Coordinator; where the backend also keeps the session (Redis; the
// local backend without a vault) it sets cfg.SessionStore and
// cfg.LoginLocker too. With --emulator and no backend named, the
// in-process emulator is this process's alone: nothing is shared.
func coordinate(ctx context.Context, cfg *billapi.Config, flagVal string, emu bool, vaultDir string, s stdio, logger zerolog.Logger, redactor *logging.RedactingWriter) (string, error) {
	if emu && flagVal == "" && s.Getenv(coordination.EnvCoordination) == "" {
		return "process (in-process emulator)", nil
	}
	spec, err := coordinationSpec(flagVal, s)
	if err != nil {
		return "", err
	}
	c, err := coordination.Open(ctx, coordination.Options{
		Spec: spec, Credentials: cfg.Credentials, BaseURL: cfg.BaseURL, Dir: vaultDir,
		Logger: logger, Redactor: redactor,
	})
	if err != nil {
		return "", fmt.Errorf("coordination: %w", err)
	}
	c.SetCapacity(cfg.MaxInFlight)
	cfg.Coordinator = c
	if spec.Kind == coordination.KindRedis || vaultDir == "" {
		cfg.SessionStore = c.Sessions
		if l, ok := c.Sessions.(billapi.LoginLocker); ok {
			cfg.LoginLocker = l
		}
	}
	return spec.String(), nil
}

// closeCoordinator releases what coordinate opened.
func closeCoordinator(c billapi.Coordinator) {
	if cl, ok := c.(interface{ Close() error }); ok {
		_ = cl.Close()
	}
}
