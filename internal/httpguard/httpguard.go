// Package httpguard holds the HTTP transports' first line: the Host header
// must name this server (an allow-list, on every connection, loopback or
// not: DNS rebinding and stray proxies), a browser's Origin must be one of
// those hosts (the MCP spec requires servers to validate Origin), and a
// request body is bounded.
package httpguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// DefaultMaxBody bounds a request body: enough for the biggest bulk call.
const DefaultMaxBody = 64 << 20

// Options configure Handler.
type Options struct {
	// AllowedHosts are the host names (or host:port) a request's Host may
	// name; see DefaultHosts.
	AllowedHosts []string
	// MaxBody bounds a request body in bytes; DefaultMaxBody when 0.
	MaxBody int64
}

// DefaultHosts are the loopback names plus the host of the bind address
// (unless it is a wildcard such as 0.0.0.0), plus extra.
func DefaultHosts(bindAddr string, extra ...string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, _, err := net.SplitHostPort(bindAddr); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			hosts = append(hosts, h)
		}
	}
	for _, e := range extra {
		if e = strings.TrimSpace(e); e != "" {
			hosts = append(hosts, e)
		}
	}
	return hosts
}

// ParseHosts reads a comma-separated --allowed-hosts value.
func ParseHosts(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		h := strings.TrimSpace(part)
		if h == "" {
			continue
		}
		if strings.ContainsAny(h, "/ @") {
			return nil, fmt.Errorf("allowed host %q: give a host name or host:port, not a URL", h)
		}
		out = append(out, h)
	}
	return out, nil
}

type allowList struct{ names, hostPorts []string }

func newAllowList(hosts []string) allowList {
	var a allowList
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if host, port, err := net.SplitHostPort(h); err == nil && port != "" {
			a.hostPorts = append(a.hostPorts, net.JoinHostPort(host, port))
			continue
		}
		a.names = append(a.names, strings.Trim(h, "[]"))
	}
	return a
}

// allows reports whether hostport (a Host header or an Origin's host) is allowed.
func (a allowList) allows(hostport string) bool {
	hostport = strings.ToLower(hostport)
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
		if slices.Contains(a.hostPorts, hostport) {
			return true
		}
	}
	host = strings.Trim(host, "[]")
	return host != "" && slices.Contains(a.names, host)
}

// Handler refuses, before next sees it, a request whose Host is not
// allowed (403), whose Origin is present and not allowed (403), or whose
// body is larger than MaxBody (413).
func Handler(o Options, next http.Handler) http.Handler {
	allowed := newAllowList(o.AllowedHosts)
	limit := o.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowed.allows(r.Host) {
			refuse(w, http.StatusForbidden, "forbidden_host", fmt.Sprintf("Host %q is not one this server answers to; start it with --allowed-hosts naming it", r.Host))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			u, err := url.Parse(origin)
			if err != nil || u.Host == "" || !allowed.allows(u.Host) {
				refuse(w, http.StatusForbidden, "forbidden_origin", "requests from this Origin are not accepted")
				return
			}
		}
		if r.ContentLength > limit {
			refuse(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the request body is larger than %d bytes", limit))
			return
		}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength < 0 {
			// Unknown length (chunked): read it here, bounded, so that an
			// oversized body is answered 413 rather than a parse error.
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				refuse(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the request body is larger than %d bytes", limit))
				return
			}
			if err != nil {
				refuse(w, http.StatusBadRequest, "bad_body", "the request body could not be read")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		} else if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

func refuse(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
