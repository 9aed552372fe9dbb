package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/internal/approval"
	"github.com/bill-mcp/bill-mcp/internal/audit"
	"github.com/bill-mcp/bill-mcp/internal/httpauth"
	"github.com/bill-mcp/bill-mcp/internal/httpguard"
	"github.com/bill-mcp/bill-mcp/internal/policy"
	"github.com/bill-mcp/bill-mcp/internal/server"
	"github.com/bill-mcp/bill-mcp/vault"
)

// EnvAgent names the agent a stdio server serves, like --agent.
const EnvAgent = "BILL_MCP_AGENT"

// governFlags are serve's flags about agents, the trail, approvals and HTTP limits.
type governFlags struct {
	agent        string
	allowedHosts string
	auditLog     string
	confirmVia   string
	approvalTTL  time.Duration
	sessionTTL   time.Duration
	maxSessions  int
	maxBodyMB    int64
}

func (g *governFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&g.agent, "agent", "", "serve as agent `NAME`, with its grants (default $"+EnvAgent+"; none: the owner, full access)")
	fs.StringVar(&g.allowedHosts, "allowed-hosts", "", "comma-separated `HOSTS` the Host header may name, besides the loopback names and the --addr host")
	fs.StringVar(&g.auditLog, "audit-log", "", "audit trail file `PATH` (default: audit.jsonl in the vault directory)")
	fs.StringVar(&g.confirmVia, "confirm-via", server.ConfirmViaTerminal, "how a person approves held calls: `terminal|elicitation` (a client can answer its own elicitation)")
	fs.DurationVar(&g.approvalTTL, "approval-ttl", approval.DefaultTTL, "how long an approval code stays valid (`DUR`)")
	fs.DurationVar(&g.sessionTTL, "session-ttl", server.DefaultSessionTTL, "expire an HTTP session idle this long (`DUR`)")
	fs.IntVar(&g.maxSessions, "max-sessions", server.DefaultMaxSessions, "most HTTP sessions (or open SSE streams) at once: `N`")
	fs.Int64Var(&g.maxBodyMB, "max-body-mb", httpguard.DefaultMaxBody>>20, "largest HTTP request body in `MB` (answered 413 past it)")
}

func (g *governFlags) check(s stdio) error {
	if g.agent == "" {
		g.agent = s.Getenv(EnvAgent)
	}
	if g.agent != "" {
		if err := vault.ValidateAgentName(g.agent); err != nil {
			return fmt.Errorf("--agent: %v: %w", err, errUsage)
		}
	}
	switch g.confirmVia {
	case server.ConfirmViaTerminal, server.ConfirmViaElicitation:
	default:
		return fmt.Errorf("--confirm-via %q: use terminal or elicitation: %w", g.confirmVia, errUsage)
	}
	if _, err := httpguard.ParseHosts(g.allowedHosts); err != nil {
		return fmt.Errorf("--allowed-hosts: %v: %w", err, errUsage)
	}
	switch {
	case g.approvalTTL <= 0:
		return fmt.Errorf("--approval-ttl must be positive: %w", errUsage)
	case g.sessionTTL <= 0:
		return fmt.Errorf("--session-ttl must be positive: %w", errUsage)
	case g.maxSessions < 1:
		return fmt.Errorf("--max-sessions must be at least 1: %w", errUsage)
	case g.maxBodyMB < 1:
		return fmt.Errorf("--max-body-mb must be at least 1: %w", errUsage)
	}
	return nil
}

// governance builds the server's Governance: agents from the vault (when
// there is one, or --agent needs it), the audit trail, approvals. v is the
// vault the credentials came from (nil: open it here). The directory is
// returned for the HTTP transports' token check (nil: no agents).
func (g *governFlags) governance(ctx context.Context, transport string, s stdio, logger zerolog.Logger, v *vault.Vault) (*server.Governance, *policy.Directory, error) {
	gov := &server.Governance{Agent: g.agent, Transport: transport, ApprovalTTL: g.approvalTTL, ConfirmVia: g.confirmVia}
	if v == nil {
		var err error
		if v, err = vault.Open(vault.Options{Getenv: s.Getenv}); err != nil {
			return nil, nil, err
		}
	}
	exists, err := v.Exists()
	if err != nil {
		return nil, nil, err
	}
	var dir *policy.Directory
	switch {
	case g.agent != "":
		if !exists {
			return nil, nil, fmt.Errorf("--agent %s: %w", g.agent, v.NoAgentError(g.agent))
		}
		dir = policy.NewDirectory(v)
		if _, err := dir.Agent(ctx, g.agent); err != nil {
			if errors.Is(err, policy.ErrUnknownAgent) {
				return nil, nil, fmt.Errorf("--agent: %w", v.NoAgentError(g.agent))
			}
			return nil, nil, fmt.Errorf("--agent %s: %w", g.agent, err)
		}
	case exists && transport != server.TransportStdio:
		dir = policy.NewDirectory(v)
	}
	gov.Agents = dir
	if dir != nil {
		sealer, err := v.Sealer(ctx)
		switch {
		case err == nil:
			gov.Approvals = approval.NewStore(filepath.Join(v.Dir(), approval.DirName), sealer)
		case g.agent != "":
			return nil, nil, err
		default:
			logger.Warn().Err(err).Msg("the vault cannot be opened: agents' tokens will be refused and no call can be held for approval")
		}
	}
	switch {
	case g.auditLog != "":
		gov.Audit = audit.Open(g.auditLog)
	case exists:
		gov.Audit = audit.Open(filepath.Join(v.Dir(), audit.FileName))
	default:
		logger.Warn().Msg("no vault and no --audit-log: tool calls are not written to an audit trail")
	}
	if gov.Audit != nil {
		logger.Info().Str("audit_log", gov.Audit.Path()).Str("agent", policy.Identity{Agent: g.agent}.Who()).Msg("audit trail")
	}
	return gov, dir, nil
}

// hosts is the Host allow-list for addr.
func (g *governFlags) hosts(addr string) []string {
	extra, _ := httpguard.ParseHosts(g.allowedHosts)
	return httpguard.DefaultHosts(addr, extra...)
}

// httpAgents keeps a nil directory a nil interface.
func httpAgents(d *policy.Directory) httpauth.Agents {
	if d == nil {
		return nil
	}
	return d
}
