// Package credentials resolves where the server's BILL credentials come
// from (a vault profile or the environment) into what billapi needs, and
// adapts the vault's session cache to billapi's session store.
package credentials

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/journal"
	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/vault"
)

// Environment variables read by Resolve.
const (
	EnvProfile  = "BILL_MCP_PROFILE"
	EnvDevKey   = "BILL_DEV_KEY"
	EnvUserName = "BILL_USERNAME"
	EnvPassword = "BILL_PASSWORD"
	EnvOrgID    = "BILL_ORG_ID"
	EnvBILLEnv  = "BILL_ENV"
	EnvBaseURL  = "BILL_BASE_URL"
)

// DefaultProfile is the profile used when neither --profile nor
// BILL_MCP_PROFILE names one.
const DefaultProfile = "default"

// ErrMissingEnv means --credentials env was chosen but variables are unset.
var ErrMissingEnv = errors.New("missing credential environment variables")

// Redactor learns secrets to scrub from log output;
// *logging.RedactingWriter is one.
type Redactor interface {
	Add(secrets ...secret.Secret)
}

// Options says where to look.
type Options struct {
	Profile string              // --profile or BILL_MCP_PROFILE; "" with Env false means the default profile
	Env     bool                // --credentials env: BILL_DEV_KEY, BILL_USERNAME, BILL_PASSWORD, BILL_ORG_ID, BILL_ENV
	BaseURL string              // --base-url or BILL_BASE_URL; overrides the environment's host
	Getenv  func(string) string // os.Getenv in production
	// Redactor, if set, is taught the credentials and every session id the
	// session store loads or saves.
	Redactor Redactor
	// Vault tunes how the vault is opened (its Getenv defaults to Getenv).
	Vault vault.Options
}

// Resolved is what serve hands to billapi.
type Resolved struct {
	Credentials  billapi.Credentials
	BaseURL      string
	SessionStore billapi.SessionStore // nil for --credentials env (in-memory session)
	Source       string               // "profile NAME" or "environment", for the startup log
	Environment  vault.Environment    // sandbox or production
	VaultDir     string               // the vault's directory for a profile; "" for --credentials env
	// IndexKey names the environment, host and org, for the search index.
	IndexKey string
	// IndexStore keeps the search index encrypted in the vault directory;
	// nil for --credentials env (the index lives in memory only).
	IndexStore *vault.SealedFile

	// Journal keeps the bulk tools' import journals: sealed with the
	// vault's key in the vault directory for a profile, in memory for the
	// environment.
	Journal *journal.Store

	vault *vault.Vault
}

// Vault is the vault the credentials were read from, already decrypted
// once (nil for the environment): others reading it in this process reuse
// it rather than paying for its key again.
func (r Resolved) Vault() *vault.Vault { return r.vault }

// Resolve finds the credentials: the vault profile named by o.Profile, else
// BILL_MCP_PROFILE, else "default"; or, with o.Env, the BILL_* variables
// (BILL_ENV defaults to sandbox, so reaching production always takes an
// explicit choice). The base URL is o.BaseURL, else BILL_BASE_URL, else the
// environment's host; it is never read from the vault.
func Resolve(ctx context.Context, o Options) (Resolved, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var (
		res Resolved
		err error
	)
	if o.Env {
		if o.Profile != "" {
			return Resolved{}, fmt.Errorf("choose one credential source: --profile %s or --credentials env, not both", o.Profile)
		}
		res, err = fromEnv(getenv)
		res.SessionStore = NewMemoryStore(o.Redactor)
	} else {
		res, err = fromVault(ctx, o, getenv)
	}
	if err != nil {
		return Resolved{}, err
	}
	res.BaseURL, err = baseURL(o.BaseURL, getenv, res.Environment)
	if err != nil {
		return Resolved{}, err
	}
	res.IndexKey = IndexKey(string(res.Environment), res.BaseURL, res.Credentials.OrgID)
	if res.vault != nil {
		if res.IndexStore, err = res.vault.SealedFile(res.IndexKey); err != nil {
			return Resolved{}, fmt.Errorf("search index file: %w", err)
		}
	}
	// One journal scope per BILL host and org: the same import key never
	// resumes a job done elsewhere.
	scope := res.BaseURL + "\x00" + res.Credentials.OrgID
	if res.vault != nil {
		sealer, err := res.vault.Sealer(ctx)
		if err != nil {
			return Resolved{}, fmt.Errorf("journal key: %w", err)
		}
		if res.Journal, err = journal.NewDir(res.vault.JournalDir(), sealer, scope); err != nil {
			return Resolved{}, err
		}
	} else {
		res.Journal = journal.NewMemory(scope)
	}
	if o.Redactor != nil {
		o.Redactor.Add(res.Credentials.DevKey, res.Credentials.UserName, res.Credentials.Password)
	}
	return res, nil
}

