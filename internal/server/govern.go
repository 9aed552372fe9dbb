package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/internal/approval"
	"github.com/bill-mcp/bill-mcp/internal/audit"
	"github.com/bill-mcp/bill-mcp/internal/policy"
	"github.com/bill-mcp/bill-mcp/tools"
)

// Error codes of policy refusals and approvals.
const (
	CodePermissionDenied = "PERMISSION_DENIED"
	CodeApprovalRequired = "APPROVAL_REQUIRED"
	CodeApprovalRefused  = "APPROVAL_REFUSED"
)

// ToolRunApproved is the tool an agent runs an approved call with.
const ToolRunApproved = "run_approved_call"

// Confirmation channels of --confirm-via.
const (
	ConfirmViaTerminal    = "terminal"
	ConfirmViaElicitation = "elicitation"
)

// Governance is who may call what, the audit trail and approvals. A zero
// Governance (or none) is the owner alone, with no trail.
type Governance struct {
	// Agents knows the agents; nil means only the owner exists.
	Agents *policy.Directory
	// Agent is the agent every stdio call is made as; "" is the owner. HTTP
	// calls carry their identity in the request context (see httpauth).
	Agent string
	// Transport is stdio, sse or http.
	Transport string
	// Audit receives one record per call; nil keeps no trail.
	Audit *audit.Log
	// Approvals keeps calls that wait for a person; nil refuses them.
	Approvals *approval.Store
	// ApprovalTTL is how long an approval code lives (approval.DefaultTTL if 0).
	ApprovalTTL time.Duration
	// ConfirmVia is terminal (default) or elicitation.
	ConfirmVia string
}

// governor applies a Governance to one MCP server.
type governor struct {
	g        Governance
	catalog  policy.Catalog
	handlers map[string]mcpserver.ServerTool // bare: their arguments are checked by checks
	checks   argsChecks
	srv      *mcpserver.MCPServer
	log      zerolog.Logger
	now      func() time.Time
}

func newGovernor(g *Governance, log zerolog.Logger) (*governor, error) {
	if g == nil {
		g = &Governance{}
	}
	cat, err := policy.NewCatalog()
	if err != nil {
		return nil, err
	}
	return &governor{g: *g, catalog: cat, handlers: map[string]mcpserver.ServerTool{}, log: log, now: time.Now}, nil
}

// enabled reports whether agents exist at all (run_approved_call is registered).
func (gv *governor) enabled() bool { return gv.g.Agents != nil }

// caller is who makes this call. ok is false when an HTTP request arrived
// without an identity (it should not happen: then nothing is allowed).
func (gv *governor) caller(ctx context.Context) (policy.Identity, bool) {
	if id, ok := policy.IdentityFrom(ctx); ok {
		return id, true
	}
	if gv.g.Transport == "" || gv.g.Transport == TransportStdio {
		return policy.Identity{Agent: gv.g.Agent, Transport: TransportStdio}, true
	}
	return policy.Identity{Transport: gv.g.Transport}, false
}

// decide applies policy to a call of tool by the caller.
func (gv *governor) decide(ctx context.Context, tool string, args map[string]any) (policy.Identity, policy.Decision, *policy.Agent) {
	id, ok := gv.caller(ctx)
	if !ok {
		return id, policy.Decision{Rule: "no identity", Reason: "the request carried no identity", Fix: "connect with a bearer token"}, nil
	}
	if id.Owner() {
		return id, policy.Owner(), nil
	}
	if gv.g.Agents == nil {
		return id, policy.Decision{Rule: "no agents", Reason: "agent " + id.Agent + " is unknown", Fix: "tell the user"}, nil
	}
	a, err := gv.g.Agents.Agent(ctx, id.Agent)
	if err != nil {
		why, rule := fmt.Sprintf("agent %s cannot be checked now", id.Agent), "vault unreadable"
		if errors.Is(err, policy.ErrUnknownAgent) {
			why, rule = fmt.Sprintf("agent %s no longer exists (it was removed)", id.Agent), "agent removed"
		} else {
			gv.log.Error().Err(err).Msg("read agents")
		}
		return id, policy.Decision{Rule: rule, Reason: why, Fix: "do not retry; tell the user"}, nil
	}
	if tool == ToolRunApproved {
		if !a.Enabled {
			return id, policy.Decide(a, policy.Op{Tool: tool}), &a
		}
		return id, policy.Decision{Allowed: true, Rule: "approval"}, &a
	}
	ops, ok := gv.catalog.Ops(tool, args)
	if !ok {
		return id, policy.Decision{Rule: "unknown tool", Reason: fmt.Sprintf("agent %s may not call %s", a.Name, tool), Fix: "use only the tools tools/list shows"}, &a
	}
	return id, policy.DecideAll(a, ops), &a
}

