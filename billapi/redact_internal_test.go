package billapi

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bill-mcp/bill-mcp/secret"
)

func TestRedactUpstream(t *testing.T) {
	pw := `Pa ss"w&rd=1/%<x>`
	secrets := []secret.Secret{secret.New(pw), secret.New("DEVKEY-abc"), secret.New("ab")}
	tests := []struct {
		name, in string
		gone     []string // must not remain
		keep     string   // must remain
	}{
		{"plain", "login failed for " + pw, []string{pw}, "login failed for [REDACTED]"},
		{"form encoded", "body: devKey=DEVKEY-abc&password=Pa+ss%22w%26rd%3D1%2F%25%3Cx%3E", []string{"DEVKEY-abc", "Pa+ss%22w%26rd%3D1%2F%25%3Cx%3E"}, "password=[REDACTED]"},
		{"path escaped", "/x/Pa%20ss%22w&rd=1%2F%25%3Cx%3E", []string{"Pa%20ss%22w&rd=1%2F%25%3Cx%3E"}, "/x/[REDACTED]"},
		{"json escaped", `{"password":"Pa ss\"w\u0026rd=1/%\u003cx\u003e"}`, []string{`Pa ss\"w\u0026rd=1/%\u003cx\u003e`}, `"password":"[REDACTED]"`},
		{"case folded", "key devkey-ABC here", []string{"devkey-ABC"}, "key [REDACTED] here"},
		{"short secrets are not searched", "about cabin", nil, "about cabin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactUpstream(tt.in, secrets)
			for _, g := range tt.gone {
				if strings.Contains(got, g) {
					t.Errorf("%q still holds %q", got, g)
				}
			}
			if !strings.Contains(got, tt.keep) {
				t.Errorf("%q lacks %q", got, tt.keep)
			}
		})
	}
	long := redactUpstream(strings.Repeat("é", 5000), nil)
	if n := utf8.RuneCountInString(long); n > maxUpstreamText+10 || !strings.HasSuffix(long, "(cut)") {
		t.Errorf("a long upstream text was cut to %d characters: %q", n, long[len(long)-20:])
	}
}
