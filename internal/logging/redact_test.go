package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bill-mcp/bill-mcp/secret"
)

// Sentinels with characters that every encoding changes.
const (
	devKey   = "DEVKEY-sentinel-01234"
	password = `pw sentinel/"quoted"&<x>+%é`
	session  = "SESSION!sentinel#9876"
)

func leaks(s string) []string {
	var found []string
	for _, v := range []string{devKey, password, session} {
		for _, f := range encodedForms(v) {
			if strings.Contains(s, f) {
				found = append(found, f)
			}
		}
	}
	// the distinctive cores, whatever the encoding around them
	for _, core := range []string{"sentinel"} {
		if strings.Contains(s, core) {
			found = append(found, core)
		}
	}
	return found
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestRedactingWriter(t *testing.T) {
	inner, _ := json.Marshal(map[string]string{"devKey": devKey, "sessionId": session, "data": "{}"})
	tests := []struct {
		name, in, want string
	}{
		{"raw value", "login with " + devKey + " ok", "login with [REDACTED] ok"},
		{"query escaped", "POST /Login.json?p=" + url.QueryEscape(password), "POST /Login.json?p=[REDACTED]"},
		{"path escaped", "/x/" + url.PathEscape(password) + "/y", "/x/[REDACTED]/y"},
		{"json escaped", `{"msg":` + jsonString("pw is "+password) + `}`, `{"msg":"pw is [REDACTED]"}`},
		{"json in json", `{"body":` + jsonString(string(inner)) + `}`, ""},
		{"two secrets one line", session + "|" + devKey, "[REDACTED]|[REDACTED]"},
		{"unknown value, json key", `{"sessionId":"abc\"def","level":"info"}`, `{"sessionId":"[REDACTED]","level":"info"}`},
		{"unknown value, escaped json key", `{"m":"{\"password\":\"hunter2\",\"x\":1}"}`, `{"m":"{\"password\":\"[REDACTED]\",\"x\":1}"}`},
		{"form fields", "devKey=abc&sessionId=xyz&data=%7B%7D", "devKey=[REDACTED]&sessionId=[REDACTED]&data=%7B%7D"},
		{"env assignment", "BILL_PASSWORD=hunter2 BILL_DEV_KEY=k123 BILL_ENV=sandbox", "BILL_PASSWORD=[REDACTED] BILL_DEV_KEY=[REDACTED] BILL_ENV=sandbox"},
		{"console field", "INF login passphrase=letmein user=bob", "INF login passphrase=[REDACTED] user=bob"},
		{"colon form", "password: hunter2\n", "password: [REDACTED]\n"},
		{"bearer", "Authorization: Bearer abc.DEF-123_x", "Authorization: Bearer [REDACTED]"},
		{"case-insensitive key", `{"DEVKEY":"zzz"}`, `{"DEVKEY":"[REDACTED]"}`},
		{"nothing to do", `{"level":"info","customerId":"0cu01"}`, `{"level":"info","customerId":"0cu01"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewRedactingWriter(&buf, secret.New(devKey), secret.New(password), secret.New(session))
			n, err := w.Write([]byte(tt.in))
			if err != nil || n != len(tt.in) {
				t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(tt.in))
			}
			got := buf.String()
			if l := leaks(got); len(l) > 0 {
				t.Fatalf("leaked %q in %s", l, got)
			}
			for _, s := range []string{"hunter2", "letmein", "abc.DEF", "zzz", "k123", "xyz"} {
				if strings.Contains(got, s) {
					t.Fatalf("leaked %q in %s", s, got)
				}
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRedactingWriterAddLater(t *testing.T) {
	var buf bytes.Buffer
	w := NewRedactingWriter(&buf)
	line := "using " + session + "\n"
	_, _ = w.Write([]byte(line))
	if buf.String() != line {
		t.Fatalf("an unknown value was changed: %s", buf.String())
	}
	w.Add(secret.New(session), secret.New("abc"), secret.Secret{})
	buf.Reset()
	_, _ = w.Write([]byte(line + "abc"))
	if got := buf.String(); got != "using [REDACTED]\nabc" {
		t.Errorf("after Add: %q (short values must stay)", got)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRedactingWriterError(t *testing.T) {
	n, err := NewRedactingWriter(failingWriter{}).Write([]byte("x"))
	if err == nil || n != 0 {
		t.Errorf("Write = %d, %v; want 0 and the error", n, err)
	}
}

func TestRedactingWriterConcurrent(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := NewRedactingWriter(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) }))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s := secret.New(fmt.Sprintf("sentinel-%d-xyz", i))
			w.Add(s)
			for range 50 {
				_, _ = fmt.Fprintf(w, "v=%s\n", s.Reveal())
			}
		})
	}
	wg.Wait()
	if strings.Contains(buf.String(), "sentinel") {
		t.Error("a secret added before its writes leaked")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestLoggerThroughRedactingWriter logs secrets the careless ways through
// both formats.
func TestLoggerThroughRedactingWriter(t *testing.T) {
	for _, format := range []string{"json", "console"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewRedactingWriter(&buf, secret.New(devKey), secret.New(password))
			log, err := New(w, format, "debug")
			if err != nil {
				t.Fatal(err)
			}
			log.Info().Str("raw", devKey).Msg("oops " + password)
			log.Debug().Str("body", "userName=u&password="+url.QueryEscape(password)).Send()
			log.Error().Err(fmt.Errorf("call failed: %s", jsonString(password))).Send()
			if l := leaks(buf.String()); len(l) > 0 {
				t.Fatalf("leaked %q:\n%s", l, buf.String())
			}
			if c := strings.Count(buf.String(), secret.Redacted); c < 3 {
				t.Errorf("%d redactions, want at least 3:\n%s", c, buf.String())
			}
		})
	}
}

func BenchmarkRedactingWriter(b *testing.B) {
	w := NewRedactingWriter(writerFunc(func(p []byte) (int, error) { return len(p), nil }),
		secret.New(devKey), secret.New(password), secret.New(session))
	lines := map[string][]byte{
		"plain":  []byte(`{"level":"info","op":"Crud/Read/Customer.json","attempt":1,"code":"","durationMs":182,"time":"2026-11-21T12:00:00Z","message":"call done"}` + "\n"),
		"keyed":  []byte(`{"level":"debug","op":"Login.json","sessionId":"abc","time":"2026-11-21T12:00:00Z","message":"login done"}` + "\n"),
		"secret": []byte(`{"level":"error","error":"bad ` + devKey + `","message":"x"}` + "\n"),
	}
	for name, line := range lines {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				_, _ = w.Write(line)
			}
		})
	}
}
