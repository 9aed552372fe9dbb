package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/tools"
)

// Outcomes of a tool call, as the log line names them.
const (
	OutcomeOK           = "ok"
	OutcomeError        = "error"
	OutcomeInvalidInput = "invalid_input"
	OutcomeRefused      = "refused"
)

// ErrReadOnly is the error a read-only server answers to a write tool.
var ErrReadOnly = errors.New("server is read-only")

// callHooks logs one line per tool call and enforces read-only mode. It
// uses mcp-go's hooks rather than middleware because calls that fail input
// validation never reach middleware. It logs no argument values.
type callHooks struct {
	log     zerolog.Logger
	refused []string // write tools a read-only server refuses by name
	explain *argExplainer
	gv      *governor // policy and audit; set by New

	mu     sync.Mutex
	starts map[string]time.Time // by session and request id
}

func newCallHooks(log zerolog.Logger, refused []string, explain *argExplainer) *callHooks {
	return &callHooks{log: log, refused: refused, explain: explain, starts: map[string]time.Time{}}
}

func (h *callHooks) hooks() *mcpserver.Hooks {
	hk := &mcpserver.Hooks{}
	hk.AddOnRequestInitialization(h.refuseWrites)
	hk.AddBeforeCallTool(h.before)
	hk.AddAfterCallTool(h.after)
	hk.AddOnError(h.onError)
	hk.AddAfterListTools(func(ctx context.Context, id any, req *mcp.ListToolsRequest, res *mcp.ListToolsResult) {
		if h.gv != nil {
			h.gv.filterList(ctx, id, req, res)
		}
	})
	return hk
}

func callKey(ctx context.Context, id any) string {
	sid := ""
	if s := mcpserver.ClientSessionFromContext(ctx); s != nil {
		sid = s.SessionID()
	}
	return sid + "\x00" + fmt.Sprint(id)
}

func (h *callHooks) before(ctx context.Context, id any, _ *mcp.CallToolRequest) {
	h.mu.Lock()
	h.starts[callKey(ctx, id)] = time.Now()
	h.mu.Unlock()
}

func (h *callHooks) elapsed(ctx context.Context, id any) time.Duration {
	k := callKey(ctx, id)
	h.mu.Lock()
	start, ok := h.starts[k]
	delete(h.starts, k)
	h.mu.Unlock()
	if !ok {
		return 0
	}
	return time.Since(start)
}

func (h *callHooks) after(ctx context.Context, id any, req *mcp.CallToolRequest, result any) {
	d := h.elapsed(ctx, id)
	outcome, code := OutcomeOK, ""
	if res, ok := result.(*mcp.CallToolResult); ok && res.IsError {
		validation := strings.HasPrefix(firstText(res), inputValidationPrefix)
		outcome, code = h.classify(req, res)
		if validation && h.gv != nil {
			h.gv.invalidInput(ctx, req, res, code)
			if leadingCode(firstText(res)) == CodePermissionDenied {
				outcome, code = OutcomeRefused, CodePermissionDenied
			}
		}
	}
	h.line(req.Params.Name, d, outcome, code)
}

func (h *callHooks) onError(ctx context.Context, id any, method mcp.MCPMethod, message any, _ error) {
	if method != mcp.MethodToolsCall {
		return
	}
	name := ""
	if req, ok := message.(*mcp.CallToolRequest); ok {
		name = req.Params.Name
	}
	h.line(name, h.elapsed(ctx, id), OutcomeError, "JSONRPC")
	if h.gv != nil {
		h.gv.protocolError(ctx, name, "no such tool", "JSONRPC")
	}
}

func (h *callHooks) line(tool string, d time.Duration, outcome, code string) {
	var ev *zerolog.Event
	if outcome == OutcomeOK {
		ev = h.log.Info()
	} else {
		ev = h.log.Warn()
	}
	ev = ev.Str("tool", tool).
		Float64("duration_ms", float64(d.Microseconds())/1000).
		Str("outcome", outcome)
	if code != "" {
		ev = ev.Str("bill_code", code)
	}
	ev.Msg("tool call")
}

