// Package credentials resolves where the server's BILL credentials come
// from (a vault profile or the environment) into what billapi needs.
// STUB: the vault work fills this in; keep the signatures.
package credentials

import (
	"context"
	"errors"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// Options says where to look.
type Options struct {
	Profile string              // --profile or BILL_MCP_PROFILE; "" with Env false means the default profile
	Env     bool                // --credentials env: BILL_DEV_KEY, BILL_USERNAME, BILL_PASSWORD, BILL_ORG_ID, BILL_ENV
	BaseURL string              // --base-url or BILL_BASE_URL; overrides the environment's host
	Getenv  func(string) string // os.Getenv in production
}

// Resolved is what serve hands to billapi.
type Resolved struct {
	Credentials  billapi.Credentials
	BaseURL      string
	SessionStore billapi.SessionStore // nil for --credentials env (in-memory session)
	Source       string               // "profile NAME" or "environment", for the startup log
}

// Resolve finds the credentials.
func Resolve(ctx context.Context, o Options) (Resolved, error) {
	return Resolved{}, errors.New("credentials: not implemented yet")
}