func refusal(d policy.Decision) *mcp.CallToolResult {
	return mcp.NewToolResultError(CodePermissionDenied + ": " + d.Reason + ". Nothing was sent to BILL. Next: " + d.Fix + ".")
}

// baseRecord starts the audit record of a call.
func (gv *governor) baseRecord(ctx context.Context, id policy.Identity, req mcp.CallToolRequest, start time.Time) audit.Record {
	r := audit.Record{Time: start, Agent: id.Who(), Transport: id.Transport, Remote: id.Remote, Tool: req.Params.Name}
	if s := mcpserver.ClientSessionFromContext(ctx); s != nil {
		if ci, ok := s.(mcpserver.SessionWithClientInfo); ok {
			if info := ci.GetClientInfo(); info.Name != "" {
				r.Client = strings.TrimSuffix(info.Name+"/"+info.Version, "/")
			}
		}
	}
	if args, ok := req.Params.Arguments.(map[string]any); ok {
		r.Args = audit.SummarizeArgs(args)
	}
	return r
}

// record fills the outcome of res and appends r. Failing to write the trail
// is logged; the call's answer stands.
func (gv *governor) record(r audit.Record, req mcp.CallToolRequest, res *mcp.CallToolResult) {
	if gv.g.Audit == nil {
		return
	}
	args, _ := req.Params.Arguments.(map[string]any)
	var sc any
	if res != nil && !res.IsError {
		sc = structuredMap(res.StructuredContent)
	}
	if len(r.Records) == 0 {
		refs, n := audit.Touched(args, sc)
		r.Records = refs
		if n > len(refs) || strings.HasPrefix(r.Tool, "bulk_") {
			r.Count = n
		}
	}
	if r.Outcome == "" {
		r.Outcome = audit.OK
		if res == nil || res.IsError {
			r.Outcome = audit.Failed
			if res != nil {
				r.Code = leadingCode(firstText(res))
			}
		}
	}
	r.DurationMS = float64(gv.now().Sub(r.Time).Microseconds()) / 1000
	if err := gv.g.Audit.Append(r); err != nil {
		gv.log.Error().Err(err).Str("tool", r.Tool).Msg("audit trail: record not written")
	}
}

