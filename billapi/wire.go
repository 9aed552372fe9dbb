package billapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/bill-mcp/bill-mcp/secret"
)

// TimeLayout is how BILL writes timestamps: "2016-12-09T21:38:40.000+0000".
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// FormatTime formats t the way BILL writes timestamps, in UTC, so that two
// formatted times compare correctly as strings.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime parses a BILL timestamp such as "2016-12-09T21:38:40.000+0000".
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("billapi: timestamp %q is not in BILL's format (%s): %w", s, TimeLayout, err)
	}
	return t, nil
}

// maxResponseBytes bounds how much of an answer the client reads. A full
// List page of 999 customers is well under 4 MiB.
const maxResponseBytes = 32 << 20

// formField is one field of a form-encoded request body. Exactly one of
// secret and value is used: secret when isSecret is set.
type formField struct {
	name     string
	value    string
	secret   secret.Secret
	isSecret bool
}

func plainField(name, value string) formField { return formField{name: name, value: value} }

func secretField(name string, s secret.Secret) formField {
	return formField{name: name, secret: s, isSecret: true}
}

// formBody builds an application/x-www-form-urlencoded request body. It is
// the one place in billapi that reveals a Secret: the revealed value goes
// straight into the body bytes that are sent to BILL and nowhere else.
func formBody(fields ...formField) []byte {
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(f.name))
		b.WriteByte('=')
		if f.isSecret {
			b.WriteString(url.QueryEscape(f.secret.Reveal()))
		} else {
			b.WriteString(url.QueryEscape(f.value))
		}
	}
	return b.Bytes()
}

// envelope is BILL's response wrapper.
type envelope struct {
	Status  *int            `json:"response_status"`
	Message string          `json:"response_message"`
	Data    json.RawMessage `json:"response_data"`
}

// errorData is response_data of a failed call.
type errorData struct {
	Code    string `json:"error_code"`
	Message string `json:"error_message"`
}

// decodeEnvelope turns one HTTP answer into response_data or an *Error.
// It never puts the body (which could echo what was sent) into the error:
// a body that is not an envelope is described by its size only.
func decodeEnvelope(op string, httpStatus int, body []byte) (json.RawMessage, *Error) {
	env, err := readEnvelope(body)
	if err != nil || env.Status == nil {
		if httpStatus == 404 {
			return nil, &Error{Op: op, Code: CodeAPINotSupported, Message: "API not supported.", HTTPStatus: httpStatus, Class: ClassOf(CodeAPINotSupported, httpStatus)}
		}
		return nil, badResponse(op, httpStatus, fmt.Sprintf("the answer (HTTP %d, %d bytes) is not a BILL response envelope", httpStatus, len(body)))
	}
	switch *env.Status {
	case 0:
		if httpStatus < 200 || httpStatus > 299 {
			return nil, badResponse(op, httpStatus, fmt.Sprintf("BILL answered HTTP %d with a success envelope", httpStatus))
		}
		if len(env.Data) == 0 {
			return json.RawMessage("null"), nil
		}
		return env.Data, nil
	case 1:
		return nil, envelopeError(op, httpStatus, env.Data)
	default:
		return nil, badResponse(op, httpStatus, fmt.Sprintf("BILL answered an unknown response_status %d", *env.Status))
	}
}

// plainEnvelope is envelope without its tolerant UnmarshalJSON.
type plainEnvelope envelope

// readEnvelope decodes one envelope. It reads b once as plain JSON and
// only when that fails through envelope's tolerant UnmarshalJSON (which
// itself tries plain JSON first, then the tolerant reader): the same
// result, without encoding/json scanning every byte twice more for the
// nested Unmarshaler.
func readEnvelope(b []byte) (envelope, error) {
	var p plainEnvelope
	if gojson.Unmarshal(b, &p) == nil {
		return envelope(p), nil
	}
	var env envelope
	err := json.Unmarshal(b, &env)
	return env, err
}

// envelopeError decodes response_data of a failed call into an *Error.
func envelopeError(op string, httpStatus int, data json.RawMessage) *Error {
	var ed errorData
	if err := json.Unmarshal(data, &ed); err != nil || ed.Code == "" {
		if httpStatus == 404 {
			return &Error{Op: op, Code: CodeAPINotSupported, Message: "API not supported.", HTTPStatus: httpStatus, Class: ClassOf(CodeAPINotSupported, httpStatus)}
		}
		return badResponse(op, httpStatus, "BILL answered an error without an error_code")
	}
	msg := ed.Message
	if msg == "" {
		msg = "(BILL gave no message)"
	}
	return &Error{Op: op, Code: ed.Code, Message: msg, HTTPStatus: httpStatus, Class: ClassOf(ed.Code, httpStatus)}
}

// badResponse is an answer that is not a BILL envelope. A 5xx is BILL (or a
// proxy before it) failing; anything else means the answer was mangled on
// the way, which for the caller is the same as a lost answer.
func badResponse(op string, httpStatus int, msg string) *Error {
	class := ClassTransport
	if httpStatus >= 500 {
		class = ClassServer
	}
	return &Error{Op: op, Code: CodeBadResponse, Message: msg, HTTPStatus: httpStatus, Class: class}
}

