// Package secret holds the Secret type: a credential value (devKey, password,
// sessionId, passphrase, token) that never prints, logs or marshals its value.
// It imports nothing else from the project, so any package may hold a Secret
// without pulling in the vault.
package secret

import (
	"crypto/subtle"
	"fmt"

	"github.com/rs/zerolog"
)

// Redacted is what every printing path of a Secret produces.
const Redacted = "[REDACTED]"

// Secret holds a credential (devKey, password, sessionId, passphrase).
//
// Every way of printing or marshalling a Secret yields [REDACTED]: String,
// GoString, Format through fmt verbs, MarshalJSON, MarshalText and zerolog
// marshalling. The raw value is read only through Reveal, which exists for
// the one place that must send it: billapi's form encoding of a request (and
// the vault's own encrypted file).
//
// The value sits behind a pointer: when fmt prints a struct that holds a
// Secret in an unexported field, it cannot call Format through reflection
// and would print a plain string field verbatim; a pointer prints as an
// address. Compare Secrets with Equal, never ==.
type Secret struct {
	p *string
}

// New wraps a raw credential value.
func New(raw string) Secret {
	if raw == "" {
		return Secret{}
	}
	return Secret{p: &raw}
}

// Reveal returns the raw value. Call it only where the value leaves the
// process for its rightful destination (the request body sent to BILL, the
// encrypted vault file). Never pass its result to fmt, a logger or an error.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// Equal reports whether two secrets hold the same value, without revealing
// either; the comparison takes time independent of where they differ.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// String implements fmt.Stringer and always returns [REDACTED].
func (s Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer (the %#v verb) and always returns [REDACTED].
func (s Secret) GoString() string { return Redacted }

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s, %q,
// %x, %d ...) prints [REDACTED] rather than the struct's fields.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// MarshalJSON always encodes "[REDACTED]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText always encodes [REDACTED].
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalZerologObject lets the secret be logged as an object without its value.
func (s Secret) MarshalZerologObject(e *zerolog.Event) { e.Str("secret", Redacted) }

// compile-time check that Secret is a zerolog object marshaler.
var _ zerolog.LogObjectMarshaler = Secret{}