func structuredMap(v any) any {
	if v == nil {
		return nil
	}
	if m, ok := v.(map[string]any); ok {
		return m
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// middleware decides every call that passed input validation.
func (gv *governor) middleware(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		start := gv.now()
		if req.Params.Name == ToolRunApproved {
			return next(ctx, req)
		}
		args, _ := req.Params.Arguments.(map[string]any)
		id, d, agent := gv.decide(ctx, req.Params.Name, args)
		rec := gv.baseRecord(ctx, id, req, start)
		rec.Rule = d.Rule
		if !d.Allowed {
			res := refusal(d)
			rec.Decision, rec.Outcome, rec.Code = audit.Refused, audit.NotRun, CodePermissionDenied
			gv.record(rec, req, res)
			return res, nil
		}
		rec.Decision = audit.Allowed
		if d.NeedsApproval {
			res, approved := gv.approve(ctx, agent, req, &rec)
			if !approved {
				gv.record(rec, req, res)
				return res, nil
			}
		}
		res, err := next(ctx, req)
		if err != nil {
			rec.Outcome, rec.Code = audit.Failed, tools.CodeInternal
		}
		gv.record(rec, req, res)
		return res, err
	}
}

// summary says in plain words what a held call would do. It names fields,
// ids and names, never values such as an account number.
func summary(agent, tool string, args map[string]any) string {
	refs, n := audit.Touched(args, nil)
	r := audit.Record{Tool: tool, Records: refs, Count: n}
	s := fmt.Sprintf("agent %s wants to %s", agent, r.Action())
	if t := r.RefsText(); t != "" {
		s += " " + t
	}
	if acct, ok := args["accountNumber"].(string); ok && len(acct) >= 4 {
		s += ", account ending " + acct[len(acct)-4:]
	}
	if f := audit.SummarizeArgs(args); f != "" {
		s += " (fields: " + f + ")"
	}
	return s
}

// approve holds a call for a person. With --confirm-via elicitation it asks
// the client first (approved reports the answer); otherwise, or when the
// client cannot be asked, it stores the call and answers APPROVAL_REQUIRED.
func (gv *governor) approve(ctx context.Context, agent *policy.Agent, req mcp.CallToolRequest, rec *audit.Record) (*mcp.CallToolResult, bool) {
	args, _ := req.Params.Arguments.(map[string]any)
	what := summary(agent.Name, req.Params.Name, args)
	if gv.g.ConfirmVia == ConfirmViaElicitation && gv.srv != nil {
		res, err := gv.srv.RequestElicitation(ctx, mcp.ElicitationRequest{Params: mcp.ElicitationParams{
			Message:         "Approve this call? " + what,
			RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{}},
		}})
		if err == nil {
			if res.Action == mcp.ElicitationResponseActionAccept {
				rec.Decision, rec.Rule = audit.Approved, rec.Rule+", via elicitation"
				return nil, true
			}
			rec.Decision, rec.Rule, rec.Outcome, rec.Code = audit.Refused, rec.Rule+", declined via elicitation", audit.NotRun, CodeApprovalRefused
			return mcp.NewToolResultError(CodeApprovalRefused + ": the user declined: " + what + ". Nothing was sent to BILL. Next: do not retry unless the user asks."), false
		}
		gv.log.Info().Err(err).Msg("elicitation unavailable; falling back to a terminal approval code")
	}
	rec.Decision, rec.Outcome = audit.ApprovalRequired, audit.Pending
	if gv.g.Approvals == nil {
		rec.Code = CodeApprovalRequired
		return mcp.NewToolResultError(CodeApprovalRequired + ": " + what + " needs a person's approval, and this server keeps no approvals. Nothing was sent to BILL. Next: tell the user."), false
	}
	raw, err := json.Marshal(req.Params.Arguments)
	if err != nil {
		raw = []byte("{}")
	}
	ttl := gv.g.ApprovalTTL
	if ttl <= 0 {
		ttl = approval.DefaultTTL
	}
	call, err := gv.g.Approvals.Create(ctx, agent.Name, req.Params.Name, raw, what, rec.Rule, ttl)
	clear(raw)
	if err != nil {
		gv.log.Error().Err(err).Msg("store approval")
		rec.Outcome, rec.Code = audit.Failed, tools.CodeInternal
		return mcp.NewToolResultError(tools.CodeInternal + ": the call needs approval but could not be stored. Nothing was sent to BILL. Next: tell the user to check the bill-mcp log."), false
	}
	rec.Approval = call.Code
	mins := int(ttl.Round(time.Minute).Minutes())
	return mcp.NewToolResultError(fmt.Sprintf("%s: %s. This needs a person's approval; nothing was sent to BILL. Approval code: %s (expires in %d min). Next: ask the user to run `bill-mcp approve %s` in a terminal; once they approve, call %s with approvalCode %s.",
		CodeApprovalRequired, what, call.Code, max(mins, 1), call.Code, ToolRunApproved, call.Code)), false
}

