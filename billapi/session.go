package billapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/bill-mcp/bill-mcp/secret"
)

// activeSession is a session with the base URL its calls go to.
type activeSession struct {
	s    Session
	base string
}

// sessionKey is the single-flight key: every login of a Client shares it.
const sessionKey = "session"

// session returns the current session, obtaining one (store, else login)
// when there is none. Concurrent callers share one login.
func (c *Client) session(ctx context.Context) (*activeSession, error) {
	c.smu.Lock()
	s := c.cur
	c.smu.Unlock()
	if s != nil {
		return s, nil
	}
	return c.obtainShared(ctx, false)
}

// obtainShared runs obtain once for all concurrent callers. The work runs
// under ctx without its cancellation, so one impatient caller does not fail
// the others' login; each caller still stops waiting when its ctx ends.
func (c *Client) obtainShared(ctx context.Context, force bool) (*activeSession, error) {
	ch := c.sf.DoChan(sessionKey, func() (any, error) {
		return c.obtain(context.WithoutCancel(ctx), force)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*activeSession), nil
	case <-ctx.Done():
		return nil, canceled("Login", ctx.Err())
	}
}

// obtain finds a session: the current one, else the store's (unless it is
// the one BILL just rejected), else a fresh login saved to the store. With a
// LoginLocker the whole step runs under its lock, so processes sharing a
// store log in once between them.
func (c *Client) obtain(ctx context.Context, force bool) (*activeSession, error) {
	if !force {
		c.smu.Lock()
		s := c.cur
		c.smu.Unlock()
		if s != nil {
			return s, nil
		}
	}
	if c.locker != nil {
		unlock, err := c.locker.LockLogin(ctx)
		var be *Error
		if errors.As(err, &be) {
			return nil, err // the store says why the call must fail (e.g. a hung process holds the lock)
		}
		if err != nil {
			c.log.Warn().Err(err).Msg("bill session store: login lock failed; logging in without it")
		} else {
			defer unlock()
		}
	}
	if !force && c.store != nil {
		s, ok, err := c.store.Load(ctx)
		switch {
		case err != nil:
			c.log.Warn().Err(err).Msg("bill session store: load failed; logging in")
		case ok && !s.ID.IsZero() && !c.isRejected(s.ID):
			as := &activeSession{s: s, base: c.baseFor(s.APIEndPoint)}
			c.setCurrent(as)
			return as, nil
		}
	}
	as, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	c.setCurrent(as)
	if c.store != nil {
		if err := c.store.Save(ctx, as.s); err != nil {
			c.log.Warn().Err(err).Msg("bill session store: save failed; the session lives in memory only")
		}
	}
	return as, nil
}

func (c *Client) setCurrent(as *activeSession) {
	c.rememberSession(as.s.ID)
	c.smu.Lock()
	c.cur = as
	c.smu.Unlock()
}

func (c *Client) isRejected(id secret.Secret) bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	return !c.rejected.IsZero() && c.rejected.Equal(id)
}

// invalidate forgets s after BILL answered BDC_1109 for it; a session that
// was already replaced stays replaced. It reports whether another caller
// had already dealt with s (replaced it, or rejected it and is logging in).
func (c *Client) invalidate(ctx context.Context, s *activeSession) (stale bool) {
	c.smu.Lock()
	switch {
	case c.cur != nil && c.cur.s.ID.Equal(s.s.ID):
		c.cur = nil
	case c.cur != nil:
		stale = true
	default:
		stale = !c.rejected.IsZero() && c.rejected.Equal(s.s.ID)
	}
	c.rejected = s.s.ID
	c.smu.Unlock()
	if stale {
		return true
	}
	if c.store != nil {
		if err := c.store.Invalidate(ctx, s.s); err != nil {
			c.log.Warn().Err(err).Msg("bill session store: invalidate failed")
		}
	}
	return false
}

// loginAnswer is Login's response_data.
type loginAnswer struct {
	SessionID   string `json:"sessionId"`
	OrgID       string `json:"orgId"`
	APIEndPoint string `json:"apiEndPoint"`
	UsersID     string `json:"usersId"`
}

