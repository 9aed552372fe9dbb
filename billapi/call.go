package billapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// callMode says how safe a call is to repeat when its answer is lost.
type callMode int

const (
	// modeRead: Read, List, GetSessionInfo. Repeating changes nothing.
	modeRead callMode = iota
	// modeIdempotent: Update, Delete, Undelete (WIRE-DECISIONS.md: a delete
	// of a deleted object succeeds). Repeating after a lost answer leaves
	// the record as one successful call would.
	modeIdempotent
	// modeCreate: a lost answer may hide a created record. The call is not
	// repeated; it returns *lostAnswer so the caller reconciles first.
	modeCreate
)

// lostAnswer is returned (only in modeCreate) when the request may have
// been applied but no usable answer came back. It never leaves billapi:
// the create paths reconcile and turn it into a result or an *Error.
type lostAnswer struct {
	cause *Error
}

func (l *lostAnswer) Error() string { return l.cause.Error() }
func (l *lostAnswer) Unwrap() error { return l.cause }

// send makes one HTTP attempt through the gate. maybeApplied reports
// whether BILL may have seen the request (it was written to the wire).
// Every *Error it returns has its upstream text redacted and bounded.
func (c *Client) send(ctx context.Context, base, op string, body []byte, login bool) (data json.RawMessage, e *Error, maybeApplied bool) {
	data, e, maybeApplied = c.sendOnce(ctx, base, op, body, login)
	return data, c.scrub(e), maybeApplied
}

func (c *Client) sendOnce(ctx context.Context, base, op string, body []byte, login bool) (data json.RawMessage, e *Error, maybeApplied bool) {
	leave, ge := c.gate.enter(ctx, op, login)
	if ge != nil {
		return nil, ge, false
	}
	defer func() { leave(e != nil && e.Code == CodeTooManyInFlight, e == nil) }()

	timeout := c.callTimeout
	if strings.HasPrefix(op, "Bulk/") {
		timeout = c.bulkTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			wrote.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(actx, trace), http.MethodPost, base+"/"+op+".json", bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Op: op, Code: CodeLocalInput, Class: ClassInput, Message: "cannot build the request; check the base URL: " + err.Error(), Err: err}, false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		sent := wrote.Load() && !neverSent(err)
		if ctx.Err() != nil {
			return nil, canceled(op, ctx.Err()), sent
		}
		if !sent {
			return nil, unreachable(op, req.URL.Host, err), false
		}
		return nil, transportError(op, "no answer from BILL", err), sent
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := readBody(resp)
	if err != nil {
		if ctx.Err() != nil {
			return nil, canceled(op, ctx.Err()), true
		}
		return nil, transportError(op, "the answer from BILL was cut off", err), true
	}
	if len(b) > maxResponseBytes {
		return nil, badResponse(op, resp.StatusCode, "the answer is larger than the client accepts"), true
	}
	d, de := decodeEnvelope(op, resp.StatusCode, b)
	return d, de, true
}

// readBody reads an answer of at most maxResponseBytes (one more tells a
// larger one), into a buffer of its announced length when there is one: a
// Bulk answer of 100 records is read without growing a buffer five times.
func readBody(resp *http.Response) ([]byte, error) {
	r := io.LimitReader(resp.Body, maxResponseBytes+1)
	if n := resp.ContentLength; n > 0 && n <= maxResponseBytes {
		buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
		_, err := buf.ReadFrom(r)
		return buf.Bytes(), err
	}
	return io.ReadAll(r)
}

// neverSent reports errors that prove the request never reached BILL.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// unreachable is the error of a request that never left this machine: the
// host did not resolve, refused the connection, or failed the TLS
// handshake. Nothing was sent, so nothing can have been applied.
func unreachable(op, host string, err error) *Error {
	why := "the connection failed"
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	var alert tls.AlertError
	var ne net.Error
	switch {
	case errors.As(err, &dns):
		why = "the host name " + host + " did not resolve (DNS)"
	case errors.Is(err, syscall.ECONNREFUSED):
		why = host + " refused the connection (nothing listens there)"
	case errors.As(err, &cert), errors.As(err, &rec), errors.As(err, &alert):
		why = "the TLS handshake with " + host + " failed (certificate or protocol)"
	case errors.As(err, &ne) && ne.Timeout():
		why = "connecting to " + host + " timed out"
	default:
		why = "connecting to " + host + " failed"
	}
	return &Error{Op: op, Code: CodeUnreachable, Class: ClassUnreachable, Err: err,
		Message: "nothing was sent: BILL is unreachable (" + why + ")"}
}

