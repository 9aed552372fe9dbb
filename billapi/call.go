package billapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
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
func (c *Client) send(ctx context.Context, base, op string, body []byte, login bool) (data json.RawMessage, e *Error, maybeApplied bool) {
	leave, ge := c.gate.enter(ctx, op, login)
	if ge != nil {
		return nil, ge, false
	}
	defer func() { leave(e != nil && e.Code == CodeTooManyInFlight, e == nil) }()

	actx, cancel := context.WithTimeout(ctx, c.callTimeout)
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
		return nil, transportError(op, "no answer from BILL", err), sent
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
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

// neverSent reports errors that prove the request never reached BILL.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
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
	var raw []byte
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, &Error{Op: op, Code: CodeLocalInput, Class: ClassInput, Message: "cannot encode the request data: " + err.Error(), Err: err}
		}
		raw = b
	}
	return c.callRaw(ctx, op, raw, mode)
}

// callRaw is call with data already encoded (nil: no data field).
//
// Policy: BDC_1109 voids the session, logs in again once and repeats (a
// call made under a dead session was not applied); a call whose session
// another caller had already replaced just repeats with the new one.
// BDC_1144 marks the request budget spent until the top of the next hour
// and returns at once.
// BDC_1322, BDC_1001 and a request that never left are repeated with
// backoff for every mode. A lost answer, BDC_1002, HTTP 5xx or a mangled
// answer are repeated for reads and idempotent writes; for creates they
// return *lostAnswer.
func (c *Client) callRaw(ctx context.Context, op string, data []byte, mode callMode) (json.RawMessage, error) {
	relogged := false
	for attempt := 1; ; attempt++ {
		s, err := c.session(ctx)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		d, e, maybeApplied := c.send(ctx, s.base, op, c.authFields(s, data), false)
		c.logAttempt(op, attempt, e, time.Since(start))
		if e == nil {
			return d, nil
		}
		if e.Code == CodeCanceled {
			if mode == modeCreate && maybeApplied {
				return nil, &lostAnswer{cause: e}
			}
			return nil, e
		}
		switch {
		case e.Code == CodeSessionInvalid:
			if c.invalidate(ctx, s) {
				// Another caller already replaced this session: repeating
				// with the new one costs no login of ours.
				if attempt >= c.maxAttempts {
					return nil, e
				}
				continue
			}
			if relogged {
				return nil, e
			}
			relogged = true
			attempt--
			continue
		case e.Code == CodeHourlyLimit:
			e.ResetAt = topOfNextHour(c.now())
			c.gate.spent(ctx, false, e.ResetAt)
			return nil, e
		case e.Class == ClassHourlyLimit:
			return nil, e
		}
		repeatable := e.Code == CodeTooManyInFlight || e.Code == CodeSystemError ||
			(e.Class == ClassTransport && !maybeApplied)
		uncertain := !repeatable && (e.Code == CodeUnknownError || e.Class == ClassTransport ||
			e.Code == CodeBadResponse || (e.Class == ClassServer && e.HTTPStatus >= 500))
		if uncertain && mode == modeCreate {
			return nil, &lostAnswer{cause: e}
		}
		if !repeatable && !uncertain {
			return nil, e
		}
		if attempt >= c.maxAttempts {
			return nil, e
		}
		if se := sleep(ctx, op, backoffDelay(c.backoffBase, c.backoffMax, attempt)); se != nil {
			return nil, se
		}
	}
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
