package main

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/internal/audit"
)

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// post sends one JSON-RPC body to url with the given headers.
func post(t *testing.T, url, host string, headers map[string]string, body []byte) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestAgentsOverHTTP(t *testing.T) {
	g := newGovVault(t)
	alpha := strings.TrimSpace(g.agent("add", "alpha", "--grant", "customers=write"))
	beta := strings.TrimSpace(g.agent("add", "beta", "--grant", "contacts=read"))
	srv := startHTTPServer(t, g.childEnv(), "--emulator")

	ca := srv.client(t, alpha, nil)
	cb := srv.client(t, beta, nil)
	if got, want := toolNames(t, ca), allowedTools(t, map[string]string{"customers": "write"}, ""); !slices.Equal(got, want) {
		t.Errorf("alpha lists %v, want %v", got, want)
	}
	if got, want := toolNames(t, cb), allowedTools(t, map[string]string{"contacts": "read"}, ""); !slices.Equal(got, want) {
		t.Errorf("beta lists %v, want %v", got, want)
	}
	id := customerID(t, mustOK(t, ca, "create_customer", map[string]any{"name": "Alpha Co"}))
	mustFail(t, cb, "create_customer", map[string]any{"name": "Beta Co"}, "PERMISSION_DENIED", "agent beta", "customers: write")
	mustFail(t, ca, "delete_customer", map[string]any{"customerId": id}, "PERMISSION_DENIED", "agent alpha", "customers: full")
	mustOK(t, cb, "list_customer_contacts", map[string]any{"customerId": id})

	url := "http://" + srv.Addr + "/mcp"
	if resp, _ := post(t, url, "", map[string]string{"Authorization": "Bearer not-a-token-of-anyone-0123456789"}, []byte(initBody)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown token: HTTP %d", resp.StatusCode)
	}
	// A token rotated while the server runs: the old one is refused.
	g.agent("token", "beta")
	if resp, _ := post(t, url, "", map[string]string{"Authorization": "Bearer " + beta}, []byte(initBody)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("rotated token: HTTP %d", resp.StatusCode)
	}

	recs, err := audit.Read(filepath.Join(g.dir, audit.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var sawAlpha, sawBeta bool
	for _, r := range recs {
		if r.Transport != "http" || !strings.HasPrefix(r.Remote, "127.0.0.1:") {
			t.Errorf("record without transport or remote address: %+v", r)
		}
		sawAlpha = sawAlpha || (r.Agent == "alpha" && r.Tool == "create_customer" && r.Decision == audit.Allowed && r.Outcome == audit.OK)
		sawBeta = sawBeta || (r.Agent == "beta" && r.Tool == "create_customer" && r.Decision == audit.Refused)
	}
	if !sawAlpha || !sawBeta {
		t.Errorf("trail lacks alpha's create or beta's refusal: %+v", recs)
	}
}

func TestHTTPHardening(t *testing.T) {
	g := newGovVault(t)
	tok := strings.TrimSpace(g.agent("add", "alpha", "--grant", "customers=read"))
	srv := startHTTPServer(t, g.childEnv(), "--emulator", "--session-ttl", "1s", "--max-body-mb", "1", "--allowed-hosts", "bill.internal")
	url := "http://" + srv.Addr + "/mcp"
	auth := map[string]string{"Authorization": "Bearer " + tok}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range auth {
			m[a] = b
		}
		return m
	}
	tests := []struct {
		name    string
		host    string
		headers map[string]string
		body    []byte
		want    int
	}{
		{"foreign Host", "evil.example", auth, []byte(initBody), http.StatusForbidden},
		{"foreign Host without token", "evil.example:80", nil, []byte(initBody), http.StatusForbidden},
		{"foreign Origin", "", with("Origin", "http://evil.example"), []byte(initBody), http.StatusForbidden},
		{"null Origin", "", with("Origin", "null"), []byte(initBody), http.StatusForbidden},
		{"oversized body", "", auth, append([]byte(initBody), bytes.Repeat([]byte(" "), 2<<20)...), http.StatusRequestEntityTooLarge},
		{"allowed extra host", "bill.internal:8808", auth, []byte(initBody), http.StatusOK},
		{"own Origin", "", with("Origin", "http://"+srv.Addr), []byte(initBody), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, url, tt.host, tt.headers, tt.body)
			if resp.StatusCode != tt.want {
				t.Errorf("HTTP %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want == http.StatusForbidden && !strings.Contains(body, "forbidden_") {
				t.Errorf("403 not from bill-mcp's own guard: %s", body)
			}
		})
	}

	t.Run("idle session expires", func(t *testing.T) {
		resp, body := post(t, url, "", auth, []byte(initBody))
		sid := resp.Header.Get("Mcp-Session-Id")
		if resp.StatusCode != http.StatusOK || sid == "" {
			t.Fatalf("initialize: HTTP %d %s", resp.StatusCode, body)
		}
		list := []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
		if resp, body := post(t, url, "", with("Mcp-Session-Id", sid), list); resp.StatusCode != http.StatusOK {
			t.Fatalf("tools/list in a live session: HTTP %d %s", resp.StatusCode, body)
		}
		time.Sleep(1500 * time.Millisecond)
		if resp, body := post(t, url, "", with("Mcp-Session-Id", sid), list); resp.StatusCode != http.StatusNotFound {
			t.Errorf("tools/list after the TTL: HTTP %d %s, want 404", resp.StatusCode, body)
		}
	})
}
