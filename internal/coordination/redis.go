package coordination

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/secret"
)

// redisTimeout bounds one Redis command: a stalled Redis must turn into the
// fallback quickly, not into calls stuck behind it.
const redisTimeout = 500 * time.Millisecond

// Keys, all under bill-mcp:NS: where NS is the keyed hash of devKey and org.
//   slots    sorted set: holder token -> lease expiry (ms, Redis clock)
//   members  sorted set: process token -> lease expiry
//   b:HOUR:K budget counter K (0 requests, 1 logins) of the clock hour HOUR
//   blocked:K BILL refused budget K until (unix ms); expires then
//   login    login lock: token, with a lease
//   session  the session, sealed (AES-GCM) with a key Redis never sees

// acquireScript takes a slot if fewer than ARGV[1] unexpired leases exist.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[4] == '1' or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  return 1
end
return 0`)

// renewScript extends the leases of the tokens still held (XX: a lease
// that expired is not brought back).
var renewScript = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), ARGV[2])
return 1`)

// spendScript counts one unit unless blocked or at the limit.
// KEYS: counter, blocked. ARGV: limit, ttl seconds, now ms.
var spendScript = redis.NewScript(`
local b = redis.call('GET', KEYS[2])
if b and tonumber(b) > tonumber(ARGV[3]) then return {-1, tonumber(b)} end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return {0, n} end
n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, n}`)

