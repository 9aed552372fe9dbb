// Package coordination keeps BILL's limits for every bill-mcp process that
// uses the same devKey and org: the 3 calls in flight, the hourly request
// and login budgets, one login at a time and the session. It implements
// billapi's Coordinator, SessionStore and LoginLocker with two backends:
//
//   - local: file locks (github.com/gofrs/flock) in a directory of this
//     machine (the vault's, else the user's cache directory). A slot is a
//     lock held on a file, so a killed process gives its slots back at once.
//   - redis://HOST:PORT[/DB]: leased slots that expire within seconds when
//     their holder dies, budgets counted per clock hour, a login lock and
//     the session stored encrypted. Redis sees no devKey, password or
//     session id in clear: keys are named by a keyed hash of the devKey
//     and org, and the session is sealed with a key derived from the
//     credentials, which Redis never holds.
//
// When its backend cannot be reached, a process falls back to one call in
// flight of its own and budgets counted in memory, says so in its log and
// in Usage, and rejoins when the backend answers again.
package coordination

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/secret"
)

// EnvCoordination names the backend when --coordination is not given.
const EnvCoordination = "BILL_MCP_COORDINATION"

// Backend kinds.
const (
	KindLocal = "local"
	KindRedis = "redis"
)

// Spec is a parsed --coordination value.
type Spec struct {
	Kind string // KindLocal or KindRedis
	URL  string // redis://HOST:PORT[/DB] for KindRedis
}

// String is the spec as the user wrote it (a Redis URL without any password).
func (s Spec) String() string {
	if s.Kind == KindRedis {
		return redactURL(s.URL)
	}
	return s.Kind
}

// ParseSpec reads "local" or "redis://HOST:PORT[/DB]"; "" means local.
func ParseSpec(v string) (Spec, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "" || v == KindLocal:
		return Spec{Kind: KindLocal}, nil
	case strings.HasPrefix(v, "redis://"):
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return Spec{}, fmt.Errorf("--coordination %q: use redis://HOST:PORT[/DB]", redactURL(v))
		}
		if p := strings.Trim(u.Path, "/"); p != "" {
			if _, err := fmt.Sscanf(p, "%d", new(int)); err != nil || strings.Contains(p, "/") {
				return Spec{}, fmt.Errorf("--coordination %q: the path is a database number, e.g. redis://127.0.0.1:6379/0", redactURL(v))
			}
		}
		return Spec{Kind: KindRedis, URL: v}, nil
	}
	return Spec{}, fmt.Errorf("--coordination %q: use local or redis://HOST:PORT[/DB]", redactURL(v))
}

// redactURL drops user info (a Redis password) from a URL for messages.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(v, "@"); i >= 0 && strings.Contains(v, "://") {
			return v[:strings.Index(v, "://")+3] + "…@" + v[i+1:]
		}
		return v
	}
	u.User = nil
	return u.String()
}

// Options open a backend.
type Options struct {
	Spec        Spec
	Credentials billapi.Credentials
	// BaseURL is BILL's host the credentials are used at: limits of the
	// sandbox and of production are apart.
	BaseURL string
	// Dir is where the local backend keeps its files: the vault directory,
	// else "" for the user's cache directory.
	Dir string
	// Logger says when the backend is lost and found again.
	Logger zerolog.Logger
	// Redactor, if set, learns every session id the session store reads.
	Redactor interface{ Add(...secret.Secret) }
	// Lease is how long a Redis slot outlives a holder that stopped
	// renewing it; default DefaultLease.
	Lease time.Duration
	// Probe is how often a process that lost its backend tries it again;
	// default DefaultProbe.
	Probe time.Duration
	// Observer opens the backend to look (bill-mcp limits): the process is
	// not counted among the holders.
	Observer bool
}

// Defaults of Options.
const (
	DefaultLease = 3 * time.Second
	DefaultProbe = 250 * time.Millisecond
)

// Coordination is an open backend: the Coordinator for billapi, plus a
// session store and login lock shared the same way.
type Coordination struct {
	*Resilient
	// Sessions is the shared session store, or nil when the caller keeps
	// its own (the local backend with a vault: the vault's session cache).
	Sessions billapi.SessionStore
	// Locker is the login lock that goes with Sessions.
	Locker  billapi.LoginLocker
	closeFn func() error
}

// Close stops renewals and releases the backend's connections.
func (c *Coordination) Close() error {
	c.Resilient.stop()
	if c.closeFn != nil {
		return c.closeFn()
	}
	return nil
}

