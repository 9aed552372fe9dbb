package logging

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/bill-mcp/bill-mcp/secret"
)

// MinRedactLen is the shortest secret value the writer replaces; shorter
// values would blank out ordinary text (a one-letter password would turn
// every "a" into [REDACTED]). BILL's credentials are far longer.
const MinRedactLen = 4

// RedactingWriter is a second net under the Secret type: it rewrites each
// chunk written through it, replacing
//
//   - every known secret value, and its url.QueryEscape, url.PathEscape,
//     JSON-escaped and doubly JSON-escaped (JSON inside a JSON string) forms;
//   - the value of any field named like a credential (devKey, dev_key,
//     sessionId, session_id, password, passphrase, token, secret) in JSON
//     ("devKey":"..."), escaped JSON (\"devKey\":\"...\"), form/query/env
//     (devKey=..., BILL_PASSWORD=...) and "key: value" shapes, and the token
//     after "Bearer ";
//
// with [REDACTED]. It is safe for concurrent use.
//
// Limits: it sees one Write at a time, so a value split across two writes
// is not caught (zerolog writes one whole line per Write, ConsoleWriter
// included, so log lines are whole); it knows only the encodings above (not
// base64, hex, or a value cut in half); values shorter than MinRedactLen are
// not replaced; key-based redaction of an escaped-JSON value stops at its
// first escaped quote. It never replaces the Secret type: code must still
// never format a credential.
type RedactingWriter struct {
	w io.Writer

	mu       sync.RWMutex
	values   map[string]struct{} // every form of every secret
	replacer *strings.Replacer   // built from values; nil when there are none
}

// NewRedactingWriter returns a writer that redacts secrets (and values of
// credential-named fields) before writing to w.
func NewRedactingWriter(w io.Writer, secrets ...secret.Secret) *RedactingWriter {
	r := &RedactingWriter{w: w, values: map[string]struct{}{}}
	r.Add(secrets...)
	return r
}

// Add teaches the writer more secrets, e.g. a sessionId learned at login.
func (r *RedactingWriter) Add(secrets ...secret.Secret) {
	var forms []string
	for _, s := range secrets {
		if v := s.Reveal(); len(v) >= MinRedactLen {
			forms = append(forms, encodedForms(v)...)
		}
	}
	if len(forms) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	added := false
	for _, f := range forms {
		if _, ok := r.values[f]; !ok {
			r.values[f] = struct{}{}
			added = true
		}
	}
	if !added {
		return
	}
	all := make([]string, 0, len(r.values))
	for v := range r.values {
		all = append(all, v)
	}
	// Longest first: at one position the first listed match wins, so a
	// longer encoded form is replaced whole before a shorter one inside it.
	slices.SortFunc(all, func(a, b string) int {
		if d := len(b) - len(a); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	pairs := make([]string, 0, 2*len(all))
	for _, v := range all {
		pairs = append(pairs, v, secret.Redacted)
	}
	r.replacer = strings.NewReplacer(pairs...)
}

// encodedForms lists the ways v can appear in a log line.
func encodedForms(v string) []string {
	jsonEsc := func(s string, html bool) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		_ = enc.Encode(s) // a string always encodes
		out := strings.TrimSuffix(b.String(), "\n")
		return out[1 : len(out)-1]
	}
	forms := []string{
		v,
		url.QueryEscape(v),
		url.PathEscape(v),
		jsonEsc(v, false),
		jsonEsc(v, true),
		jsonEsc(jsonEsc(v, false), false),
		jsonEsc(jsonEsc(v, true), false),
		jsonEsc(url.QueryEscape(v), false),
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}

// credentialKey matches the end of the names of fields that hold
// credentials (so BILL_PASSWORD and userPassword match at "PASSWORD"/"Password").
const credentialKey = `(?:dev_?key|session_?id|password|passphrase|token|secret)`

var (
	// "devKey":"value" (JSON, with escaped quotes inside the value)
	jsonField = regexp.MustCompile(`(?i)(` + credentialKey + `"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	// \"devKey\":\"value\" (JSON inside a JSON string)
	escapedJSONField = regexp.MustCompile(`(?i)(` + credentialKey + `\\"\s*:\s*)\\"(?:[^"\\]|\\[^"])*\\"`)
	// devKey=value (form, query string, environment, console log fields)
	assignField = regexp.MustCompile(`(?i)(` + credentialKey + `=)[^&\s"'\\,;]+`)
	// password: value (headers, YAML-ish text)
	colonField = regexp.MustCompile(`(?i)(` + credentialKey + `:[ \t]*)[^\s"'\\,;{}\[\]]+`)
	// Authorization: Bearer value
	bearer = regexp.MustCompile(`(?i)(bearer[ \t]+)[A-Za-z0-9._~+/=-]+`)
)

// keyHints are lower-case words at least one of which is in every line a
// key pattern above can match: a cheap test that skips the regexps.
var keyHints = [][]byte{[]byte("devkey"), []byte("dev_key"), []byte("sessionid"), []byte("session_id"), []byte("password"), []byte("passphrase"), []byte("token"), []byte("secret"), []byte("bearer")}

func mayHoldKey(p []byte) bool {
	lower := bytes.ToLower(p)
	for _, h := range keyHints {
		if bytes.Contains(lower, h) {
			return true
		}
	}
	return false
}

// Redact returns p with every known secret and credential-field value
// replaced by [REDACTED].
func (r *RedactingWriter) Redact(p []byte) []byte {
	r.mu.RLock()
	rep := r.replacer
	r.mu.RUnlock()
	out := p
	if rep != nil {
		out = []byte(rep.Replace(string(p)))
	}
	if !mayHoldKey(out) {
		return out
	}
	repl := []byte("${1}" + secret.Redacted)
	out = jsonField.ReplaceAll(out, []byte(`${1}"`+secret.Redacted+`"`))
	out = escapedJSONField.ReplaceAll(out, []byte(`${1}\"`+secret.Redacted+`\"`))
	out = assignField.ReplaceAll(out, repl)
	out = colonField.ReplaceAll(out, repl)
	out = bearer.ReplaceAll(out, repl)
	return out
}

// Write redacts p and writes it in one call to the underlying writer. It
// reports len(p) on success, as io.Writer requires, though the bytes
// written differ; on a failed write it reports 0.
func (r *RedactingWriter) Write(p []byte) (int, error) {
	if _, err := r.w.Write(r.Redact(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
