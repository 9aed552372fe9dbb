package billapi

import (
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/bill-mcp/bill-mcp/secret"
)

// Upstream text (BILL's error_message, a proxy's or a --base-url host's
// answer, a transport error) can echo the request, and the request carries
// the devKey, the session id and, for Login, the user name and password.
// Every such text passes through redactUpstream before it becomes an
// *Error's Message, so it never reaches a tool result, a log line or a
// notification; it is also cut to maxUpstreamText characters.

// maxUpstreamText bounds the upstream text an *Error carries.
const maxUpstreamText = 300

// redactedMark replaces a secret found in upstream text.
const redactedMark = "[REDACTED]"

// maxSessionIDs bounds how many session ids a client remembers for redaction.
const maxSessionIDs = 8

// minSecretLen is the shortest secret value that is searched for: shorter
// values would blank out ordinary text and cannot identify anything.
const minSecretLen = 3

// secretForms returns s and the encodings under which an upstream echo may
// carry it: form (query) and path escaping, JSON string escaping with and
// without HTML escaping.
func secretForms(s string) []string {
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s)}
	b, _ := json.Marshal(s)
	forms = append(forms, strings.Trim(string(b), `"`))
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	forms = append(forms, strings.Trim(strings.TrimSpace(sb.String()), `"`))
	return forms
}

// redactUpstream replaces every form of every secret in msg (case-folded
// where folding keeps byte offsets) and cuts the result to maxUpstreamText
// characters.
func redactUpstream(msg string, secrets []secret.Secret) string {
	for _, s := range secrets {
		raw := s.Reveal()
		if len(raw) < minSecretLen {
			continue
		}
		for _, f := range secretForms(raw) {
			msg = replaceFold(msg, f, redactedMark)
		}
	}
	return cutText(msg, maxUpstreamText)
}

// replaceFold replaces old in s, ignoring ASCII case when lower-casing
// keeps s's byte offsets, exactly otherwise.
func replaceFold(s, old, repl string) string {
	if old == "" {
		return s
	}
	ls, lo := strings.ToLower(s), strings.ToLower(old)
	if len(ls) != len(s) || len(lo) != len(old) {
		return strings.ReplaceAll(s, old, repl)
	}
	if !strings.Contains(ls, lo) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(ls, lo)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, ls = s[i+len(old):], ls[i+len(old):]
	}
}

// cutText cuts s to at most n runes, marking the cut.
func cutText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "… (cut)"
}

// knownSecrets is what the client redacts from upstream text: its
// credentials and the session ids it has used.
func (c *Client) knownSecrets() []secret.Secret {
	c.smu.Lock()
	defer c.smu.Unlock()
	out := make([]secret.Secret, 0, 3+len(c.sids))
	out = append(out, c.creds.DevKey, c.creds.UserName, c.creds.Password)
	return append(out, c.sids...)
}

// rememberSession adds a session id to the redaction set; the caller must
// not hold c.smu.
func (c *Client) rememberSession(id secret.Secret) {
	if id.IsZero() {
		return
	}
	c.smu.Lock()
	defer c.smu.Unlock()
	for _, s := range c.sids {
		if s.Equal(id) {
			return
		}
	}
	c.sids = append(c.sids, id)
	if len(c.sids) > maxSessionIDs {
		c.sids = c.sids[len(c.sids)-maxSessionIDs:]
	}
}

// scrub redacts e's message in place and returns e.
func (c *Client) scrub(e *Error) *Error {
	if e != nil {
		e.Message = redactUpstream(e.Message, c.knownSecrets())
	}
	return e
}
