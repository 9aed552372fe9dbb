package emulator

import (
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// BDC error codes the emulator answers.
const (
	codeSystem         = "BDC_1001"
	codeBadCredentials = "BDC_1101"
	codeBadDevKey      = "BDC_1102"
	codeMissingParam   = "BDC_1108"
	codeSession        = "BDC_1109"
	codeMissingData    = "BDC_1117"
	codeEntityMismatch = "BDC_1118"
	codeInvalidValue   = "BDC_1119"
	codeNoData         = "BDC_1120"
	codeNotSupported   = "BDC_1121"
	codeBadJSON        = "BDC_1122"
	codeBadOrg         = "BDC_1123"
	codeDatatype       = "BDC_1124"
	codeBadParam       = "BDC_1129"
	codeFilterField    = "BDC_1130"
	codeFilterOp       = "BDC_1131"
	codeHourly         = "BDC_1144"
	codeInFlight       = "BDC_1322"
)

// apiError is one BILL error answer.
type apiError struct {
	code   string
	msg    string
	status int // HTTP status; 0 means 200
}

func errf(code, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

func (e *apiError) httpStatus() int {
	if e.status == 0 {
		return http.StatusOK
	}
	return e.status
}

const (
	successHead = `{"response_status":0,"response_message":"Success","response_data":`
	errorHead   = `{"response_status":1,"response_message":"Error","response_data":{"error_code":`
)

// appendError appends a whole error envelope.
func appendError(b []byte, e *apiError) []byte {
	b = append(b, errorHead...)
	b = appendString(b, e.code)
	b = append(b, `,"error_message":`...)
	b = appendString(b, e.msg)
	return append(b, "}}"...)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendValue appends a stored field value: nil, string, bool or float64.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	default:
		return append(b, "null"...)
	}
}
