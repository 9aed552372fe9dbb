package billapi_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/secret"
)

// Sentinels with characters that change under form, path and JSON escaping.
const (
	sentinelDevKey   = "SENTINELdevKEY-4c2b"
	sentinelUser     = "sentinel+user@leak.example"
	sentinelPassword = `S3ntinel pass"word&y=2/%<ok>`
)

// forms is every encoding under which a secret could hide in text.
func forms(s string) []string {
	b, _ := json.Marshal(s)
	return []string{s, url.QueryEscape(s), url.PathEscape(s), strings.Trim(string(b), `"`)}
}

// TestUpstreamTextRedacted: an upstream that echoes the request in its
// error message (the emulator's echo fault) never gets a credential or a
// session id into the client's errors, and the text is bounded.
func TestUpstreamTextRedacted(t *testing.T) {
	id := emulator.Identity{UserName: sentinelUser, Password: sentinelPassword, OrgID: "00801SENTINEL0000001", DevKey: sentinelDevKey}
	e := startEmu(t, emulator.Config{Identity: id})
	c := newClient(t, e, func(cfg *billapi.Config) {
		cfg.Credentials = billapi.Credentials{DevKey: secret.New(id.DevKey), UserName: secret.New(id.UserName),
			Password: secret.New(id.Password), OrgID: id.OrgID}
		cfg.MaxAttempts = 2
	})
	echo := emulator.FaultSpec{P: 1, Kinds: []emulator.FaultKind{emulator.FaultEcho}}

	// Login echoed (user name and password), then calls echoed (devKey and
	// session id).
	e.SetFaults(echo)
	_, loginErr := c.ListCustomers(t.Context(), billapi.ListParams{Max: 1})
	e.SetFaults(emulator.FaultSpec{})
	if _, err := c.ListCustomers(t.Context(), billapi.ListParams{Max: 1}); err != nil {
		t.Fatal(err)
	}
	e.SetFaults(echo)
	_, readErr := c.ListCustomers(t.Context(), billapi.ListParams{Max: 1})
	_, createErr := c.CreateCustomer(t.Context(), billapi.Customer{Name: billapi.String(strings.Repeat("Long name ", 60))})
	e.SetFaults(emulator.FaultSpec{})

	secrets := []string{sentinelDevKey, sentinelUser, sentinelPassword}
	secrets = append(secrets, sessionIDs(t, e)...)
	if len(secrets) < 4 {
		t.Fatal("no session id was handed out; the scan would prove nothing")
	}
	for name, err := range map[string]error{"login": loginErr, "read": readErr, "create": createErr} {
		var be *billapi.Error
		if !errors.As(err, &be) || be.Code != billapi.CodeSystemError && be.Code != billapi.CodeUndecidedOutcome {
			t.Fatalf("%s: err = %v, want the echoed BDC_1001", name, err)
		}
		text := err.Error()
		for _, s := range secrets {
			for _, f := range forms(s) {
				if strings.Contains(text, f) {
					t.Errorf("%s: error carries a secret (%q): %s", name, f, text)
				}
			}
		}
		if !strings.Contains(text, "[REDACTED]") && name != "create" {
			t.Errorf("%s: the echo should show as redacted: %s", name, text)
		}
		if n := utf8.RuneCountInString(be.Message); n > 1000 {
			t.Errorf("%s: message of %d characters; upstream text must be cut", name, n)
		}
	}
}

// sessionIDs are the session ids the emulator handed out, read through a
// fresh login of the same identity is not possible, so they are taken from
// the logins the emulator recorded.
func sessionIDs(t *testing.T, e *emu) []string {
	t.Helper()
	return e.script.sessions()
}