// unlockScript deletes KEYS[1] if it still holds ARGV[1].
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// countScript counts unexpired leases in each sorted set.
var countScript = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return {redis.call('ZCOUNT', KEYS[1], now, '+inf'), redis.call('ZCOUNT', KEYS[2], now, '+inf')}`)

type redisBackend struct {
	rdb    *redis.Client
	url    string
	prefix string
	lease  time.Duration
	self   string // this process's token

	mu   sync.Mutex
	held map[string]struct{} // slot tokens to renew
	stop chan struct{}
	done chan struct{}
}

func openRedis(ctx context.Context, rawURL string, k keys, lease time.Duration, observer bool) (*redisBackend, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--coordination %s: %v", redactURL(rawURL), err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = redisTimeout, redisTimeout, redisTimeout
	opt.MaxRetries = -1 // fail fast: the fallback takes over
	opt.DialerRetries = 1
	// go-redis logs dial failures through its own package logger; the
	// fallback's log line says it once, so they go nowhere.
	redis.SetLogger(quietLogger{})
	opt.PoolSize = 16
	opt.DisableIdentity = true
	r := &redisBackend{
		rdb:    redis.NewClient(opt),
		url:    redactURL(rawURL),
		prefix: "bill-mcp:" + k.ns + ":",
		lease:  lease,
		self:   newToken(),
		held:   make(map[string]struct{}),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if observer {
		close(r.done)
		return r, nil
	}
	go r.renewLoop()
	return r, nil
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *redisBackend) key(k string) string { return r.prefix + k }

func (r *redisBackend) name() string { return r.url }

func (r *redisBackend) close() error {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	_ = r.rdb.ZRem(ctx, r.key("members"), r.self).Err()
	return r.rdb.Close()
}

// renewLoop extends this process's leases every third of the lease.
func (r *redisBackend) renewLoop() {
	defer close(r.done)
	t := time.NewTicker(r.lease / 3)
	defer t.Stop()
	for {
		r.renew()
		select {
		case <-t.C:
		case <-r.stop:
			return
		}
	}
}

func (r *redisBackend) renew() {
	r.mu.Lock()
	args := []any{r.lease.Milliseconds(), r.self}
	for tok := range r.held {
		args = append(args, tok)
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	_ = renewScript.Run(ctx, r.rdb, []string{r.key("slots"), r.key("members")}, args...).Err()
}

func unavailable(err error) error { return fmt.Errorf("%w: redis: %v", errUnavailable, err) }

func (r *redisBackend) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

func (r *redisBackend) take(ctx context.Context, capacity int, force bool) (bool, func(), error) {
	tok := newToken()
	f := "0"
	if force {
		f = "1"
	}
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	n, err := acquireScript.Run(cctx, r.rdb, []string{r.key("slots")}, capacity, r.lease.Milliseconds(), tok, f).Int()
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, nil, ctx.Err()
		}
		return false, nil, unavailable(err)
	}
	if n != 1 {
		return false, nil, nil
	}
	r.mu.Lock()
	r.held[tok] = struct{}{}
	r.mu.Unlock()
	var once sync.Once
	return true, func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.held, tok)
			r.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
			defer cancel()
			_ = r.rdb.ZRem(ctx, r.key("slots"), tok).Err() // else the lease runs out
		})
	}, nil
}

// acquire polls for a free slot.
func (r *redisBackend) acquire(ctx context.Context, capacity int) (func(), error) {
	for {
		ok, release, err := r.take(ctx, capacity, false)
		if err != nil || ok {
			return release, err
		}
		t := time.NewTimer(slotPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// force registers a call already in flight (begun in fallback) as a
// holder, even above the cap, so that others wait for it.
func (r *redisBackend) force(ctx context.Context) (func(), error) {
	_, release, err := r.take(ctx, 0, true)
	return release, err
}

func (r *redisBackend) budgetKey(kind billapi.Budget, now time.Time) string {
	return r.key("b:" + strconv.FormatInt(now.Truncate(time.Hour).Unix(), 10) + ":" + strconv.Itoa(int(kind)))
}

func (r *redisBackend) spend(ctx context.Context, kind billapi.Budget, now time.Time, limit int) (billapi.Spend, error) {
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	v, err := spendScript.Run(cctx, r.rdb, []string{r.budgetKey(kind, now), r.key("blocked:" + strconv.Itoa(int(kind)))},
		limit, 2*3600, now.UnixMilli()).Int64Slice()
	if err != nil {
		if ctx.Err() != nil {
			return billapi.Spend{}, ctx.Err()
		}
		return billapi.Spend{}, unavailable(err)
	}
	switch v[0] {
	case 1:
		return billapi.Spend{OK: true}, nil
	case -1:
		return billapi.Spend{Blocked: true, ResetAt: time.UnixMilli(v[1])}, nil
	}
	return billapi.Spend{ResetAt: billapi.TopOfNextHour(now)}, nil
}

func (r *redisBackend) add(ctx context.Context, kind billapi.Budget, now time.Time, n int) error {
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	k := r.budgetKey(kind, now)
	_, err := r.rdb.TxPipelined(cctx, func(p redis.Pipeliner) error {
		p.IncrBy(cctx, k, int64(n))
		p.Expire(cctx, k, 2*time.Hour)
		return nil
	})
	if err != nil {
		return unavailable(err)
	}
	return nil
}

func (r *redisBackend) block(ctx context.Context, kind billapi.Budget, until time.Time) error {
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	if err := r.rdb.Set(cctx, r.key("blocked:"+strconv.Itoa(int(kind))), until.UnixMilli(), d).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

func (r *redisBackend) usage(ctx context.Context, now time.Time) (billapi.Usage, error) {
	u := billapi.Usage{Backend: r.url, Hour: now.Truncate(time.Hour), ResetAt: billapi.TopOfNextHour(now)}
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	counts, err := countScript.Run(cctx, r.rdb, []string{r.key("slots"), r.key("members")}).Int64Slice()
	if err != nil {
		return u, unavailable(err)
	}
	u.InFlight, u.Holders = int(counts[0]), int(counts[1])
	vals, err := r.rdb.MGet(cctx, r.budgetKey(billapi.BudgetRequests, now), r.budgetKey(billapi.BudgetLogins, now),
		r.key("blocked:0"), r.key("blocked:1")).Result()
	if err != nil {
		return u, unavailable(err)
	}
	num := func(v any) int64 {
		s, _ := v.(string)
		n, _ := strconv.ParseInt(s, 10, 64)
		return n
	}
	u.Requests, u.Logins = int(num(vals[0])), int(num(vals[1]))
	if b := num(vals[2]); b > 0 {
		u.Blocked = time.UnixMilli(b)
	}
	if b := num(vals[3]); b > 0 {
		u.LoginsOff = time.UnixMilli(b)
	}
	return u, nil
}

// redisSessions keeps the session in Redis, sealed, and the login lock.
type redisSessions struct {
	r        *redisBackend
	seal     []byte
	redactor interface{ Add(...secret.Secret) }
}

var (
	_ billapi.SessionStore = (*redisSessions)(nil)
	_ billapi.LoginLocker  = (*redisSessions)(nil)
)

// sessionTTL bounds how long a stored session is offered; BILL ends idle
// sessions sooner and BDC_1109 voids one at once.
const sessionTTL = 12 * time.Hour

func (s *redisSessions) Load(ctx context.Context) (billapi.Session, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	b, err := s.r.rdb.Get(cctx, s.r.key("session")).Bytes()
	if errors.Is(err, redis.Nil) {
		return billapi.Session{}, false, nil
	}
	if err != nil {
		return billapi.Session{}, false, unavailable(err)
	}
	sess, ok := openSession(s.seal, s.r.prefix, b)
	if ok && s.redactor != nil {
		s.redactor.Add(sess.ID)
	}
	return sess, ok, nil
}

func (s *redisSessions) Save(ctx context.Context, sess billapi.Session) error {
	if s.redactor != nil {
		s.redactor.Add(sess.ID)
	}
	b, err := sealSession(s.seal, s.r.prefix, sess)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	if err := s.r.rdb.Set(cctx, s.r.key("session"), b, sessionTTL).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

func (s *redisSessions) Invalidate(ctx context.Context, sess billapi.Session) error {
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	k := s.r.key("session")
	err := s.r.rdb.Watch(cctx, func(tx *redis.Tx) error {
		b, err := tx.Get(cctx, k).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur, ok := openSession(s.seal, s.r.prefix, b); ok && !cur.ID.Equal(sess.ID) {
			return nil // another process saved a newer one
		}
		_, err = tx.TxPipelined(cctx, func(p redis.Pipeliner) error {
			p.Del(cctx, k)
			return nil
		})
		return err
	}, k)
	if err != nil && !errors.Is(err, redis.TxFailedErr) {
		return unavailable(err)
	}
	return nil
}

// loginLease bounds how long a dead process can hold the login lock; a
// live holder renews it.
const loginLease = 10 * time.Second

// LockLogin takes the login lock shared by every replica: one login at a
// time, and the others then find its session.
func (s *redisSessions) LockLogin(ctx context.Context) (func(), error) {
	tok := newToken()
	k := s.r.key("login")
	for {
		cctx, cancel := context.WithTimeout(ctx, redisTimeout)
		ok, err := s.r.rdb.SetNX(cctx, k, tok, loginLease).Result()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, unavailable(err)
		}
		if ok {
			break
		}
		t := time.NewTimer(loginPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(loginLease / 3)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				c, cancel := context.WithTimeout(context.Background(), redisTimeout)
				_ = s.r.rdb.Expire(c, k, loginLease).Err()
				cancel()
			case <-stop:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			c, cancel := context.WithTimeout(context.Background(), redisTimeout)
			defer cancel()
			_ = unlockScript.Run(c, s.r.rdb, []string{k}, tok).Err()
		})
	}, nil
}

// quietLogger drops go-redis's own log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