// transportError wraps a net/http error. Those hold the URL (which carries
// no secret: credentials travel only in the body) and never the body.
func transportError(op, what string, err error) *Error {
	return &Error{Op: op, Code: CodeTransport, Class: ClassTransport, Message: what + ": " + err.Error(), Err: err}
}

// authFields are the form fields of an authenticated call.
func (c *Client) authFields(s *activeSession, data []byte) []byte {
	if data == nil {
		return formBody(secretField("devKey", c.creds.DevKey), secretField("sessionId", s.s.ID))
	}
	return formBody(secretField("devKey", c.creds.DevKey), secretField("sessionId", s.s.ID), plainField("data", string(data)))
}

// call sends data (marshalled to JSON) to op with session handling, the
// gate and the retry policy of mode.
func (c *Client) call(ctx context.Context, op string, data any, mode callMode) (json.RawMessage, error) {
	raw, e := encodeData(op, data)
	if e != nil {
		return nil, e
	}
	return c.callRaw(ctx, op, raw, mode)
}

// callRawLostData is callRawLost with data marshalled to JSON.
func (c *Client) callRawLostData(ctx context.Context, op string, data any, mode callMode) (json.RawMessage, bool, error) {
	raw, e := encodeData(op, data)
	if e != nil {
		return nil, false, e
	}
	return c.callRawLost(ctx, op, raw, mode)
}

// encodeData is a call's data as JSON (nil data: no data field).
func encodeData(op string, data any) ([]byte, *Error) {
	if data == nil {
		return nil, nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, &Error{Op: op, Code: CodeLocalInput, Class: ClassInput, Message: "cannot encode the request data: " + err.Error(), Err: err}
	}
	return b, nil
}

// callRaw is call with data already encoded (nil: no data field).
//
// Policy: BDC_1109 voids the session, logs in again once and repeats (a
// call made under a dead session was not applied); a call whose session
// another caller had already replaced just repeats with the new one.
// BDC_1144 marks the request budget spent until the top of the next hour
// and returns at once.
// A request that never left this machine (DNS, connect, TLS) first falls
// back from Login's apiEndPoint to the configured base, then is tried once
// more and answers CodeUnreachable: nothing was sent.
// BDC_1322 is repeated with backoff for every mode. BDC_1001 is repeated
// for reads and idempotent writes; for creates it returns *lostAnswer
// (nothing says BILL applied nothing), as do a lost answer, HTTP 5xx and a
// mangled answer, which reads and idempotent writes repeat. BDC_1002 (a
// malformed request or unknown parameter) is repeated once (for creates
// after reconciling), then answered as an input error.
// An idempotent write whose answer was lost once and whose later attempt
// is refused returns *refusedAfterLost, so the caller reads the record back
// and tells the true state.
func (c *Client) callRaw(ctx context.Context, op string, data []byte, mode callMode) (json.RawMessage, error) {
	d, _, err := c.callRawLost(ctx, op, data, mode)
	return d, err
}

