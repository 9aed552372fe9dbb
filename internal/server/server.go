// Package server builds bill-mcp's MCP server from options (tools, read-only
// mode, instructions, audit logging) and serves it over stdio, SSE or
// streamable HTTP. It is glue between cmd/bill-mcp and the tools package.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/index"
	"github.com/bill-mcp/bill-mcp/internal/journal"
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

// New builds the MCP server: tools of the chosen toolsets, input and output
// schema validation, panic recovery, instructions, and the tool-call hooks
// (one log line per call, read-only refusal, readable validation errors).
func New(o Options) (*mcpserver.MCPServer, error) {
	sets := o.Toolsets
	if sets == nil {
		sets = tools.ToolsetNames()
	}
	selected, err := tools.Select(o.Client, o.Index, sets, o.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("select tools: %w", err)
	}
	var refused []string
	if o.ReadOnly {
		refused = tools.WriteToolNames()
	}
	schemas := make(map[string]json.RawMessage, len(selected))
	for _, t := range selected {
		schemas[t.Tool.Name] = t.Tool.RawInputSchema
	}
	gv, err := newGovernor(o.Governance, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	hooks := newCallHooks(o.Logger, refused, newArgExplainer(schemas))
	hooks.gv = gv
	s := mcpserver.NewMCPServer(Name, o.Version,
		mcpserver.WithToolCapabilities(false),
		mcpserver.WithRecovery(),
		mcpserver.WithToolHandlerMiddleware(gv.middleware),
		mcpserver.WithToolHandlerMiddleware(panicToResult(o.Logger)),
		mcpserver.WithToolHandlerMiddleware(withJournal(o.Journal)),
		mcpserver.WithInputSchemaValidation(),
		mcpserver.WithOutputSchemaValidation(),
		mcpserver.WithInstructions(Instructions(sets, o.ReadOnly, o.Emulator)),
		mcpserver.WithHooks(hooks.hooks()),
	)
	s.AddTools(selected...)
	for _, t := range selected {
		gv.handlers[t.Tool.Name] = t
	}
	gv.srv = s
	if gv.enabled() {
		s.AddTool(gv.runApprovedTool().Tool, gv.runApproved)
	}
	return s, nil
}

// Instructions orients an agent in a few lines: which tool for what, how
// ids look, that delete is soft, and whether this is the emulator.
func Instructions(toolsets []string, readOnly, emulator bool) string {
	var b strings.Builder
	if emulator {
		b.WriteString("NOTE: this server runs against the local bill-mcp emulator, not BILL. Nothing here reaches a real BILL account, and the data is gone when the server stops.\n")
	}
	b.WriteString("bill-mcp manages BILL accounts-receivable customer records.\n")
	if slices.Contains(toolsets, tools.ToolsetCustomers) {
		b.WriteString("- Customers: list_customers (nameContains finds by name) or get_customer to look up; create_customer, update_customer.\n")
	}
	if slices.Contains(toolsets, tools.ToolsetContacts) {
		b.WriteString("- People at a customer: *_customer_contact tools; list_customer_contacts with customerId shows a customer's contacts.\n")
	}
	if slices.Contains(toolsets, tools.ToolsetBankAccounts) {
		b.WriteString("- Bank accounts: *_customer_bank_account tools; one active account per customer; numbers are always masked.\n")
	}
	b.WriteString("- Ids are 20 characters: customers 0cu..., contacts cpu..., bank accounts cba.... Take them from create_* or list_* answers; never invent one.\n")
	if readOnly {
		b.WriteString("- This server is read-only: only get_* and list_* tools are available.\n")
	} else {
		b.WriteString("- delete_* is soft (isActive becomes 2) and undelete_* restores; a deleted customer still holds its name.\n")
		b.WriteString("- For more than 5 items use the bulk_* tools: any number of items, one result per item.\n")
	}
	b.WriteString("- A failed call answers CODE: message. Next: what to do. Follow the Next step.")
	return b.String()
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

// panicToResult turns a panic in a handler into an isError result, so the
// client sees a plain message rather than the panic text, and logs it.
func panicToResult(log zerolog.Logger) mcpserver.ToolHandlerMiddleware {
	return func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
			defer func() {
				if r := recover(); r != nil {
					log.Error().Str("tool", req.Params.Name).Msg("tool handler panicked")
					res = mcp.NewToolResultError(tools.CodeInternal + ": the server failed while handling this call. Next: check with a get_* or list_* tool whether anything changed, then tell the user to look at the bill-mcp log.")
					err = nil
				}
			}()
			return next(ctx, req)
		}
	}
}