func fromEnv(getenv func(string) string) (Resolved, error) {
	var missing []string
	get := func(k string) string {
		v := getenv(k)
		if v == "" {
			missing = append(missing, k)
		}
		return v
	}
	devKey, user, pass, org := get(EnvDevKey), get(EnvUserName), get(EnvPassword), get(EnvOrgID)
	if len(missing) > 0 {
		return Resolved{}, fmt.Errorf("--credentials env needs %s set (missing: %s): %w", strings.Join([]string{EnvDevKey, EnvUserName, EnvPassword, EnvOrgID}, ", "), strings.Join(missing, ", "), ErrMissingEnv)
	}
	env := vault.Sandbox
	if s := getenv(EnvBILLEnv); s != "" {
		e, err := vault.ParseEnvironment(s)
		if err != nil {
			return Resolved{}, fmt.Errorf("%s=%q: use sandbox or production", EnvBILLEnv, s)
		}
		env = e
	}
	p := vault.Profile{DevKey: secret.New(devKey), UserName: secret.New(user), Password: secret.New(pass), OrgID: org, Environment: env}
	if err := p.Validate(); err != nil {
		return Resolved{}, fmt.Errorf("credentials from the environment (%s, %s, %s, %s): %w", EnvDevKey, EnvUserName, EnvPassword, EnvOrgID, err)
	}
	return Resolved{Credentials: toCredentials(p), Source: "environment", Environment: env}, nil
}

func fromVault(ctx context.Context, o Options, getenv func(string) string) (Resolved, error) {
	name := o.Profile
	if name == "" {
		name = getenv(EnvProfile)
	}
	if name == "" {
		name = DefaultProfile
	}
	if err := vault.ValidateProfileName(name); err != nil {
		return Resolved{}, err
	}
	vo := o.Vault
	if vo.Getenv == nil {
		vo.Getenv = getenv
	}
	v, err := vault.Open(vo)
	if err != nil {
		return Resolved{}, err
	}
	p, err := v.Profile(ctx, name)
	if err != nil {
		return Resolved{}, fmt.Errorf("profile %q: %w", name, err)
	}
	cache, err := v.SessionCache(name)
	if err != nil {
		return Resolved{}, fmt.Errorf("profile %q session cache: %w", name, err)
	}
	return Resolved{
		Credentials:  toCredentials(p),
		SessionStore: NewSessionStore(cache, o.Redactor),
		Source:       "profile " + name,
		Environment:  p.Environment,
		VaultDir:     v.Dir(),
		vault:        v,
	}, nil
}

// IndexKey is the key of an org's search index: the environment, the API
// host and the org id, so no two orgs or hosts ever share one.
func IndexKey(environment, baseURL, orgID string) string {
	return "index|" + environment + "|" + baseURL + "|" + orgID
}

func toCredentials(p vault.Profile) billapi.Credentials {
	return billapi.Credentials{DevKey: p.DevKey, UserName: p.UserName, Password: p.Password, OrgID: p.OrgID}
}

// baseURL picks the API base: flag, then BILL_BASE_URL, then the host of env.
func baseURL(flag string, getenv func(string) string, env vault.Environment) (string, error) {
	u, from := flag, "--base-url"
	if u == "" {
		u, from = getenv(EnvBaseURL), EnvBaseURL
	}
	if u == "" {
		if env == vault.Production {
			return billapi.ProductionBaseURL, nil
		}
		return billapi.SandboxBaseURL, nil
	}
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" || parsed.User != nil || parsed.RawQuery != "" {
		return "", fmt.Errorf("%s %q: use an http(s) URL without credentials or query, e.g. http://127.0.0.1:8809/api/v2", from, u)
	}
	return strings.TrimRight(u, "/"), nil
}