// runApprovedTool is run_approved_call: it runs a stored, approved call once.
func (gv *governor) runApprovedTool() mcpserver.ServerTool {
	schema := []byte(`{"type":"object","properties":{"approvalCode":{"type":"string","maxLength":16,"description":"The approval code an APPROVAL_REQUIRED answer gave, e.g. K7QD-M2XP, once the user has approved it with bill-mcp approve."}},"required":["approvalCode"]}`)
	t := mcp.NewToolWithRawSchema(ToolRunApproved, "Run a call the user approved: exactly the call that answered APPROVAL_REQUIRED, once. Only after the user says they ran `bill-mcp approve CODE`.", schema)
	t.Annotations = mcp.ToolAnnotation{
		Title:           "Run an approved call",
		ReadOnlyHint:    mcp.ToBoolPtr(false),
		DestructiveHint: mcp.ToBoolPtr(true),
		IdempotentHint:  mcp.ToBoolPtr(false),
		OpenWorldHint:   mcp.ToBoolPtr(true),
	}
	t.Title = "Run an approved call"
	return mcpserver.ServerTool{Tool: t, Handler: gv.runApproved}
}

func (gv *governor) runApproved(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	start := gv.now()
	id, d, _ := gv.decide(ctx, ToolRunApproved, nil)
	rec := gv.baseRecord(ctx, id, req, start)
	code, _ := req.GetArguments()["approvalCode"].(string)
	rec.Rule, rec.Approval = d.Rule, approval.Normalize(code)
	refuse := func(res *mcp.CallToolResult, rule string) (*mcp.CallToolResult, error) {
		rec.Decision, rec.Outcome, rec.Rule = audit.Refused, audit.NotRun, rule
		rec.Code = leadingCode(firstText(res))
		gv.record(rec, req, res)
		return res, nil
	}
	if !d.Allowed {
		return refuse(refusal(d), d.Rule)
	}
	if id.Owner() || gv.g.Approvals == nil {
		return refuse(mcp.NewToolResultError(CodeApprovalRefused+": only an agent whose calls need approval runs approved calls. Next: call the tool directly."), "owner")
	}
	// Before the code is spent: this server must serve the stored tool, and
	// the agent must still hold the grants (they may have changed since).
	if peek, err := gv.g.Approvals.Get(code); err == nil && peek.Agent == id.Agent {
		var args map[string]any
		_ = json.Unmarshal(peek.Args, &args)
		if _, ok := gv.handlers[peek.Tool]; !ok {
			return refuse(mcp.NewToolResultError(CodeApprovalRefused+": "+peek.Tool+" is not served by this server (read-only, or other toolsets), so code "+rec.Approval+" was not used. Next: run it on the server where it was asked for, or tell the user."), "tool not served")
		}
		if _, d2, _ := gv.decide(ctx, peek.Tool, args); !d2.Allowed {
			return refuse(refusal(d2), d2.Rule)
		}
	}
	call, err := gv.g.Approvals.Take(ctx, id.Agent, code)
	if err != nil {
		var why, next, rule string
		switch {
		case errors.Is(err, approval.ErrNotApproved):
			why, next, rule = "code "+rec.Approval+" is not approved yet", "ask the user to run `bill-mcp approve "+rec.Approval+"` in a terminal, then call again", "not approved"
		case errors.Is(err, approval.ErrUsed):
			why, next, rule = "code "+rec.Approval+" was already used; an approval runs its call once", "do not retry: the call already ran. Check the result with a get_* or list_* tool", "used"
		case errors.Is(err, approval.ErrExpired):
			why, next, rule = "code "+rec.Approval+" expired", "make the original call again to get a new code, and ask the user to approve it", "expired"
		case errors.Is(err, approval.ErrDenied):
			why, next, rule = "the user declined code "+rec.Approval, "do not retry unless the user asks", "denied"
		case errors.Is(err, approval.ErrOtherAgent):
			why, next, rule = "code "+rec.Approval+" was not issued to agent "+id.Agent, "use only codes your own calls received", "other agent"
		case errors.Is(err, approval.ErrUnknown):
			why, next, rule = "no call waits under that code", "use the code an APPROVAL_REQUIRED answer gave you", "unknown code"
		default:
			gv.log.Error().Err(err).Msg("take approval")
			why, next, rule = "the approval could not be read", "tell the user to check the bill-mcp log", "store error"
		}
		rec.Approval = ""
		if rule != "unknown code" && rule != "other agent" {
			rec.Approval = approval.Normalize(code)
		}
		return refuse(mcp.NewToolResultError(CodeApprovalRefused+": "+why+". Nothing was sent to BILL. Next: "+next+"."), rule)
	}
	// Grants may have changed since the call was held: check them again.
	stored := mcp.CallToolRequest{}
	stored.Params.Name = call.Tool
	var args map[string]any
	if err := json.Unmarshal(call.Args, &args); err != nil {
		args = map[string]any{}
	}
	stored.Params.Arguments = args
	rec.Tool = call.Tool
	if s := audit.SummarizeArgs(args); s != "" {
		rec.Args = s
	}
	_, d2, _ := gv.decide(ctx, call.Tool, args)
	if !d2.Allowed {
		return refuse(refusal(d2), d2.Rule)
	}
	h, ok := gv.handlers[call.Tool]
	if !ok {
		return refuse(mcp.NewToolResultError(CodeApprovalRefused+": "+call.Tool+" is not served by this server. Next: tell the user."), "tool not served")
	}
	rec.Decision, rec.Rule = audit.Approved, d2.Rule
	if check := gv.checks[call.Tool]; check != nil {
		args, bad := check(stored.Params.Arguments)
		if bad != nil {
			gv.record(rec, stored, bad)
			return bad, nil
		}
		stored.Params.Arguments = args
	}
	res, err := panicToResult(gv.log)(h.Handler)(ctx, stored)
	if err != nil {
		rec.Outcome, rec.Code = audit.Failed, tools.CodeInternal
	}
	gv.record(rec, stored, res)
	return res, err
}

