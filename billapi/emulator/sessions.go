// Sessions and Login: idle expiry, Login, GetSessionInfo and Logout state.

package emulator

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"time"
)

type session struct {
	org  string
	last time.Time
}

// ExpireSessions drops every session now; the next call with any of them
// gets BDC_1109.
func (e *Emulator) ExpireSessions() {
	e.mu.Lock()
	clear(e.sessions)
	e.mu.Unlock()
}

// touchSession checks sid and restarts its idle clock.
func (e *Emulator) touchSession(sid string) *apiError {
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[sid]
	if ok && now.Sub(s.last) > e.cfg.SessionIdle {
		delete(e.sessions, sid)
		ok = false
	}
	if !ok {
		return errf(codeSession, "Session is invalid. Please log in.")
	}
	s.last = now
	return nil
}

func (e *Emulator) serveLogin(w http.ResponseWriter, r *http.Request, form map[string]string) {
	for _, k := range []string{"userName", "password", "orgId"} {
		if form[k] == "" {
			e.fail(w, errf(codeMissingParam, "Missing required parameter: %s.", k))
			return
		}
	}
	fault := e.drawFault(true)
	if fault != "" {
		e.countFault(fault)
	}
	if e.answerFaultBeforeApply(w, fault, true, form) {
		return
	}
	id := e.cfg.Identity
	userOK := subtle.ConstantTimeCompare([]byte(form["userName"]), []byte(id.UserName)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(form["password"]), []byte(id.Password)) == 1
	if !userOK || !passOK {
		e.fail(w, errf(codeBadCredentials, "Wrong user name or password."))
		return
	}
	if form["orgId"] != id.OrgID {
		e.fail(w, errf(codeBadOrg, "Invalid organization id: this user has no access to that organization."))
		return
	}
	sid := rand.Text()
	now := e.cfg.Now()
	e.mu.Lock()
	// Forget idle sessions here so the map stays as small as the login budget.
	for k, s := range e.sessions {
		if now.Sub(s.last) > e.cfg.SessionIdle {
			delete(e.sessions, k)
		}
	}
	e.sessions[sid] = &session{org: id.OrgID, last: now}
	e.mu.Unlock()
	if e.answerFaultAfterApply(w, fault) {
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	b := append(make([]byte, 0, 256), successHead...)
	b = append(b, `{"sessionId":`...)
	b = appendString(b, sid)
	b = append(b, `,"orgId":`...)
	b = appendString(b, id.OrgID)
	b = append(b, `,"apiEndPoint":`...)
	b = appendString(b, scheme+"://"+r.Host+"/api/v2")
	b = append(b, `,"usersId":`...)
	b = appendString(b, e.usersID)
	e.writeJSON(w, http.StatusOK, append(b, "}}"...))
}
