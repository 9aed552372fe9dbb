// Package server builds bill-mcp's MCP server from options (tools, read-only
// mode, instructions, audit logging) and serves it over stdio, SSE or
// streamable HTTP. It is glue between cmd/bill-mcp and the tools package.
package server

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/index"
	"github.com/bill-mcp/bill-mcp/internal/journal"
	"github.com/bill-mcp/bill-mcp/internal/notify"
	"github.com/bill-mcp/bill-mcp/tools"
)

// Name is the server name announced to clients.
const Name = "bill-mcp"

// Options configure New.
type Options struct {
	// Client is the BILL client every tool calls.
	Client *billapi.Client
	// Index is the local search index over Client's org (its write
	// observer); nil means one in memory only.
	Index *index.Index
	// Version is announced in the initialize answer.
	Version string
	// Toolsets to register (see tools.ParseToolsets); nil means all.
	Toolsets []string
	// ReadOnly registers only read-only tools and refuses the others by name.
	ReadOnly bool
	// Emulator says the client talks to the local emulator, not BILL; the
	// instructions tell the agent so.
	Emulator bool
	// Logger receives one line per tool call. The zero value logs nothing.
	Logger zerolog.Logger
	// Governance sets agents, the audit trail and approvals; nil is the
	// owner alone with no trail.
	Governance *Governance
	// Journal keeps the bulk tools' import journals; nil keeps them in
	// this process's memory.
	Journal *journal.Store
}

// New builds the MCP server from the tool inventory: the tools of the
// chosen toolsets (only the read tools with ReadOnly), input and output
// schema validation, panic recovery, instructions, and the tool-call hooks
// (one log line per call, forgiving argument coercion, readable validation
// errors). A tool the server does not offer is still registered, hidden
// from tools/list, with a handler that refuses it as an isError result
// (READ_ONLY or TOOLSET_OFF) rather than a JSON-RPC error.
func New(o Options) (*mcpserver.MCPServer, error) {
	sets := o.Toolsets
	if sets == nil {
		sets = tools.ToolsetNames()
	}
	deps := tools.Deps{Client: o.Client, Index: o.Index}
	if deps.Index == nil {
		deps.Index = index.New(index.Options{})
	}
	var (
		offered []mcpserver.ServerTool
		refused []mcpserver.ServerTool
		hidden  = map[string]bool{}
		checks  = argsChecks{}
	)
	for _, d := range tools.Inventory() {
		why := d.Availability(sets, o.ReadOnly)
		if why == tools.Offered {
			// the handler bare: checks.middleware checks the arguments
			// once, before the governor (and runApproved before a held call)
			offered = append(offered, mcpserver.ServerTool{Tool: d.Tool(), Handler: d.Bind(deps)})
			checks[d.Name] = d.ArgsCheck()
			continue
		}
		refused = append(refused, refusedTool(d, why))
		hidden[d.Name] = true
	}
	gv, err := newGovernor(o.Governance, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	hooks := newCallHooks(o.Logger, hidden)
	hooks.gv = gv
	s := mcpserver.NewMCPServer(Name, o.Version,
		mcpserver.WithToolCapabilities(false),
		mcpserver.WithRecovery(),
		mcpserver.WithToolHandlerMiddleware(unstash(itemsFields(), o.Logger)),
		mcpserver.WithToolHandlerMiddleware(paced),
		mcpserver.WithToolHandlerMiddleware(checks.middleware(gv)),
		mcpserver.WithToolHandlerMiddleware(gv.middleware),
		mcpserver.WithToolHandlerMiddleware(panicToResult(o.Logger)),
		mcpserver.WithToolHandlerMiddleware(withJournal(o.Journal)),
		mcpserver.WithOutputSchemaValidation(),
		mcpserver.WithInstructions(Instructions(sets, o.ReadOnly, o.Emulator)),
		mcpserver.WithHooks(hooks.hooks()),
	)
	s.AddTools(offered...)
	s.AddTools(refused...)
	for _, t := range offered {
		gv.handlers[t.Tool.Name] = t
	}
	gv.checks = checks
	gv.srv = s
	if gv.enabled() {
		s.AddTool(gv.runApprovedTool().Tool, gv.runApproved)
	}
	return s, nil
}

// refusedTool stands in for a tool the server does not offer: any
// arguments pass its input schema, and its handler answers the refusal.
func refusedTool(d tools.Def, why tools.Availability) mcpserver.ServerTool {
	t := mcp.NewToolWithRawSchema(d.Name, d.Description, json.RawMessage(`{"type":"object"}`))
	return mcpserver.ServerTool{Tool: t, Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return tools.Refusal(d, why), nil
	}}
}

// Instructions orient an agent in a few lines (see tools.Instructions).
func Instructions(toolsets []string, readOnly, emulator bool) string {
	return tools.Instructions(toolsets, readOnly, emulator)
}

// withJournal hands the import journal store to the tool handlers.
func withJournal(j *journal.Store) mcpserver.ToolHandlerMiddleware {
	if j == nil {
		j = journal.NewMemory("")
	}
	return func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return next(journal.WithStore(ctx, j), req)
		}
	}
}

// paced lets a call's progress notifications reach the client ahead of
// its result (notify.ResultGap).
func paced(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx, wait := notify.Paced(ctx)
		res, err := next(ctx, req)
		wait()
		return res, err
	}
}

// argsChecks holds each offered tool's arguments check (tools.Def.ArgsCheck).
type argsChecks map[string]func(args any) (any, *mcp.CallToolResult)

// middleware checks a call's arguments before the governor runs it, so
// approvals are asked and calls run only for arguments that can run; the
// governor still audits the refused call, and answers its own refusal
// instead when the caller may not call the tool at all. It takes the place
// of mcp-go's input schema validation, which checks only the looser
// published schema and would encode and decode a bulk call's every item
// once more (the tools check each item on their own).
func (c argsChecks) middleware(gv *governor) mcpserver.ToolHandlerMiddleware {
	return func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			check := c[req.Params.Name]
			if check == nil {
				return next(ctx, req)
			}
			args, bad := check(req.Params.Arguments)
			if bad != nil {
				gv.invalidInput(ctx, &req, bad, tools.CodeInvalidArgument)
				return bad, nil
			}
			req.Params.Arguments = args
			return next(ctx, req)
		}
	}
}

// panicToResult turns a panic in a handler into an isError result, so the
// client sees a plain message rather than the panic text, and logs it.
func panicToResult(log zerolog.Logger) mcpserver.ToolHandlerMiddleware {
	return func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
			defer func() {
				if r := recover(); r != nil {
					log.Error().Str("tool", req.Params.Name).Msg("tool handler panicked")
					res = mcp.NewToolResultError(tools.PanicText())
					err = nil
				}
			}()
			return next(ctx, req)
		}
	}
}