// Open connects the backend of o.Spec for the devKey and org of
// o.Credentials. It does not fail when Redis is unreachable: the process
// then runs on its own fallback until Redis answers.
func Open(ctx context.Context, o Options) (*Coordination, error) {
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Probe <= 0 {
		o.Probe = DefaultProbe
	}
	k := deriveKeys(o.Credentials, o.BaseURL)
	switch o.Spec.Kind {
	case KindLocal, "":
		dir := o.Dir
		if dir == "" {
			cache, err := os.UserCacheDir()
			if err != nil {
				return nil, fmt.Errorf("coordination: no user cache directory (%w); set XDG_CACHE_HOME or use a vault", err)
			}
			dir = filepath.Join(cache, "bill-mcp")
		}
		dir = filepath.Join(dir, "coordination")
		l, err := openLocal(dir, k, o.Observer)
		if err != nil {
			return nil, err
		}
		return &Coordination{
			Resilient: newResilient(l, o.Logger, o.Probe),
			Sessions:  &fileSessions{path: filepath.Join(dir, k.ns+".session"), lockPath: filepath.Join(dir, k.ns+".session.lock"), loginPath: filepath.Join(dir, k.ns+".login.lock"), seal: k.seal, redactor: o.Redactor},
			closeFn:   l.close,
		}, nil
	case KindRedis:
		r, err := openRedis(ctx, o.Spec.URL, k, o.Lease, o.Observer)
		if err != nil {
			return nil, err
		}
		res := newResilient(r, o.Logger, o.Probe)
		return &Coordination{
			Resilient: res,
			Sessions:  &redisSessions{r: r, seal: k.seal, redactor: o.Redactor},
			closeFn:   r.close,
		}, nil
	}
	return nil, fmt.Errorf("coordination: unknown backend %q", o.Spec.Kind)
}

// keys are what a backend derives from the credentials: the namespace of
// its files or Redis keys, and the key that seals the session.
type keys struct {
	ns   string // hex of a keyed hash of devKey, org and BILL's host
	seal []byte // AES-256 key for the session, from every credential
}

// deriveKeys: ns = HMAC-SHA256(key = devKey, "bill-mcp coordination v1" |
// org | host), so it names the devKey and org without revealing either,
// and nobody without the devKey can compute or test it. The session key is
// HKDF-SHA256 over devKey, userName, password and org: any process holding
// the credentials can open the session, Redis and the file system cannot.
func deriveKeys(c billapi.Credentials, baseURL string) keys {
	host := baseURL
	if u, err := url.Parse(baseURL); err == nil && u.Host != "" {
		host = strings.ToLower(u.Scheme + "://" + u.Host)
	}
	m := hmac.New(sha256.New, []byte(c.DevKey.Reveal()))
	for _, f := range []string{"bill-mcp coordination v1", c.OrgID, host} {
		writeField(m, f)
	}
	ns := hex.EncodeToString(m.Sum(nil)[:16])
	var ikm []byte
	for _, f := range []string{c.DevKey.Reveal(), c.UserName.Reveal(), c.Password.Reveal(), c.OrgID, host} {
		ikm = binary.BigEndian.AppendUint64(ikm, uint64(len(f)))
		ikm = append(ikm, f...)
	}
	seal, err := hkdf.Key(sha256.New, ikm, []byte(ns), "bill-mcp session seal v1", 32)
	clear(ikm)
	if err != nil {
		panic("hkdf: " + err.Error()) // only for lengths sha256 cannot give
	}
	return keys{ns: ns, seal: seal}
}

func writeField(m interface{ Write([]byte) (int, error) }, f string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(f)))
	_, _ = m.Write(n[:])
	_, _ = m.Write([]byte(f))
}

// sealedSession is the session as stored, before sealing.
type sealedSession struct {
	SessionID   string `json:"sessionId"`
	APIEndPoint string `json:"apiEndPoint"`
	OrgID       string `json:"orgId"`
	UsersID     string `json:"usersId"`
}

// sealSession encrypts s with AES-256-GCM under key, bound to ad.
func sealSession(key []byte, ad string, s billapi.Session) ([]byte, error) {
	plain, err := json.Marshal(sealedSession{SessionID: s.ID.Reveal(), APIEndPoint: s.APIEndPoint, OrgID: s.OrgID, UsersID: s.UsersID})
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	a, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.Seal(nonce, nonce, plain, []byte(ad)), nil
}

// openSession decrypts what sealSession made; ok is false for anything
// that does not open (other credentials, damage).
func openSession(key []byte, ad string, b []byte) (billapi.Session, bool) {
	a, err := newAEAD(key)
	if err != nil || len(b) < a.NonceSize() {
		return billapi.Session{}, false
	}
	plain, err := a.Open(nil, b[:a.NonceSize()], b[a.NonceSize():], []byte(ad))
	if err != nil {
		return billapi.Session{}, false
	}
	defer clear(plain)
	var s sealedSession
	if json.Unmarshal(plain, &s) != nil || s.SessionID == "" {
		return billapi.Session{}, false
	}
	return billapi.Session{ID: secret.New(s.SessionID), APIEndPoint: s.APIEndPoint, OrgID: s.OrgID, UsersID: s.UsersID}, true
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// errUnavailable marks backend trouble (as opposed to the caller's ctx).
var errUnavailable = errors.New("coordination backend unavailable")
