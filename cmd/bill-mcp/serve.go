package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"strings"

	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/credentials"
	"github.com/bill-mcp/bill-mcp/internal/hardening"
	"github.com/bill-mcp/bill-mcp/internal/httpauth"
	"github.com/bill-mcp/bill-mcp/internal/index"
	"github.com/bill-mcp/bill-mcp/internal/journal"
	"github.com/bill-mcp/bill-mcp/internal/logging"
	"github.com/bill-mcp/bill-mcp/internal/server"
	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/tools"
	"github.com/bill-mcp/bill-mcp/vault"
)

// serveDetails ends `bill-mcp serve --help`.
const serveDetails = `Credentials: --profile NAME from the vault, or --credentials env; secrets are
never flags. With --emulator no credentials are needed. Logs go to stderr; on
stdio, stdout carries only MCP frames. HTTP and SSE require
Authorization: Bearer <token> (bill-mcp vault token; BILL_MCP_TOKEN_FILE).
`

// serveFlags are serve's command line.
type serveFlags struct {
	transport   string
	addr        string
	profile     string
	credentials string
	emulator    bool
	baseURL     string
	readOnly    bool
	toolsetsArg string // --toolsets as given
	toolsets    []string
	maxInFlight int
	hourlyLimit int
	loginLimit  int
	coord       string // --coordination as given ("" = $BILL_MCP_COORDINATION, else local)
	stateless   bool
	logFormat   string
	logLevel    string
	gov         governFlags
}

// flagSet defines serve's flags, bound to f: parsing and help both use it.
func (f *serveFlags) flagSet() *flag.FlagSet {
	fs := newFlagSet("serve")
	fs.StringVar(&f.transport, "transport", server.TransportStdio, "how clients connect: `stdio|sse|http`")
	fs.StringVar(&f.addr, "addr", server.DefaultAddr, "`ADDR` the sse and http transports listen on")
	fs.StringVar(&f.profile, "profile", "", "vault profile `NAME` (default $BILL_MCP_PROFILE, else default)")
	fs.StringVar(&f.credentials, "credentials", "", "`env` reads BILL_DEV_KEY, BILL_USERNAME, BILL_PASSWORD, BILL_ORG_ID, BILL_ENV instead of the vault")
	fs.BoolVar(&f.emulator, "emulator", false, "serve against an in-process emulator with its demo identity (not BILL)")
	fs.StringVar(&f.baseURL, "base-url", "", "BILL v2 base `URL` override, e.g. an emulator or a proxy (default $BILL_BASE_URL)")
	fs.BoolVar(&f.readOnly, "read-only", false, "offer and allow only tools that read")
	fs.StringVar(&f.toolsetsArg, "toolsets", "all", "the toolsets offered, `customers,contacts,bank_accounts|all` (comma-separated)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", billapi.MaxInFlightLimit, "BILL requests in flight at once: `1..3`, shared with every bill-mcp on the devKey and org")
	fs.IntVar(&f.hourlyLimit, "hourly-limit", billapi.DefaultHourlyRequestLimit, "requests an hour (`N`) that every bill-mcp on the devKey and org may spend together")
	fs.IntVar(&f.loginLimit, "login-limit", billapi.DefaultHourlyLoginLimit, "logins an hour (`N`) that every bill-mcp on the devKey and org may spend together")
	fs.StringVar(&f.coord, "coordination", "", "where BILL's limits are shared: `local|redis://HOST:PORT[/DB]` (default $BILL_MCP_COORDINATION, else local)")
	fs.BoolVar(&f.stateless, "stateless", false, "with --transport http: no server-side MCP sessions, so any replica can answer any request")
	fs.StringVar(&f.logFormat, "log-format", "json", "format of the log lines on stderr: `json|console`")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `LEVEL`: trace, debug, info, warn or error")
	f.gov.define(fs)
	return fs
}

