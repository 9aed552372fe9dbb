// Package httpauth guards the HTTP and SSE transports with a bearer token.
// STUB: the vault work fills this in; keep the signatures.
package httpauth

import (
	"net/http"

	"github.com/bill-mcp/bill-mcp/vault"
)

// LoadToken finds the bearer token the HTTP transports require, from
// BILL_MCP_TOKEN_FILE, BILL_MCP_TOKEN, or the vault (made by `bill-mcp vault token`).
func LoadToken(getenv func(string) string) (vault.Secret, error) {
	return vault.Secret{}, nil
}

// Middleware answers 401 to any request without "Authorization: Bearer <token>".
func Middleware(token vault.Secret, next http.Handler) http.Handler { return next }
