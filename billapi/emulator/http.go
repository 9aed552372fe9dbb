// Routing and HTTP: the v2 surface at /api/v2/{Path}.json, the form body,
// data decoding, Crud/List/Bulk dispatch and the answers.

package emulator

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// countUntilAnswer ends a call's in-flight count when its answer starts
// (Config.CountWhileAnswering off).
type countUntilAnswer struct {
	http.ResponseWriter
	end func()
}

func (c *countUntilAnswer) WriteHeader(status int) {
	c.end()
	c.ResponseWriter.WriteHeader(status)
}

func (c *countUntilAnswer) Write(b []byte) (int, error) {
	c.end()
	return c.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (abort).
func (c *countUntilAnswer) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// writeJSON answers body with status, counting error envelopes.
func (e *Emulator) writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body))) // as a JSON API answers a whole document
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// fail answers an error envelope and counts it.
func (e *Emulator) fail(w http.ResponseWriter, aerr *apiError) {
	e.mu.Lock()
	e.stats.Errors[aerr.code]++
	e.mu.Unlock()
	e.writeJSON(w, aerr.httpStatus(), appendError(make([]byte, 0, 192), aerr))
}

// abort closes the connection without an answer. reset=true makes the
// peer see a TCP reset rather than a clean close. When w cannot be
// hijacked (httptest.ResponseRecorder), it panics with http.ErrAbortHandler,
// which net/http turns into an aborted response.
func abort(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// answerFaultBeforeApply answers the fault kinds that strike before
// anything is applied (system, echo, concurrency, ratelimit, reset) and
// reports whether it answered; session, lost-response and applied-error are
// the callers' to handle.
func (e *Emulator) answerFaultBeforeApply(w http.ResponseWriter, fault FaultKind, login bool, form map[string]string) bool {
	switch fault {
	case FaultSystem:
		e.fail(w, systemError())
	case FaultEcho:
		// A careless upstream: its error message quotes the request, form
		// body and all (devKey, sessionId, userName, password).
		v := make(url.Values, len(form))
		for k, x := range form {
			v.Set(k, x)
		}
		e.fail(w, errf(codeSystem, "An unexpected system error occurred while processing the request %s. Please try again.", v.Encode()))
	case FaultConcurrency:
		e.fail(w, e.inFlightError())
	case FaultRateLimit:
		e.fail(w, e.hourlyError(login))
	case FaultReset:
		abort(w, true)
	default:
		return false
	}
	return true
}

// answerFaultAfterApply answers the fault kinds that strike after the call
// was applied: lost-response closes the connection, applied-error answers
// BDC_1001. It reports whether it answered.
func (e *Emulator) answerFaultAfterApply(w http.ResponseWriter, fault FaultKind) bool {
	switch fault {
	case FaultLostResponse:
		abort(w, false)
	case FaultAppliedError:
		e.fail(w, systemError())
	default:
		return false
	}
	return true
}

func systemError() *apiError {
	return errf(codeSystem, "An unexpected system error occurred. Please try again.")
}

// ServeHTTP answers BILL's v2 surface at /api/v2/{Path}.json and the
// emulator's own GET /__emulator/stats and POST /__emulator/reset.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/__emulator/stats":
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		body, _ := json.Marshal(e.Stats())
		e.writeJSON(w, http.StatusOK, body)
		return
	case "/__emulator/reset":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		e.Reset()
		e.writeJSON(w, http.StatusOK, []byte(`{"reset":true}`))
		return
	}

	e.mu.Lock()
	e.stats.Requests++
	e.mu.Unlock()

	path, okPrefix := strings.CutPrefix(r.URL.Path, "/api/v2/")
	path, okSuffix := strings.CutSuffix(path, ".json")
	rt, found := e.routes[path]
	if !okPrefix || !okSuffix || !found {
		e.fail(w, &apiError{code: codeNotSupported, msg: "API not supported.", status: http.StatusNotFound})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		e.fail(w, &apiError{code: codeNotSupported, msg: "API not supported: BILL v2 calls are POST with a form-encoded body, not " + r.Method + ".", status: http.StatusMethodNotAllowed})
		return
	}
	form, aerr := e.readForm(w, r)
	if aerr != nil {
		e.fail(w, aerr)
		return
	}

	devKey, ok := form["devKey"]
	if !ok || devKey == "" {
		e.fail(w, errf(codeMissingParam, "Missing required parameter: devKey."))
		return
	}
	if subtle.ConstantTimeCompare([]byte(devKey), []byte(e.cfg.Identity.DevKey)) != 1 {
		e.fail(w, errf(codeBadDevKey, "Developer key is invalid."))
		return
	}
	org := e.cfg.Identity.OrgID
	if rt.op == opLogin {
		org = form["orgId"]
	}

	// Admission: in-flight cap, then the hourly budget. The emulator accepts
	// one devKey, so counting per org is counting per devKey and org.
	key := org
	if aerr := e.admit(key, rt.op == opLogin); aerr != nil {
		e.fail(w, aerr)
		return
	}
	counted := sync.OnceFunc(func() { e.release(key) })
	defer counted()
	if !e.cfg.CountWhileAnswering {
		w = &countUntilAnswer{ResponseWriter: w, end: counted}
	}

	if e.cfg.Latency > 0 {
		t := time.NewTimer(e.cfg.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	if rt.op == opLogin {
		e.serveLogin(w, r, form)
		return
	}

	sid, ok := form["sessionId"]
	if !ok || sid == "" {
		e.fail(w, errf(codeMissingParam, "Missing required parameter: sessionId."))
		return
	}
	if aerr := e.touchSession(sid); aerr != nil {
		e.fail(w, aerr)
		return
	}

	fault := e.drawFault(false)
	if fault != "" {
		e.countFault(fault)
	}
	if fault == FaultSession {
		e.mu.Lock()
		delete(e.sessions, sid)
		e.mu.Unlock()
		e.fail(w, errf(codeSession, "Session is invalid. Please log in."))
		return
	}
	if e.answerFaultBeforeApply(w, fault, false, form) {
		return
	}

	var body []byte
	switch rt.op {
	case opSessionInfo:
		b := append(make([]byte, 0, 160), successHead...)
		b = append(b, `{"organizationId":`...)
		b = appendString(b, org)
		b = append(b, `,"userId":`...)
		b = appendString(b, e.usersID)
		body = append(b, "}}"...)
	case opLogout:
		e.mu.Lock()
		delete(e.sessions, sid)
		e.mu.Unlock()
		body = append([]byte(successHead), "{}}"...)
	default:
		body, aerr = e.serveData(rt, form)
		if aerr != nil && fault == "" {
			e.fail(w, aerr)
			return
		}
	}
	if e.answerFaultAfterApply(w, fault) {
		return
	}
	e.writeJSON(w, http.StatusOK, body)
}

// readForm reads the form-encoded body (never the query string) into a map
// of single values.
func (e *Emulator) readForm(w http.ResponseWriter, r *http.Request) (map[string]string, *apiError) {
	q := r.URL.Query()
	for _, k := range []string{"devKey", "sessionId", "userName", "password", "data"} {
		if q.Has(k) {
			return nil, errf(codeMissingParam, "Parameter %s must travel in the form-encoded POST body, never in the URL (URLs end up in logs).", k)
		}
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errf(codeMissingParam, "Missing required parameters: the body must be application/x-www-form-urlencoded (got Content-Type %q).", ct)
	}
	r.Body = http.MaxBytesReader(w, r.Body, e.cfg.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{code: codeBadParam, msg: "Invalid parameter: the request body is larger than the limit of " + itoa(mbe.Limit) + " bytes. Send fewer items per call.", status: http.StatusRequestEntityTooLarge}
		}
		return nil, errf(codeMissingParam, "Missing required parameters: the form-encoded body could not be read.")
	}
	form := make(map[string]string, len(r.PostForm))
	for k, v := range r.PostForm {
		if len(v) > 0 {
			form[k] = v[0]
		}
	}
	return form, nil
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// parseData decodes the data form field: a JSON object.
func parseData(form map[string]string) (map[string]any, *apiError) {
	raw, ok := form["data"]
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, errf(codeMissingParam, "Missing required parameter: data (a JSON object).")
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, errf(codeBadJSON, "Unable to parse the JSON in data: %s.", jsonProblem(err))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errf(codeBadJSON, "Unable to parse data: expected a JSON object, got %s.", jsonKind(v))
	}
	return m, nil
}