// filterList keeps in a tools/list answer only what the caller may call.
func (gv *governor) filterList(ctx context.Context, _ any, _ *mcp.ListToolsRequest, res *mcp.ListToolsResult) {
	if res == nil {
		return
	}
	id, ok := gv.caller(ctx)
	keep := func(mcp.Tool) bool { return false }
	switch {
	case !ok:
	case id.Owner():
		keep = func(t mcp.Tool) bool { return t.Name != ToolRunApproved }
	case gv.g.Agents != nil:
		a, err := gv.g.Agents.Agent(ctx, id.Agent)
		if err != nil || !a.Enabled {
			break
		}
		needs := a.MayNeedApproval(gv.catalog)
		keep = func(t mcp.Tool) bool {
			if t.Name == ToolRunApproved {
				return needs
			}
			op, ok := gv.catalog[t.Name]
			return ok && policy.Decide(a, op).Allowed
		}
	}
	out := res.Tools[:0]
	for _, t := range res.Tools {
		if keep(t) {
			out = append(out, t)
		}
	}
	res.Tools = out
}

// invalidInput audits a call whose arguments the first middleware refused
// (argsChecks; the governor's own middleware never saw it) and, when the
// caller may not call the tool at all, answers the refusal instead of the
// schema complaint.
func (gv *governor) invalidInput(ctx context.Context, req *mcp.CallToolRequest, res *mcp.CallToolResult, code string) {
	start := gv.now()
	args, _ := req.Params.Arguments.(map[string]any)
	id, d, _ := gv.decide(ctx, req.Params.Name, args)
	rec := gv.baseRecord(ctx, id, *req, start)
	rec.Rule = d.Rule
	if !d.Allowed {
		*res = *refusal(d)
		rec.Decision, rec.Outcome, rec.Code = audit.Refused, audit.NotRun, CodePermissionDenied
	} else {
		rec.Decision, rec.Outcome, rec.Code = audit.Allowed, audit.Failed, code
	}
	gv.record(rec, *req, nil)
}

// protocolError audits a tools/call that failed before any tool ran
// (unknown tool, malformed request).
func (gv *governor) protocolError(ctx context.Context, tool, rule, code string) {
	id, _ := gv.caller(ctx)
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	rec := gv.baseRecord(ctx, id, req, gv.now())
	rec.Decision, rec.Rule, rec.Outcome, rec.Code = audit.Refused, rule, audit.NotRun, code
	gv.record(rec, req, nil)
}