// SessionStore adapts a vault session cache to billapi.SessionStore and
// billapi.LoginLocker.
type SessionStore struct {
	cache    *vault.SessionCache
	redactor Redactor
}

// NewSessionStore wraps cache; r (may be nil) learns every session id seen.
func NewSessionStore(cache *vault.SessionCache, r Redactor) *SessionStore {
	return &SessionStore{cache: cache, redactor: r}
}

var (
	_ billapi.SessionStore = (*SessionStore)(nil)
	_ billapi.LoginLocker  = (*SessionStore)(nil)
)

func (s *SessionStore) learn(id secret.Secret) {
	if s.redactor != nil {
		s.redactor.Add(id)
	}
}

// Load returns the cached session, ok=false when there is none.
func (s *SessionStore) Load(ctx context.Context) (billapi.Session, bool, error) {
	c, ok, err := s.cache.Load(ctx)
	if err != nil || !ok {
		return billapi.Session{}, false, err
	}
	s.learn(c.ID)
	return billapi.Session{ID: c.ID, APIEndPoint: c.APIEndPoint, OrgID: c.OrgID, UsersID: c.UsersID}, true, nil
}

// Save stores a freshly logged-in session.
func (s *SessionStore) Save(ctx context.Context, sess billapi.Session) error {
	s.learn(sess.ID)
	return s.cache.Save(ctx, toCached(sess))
}

// Invalidate forgets sess if it is still the stored one.
func (s *SessionStore) Invalidate(ctx context.Context, sess billapi.Session) error {
	return s.cache.Invalidate(ctx, toCached(sess))
}

// CodeLoginLockTimeout is the code of a call that failed because another
// process held the login lock too long.
const CodeLoginLockTimeout = "LOGIN_LOCK_TIMEOUT"

// LockLogin takes the profile's cross-process login lock. A lock held too
// long by another process (vault.LoginLockWait) fails the call with a
// *billapi.Error saying so, rather than waiting forever.
func (s *SessionStore) LockLogin(ctx context.Context) (func(), error) {
	unlock, err := s.cache.LockLogin(ctx)
	if errors.Is(err, vault.ErrLoginLockTimeout) {
		return nil, &billapi.Error{Op: "Login", Code: CodeLoginLockTimeout, Class: billapi.ClassUnknown, Err: err,
			Message: fmt.Sprintf("another bill-mcp process has held the BILL login lock for over %s and is probably hung, so nothing was sent to BILL; the user should stop that process and retry", vault.LoginLockWait)}
	}
	return unlock, err
}

func toCached(s billapi.Session) vault.CachedSession {
	return vault.CachedSession{ID: s.ID, APIEndPoint: s.APIEndPoint, OrgID: s.OrgID, UsersID: s.UsersID}
}

// MemoryStore keeps the session in memory only (--credentials env, the
// emulator) and, like SessionStore, teaches the redactor every session id,
// so the log's second net knows it too.
type MemoryStore struct {
	redactor Redactor
	mu       sync.Mutex
	sess     billapi.Session
	ok       bool
}

// NewMemoryStore returns an empty in-memory store; r (may be nil) learns
// every session id saved.
func NewMemoryStore(r Redactor) *MemoryStore { return &MemoryStore{redactor: r} }

var _ billapi.SessionStore = (*MemoryStore)(nil)

// Load returns the session saved in this process, if any.
func (m *MemoryStore) Load(context.Context) (billapi.Session, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sess, m.ok, nil
}

// Save keeps sess and teaches the redactor its id.
func (m *MemoryStore) Save(_ context.Context, sess billapi.Session) error {
	if m.redactor != nil {
		m.redactor.Add(sess.ID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sess, m.ok = sess, true
	return nil
}

// Invalidate forgets sess if it is still the kept one.
func (m *MemoryStore) Invalidate(_ context.Context, sess billapi.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ok && m.sess.ID.Equal(sess.ID) {
		m.sess, m.ok = billapi.Session{}, false
	}
	return nil
}