// refuseWrites answers a tools/call of a write tool on a read-only server
// with an error that says why, before anything else looks at the call.
func (h *callHooks) refuseWrites(ctx context.Context, _ any, message any) error {
	if len(h.refused) == 0 {
		return nil
	}
	raw, ok := message.(json.RawMessage)
	if !ok {
		return nil
	}
	var m struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if json.Unmarshal(raw, &m) != nil || m.Method != string(mcp.MethodToolsCall) {
		return nil
	}
	if !slices.Contains(h.refused, m.Params.Name) {
		return nil
	}
	h.line(m.Params.Name, 0, OutcomeRefused, tools.CodeReadOnly)
	if h.gv != nil {
		h.gv.protocolError(ctx, m.Params.Name, "read-only server", tools.CodeReadOnly)
	}
	return fmt.Errorf("%s: %w (started with --read-only): %s changes data and is not available. Use the get_* and list_* tools, or ask the user to restart bill-mcp without --read-only",
		tools.CodeReadOnly, ErrReadOnly, m.Params.Name)
}

const (
	inputValidationPrefix  = "input schema validation failed"
	outputValidationPrefix = "output schema validation failed"
)

// leadingCode returns the CODE of a "CODE: message" text, or "".
func leadingCode(text string) string {
	code, _, ok := strings.Cut(text, ": ")
	if !ok || code == "" || code[0] < 'A' || code[0] > 'Z' {
		return ""
	}
	for _, r := range code {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
			return ""
		}
	}
	return code
}

// classify names the outcome and code of an isError result. Validation
// failures come from mcp-go in its own words; classify rewrites them in
// place into the server's CODE: message. Next: form.
func (h *callHooks) classify(req *mcp.CallToolRequest, res *mcp.CallToolResult) (outcome, code string) {
	tool := req.Params.Name
	text := firstText(res)
	switch {
	case strings.HasPrefix(text, inputValidationPrefix):
		detail, ok := h.explain.explain(tool, req.Params.Arguments)
		if !ok {
			detail = strings.TrimPrefix(strings.TrimPrefix(text, inputValidationPrefix), ": ")
		}
		setText(res, tools.CodeInvalidArgument+": the arguments do not match the input schema, so nothing was sent to BILL: "+detail+". Next: "+validationHint(detail))
		return OutcomeInvalidInput, tools.CodeInvalidArgument
	case strings.HasPrefix(text, outputValidationPrefix):
		setText(res, tools.CodeInternal+": BILL answered but the server could not present the answer in its declared shape. Next: the call may have taken effect; check with a get_* or list_* tool before calling "+tool+" again, and tell the user to report this bill-mcp bug.")
		return OutcomeError, tools.CodeInternal
	}
	if code := leadingCode(text); code != "" {
		if code == tools.CodeInvalidArgument {
			return OutcomeInvalidInput, code
		}
		return OutcomeError, code
	}
	return OutcomeError, ""
}

// validationHint says how to fix the most common schema failures.
func validationHint(detail string) string {
	for _, f := range []struct{ field, hint string }{
		{"/customerIds", "every customerIds entry is 0cu followed by 17 letters or digits; use list_customers to find them."},
		{"/contactIds", "every contactIds entry is cpu followed by 17 letters or digits; use list_customer_contacts to find them."},
		{"/customerId:", "customerId is 0cu followed by 17 letters or digits; use list_customers to find it."},
		{"/contactId:", "contactId is cpu followed by 17 letters or digits; use list_customer_contacts to find it."},
		{"/bankAccountId:", "bankAccountId is cba followed by 17 letters or digits; use list_customer_bank_accounts to find it."},
		{"/agreedWithTOS", "agreedWithTOS must be true, and only after the user confirms the customer agreed to BILL's Payment Terms of Service."},
	} {
		if strings.Contains(detail, f.field) {
			return f.hint
		}
	}
	return "correct the arguments named above to match the tool's input schema (required fields, formats, allowed values) and call again."
}

func firstText(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := mcp.AsTextContent(c); ok {
			return t.Text
		}
	}
	return ""
}

func setText(res *mcp.CallToolResult, text string) {
	res.Content = []mcp.Content{mcp.NewTextContent(text)}
}
