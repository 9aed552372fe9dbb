// Package httpauth guards the HTTP and SSE transports with a bearer token.
package httpauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/bill-mcp/bill-mcp/internal/policy"
	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/vault"
)

// Environment variables that carry the token.
const (
	EnvTokenFile = "BILL_MCP_TOKEN_FILE"
	EnvToken     = "BILL_MCP_TOKEN"
)

// ErrNoToken means no token source was found.
var ErrNoToken = errors.New("no HTTP bearer token")

const noTokenHelp = "HTTP transports need a bearer token: run `bill-mcp vault token` or set " + EnvTokenFile + " (or " + EnvToken + ")"

// LoadToken finds the bearer token the HTTP transports require, in order:
// the file named by BILL_MCP_TOKEN_FILE (trailing newline trimmed),
// BILL_MCP_TOKEN, then the token stored in the vault by `bill-mcp vault
// token` (which needs the vault's key, found the usual way). A token
// shorter than vault.MinTokenLength is refused.
func LoadToken(getenv func(string) string) (secret.Secret, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv(EnvTokenFile); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return secret.Secret{}, fmt.Errorf("%s=%s: cannot read the token file: %w", EnvTokenFile, p, err)
		}
		return checkToken(secret.New(strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")), EnvTokenFile+"="+p)
	}
	if t := getenv(EnvToken); t != "" {
		return checkToken(secret.New(t), EnvToken)
	}
	v, err := vault.Open(vault.Options{Getenv: getenv})
	if err != nil {
		return secret.Secret{}, fmt.Errorf("%s: %w", noTokenHelp, err)
	}
	if ok, err := v.Exists(); err != nil || !ok {
		return secret.Secret{}, fmt.Errorf("%s: %w", noTokenHelp, ErrNoToken)
	}
	tok, ok, err := v.HTTPToken(context.Background())
	switch {
	case err != nil:
		return secret.Secret{}, fmt.Errorf("%s; reading the vault failed: %w", noTokenHelp, err)
	case !ok:
		return secret.Secret{}, fmt.Errorf("%s: %w", noTokenHelp, ErrNoToken)
	}
	return tok, nil
}

func checkToken(t secret.Secret, from string) (secret.Secret, error) {
	switch {
	case t.IsZero():
		return secret.Secret{}, fmt.Errorf("%s is empty; %s: %w", from, noTokenHelp, ErrNoToken)
	case len(t.Reveal()) < vault.MinTokenLength:
		return secret.Secret{}, fmt.Errorf("the token from %s is shorter than %d characters; make a strong one with `bill-mcp vault token`", from, vault.MinTokenLength)
	}
	return t, nil
}

// NewToken returns a fresh token: 32 random bytes, base64url without padding.
func NewToken() (secret.Secret, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return secret.Secret{}, fmt.Errorf("generate token: %w", err)
	}
	return secret.New(base64.RawURLEncoding.EncodeToString(b[:])), nil
}

// Middleware answers 401 to any request without "Authorization: Bearer
// <token>" carrying token, with WWW-Authenticate: Bearer and a JSON body.
// The comparison is constant-time (over SHA-256 digests, so the length
// does not leak either). A zero token refuses every request: it fails
// closed. Neither the expected nor the presented token is ever logged or
// echoed.
func Middleware(token secret.Secret, next http.Handler) http.Handler {
	return Identify(token, nil, "", next)
}

// Agents finds the agent a bearer token belongs to (policy.Directory).
type Agents interface {
	ByToken(ctx context.Context, token secret.Secret) (name string, ok bool, err error)
}

// Identify is Middleware that also accepts the tokens of agents: the owner
// token makes the request the owner's, an agent's token makes it that
// agent's, anything else is answered 401. The identity (with transport and
// the peer's address) travels in the request context, see
// policy.IdentityFrom. agents may be nil (owner only); a zero owner token
// lets no one in as the owner.
func Identify(owner secret.Secret, agents Agents, transport string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(owner.Reveal()))
	zero := owner.IsZero()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, present := bearerToken(r.Header.Get("Authorization"))
		if !present || (zero && agents == nil) {
			unauthorized(w, "", "this server requires an Authorization: Bearer token (see `bill-mcp vault token` or `bill-mcp agent add`)")
			return
		}
		id := policy.Identity{Transport: transport, Remote: r.RemoteAddr}
		sum := sha256.Sum256([]byte(got))
		switch {
		case !zero && subtle.ConstantTimeCompare(sum[:], want[:]) == 1:
		case agents != nil:
			name, ok, err := agents.ByToken(r.Context(), secret.New(got))
			if err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": "unavailable", "message": "the server cannot read its agents from the vault now"})
				return
			}
			if !ok {
				unauthorized(w, "invalid_token", "the bearer token is not valid for this server")
				return
			}
			id.Agent = name
		default:
			unauthorized(w, "invalid_token", "the bearer token is not valid for this server")
			return
		}
		next.ServeHTTP(w, r.WithContext(policy.WithIdentity(r.Context(), id)))
	})
}

// bearerToken extracts the token from an Authorization header value.
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func unauthorized(w http.ResponseWriter, code, msg string) {
	challenge := `Bearer realm="bill-mcp"`
	if code != "" {
		challenge += `, error="` + code + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	if code == "" {
		code = "unauthorized"
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
