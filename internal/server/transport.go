package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/internal/httpauth"
	"github.com/bill-mcp/bill-mcp/internal/httpguard"
	"github.com/bill-mcp/bill-mcp/internal/notify"
	"github.com/bill-mcp/bill-mcp/internal/rawitems"
	"github.com/bill-mcp/bill-mcp/secret"
)

// Transports serve accepts.
const (
	TransportStdio = "stdio"
	TransportSSE   = "sse"
	TransportHTTP  = "http"
)

// DefaultAddr is where the HTTP transports listen unless told otherwise.
const DefaultAddr = "127.0.0.1:8808"

// Endpoint paths of the HTTP transports.
const (
	PathStreamable = "/mcp"
	PathSSE        = "/sse"
	PathMessage    = "/message"
)

// shutdownGrace bounds a graceful HTTP shutdown.
const shutdownGrace = 5 * time.Second

// ServeStdio speaks MCP over in and out until ctx ends or in closes. out
// carries MCP frames only; transport errors go to logger.
func ServeStdio(ctx context.Context, s *mcpserver.MCPServer, in io.Reader, out io.Writer, logger zerolog.Logger) error {
	stdio := mcpserver.NewStdioServer(s)
	stdio.SetErrorLogger(log.New(zerologWriter{logger}, "", 0))
	// Notifications go out on the handler's goroutine, ahead of its result.
	frames, withSender := notify.Stdio(out)
	st := rawitems.NewStash()
	stdio.SetContextFunc(func(ctx context.Context) context.Context { return rawitems.WithStash(withSender(ctx), st) })
	err := stdio.Listen(ctx, newFrameReader(in, st), frames)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("stdio transport: %w", err)
}

// HTTPOptions configure ServeHTTP.
type HTTPOptions struct {
	// Transport is TransportHTTP (streamable HTTP at /mcp) or TransportSSE (/sse and /message).
	Transport string
	// Addr is host:port to listen on; DefaultAddr when empty.
	Addr string
	// Token is the bearer token every request must carry.
	Token secret.Secret
	// Logger receives transport errors.
	Logger zerolog.Logger
	// Ready, if set, is called with the bound address once the listener is up.
	Ready func(addr net.Addr)
	// Agents, if set, lets agents in with their own bearer tokens.
	Agents httpauth.Agents
	// AllowedHosts are the names the Host header may carry;
	// httpguard.DefaultHosts(Addr) when empty.
	AllowedHosts []string
	// MaxBody bounds a request body; httpguard.DefaultMaxBody when 0.
	MaxBody int64
	// SessionTTL expires an idle streamable HTTP session; DefaultSessionTTL when 0.
	SessionTTL time.Duration
	// MaxSessions caps streamable HTTP sessions (and open SSE streams);
	// DefaultMaxSessions when 0.
	MaxSessions int
	// Stateless serves streamable HTTP without server-side MCP sessions, so
	// a load balancer may send any request to any replica. Progress still
	// reaches the asker: it travels on the stream of the request's own POST.
	Stateless bool
}

// HTTP server timeouts. Streams (SSE, a streamable HTTP GET) lift the read
// and write deadlines for themselves; every other request must be read
// within readTimeout and answered within writeTimeout (the longest bulk
// call fits).
const (
	readTimeout  = 2 * time.Minute
	writeTimeout = 15 * time.Minute
	idleTimeout  = 2 * time.Minute
)

// Handler returns the HTTP handler of a transport: mcp-go's streamable HTTP
// or SSE server behind the bearer token check and the Host, Origin and body
// guard, with the default limits.
func Handler(s *mcpserver.MCPServer, transport string, token secret.Secret) (http.Handler, func(context.Context) error, error) {
	return handler(s, HTTPOptions{Transport: transport, Token: token})
}

