package billapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// The tolerant reader. BILL's answers vary where its docs and examples do:
// a flag may come as a JSON boolean or as "true"/"false", an amount as a
// number or a numeric string, an enum as "1" or 1, and answers carry fields
// this client does not model. Every entity and envelope therefore decodes
// through decodeTolerant, which
//   - ignores unknown fields, and leaves a field nil for null or absence,
//   - reads a string field from a string, a number (its literal) or a boolean,
//   - reads a bool field from a boolean, "true"/"false" (any case), "1"/"0" or 1/0,
//   - reads a number field from a number or a numeric string ("" is null),
//   - matches field names exactly, else case-insensitively (as encoding/json).
// Whitespace, pretty-printing and field order are JSON's own business.
// Writing stays strict: entities marshal with encoding/json, booleans as
// booleans and enums as strings.

// decodeTolerant decodes the JSON object data into the struct v points to.
func decodeTolerant(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("billapi: decodeTolerant needs a pointer to a struct, got %T", v)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		return fmt.Errorf("billapi: expected a JSON object, got null")
	}
	sv := rv.Elem()
	st := sv.Type()
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		val, ok := raw[name]
		if !ok {
			for k, v := range raw {
				if strings.EqualFold(k, name) {
					val, ok = v, true
					break
				}
			}
		}
		if !ok || isNull(val) {
			continue
		}
		if err := setTolerant(sv.Field(i), val); err != nil {
			return fmt.Errorf("field %s: %w", name, err)
		}
	}
	return nil
}

// setTolerant stores raw into f as described above.
func setTolerant(f reflect.Value, raw json.RawMessage) error {
	t := f.Type()
	ptr := t.Kind() == reflect.Pointer
	base := t
	if ptr {
		base = t.Elem()
	}
	tok := bytes.TrimSpace(raw)
	var out reflect.Value
	switch base.Kind() {
	case reflect.String:
		s, err := tolerantString(tok)
		if err != nil {
			return err
		}
		out = reflect.ValueOf(s).Convert(base)
	case reflect.Bool:
		b, err := tolerantBool(tok)
		if err != nil {
			return err
		}
		out = reflect.ValueOf(b)
	case reflect.Float64, reflect.Float32, reflect.Int, reflect.Int64, reflect.Int32:
		n, null, err := tolerantNumber(tok)
		if err != nil {
			return err
		}
		if null {
			return nil
		}
		switch base.Kind() {
		case reflect.Float64, reflect.Float32:
			out = reflect.ValueOf(n).Convert(base)
		default:
			if n != float64(int64(n)) {
				return fmt.Errorf("%s is not a whole number", tok)
			}
			out = reflect.ValueOf(int64(n)).Convert(base)
		}
	default:
		return json.Unmarshal(raw, f.Addr().Interface())
	}
	if ptr {
		p := reflect.New(base)
		p.Elem().Set(out)
		f.Set(p)
		return nil
	}
	f.Set(out)
	return nil
}

func tolerantString(tok []byte) (string, error) {
	switch {
	case len(tok) > 0 && tok[0] == '"':
		var s string
		err := json.Unmarshal(tok, &s)
		return s, err
	case string(tok) == "true" || string(tok) == "false":
		return string(tok), nil
	case len(tok) > 0 && (tok[0] == '-' || tok[0] >= '0' && tok[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(tok, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	}
	return "", fmt.Errorf("expected a string, got %.20s", tok)
}

func tolerantBool(tok []byte) (bool, error) {
	s := string(tok)
	if len(tok) > 0 && tok[0] == '"' {
		if err := json.Unmarshal(tok, &s); err != nil {
			return false, err
		}
		s = strings.ToLower(strings.TrimSpace(s))
	}
	switch s {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("expected a boolean, got %.20s", tok)
}

func tolerantNumber(tok []byte) (n float64, null bool, err error) {
	s := string(tok)
	if len(tok) > 0 && tok[0] == '"' {
		if err := json.Unmarshal(tok, &s); err != nil {
			return 0, false, err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, true, nil
		}
	}
	n, err = strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("expected a number, got %.20s", tok)
	}
	return n, false, nil
}

// fastThenTolerant decodes b into v with encoding/json through plain (v
// as a type without this UnmarshalJSON) and, only when a field's JSON type
// differs from the struct's, again from scratch with decodeTolerant. The
// fast path keeps List pages of 999 records cheap.
func fastThenTolerant[T any](b []byte, v *T, plain any) error {
	if err := json.Unmarshal(b, plain); err == nil {
		return nil
	}
	var zero T
	*v = zero
	return decodeTolerant(b, v)
}

// UnmarshalJSON reads a Customer tolerantly (see decodeTolerant).
func (c *Customer) UnmarshalJSON(b []byte) error {
	type plain Customer
	return fastThenTolerant(b, c, (*plain)(c))
}

// UnmarshalJSON reads a CustomerContact tolerantly (see decodeTolerant).
func (c *CustomerContact) UnmarshalJSON(b []byte) error {
	type plain CustomerContact
	return fastThenTolerant(b, c, (*plain)(c))
}

// UnmarshalJSON reads a CustomerBankAccount tolerantly (see decodeTolerant):
// isSavings and isPersonalAcct arrive as booleans from BILL, and as the
// strings "true"/"false" from readings of its reference.
func (c *CustomerBankAccount) UnmarshalJSON(b []byte) error {
	type plain CustomerBankAccount
	return fastThenTolerant(b, c, (*plain)(c))
}

// UnmarshalJSON reads GetSessionInfo's answer tolerantly.
func (s *SessionInfo) UnmarshalJSON(b []byte) error {
	type plain SessionInfo
	return fastThenTolerant(b, s, (*plain)(s))
}

// UnmarshalJSON reads Login's answer tolerantly.
func (l *loginAnswer) UnmarshalJSON(b []byte) error {
	type plain loginAnswer
	return fastThenTolerant(b, l, (*plain)(l))
}

// UnmarshalJSON reads an error's response_data tolerantly (a numeric
// error_code is read as its digits).
func (e *errorData) UnmarshalJSON(b []byte) error {
	type plain errorData
	return fastThenTolerant(b, e, (*plain)(e))
}

// UnmarshalJSON reads the envelope tolerantly: response_status may be 0 or "0".
func (e *envelope) UnmarshalJSON(b []byte) error {
	type plain envelope
	return fastThenTolerant(b, e, (*plain)(e))
}
