package httpauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/vault"
)

const tok = "tok-SENTINEL-0123456789abcdef"

func TestMiddleware(t *testing.T) {
	tests := []struct {
		name       string
		token      secret.Secret
		header     string
		wantStatus int
		wantError  string
	}{
		{"correct", secret.New(tok), "Bearer " + tok, 200, ""},
		{"scheme is case-insensitive", secret.New(tok), "bearer  " + tok, 200, ""},
		{"no header", secret.New(tok), "", 401, "unauthorized"},
		{"basic auth", secret.New(tok), "Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+tok)), 401, "unauthorized"},
		{"bare token", secret.New(tok), tok, 401, "unauthorized"},
		{"empty bearer", secret.New(tok), "Bearer ", 401, "unauthorized"},
		{"wrong token", secret.New(tok), "Bearer nope", 401, "invalid_token"},
		{"prefix of token", secret.New(tok), "Bearer " + tok[:len(tok)-1], 401, "invalid_token"},
		{"token plus more", secret.New(tok), "Bearer " + tok + "x", 401, "invalid_token"},
		{"server without a token fails closed", secret.Secret{}, "Bearer ", 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := Middleware(tt.token, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				called = true
				_, _ = w.Write([]byte("ok"))
			}))
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/mcp", strings.NewReader("{}"))
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if called != (tt.wantStatus == 200) {
				t.Fatalf("next called = %v", called)
			}
			if tt.wantStatus == 200 {
				return
			}
			if wa := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer ") {
				t.Errorf("WWW-Authenticate = %q", wa)
			}
			var body struct{ Error, Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != tt.wantError || body.Message == "" {
				t.Errorf("body %s (%v), want error %q", rec.Body, err, tt.wantError)
			}
			if strings.Contains(rec.Body.String(), "SENTINEL") || strings.Contains(rec.Header().Get("WWW-Authenticate"), "SENTINEL") {
				t.Error("the 401 echoes the token")
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken()
	raw, err := base64.RawURLEncoding.DecodeString(a.Reveal())
	if err != nil || len(raw) != 32 {
		t.Fatalf("token is not 32 bytes of base64url: %d bytes, %v", len(raw), err)
	}
	if a.Equal(b) {
		t.Error("two tokens are equal")
	}
	if _, err := checkToken(a, "x"); err != nil {
		t.Errorf("a new token fails the length check: %v", err)
	}
}

func TestLoadToken(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "token")
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A vault holding a token, made cheaply.
	vdir := filepath.Join(tmp, "vault")
	venv := map[string]string{vault.EnvDir: vdir, vault.EnvPassphrase: "pw"}
	v, err := vault.Open(vault.Options{Getenv: func(k string) string { return venv[k] }, ScryptWorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	// And one without.
	bare := filepath.Join(tmp, "bare")
	vb, err := vault.Open(vault.Options{Dir: bare, Getenv: func(k string) string { return venv[k] }, ScryptWorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := vb.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	stored, _ := NewToken()
	if err := v.SetHTTPToken(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    secret.Secret
		wantErr error
		says    string
	}{
		{"file, newline trimmed", map[string]string{EnvTokenFile: file, EnvToken: "other-token-0123456789"}, secret.New(tok), nil, ""},
		{"variable", map[string]string{EnvToken: tok}, secret.New(tok), nil, ""},
		{"vault", map[string]string{vault.EnvDir: vdir, vault.EnvPassphrase: "pw"}, stored, nil, ""},
		{"variable beats vault", map[string]string{EnvToken: tok, vault.EnvDir: vdir, vault.EnvPassphrase: "pw"}, secret.New(tok), nil, ""},
		{"missing file", map[string]string{EnvTokenFile: filepath.Join(tmp, "nope")}, secret.Secret{}, os.ErrNotExist, EnvTokenFile},
		{"short variable", map[string]string{EnvToken: "short"}, secret.Secret{}, nil, "shorter than"},
		{"nothing anywhere", map[string]string{vault.EnvDir: filepath.Join(tmp, "none")}, secret.Secret{}, ErrNoToken, "run `bill-mcp vault token` or set BILL_MCP_TOKEN_FILE"},
		{"vault without token", map[string]string{vault.EnvDir: bare, vault.EnvPassphrase: "pw"}, secret.Secret{}, ErrNoToken, "bill-mcp vault token"},
		{"vault, wrong passphrase", map[string]string{vault.EnvDir: vdir, vault.EnvPassphrase: "bad"}, secret.Secret{}, vault.ErrWrongKey, "bill-mcp vault token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadToken(func(k string) string { return tt.env[k] })
			if tt.says != "" {
				if err == nil || !strings.Contains(err.Error(), tt.says) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("err = %v, want %v saying %q", err, tt.wantErr, tt.says)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("LoadToken: equal=%v err=%v", got.Equal(tt.want), err)
			}
		})
	}
}