// jsonProblem describes a JSON syntax error without echoing the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at byte " + itoa(se.Offset)
	}
	return "invalid JSON"
}

// serveData runs a Crud, List or Bulk call and renders its envelope.
func (e *Emulator) serveData(rt route, form map[string]string) ([]byte, *apiError) {
	data, aerr := parseData(form)
	if aerr != nil {
		return nil, aerr
	}
	def := rt.def
	s := e.store
	if rt.op == opList {
		q, aerr := parseList(def, data)
		if aerr != nil {
			return nil, aerr
		}
		if e.cfg.RefuseInFilter {
			for _, f := range q.filters {
				if f.op == "in" || f.op == "nin" {
					return nil, errf(codeFilterOp, "Invalid filter operator: %s.", f.op)
				}
			}
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		b := append(make([]byte, 0, 256), successHead...)
		b = s.list(b, def, q)
		return append(b, '}'), nil
	}
	if rt.bulk {
		items, aerr := bulkItems(data)
		if aerr != nil {
			return nil, aerr
		}
		now := e.now()
		s.mu.Lock()
		defer s.mu.Unlock()
		b := append(make([]byte, 0, 1024*len(items)), successHead...)
		b = append(b, `{"bulk":[`...)
		var itemErrs []string
		for i, it := range items {
			if i > 0 {
				b = append(b, ',')
			}
			m, ok := it.(map[string]any)
			var o *object
			if !ok {
				aerr = errf(codeDatatype, "Invalid datatype for bulk[%d]: expected an object, got %s.", i, jsonKind(it))
			} else {
				o, aerr = e.apply(rt.op, def, m, now)
			}
			if aerr != nil {
				itemErrs = append(itemErrs, aerr.code)
				b = appendError(b, aerr)
				continue
			}
			b = append(b, successHead...)
			b = s.appendObject(b, def, o)
			b = append(b, '}')
		}
		if len(itemErrs) > 0 {
			e.mu.Lock()
			for _, c := range itemErrs {
				e.stats.Errors[c]++
			}
			e.mu.Unlock()
		}
		return append(b, "]}}"...), nil
	}
	now := e.now()
	if rt.op == opRead {
		s.mu.RLock()
		defer s.mu.RUnlock()
		o, aerr := s.read(def, data)
		if aerr != nil {
			return nil, aerr
		}
		return append(s.appendObject(append(make([]byte, 0, 1024), successHead...), def, o), '}'), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, aerr := e.apply(rt.op, def, data, now)
	if aerr != nil {
		return nil, aerr
	}
	return append(s.appendObject(append(make([]byte, 0, 1024), successHead...), def, o), '}'), nil
}

// apply runs one write (or read) against the store; store.mu is held for
// writing.
func (e *Emulator) apply(op opKind, def *entityDef, data map[string]any, now string) (*object, *apiError) {
	s := e.store
	switch op {
	case opCreate:
		return s.create(def, data, now, e.newID)
	case opUpdate:
		return s.update(def, data, now)
	case opDelete:
		return s.setActive(def, data, inactive, now)
	case opUndelete:
		return s.setActive(def, data, active, now)
	default:
		return s.read(def, data)
	}
}

// bulkItems reads data.bulk: 1 to MaxBulkItems items.
func bulkItems(data map[string]any) ([]any, *apiError) {
	v, ok := data["bulk"]
	if !ok || v == nil {
		return nil, errf(codeMissingParam, "Missing required parameter: bulk (an array of items) in data.")
	}
	items, ok := v.([]any)
	if !ok {
		return nil, errf(codeDatatype, "Invalid datatype for bulk: expected an array, got %s.", jsonKind(v))
	}
	if len(items) == 0 || len(items) > MaxBulkItems {
		return nil, errf(codeBadParam, "Invalid parameter: bulk must hold 1 to %d items, got %d. Split larger sets into several calls.", MaxBulkItems, len(items))
	}
	return items, nil
}
