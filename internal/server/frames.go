package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"

	"github.com/bill-mcp/bill-mcp/internal/rawitems"
	"github.com/bill-mcp/bill-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"
)

// itemsFields maps each bulk tool to the argument that holds its items.
func itemsFields() func(tool string) string {
	fields := map[string]string{}
	for _, d := range tools.Inventory() {
		if d.ItemsField != "" {
			fields[d.Name] = d.ItemsField
		}
	}
	return func(tool string) string { return fields[tool] }
}

// frameReader hands mcp-go's stdio server the lines of in, a large bulk
// call's items marked as one string on the way (rawitems.Rewrite), so
// mcp-go never builds a map for each of 100,000 items.
type frameReader struct {
	in      *bufio.Reader
	field   func(tool string) string
	stash   *rawitems.Stash // the session's: one client on stdio
	pending []byte
	err     error
}

func newFrameReader(in io.Reader, st *rawitems.Stash) *frameReader {
	return &frameReader{in: bufio.NewReaderSize(in, 64<<10), field: itemsFields(), stash: st}
}

// Read returns the next bytes of the rewritten stream. A line is read whole
// before any of it is returned; mcp-go reads line by line anyway.
func (f *frameReader) Read(p []byte) (int, error) {
	for len(f.pending) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		line, err := f.in.ReadBytes('\n')
		f.err = err
		if len(line) > 0 {
			f.pending = rewriteLine(line, f.field, f.stash)
		}
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	if len(f.pending) == 0 {
		f.pending = nil // let a large frame go once mcp-go has it
	}
	return n, nil
}

// rewriteLine rewrites one stdio frame, keeping its line end.
func rewriteLine(line []byte, field func(string) string, st *rawitems.Stash) []byte {
	body := bytes.TrimRight(line, "\r\n")
	out := rawitems.Rewrite(body, field, st)
	if len(out) == len(body) {
		return line
	}
	return append(out, '\n')
}

// rewriteBodies does for each POSTed JSON-RPC frame of the streamable HTTP
// transport what frameReader does for stdio, with a stash of the request's
// own: no other request can take its items. The body is already bounded by
// httpguard's MaxBody.
func rewriteBodies(next http.Handler) http.Handler {
	field := itemsFields()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.ContentLength >= 0 && r.ContentLength < rawitems.MinFrame {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "could not read the request body", http.StatusBadRequest)
			return
		}
		st := rawitems.NewStash()
		out := rawitems.Rewrite(body, field, st)
		r.Body = io.NopCloser(bytes.NewReader(out))
		r.ContentLength = int64(len(out))
		next.ServeHTTP(w, r.WithContext(rawitems.WithStash(r.Context(), st)))
	})
}

// unstash trades a stashed items reference back for the items (see
// rawitems.Rewrite) before any other middleware reads the arguments, and
// says so at debug level.
func unstash(field func(tool string) string, logger zerolog.Logger) mcpserver.ToolHandlerMiddleware {
	return func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			f := field(req.Params.Name)
			args, isMap := req.Params.Arguments.(map[string]any)
			if f != "" && isMap {
				if marked, ok := rawitems.StashFrom(ctx).Take(args[f]); ok {
					args = maps.Clone(args)
					args[f] = marked
					req.Params.Arguments = args
					logger.Debug().Str("tool", req.Params.Name).Int("items_bytes", len(marked)).
						Msg("a large call's items bypassed mcp-go's decoding")
				}
			}
			return next(ctx, req)
		}
	}
}