// login sends Login.json through the gate (counted against the login
// budget). It is safe to repeat: a spare session harms nothing, so
// transient failures are retried with backoff; auth errors never are.
func (c *Client) login(ctx context.Context) (*activeSession, error) {
	const op = "Login"
	body := formBody(
		secretField("userName", c.creds.UserName),
		secretField("password", c.creds.Password),
		plainField("orgId", c.creds.OrgID),
		secretField("devKey", c.creds.DevKey),
	)
	for attempt := 1; ; attempt++ {
		start := time.Now()
		d, e, _ := c.send(ctx, c.base, op, body, true)
		c.logAttempt(op, attempt, e, time.Since(start))
		if e == nil {
			var la loginAnswer
			if err := json.Unmarshal(d, &la); err != nil || la.SessionID == "" {
				return nil, badResponse(op, 200, "Login answered without a sessionId")
			}
			s := Session{ID: secret.New(la.SessionID), APIEndPoint: la.APIEndPoint, OrgID: la.OrgID, UsersID: la.UsersID}
			return &activeSession{s: s, base: c.baseFor(la.APIEndPoint)}, nil
		}
		switch {
		case e.Code == CodeHourlyLimit:
			e.ResetAt = TopOfNextHour(c.now())
			c.gate.spent(ctx, true, e.ResetAt)
			return nil, e
		case e.Code == CodeTooManyInFlight, e.Class == ClassServer, e.Class == ClassTransport:
		default:
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

// baseFor decides where calls of a session go. Login's apiEndPoint is
// followed only when it cannot send our devKey and session elsewhere: when
// it has the configured base's scheme and host (an emulator answers its own
// address), or when both the configured base and apiEndPoint are https on
// BILL's own domain (BILL routing an org to another of its hosts). Anything
// else (a foreign host, plain http to BILL, garbage) is ignored and the
// configured base is used.
func (c *Client) baseFor(apiEndPoint string) string {
	u, err := url.Parse(strings.TrimRight(apiEndPoint, "/"))
	if apiEndPoint == "" || err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return c.base
	}
	sameHost := strings.EqualFold(u.Scheme, c.baseURL.Scheme) && strings.EqualFold(u.Host, c.baseURL.Host)
	billToBill := isBillHost(c.baseURL.Hostname()) && c.baseURL.Scheme == "https" &&
		u.Scheme == "https" && isBillHost(u.Hostname())
	if !sameHost && !billToBill {
		return c.base
	}
	return u.String()
}

// leaveEndpoint stops following Login's apiEndPoint for session s after a
// request to it never left (DNS, connect or TLS failure): the session's
// calls go to the configured base from now on, and the session store keeps
// the session without the failing endpoint. It logs the host, never a
// secret.
func (c *Client) leaveEndpoint(ctx context.Context, s *activeSession, cause *Error) {
	host := ""
	if u, err := url.Parse(s.base); err == nil {
		host = u.Host
	}
	c.log.Warn().Str("endpoint_host", host).Str("base_host", c.baseURL.Host).Str("code", cause.Code).
		Msg("bill: the apiEndPoint Login returned does not answer; using the configured base URL")
	moved := Session{ID: s.s.ID, OrgID: s.s.OrgID, UsersID: s.s.UsersID}
	c.smu.Lock()
	if c.cur != nil && c.cur.s.ID.Equal(s.s.ID) {
		c.cur = &activeSession{s: moved, base: c.base}
	}
	c.smu.Unlock()
	if c.store != nil {
		if err := c.store.Save(ctx, moved); err != nil {
			c.log.Warn().Err(err).Msg("bill session store: save failed; the failing endpoint may stay cached")
		}
	}
}

// isBillHost reports whether host is bill.com or a subdomain of it.
func isBillHost(host string) bool {
	host = strings.ToLower(host)
	return host == "bill.com" || strings.HasSuffix(host, ".bill.com")
}

// Login logs in now (normally the first call does it), replacing the
// current session, and saves the session to the store. Concurrent callers
// share one login.
func (c *Client) Login(ctx context.Context) error {
	_, err := c.obtainShared(ctx, true)
	return err
}

// Logout ends the session and forgets it in the session store. Without a
// session (none in memory, none in the store) it does nothing.
func (c *Client) Logout(ctx context.Context) error {
	c.smu.Lock()
	s := c.cur
	c.cur = nil
	c.smu.Unlock()
	if s == nil && c.store != nil {
		if st, ok, err := c.store.Load(ctx); err == nil && ok && !st.ID.IsZero() {
			s = &activeSession{s: st, base: c.baseFor(st.APIEndPoint)}
		}
	}
	if s == nil {
		return nil
	}
	const op = "Logout"
	start := time.Now()
	_, e, _ := c.send(ctx, s.base, op, c.authFields(s, nil), false)
	c.logAttempt(op, 1, e, time.Since(start))
	if c.store != nil {
		if err := c.store.Invalidate(ctx, s.s); err != nil {
			c.log.Warn().Err(err).Msg("bill session store: invalidate failed")
		}
	}
	if e != nil && e.Code != CodeSessionInvalid {
		return e
	}
	return nil
}

// SessionInfo is GetSessionInfo's answer.
type SessionInfo struct {
	OrganizationID string `json:"organizationId"`
	UserID         string `json:"userId"`
}

// GetSessionInfo asks BILL which org and user the session belongs to
// (logging in first when there is no session).
func (c *Client) GetSessionInfo(ctx context.Context) (*SessionInfo, error) {
	d, err := c.callRaw(ctx, "GetSessionInfo", nil, modeRead)
	if err != nil {
		return nil, err
	}
	var si SessionInfo
	if err := json.Unmarshal(d, &si); err != nil {
		return nil, badResponse("GetSessionInfo", 200, "GetSessionInfo answered an unexpected shape")
	}
	return &si, nil
}