func parseServeFlags(args []string, s stdio) (serveFlags, error) {
	var f serveFlags
	fs := f.flagSet()
	if err := parseFlags(fs, args, s, "serve"); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q (serve takes only flags): %w", fs.Arg(0), errUsage)
	}
	switch f.transport {
	case server.TransportStdio, server.TransportSSE, server.TransportHTTP:
	default:
		return f, fmt.Errorf("--transport %q: use stdio, sse or http: %w", f.transport, errUsage)
	}
	if f.maxInFlight < 1 || f.maxInFlight > billapi.MaxInFlightLimit {
		return f, fmt.Errorf("--max-in-flight %d: use 1 to %d (BILL allows %d requests in flight): %w", f.maxInFlight, billapi.MaxInFlightLimit, billapi.MaxInFlightLimit, errUsage)
	}
	if f.hourlyLimit < 1 || f.loginLimit < 1 {
		return f, fmt.Errorf("--hourly-limit %d, --login-limit %d: use positive numbers (BILL allows %d requests and %d logins an hour): %w", f.hourlyLimit, f.loginLimit, billapi.DefaultHourlyRequestLimit, billapi.DefaultHourlyLoginLimit, errUsage)
	}
	if f.stateless && f.transport != server.TransportHTTP {
		return f, fmt.Errorf("--stateless applies to --transport http only: %w", errUsage)
	}
	if f.credentials != "" && f.credentials != "env" {
		return f, fmt.Errorf("--credentials %q: the only value is env (or use --profile): %w", f.credentials, errUsage)
	}
	if f.credentials == "env" && f.profile != "" {
		return f, fmt.Errorf("choose one credential source: --profile or --credentials env, not both: %w", errUsage)
	}
	if f.emulator && (f.profile != "" || f.credentials != "" || f.baseURL != "") {
		return f, fmt.Errorf("--emulator uses the emulator's demo identity and address; drop --profile, --credentials and --base-url: %w", errUsage)
	}
	switch f.logFormat {
	case "json", "console":
	default:
		return f, fmt.Errorf("--log-format %q: use json or console: %w", f.logFormat, errUsage)
	}
	if _, err := zerolog.ParseLevel(strings.ToLower(f.logLevel)); err != nil || f.logLevel == "" {
		return f, fmt.Errorf("--log-level %q: use trace, debug, info, warn or error: %w", f.logLevel, errUsage)
	}
	if err := f.gov.check(s); err != nil {
		return f, err
	}
	sets, err := tools.ParseToolsets(f.toolsetsArg)
	if err != nil {
		return f, fmt.Errorf("--toolsets: %v: %w", err, errUsage)
	}
	f.toolsets = sets
	return f, nil
}