// callRawLost is callRaw that also reports, on success, whether an earlier
// attempt's answer was lost after its request was written (so per-item
// refusals in a Bulk answer may hide items the first attempt applied).
func (c *Client) callRawLost(ctx context.Context, op string, data []byte, mode callMode) (_ json.RawMessage, lost bool, _ error) {
	relogged, fellBack := false, false
	malformed, unreach := 0, 0
	finish := func(e *Error) error {
		if lost && mode == modeIdempotent {
			return &refusedAfterLost{cause: e}
		}
		return e
	}
	for attempt := 1; ; attempt++ {
		s, err := c.session(ctx)
		if err != nil {
			return nil, lost, finish(asError(op, err))
		}
		start := time.Now()
		d, e, maybeApplied := c.send(ctx, s.base, op, c.authFields(s, data), false)
		c.logAttempt(op, attempt, e, time.Since(start))
		if e == nil {
			return d, lost, nil
		}
		if e.Code == CodeCanceled {
			if mode == modeCreate && maybeApplied {
				return nil, lost, &lostAnswer{cause: e}
			}
			return nil, lost, e
		}
		switch {
		case e.Code == CodeUnreachable:
			if s.base != c.base && !fellBack {
				// Login's apiEndPoint does not answer: use the configured base.
				fellBack = true
				c.leaveEndpoint(ctx, s, e)
				attempt--
				continue
			}
			if unreach++; unreach >= unreachableTries {
				return nil, lost, finish(e)
			}
			if se := sleep(ctx, op, backoffDelay(c.backoffBase, c.backoffMax, unreach)); se != nil {
				return nil, lost, se
			}
			continue
		case e.Code == CodeSessionInvalid:
			if c.invalidate(ctx, s) {
				// Another caller already replaced this session: repeating
				// with the new one costs no login of ours.
				if attempt >= c.maxAttempts {
					return nil, lost, finish(e)
				}
				continue
			}
			if relogged {
				return nil, lost, finish(e)
			}
			relogged = true
			attempt--
			continue
		case e.Code == CodeHourlyLimit:
			e.ResetAt = TopOfNextHour(c.now())
			c.gate.spent(ctx, false, e.ResetAt)
			return nil, lost, finish(e)
		case e.Class == ClassHourlyLimit:
			return nil, lost, finish(e)
		case e.Code == CodeUnknownError:
			if malformed++; malformed >= 2 {
				return nil, lost, finish(malformedInput(e))
			}
			if mode == modeCreate {
				return nil, lost, &lostAnswer{cause: e}
			}
			lost = lost || maybeApplied
			continue
		}
		repeatable := e.Code == CodeTooManyInFlight || (e.Code == CodeSystemError && mode != modeCreate)
		uncertain := !repeatable && (e.Code == CodeSystemError || e.Class == ClassTransport ||
			e.Code == CodeBadResponse || (e.Class == ClassServer && e.HTTPStatus >= 500))
		if uncertain && mode == modeCreate {
			return nil, lost, &lostAnswer{cause: e}
		}
		if (uncertain || e.Code == CodeSystemError) && maybeApplied {
			lost = true
		}
		if !repeatable && !uncertain {
			return nil, lost, finish(e)
		}
		if attempt >= c.maxAttempts {
			return nil, lost, finish(e)
		}
		if se := sleep(ctx, op, backoffDelay(c.backoffBase, c.backoffMax, attempt)); se != nil {
			return nil, lost, se
		}
	}
}

// unreachableTries bounds attempts of a request that never left: one quick
// retry (a pooled connection may have just closed), then the answer.
const unreachableTries = 2

// refusedAfterLost is returned (only in modeIdempotent) when one attempt's
// answer was lost after the request was written and a later attempt was
// refused: the first may have applied. The caller reads the record back.
type refusedAfterLost struct {
	cause *Error
}

func (r *refusedAfterLost) Error() string { return r.cause.Error() }
func (r *refusedAfterLost) Unwrap() error { return r.cause }

// malformedInput turns a second BDC_1002 into the caller's input error.
func malformedInput(e *Error) *Error {
	return &Error{Op: e.Op, Code: e.Code, Class: ClassInput, HTTPStatus: e.HTTPStatus, Err: e.Err,
		Message: e.Message + " (BILL calls the request malformed or a parameter unknown, twice: check the field names and values)"}
}

// logAttempt writes one debug line: op, attempt, code, duration. Never data.
func (c *Client) logAttempt(op string, attempt int, e *Error, d time.Duration) {
	ev := c.log.Debug()
	if !ev.Enabled() {
		return
	}
	ev = ev.Str("op", op).Int("attempt", attempt).Dur("duration", d)
	if e != nil {
		ev = ev.Str("code", e.Code).Str("class", e.Class.String()).Int("http_status", e.HTTPStatus)
	}
	ev.Msg("bill call")
}