// bulkAnswer is response_data of a Bulk call: one envelope per item.
type bulkAnswer struct {
	Bulk []envelope `json:"bulk"`
}

// decodeBulkItems splits a Bulk answer into one outcome per item; want is
// the number of items sent. Each item is decoded into T or an *Error.
func decodeBulkItems[T any](op string, data json.RawMessage, want int) ([]outcome[T], *Error) {
	// The common answer (every item succeeded, every field of the type
	// the struct says) in one plain pass; anything else item by item
	// through the tolerant envelopes below.
	if out, ok := plainBulkItems[T](data, want); ok {
		return out, nil
	}
	// Plain JSON first (see readEnvelope); the tolerant envelopes only
	// when that fails.
	var ba bulkAnswer
	var pa struct {
		Bulk []plainEnvelope `json:"bulk"`
	}
	if json.Unmarshal(data, &pa) == nil {
		ba.Bulk = make([]envelope, len(pa.Bulk))
		for i, e := range pa.Bulk {
			ba.Bulk[i] = envelope(e)
		}
	} else if err := json.Unmarshal(data, &ba); err != nil {
		return nil, badResponse(op, 200, "the Bulk answer is not {\"bulk\":[...]}")
	}
	if len(ba.Bulk) != want {
		return nil, badResponse(op, 200, fmt.Sprintf("the Bulk answer holds %d results for %d items", len(ba.Bulk), want))
	}
	out := make([]outcome[T], want)
	for i, env := range ba.Bulk {
		switch {
		case env.Status == nil:
			out[i].err = badResponse(op, 200, fmt.Sprintf("item %d of the Bulk answer has no response_status", i))
		case *env.Status == 1:
			out[i].err = envelopeError(op, 200, env.Data)
		case *env.Status != 0:
			out[i].err = badResponse(op, 200, fmt.Sprintf("item %d of the Bulk answer has an unknown response_status %d", i, *env.Status))
		default:
			v := new(T)
			if isNull(env.Data) || decodeValue(env.Data, v) != nil {
				out[i].err = badResponse(op, 200, fmt.Sprintf("item %d of the Bulk answer is not a %s", i, entityOf(op)))
				continue
			}
			out[i].obj = v
		}
	}
	return out, nil
}

// plainBulkItems decodes a Bulk answer of T whose every item succeeded
// with one plain pass of encoding/json into T's fields (no tolerant
// UnmarshalJSON per item, which would scan each item twice more). ok is
// false for anything else: an item that failed or has no data, a field of
// another JSON type, another count; the caller then reads the answer item
// by item, tolerantly.
func plainBulkItems[T any](data []byte, want int) (out []outcome[T], ok bool) {
	var o any
	switch any((*T)(nil)).(type) {
	case *Customer:
		o, ok = plainItems(data, want, func(p *plainCustomer) *Customer { return (*Customer)(p) })
	case *CustomerContact:
		o, ok = plainItems(data, want, func(p *plainContact) *CustomerContact { return (*CustomerContact)(p) })
	case *CustomerBankAccount:
		o, ok = plainItems(data, want, func(p *plainBankAccount) *CustomerBankAccount { return (*CustomerBankAccount)(p) })
	}
	if !ok {
		return nil, false
	}
	return o.([]outcome[T]), true
}

// The entities without their tolerant UnmarshalJSON, for plainItems.
type (
	plainCustomer    Customer
	plainContact     CustomerContact
	plainBankAccount CustomerBankAccount
)

// plainItems is plainBulkItems for the plain type P of T.
func plainItems[P, T any](data []byte, want int, conv func(*P) *T) ([]outcome[T], bool) {
	var a struct {
		Bulk []struct {
			Status *int `json:"response_status"`
			Data   *P   `json:"response_data"`
		} `json:"bulk"`
	}
	if gojson.Unmarshal(data, &a) != nil || len(a.Bulk) != want {
		return nil, false
	}
	out := make([]outcome[T], want)
	for i := range a.Bulk {
		it := &a.Bulk[i]
		if it.Status == nil || *it.Status != 0 || it.Data == nil {
			return nil, false
		}
		out[i].obj = conv(it.Data)
	}
	return out, true
}

// decodeValue is json.Unmarshal(data, v) for data that a decode of the
// enclosing document already cut out (valid JSON, no surrounding space):
// when v reads itself (the tolerant entities), it is handed data directly,
// which is what json.Unmarshal would do after scanning data twice more.
func decodeValue(data json.RawMessage, v any) error {
	if u, ok := v.(json.Unmarshaler); ok {
		return u.UnmarshalJSON(data)
	}
	return json.Unmarshal(data, v)
}

// outcome is the result of one item: exactly one of obj and err is set.
type outcome[T any] struct {
	obj *T
	err *Error
}

// entityOf returns the entity name at the end of an op path.
func entityOf(op string) string {
	if i := strings.LastIndexByte(op, '/'); i >= 0 {
		return op[i+1:]
	}
	return op
}

// isNull reports an absent or JSON-null value.
func isNull(d json.RawMessage) bool {
	t := bytes.TrimSpace(d)
	return len(t) == 0 || string(t) == "null"
}