// runServe runs the MCP server until ctx ends (or, on stdio, stdin closes).
func runServe(ctx context.Context, args []string, s stdio) error {
	f, err := parseServeFlags(args, s)
	if err != nil {
		return err
	}
	if err := hardening.NonDumpable(); err != nil {
		return fmt.Errorf("harden process: %w", err)
	}
	redactor := logging.NewRedactingWriter(s.Err)
	logger, err := logging.New(redactor, f.logFormat, f.logLevel)
	if err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}

	var (
		creds    billapi.Credentials
		baseURL  string
		store    billapi.SessionStore
		source   string
		vaultDir string
		indexKey string
		ixStore  index.Store // nil: the search index lives in memory only
		jstore   *journal.Store
		// openVault is the vault the credentials came from, already
		// decrypted: governance reads agents from it without another scrypt.
		openVault *vault.Vault
	)
	if f.emulator {
		url, _, stop, err := emulator.Start(ctx, "127.0.0.1:0", emulator.Config{})
		if err != nil {
			return fmt.Errorf("start the emulator: %w", err)
		}
		defer stop()
		id := emulator.DemoIdentity()
		creds = billapi.Credentials{
			DevKey:   secret.New(id.DevKey),
			UserName: secret.New(id.UserName),
			Password: secret.New(id.Password),
			OrgID:    id.OrgID,
		}
		redactor.Add(creds.DevKey, creds.UserName, creds.Password)
		store = credentials.NewMemoryStore(redactor)
		baseURL, source = url, "emulator demo identity"
		indexKey = credentials.IndexKey("emulator", url, creds.OrgID)
		jstore = journal.NewMemory(url)
		logger.Warn().Str("base_url", url).Msg("serving against the in-process bill-mcp emulator, NOT BILL: data lives in memory and is lost when the server stops")
	} else {
		res, err := credentials.Resolve(ctx, credentials.Options{
			Profile:  f.profile,
			Env:      f.credentials == "env",
			BaseURL:  f.baseURL,
			Getenv:   s.Getenv,
			Redactor: redactor,
		})
		if err != nil {
			return fmt.Errorf("credentials: %w", err)
		}
		creds, baseURL, store, source, vaultDir = res.Credentials, res.BaseURL, res.SessionStore, res.Source, res.VaultDir
		openVault = res.Vault()
		jstore = res.Journal
		indexKey = res.IndexKey
		if res.IndexStore != nil {
			ixStore = res.IndexStore
		}
		if w := orgIDWarning(creds.OrgID); w != "" {
			logger.Warn().Str("credentials", source).Msg(w)
		}
	}

	ix := index.New(index.Options{Key: indexKey, Store: ixStore})
	defer ix.Flush(context.WithoutCancel(ctx))

	cfg := billapi.Config{
		BaseURL:             baseURL,
		Credentials:         creds,
		MaxInFlight:         f.maxInFlight,
		HourlyRequestBudget: f.hourlyLimit,
		HourlyLoginBudget:   f.loginLimit,
		SessionStore:        store,
		Logger:              &logger,
		Observer:            ix,
	}
	coordName, err := coordinate(ctx, &cfg, f.coord, f.emulator, vaultDir, s, logger, redactor)
	if err != nil {
		return err
	}
	defer closeCoordinator(cfg.Coordinator)
	client, err := billapi.New(cfg)
	if err != nil {
		return fmt.Errorf("BILL client: %w", err)
	}
	gov, agents, err := f.gov.governance(ctx, f.transport, s, logger, openVault)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{
		Client:     client,
		Index:      ix,
		Version:    version,
		Toolsets:   f.toolsets,
		ReadOnly:   f.readOnly,
		Emulator:   f.emulator,
		Logger:     logger,
		Governance: gov,
		Journal:    jstore,
	})
	if err != nil {
		return err
	}
	logger.Info().
		Str("version", version).
		Str("transport", f.transport).
		Strs("toolsets", f.toolsets).
		Bool("read_only", f.readOnly).
		Str("credentials", source).
		Str("base_url", baseURL).
		Int("max_in_flight", f.maxInFlight).
		Int("hourly_limit", f.hourlyLimit).
		Int("login_limit", f.loginLimit).
		Str("coordination", coordName).
		Bool("stateless", f.stateless).
		Msg("bill-mcp serving")

	if f.transport == server.TransportStdio {
		return server.ServeStdio(ctx, srv, s.In, s.Out, logger)
	}
	token, err := bearerToken(f.emulator, redactor, s)
	if err != nil {
		if agents == nil {
			return err
		}
		// Agents bring their own tokens; without an owner token no one
		// connects as the owner over HTTP.
		logger.Warn().Msg("no owner bearer token: only agents' tokens are accepted over HTTP (bill-mcp vault token makes one for the owner)")
	}
	if host, _, err := net.SplitHostPort(f.addr); err == nil && !isLoopback(host) {
		logger.Warn().Str("addr", f.addr).Msg("listening beyond this machine: every request still needs the Authorization header, but prefer 127.0.0.1 behind a TLS proxy")
	}
	return server.ServeHTTP(ctx, srv, server.HTTPOptions{
		Transport:    f.transport,
		Addr:         f.addr,
		Token:        token,
		Logger:       logger,
		Stateless:    f.stateless,
		Agents:       httpAgents(agents),
		AllowedHosts: f.gov.hosts(f.addr),
		MaxBody:      f.gov.maxBodyMB << 20,
		SessionTTL:   f.gov.sessionTTL,
		MaxSessions:  f.gov.maxSessions,
		Ready: func(a net.Addr) {
			path := server.PathStreamable
			if f.transport == server.TransportSSE {
				path = server.PathSSE
			}
			logger.Info().Str("url", "http://"+a.String()+path).Msg("listening")
		},
	})
}

// bearerToken loads the HTTP transports' token. With --emulator and none
// configured it makes one for this run and prints it on stderr, the one
// place a secret is shown: the user needs it to connect a client.
func bearerToken(emu bool, redactor *logging.RedactingWriter, s stdio) (secret.Secret, error) {
	token, err := httpauth.LoadToken(s.Getenv)
	if err == nil {
		redactor.Add(token)
		return token, nil
	}
	// A token named in the environment must work. Otherwise, in emulator
	// mode, any vault trouble (none yet, locked) means "none configured":
	// the zero-setup demo must not need a vault.
	explicit := s.Getenv(httpauth.EnvTokenFile) != "" || s.Getenv(httpauth.EnvToken) != ""
	if !emu || explicit {
		return secret.Secret{}, fmt.Errorf("bearer token: %w", err)
	}
	token, err = httpauth.NewToken()
	if err != nil {
		return secret.Secret{}, fmt.Errorf("make a bearer token: %w", err)
	}
	fmt.Fprintf(s.Err, "bearer token for this run: %s\n", token.Reveal())
	redactor.Add(token)
	return token, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
