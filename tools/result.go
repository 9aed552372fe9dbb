package tools

import (
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"
)

// MaxAnswerBytes bounds the text of one answer. A list past it answers a
// page that fits and says how to go on (paging.note).
const MaxAnswerBytes = 25_000

// structured returns a result whose structuredContent is v and whose text
// content is v as compact JSON, for clients that read only text.
func structured(v any) *mcp.CallToolResult {
	raw, err := json.Marshal(v)
	if err != nil {
		return failure(CodeInternal, "the server could not encode the result", "retry the call; if it fails again, report a bug in bill-mcp")
	}
	return mcp.NewToolResultStructured(v, string(raw))
}

// decodeArgs decodes the call's arguments into T. The server validated them
// against the input schema already; this only maps JSON onto the struct.
func decodeArgs[T any](req mcp.CallToolRequest) (T, *mcp.CallToolResult) {
	var v T
	raw, err := json.Marshal(req.Params.Arguments)
	if err != nil {
		return v, badArgument("the arguments are not a JSON object", "send the arguments as a JSON object matching the tool's input schema")
	}
	if string(raw) == "null" {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, badArgument("the arguments do not match the tool's input schema", "send the arguments as the tool's input schema describes them")
	}
	return v, nil
}
