package server

import (
	"context"
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

// callHooks logs one line per tool call, hides the tools the server
// registered only to refuse them, and rewords mcp-go's output validation
// failures. It uses mcp-go's hooks rather than middleware because a call
// mcp-go fails itself (an unknown tool, an answer that breaks its output
// schema) reaches no middleware. It logs no argument values.
type callHooks struct {
	log    zerolog.Logger
	hidden map[string]bool // tools registered only to answer a refusal
	gv     *governor       // policy and audit; set by New

	mu     sync.Mutex
	starts map[string]time.Time // by session and request id
}

func newCallHooks(log zerolog.Logger, hidden map[string]bool) *callHooks {
	return &callHooks{log: log, hidden: hidden, starts: map[string]time.Time{}}
}

func (h *callHooks) hooks() *mcpserver.Hooks {
	hk := &mcpserver.Hooks{}
	hk.AddAfterListTools(h.hide)
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

// hide removes from a tools/list answer the tools registered only to be
// refused. mcp-go v1.2.1 enforces a WithToolFilter at call time too, which
// would turn the refusal back into a JSON-RPC "tool not found"; its
// AfterListTools hook gets the answer by pointer, before it is sent.
func (h *callHooks) hide(_ context.Context, _ any, _ *mcp.ListToolsRequest, res *mcp.ListToolsResult) {
	if res == nil || len(h.hidden) == 0 {
		return
	}
	res.Tools = slices.DeleteFunc(res.Tools, func(t mcp.Tool) bool { return h.hidden[t.Name] })
}

// before notes the start of a call. (Arguments are coerced and checked by
// the first middleware, argsChecks.)
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
		outcome, code = h.classify(req, res)
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

// outputValidationPrefix starts mcp-go's text for an answer that breaks
// the tool's output schema.
const outputValidationPrefix = "output schema validation failed"

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

// classify names the outcome and code of an isError result. An output
// validation failure comes from mcp-go in its own words; classify rewrites
// it in place into the server's CODE: message. Next: form.
func (h *callHooks) classify(req *mcp.CallToolRequest, res *mcp.CallToolResult) (outcome, code string) {
	text := firstText(res)
	if strings.HasPrefix(text, outputValidationPrefix) {
		setText(res, tools.InvalidOutputText(req.Params.Name))
		return OutcomeError, tools.CodeInternal
	}
	switch code := leadingCode(text); code {
	case "":
	case tools.CodeInvalidArgument:
		return OutcomeInvalidInput, code
	case tools.CodeReadOnly, tools.CodeToolsetOff:
		return OutcomeRefused, code
	default:
		return OutcomeError, code
	}
	return OutcomeError, ""
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
