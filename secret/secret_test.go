package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

const sentinel = "SENTINEL-s3cr3t-\"quote\"&<tag>"

// holder mimics structs elsewhere that keep a Secret in exported and
// unexported fields.
type holder struct {
	Exported   Secret
	unexported Secret
	Ptr        *Secret
	Nested     struct{ inner Secret }
}

func newHolder() holder {
	s := New(sentinel)
	h := holder{Exported: s, unexported: s, Ptr: &s}
	h.Nested.inner = s
	return h
}

func TestSecretFmtVerbs(t *testing.T) {
	s := New(sentinel)
	h := newHolder()
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%10s", "%-12v", "%p"}
	for _, verb := range verbs {
		for name, arg := range map[string]any{"value": s, "pointer": &s, "struct": h, "struct pointer": &h, "slice": []Secret{s}, "map": map[string]Secret{"k": s}} {
			t.Run(verb+" "+name, func(t *testing.T) {
				out := fmt.Sprintf(verb, arg)
				if strings.Contains(out, "SENTINEL") {
					t.Fatalf("%s of %s leaked: %s", verb, name, out)
				}
			})
		}
	}
	if got := fmt.Sprint(s); got != Redacted {
		t.Errorf("Sprint = %q, want %q", got, Redacted)
	}
	if got := fmt.Sprintf("%+v", h); !strings.Contains(got, Redacted) {
		t.Errorf("%%+v of a struct = %q, want it to show %s for the exported field", got, Redacted)
	}
	if err := fmt.Errorf("login failed for %v: %w", s, errors.New("x")); strings.Contains(err.Error(), "SENTINEL") {
		t.Errorf("error leaked: %v", err)
	}
}

func TestSecretMethods(t *testing.T) {
	s := New(sentinel)
	tests := []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"String", func() (string, error) { return s.String(), nil }, Redacted},
		{"GoString", func() (string, error) { return s.GoString(), nil }, Redacted},
		{"MarshalJSON", func() (string, error) { b, err := s.MarshalJSON(); return string(b), err }, `"` + Redacted + `"`},
		{"MarshalText", func() (string, error) { b, err := s.MarshalText(); return string(b), err }, Redacted},
		{"json.Marshal value", func() (string, error) { b, err := json.Marshal(s); return string(b), err }, `"` + Redacted + `"`},
		{"json.Marshal struct", func() (string, error) {
			b, err := json.Marshal(struct {
				DevKey Secret            `json:"devKey"`
				P      *Secret           `json:"p"`
				M      map[string]Secret `json:"m"`
			}{s, &s, map[string]Secret{"k": s}})
			return string(b), err
		}, `{"devKey":"[REDACTED]","p":"[REDACTED]","m":{"k":"[REDACTED]"}}`},
		{"Reveal", func() (string, error) { return s.Reveal(), nil }, sentinel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSecretZerolog(t *testing.T) {
	s := New(sentinel)
	tests := []struct {
		name string
		log  func(*zerolog.Event) *zerolog.Event
		want string
	}{
		{"Interface", func(e *zerolog.Event) *zerolog.Event { return e.Interface("k", s) }, `"k":{"secret":"[REDACTED]"}`},
		{"Interface struct", func(e *zerolog.Event) *zerolog.Event { return e.Interface("k", newHolder()) }, `"Exported":"[REDACTED]"`},
		{"Stringer", func(e *zerolog.Event) *zerolog.Event { return e.Stringer("k", s) }, `"k":"[REDACTED]"`},
		{"Object", func(e *zerolog.Event) *zerolog.Event { return e.Object("k", s) }, `"k":{"secret":"[REDACTED]"}`},
		{"EmbedObject", func(e *zerolog.Event) *zerolog.Event { return e.EmbedObject(s) }, `"secret":"[REDACTED]"`},
		{"Any", func(e *zerolog.Event) *zerolog.Event { return e.Any("k", s) }, `"k":{"secret":"[REDACTED]"}`},
		{"Any pointer", func(e *zerolog.Event) *zerolog.Event { return e.Any("k", &s) }, `"k":{"secret":"[REDACTED]"}`},
		{"Msgf", func(e *zerolog.Event) *zerolog.Event { return e.Str("m", fmt.Sprintf("%v", s)) }, `"m":"[REDACTED]"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := zerolog.New(&buf)
			tt.log(l.Info()).Msg("m")
			if strings.Contains(buf.String(), "SENTINEL") || !strings.Contains(buf.String(), tt.want) {
				t.Errorf("log line %s, want it to contain %s and no secret", buf.String(), tt.want)
			}
		})
	}
}

func TestSecretSlog(t *testing.T) {
	s := New(sentinel)
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(h(&buf)).Info("m", "k", s, "h", newHolder())
			if strings.Contains(buf.String(), "SENTINEL") || !strings.Contains(buf.String(), Redacted) {
				t.Errorf("slog %s: %s", name, buf.String())
			}
		})
	}
}

func TestSecretEqualAndZero(t *testing.T) {
	tests := []struct {
		a, b  Secret
		equal bool
	}{
		{New("a"), New("a"), true},
		{New("a"), New("b"), false},
		{New("a"), New("ab"), false},
		{Secret{}, New(""), true},
		{Secret{}, New("x"), false},
	}
	for _, tt := range tests {
		if got := tt.a.Equal(tt.b); got != tt.equal {
			t.Errorf("Equal(%q, %q) = %v", tt.a.Reveal(), tt.b.Reveal(), got)
		}
	}
	if !New("").IsZero() || !(Secret{}).IsZero() || New("x").IsZero() {
		t.Error("IsZero is wrong")
	}
}