func handler(s *mcpserver.MCPServer, o HTTPOptions) (http.Handler, func(context.Context) error, error) {
	mux := http.NewServeMux()
	var shutdown func(context.Context) error
	maxSessions := o.MaxSessions
	if maxSessions <= 0 {
		maxSessions = DefaultMaxSessions
	}
	switch o.Transport {
	case TransportHTTP:
		opts := []mcpserver.StreamableHTTPOption{mcpserver.WithEndpointPath(PathStreamable),
			mcpserver.WithDisableLocalhostProtection(true)} // httpguard checks Host on every connection
		var tracker *sessionTracker
		if o.Stateless {
			opts = append(opts, mcpserver.WithStateLess(true))
		} else {
			// The tracker expires idle sessions and caps their number. Not
			// mcp-go's WithSessionIdleTTL: it keeps every session's state
			// until its TTL, about 10 KB each (BenchmarkAbandonedSessions).
			tracker = newSessionTracker(o.SessionTTL, maxSessions)
			opts = append(opts, mcpserver.WithSessionIdManager(tracker))
		}
		h := mcpserver.NewStreamableHTTPServer(s, opts...)
		stop := make(chan struct{})
		if tracker != nil {
			tracker.gone = deleter(h)
			go tracker.run(stop)
		}
		// Notifications go out on the POST's own response, ahead of its result.
		mux.Handle(PathStreamable, streams(rewriteBodies(notify.Streamable(h)), nil))
		shutdown = func(ctx context.Context) error { close(stop); return h.Shutdown(ctx) }
	case TransportSSE:
		var h *mcpserver.SSEServer
		// Notifications go on the session's event queue, ahead of the result.
		progress := mcpserver.WithSSEContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			id := r.URL.Query().Get("sessionId")
			if id == "" {
				return ctx
			}
			return notify.WithSender(ctx, notify.SSE(func(event any) error { return h.SendEventToSession(id, event) }))
		})
		h = mcpserver.NewSSEServer(s, mcpserver.WithSSEEndpoint(PathSSE), mcpserver.WithMessageEndpoint(PathMessage),
			mcpserver.WithSSEDisableLocalhostProtection(true), progress) // httpguard checks Host on every connection
		mux.Handle(PathSSE, streams(h, make(chan struct{}, maxSessions)))
		mux.Handle(PathMessage, h)
		shutdown = func(context.Context) error { h.CloseSessions(); return nil }
	default:
		return nil, nil, fmt.Errorf("transport %q: use stdio, sse or http", o.Transport)
	}
	hosts := o.AllowedHosts
	if len(hosts) == 0 {
		hosts = httpguard.DefaultHosts(o.Addr)
	}
	auth := httpauth.Identify(o.Token, o.Agents, o.Transport, mux)
	return httpguard.Handler(httpguard.Options{AllowedHosts: hosts, MaxBody: o.MaxBody}, auth), shutdown, nil
}

// streams lifts the server's read and write deadlines for a GET (an SSE
// stream lives as long as its client) and, with slots, caps how many are
// open at once (503 past it).
func streams(next http.Handler, slots chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if slots != nil {
				select {
				case slots <- struct{}{}:
					defer func() { <-slots }()
				default:
					http.Error(w, "too many open sessions; try again later", http.StatusServiceUnavailable)
					return
				}
			}
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the streamable HTTP or SSE transport until ctx ends,
// then shuts down gracefully.
func ServeHTTP(ctx context.Context, s *mcpserver.MCPServer, o HTTPOptions) error {
	h, closeSessions, err := handler(s, o)
	if err != nil {
		return err
	}
	addr := o.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          log.New(zerologWriter{o.Logger}, "", 0),
	}
	if o.Ready != nil {
		o.Ready(ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("http transport: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	_ = closeSessions(sctx) // sessions end with the server either way
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http transport: %w", err)
	}
	return nil
}

// zerologWriter adapts a zerolog.Logger to the io.Writer a log.Logger needs.
type zerologWriter struct{ l zerolog.Logger }

// Write logs p, one message per call, at warn level.
func (w zerologWriter) Write(p []byte) (int, error) {
	w.l.Warn().Str("component", "transport").Msg(string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
