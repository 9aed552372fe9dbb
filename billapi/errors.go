package billapi

import (
	"errors"
	"fmt"
	"time"
)

// Class groups BILL's error codes by what a caller should do about them.
type Class int

// The error classes. Each has a sentinel (ErrInput, ErrAuth, ...) so callers
// can write errors.Is(err, billapi.ErrSession).
const (
	ClassUnknown     Class = iota
	ClassInput             // the caller's data or parameters are wrong; fix and resend
	ClassAuth              // credentials rejected (BDC_1101, BDC_1102 ...); never retried
	ClassSession           // session invalid or expired (BDC_1109)
	ClassHourlyLimit       // hourly budget spent (BDC_1144 or the local budget); wait for ResetAt
	ClassConcurrency       // too many requests in flight (BDC_1322)
	ClassServer            // BILL failed (BDC_1001, BDC_1002, HTTP 5xx)
	ClassTransport         // the request or its answer was lost on the network
	ClassUnreachable       // the request never left this machine: BILL could not be reached (DNS, connect, TLS)
)

// Sentinels for errors.Is; an *Error matches the sentinel of its Class.
var (
	ErrInput       = errors.New("billapi: input error")
	ErrAuth        = errors.New("billapi: authentication error")
	ErrSession     = errors.New("billapi: session error")
	ErrHourlyLimit = errors.New("billapi: hourly limit reached")
	ErrConcurrency = errors.New("billapi: too many requests in flight")
	ErrServer      = errors.New("billapi: server error")
	ErrTransport   = errors.New("billapi: transport error")
	ErrUnreachable = errors.New("billapi: BILL unreachable; nothing was sent")
)

// String names the class.
func (c Class) String() string {
	switch c {
	case ClassInput:
		return "input"
	case ClassAuth:
		return "auth"
	case ClassSession:
		return "session"
	case ClassHourlyLimit:
		return "hourly_limit"
	case ClassConcurrency:
		return "concurrency"
	case ClassServer:
		return "server"
	case ClassTransport:
		return "transport"
	case ClassUnreachable:
		return "unreachable"
	default:
		return "unknown"
	}
}

func (c Class) sentinel() error {
	switch c {
	case ClassInput:
		return ErrInput
	case ClassAuth:
		return ErrAuth
	case ClassSession:
		return ErrSession
	case ClassHourlyLimit:
		return ErrHourlyLimit
	case ClassConcurrency:
		return ErrConcurrency
	case ClassServer:
		return ErrServer
	case ClassTransport:
		return ErrTransport
	case ClassUnreachable:
		return ErrUnreachable
	default:
		return nil
	}
}

// Error is a failed BILL call: the BDC code and message BILL answered (or a
// local code for failures BILL never saw), the HTTP status, and its class.
// It never holds a credential: Message is BILL's text, Err a transport error
// whose text the client has checked holds no request body.
type Error struct {
	Op         string    // BILL path without .json, e.g. "Crud/Create/Customer"
	Code       string    // BDC_xxxx, or a local code such as "LOCAL_HOURLY_BUDGET"
	Message    string    // BILL's error_message, or a plain description
	HTTPStatus int       // HTTP status of the answer; 0 when none arrived
	Class      Class     // what kind of failure this is
	ResetAt    time.Time // for ClassHourlyLimit: when the budget resets
	Err        error     // underlying cause (transport), if any
}

// Error formats op, code and message.
func (e *Error) Error() string {
	s := "bill " + e.Op + ": "
	if e.Code != "" {
		s += e.Code + " "
	}
	s += e.Message
	if !e.ResetAt.IsZero() {
		s += fmt.Sprintf(" (resets at %s)", e.ResetAt.UTC().Format(time.RFC3339))
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the class sentinel.
func (e *Error) Is(target error) bool {
	s := e.Class.sentinel()
	return s != nil && target == s
}

// Known BDC codes this client acts on.
const (
	CodeSystemError      = "BDC_1001"
	CodeUnknownError     = "BDC_1002"
	CodeBadCredentials   = "BDC_1101"
	CodeBadDevKey        = "BDC_1102"
	CodeMissingParam     = "BDC_1108"
	CodeSessionInvalid   = "BDC_1109"
	CodeMissingData      = "BDC_1117"
	CodeEntityMismatch   = "BDC_1118"
	CodeInvalidField     = "BDC_1119"
	CodeNoDataFound      = "BDC_1120"
	CodeAPINotSupported  = "BDC_1121"
	CodeBadJSON          = "BDC_1122"
	CodeInvalidDatatype  = "BDC_1124"
	CodeInvalidParam     = "BDC_1129"
	CodeBadFilterField   = "BDC_1130"
	CodeBadFilterOp      = "BDC_1131"
	CodeHourlyLimit      = "BDC_1144"
	CodeTooManyInFlight  = "BDC_1322"
	CodeLocalBudget      = "LOCAL_HOURLY_BUDGET" // the client's own budget stopped the call before BILL did
	CodeTransport        = "TRANSPORT"           // no answer: connection reset, timeout, refused
	CodeUndecidedOutcome = "OUTCOME_UNKNOWN"     // a write's answer was lost and reconciliation could not tell
	CodeLocalInput       = "LOCAL_INVALID_INPUT" // the client refused the input before sending it (bad id, bad page size)
	CodeBadResponse      = "LOCAL_BAD_RESPONSE"  // the answer was not a BILL envelope (not JSON, truncated, wrong shape)
	CodeCanceled         = "LOCAL_CANCELED"      // the caller's context ended before the call finished
	CodeCoordination     = "LOCAL_COORDINATION"  // the limits shared with other processes could not be checked; nothing was sent
	CodeUnreachable      = "BILL_UNREACHABLE"    // nothing was sent: DNS, connect or TLS failed before the request was written
)

// ClassOf classifies a BDC code and HTTP status.
func ClassOf(code string, httpStatus int) Class {
	switch code {
	case CodeBadCredentials, CodeBadDevKey, "BDC_1103", "BDC_1104", "BDC_1106", "BDC_1107", "BDC_1110", "BDC_1111", "BDC_1113", "BDC_1123":
		return ClassAuth
	case CodeSessionInvalid:
		return ClassSession
	case CodeHourlyLimit, CodeLocalBudget:
		return ClassHourlyLimit
	case CodeTooManyInFlight:
		return ClassConcurrency
	case CodeSystemError, CodeUnknownError:
		return ClassServer
	case CodeTransport, CodeUndecidedOutcome:
		return ClassTransport
	case CodeBadResponse:
		return ClassServer
	case CodeCanceled:
		return ClassUnknown
	case CodeUnreachable, CodeCoordination:
		return ClassUnreachable
	}
	if httpStatus >= 500 {
		return ClassServer
	}
	if code == "" {
		return ClassUnknown
	}
	return ClassInput
}
