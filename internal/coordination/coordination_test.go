package coordination

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/coordination/redistest"
	"github.com/bill-mcp/bill-mcp/secret"
)

// Planted sentinels: none may appear in Redis or in the coordination files.
const (
	sentinelDevKey   = "DEVKEY-sentinel-7d1f"
	sentinelUser     = "user-sentinel@example.com"
	sentinelPassword = "PASSWORD-sentinel-3b9a"
	sentinelOrg      = "00801SENTINELORG0001"
	sentinelSession  = "SESSION-sentinel-55aa"
)

func creds(password string) billapi.Credentials {
	return billapi.Credentials{DevKey: secret.New(sentinelDevKey), UserName: secret.New(sentinelUser), Password: secret.New(password), OrgID: sentinelOrg}
}

const testBase = "http://127.0.0.1:1/api/v2"

// backendCase opens Coordinations that share one backend.
type backendCase struct {
	name string
	open func(t *testing.T, password string) *Coordination
	// leak returns every stored key and value, to scan for secrets.
	leak func(t *testing.T) string
}

func openOpts(t *testing.T, o Options) *Coordination {
	t.Helper()
	c, err := Open(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func backends(t *testing.T) []backendCase {
	dir := t.TempDir()
	rs := redistest.Start(t)
	return []backendCase{
		{
			name: "local",
			open: func(t *testing.T, pw string) *Coordination {
				return openOpts(t, Options{Spec: Spec{Kind: KindLocal}, Credentials: creds(pw), BaseURL: testBase, Dir: dir, Logger: zerolog.Nop()})
			},
			leak: func(t *testing.T) string {
				var b strings.Builder
				_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
					if err == nil && !info.IsDir() {
						data, _ := os.ReadFile(p)
						b.WriteString(p + "\n" + string(data) + "\n")
					}
					return nil
				})
				return b.String()
			},
		},
		{
			name: "redis",
			open: func(t *testing.T, pw string) *Coordination {
				return openOpts(t, Options{Spec: Spec{Kind: KindRedis, URL: rs.URL()}, Credentials: creds(pw), BaseURL: testBase, Logger: zerolog.Nop()})
			},
			leak: func(t *testing.T) string {
				rdb := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(rs.URL(), "redis://"), "/0")})
				defer rdb.Close()
				keys, err := rdb.Keys(t.Context(), "*").Result()
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				for _, k := range keys {
					b.WriteString(k + "\n")
					switch rdb.Type(t.Context(), k).Val() {
					case "string":
						b.WriteString(rdb.Get(t.Context(), k).Val() + "\n")
					case "zset":
						b.WriteString(strings.Join(rdb.ZRange(t.Context(), k, 0, -1).Val(), "\n") + "\n")
					}
				}
				return b.String()
			},
		},
	}
}

// TestSharedSlots: two processes' worth of Coordinations share 3 slots:
// 6 holders at once never exceed 3, and a freed slot is taken again.
func TestSharedSlots(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			a, b := bc.open(t, sentinelPassword), bc.open(t, sentinelPassword)
			var cur, peak atomic.Int32
			var wg sync.WaitGroup
			for i := range 12 {
				c := a
				if i%2 == 1 {
					c = b
				}
				wg.Go(func() {
					for range 10 {
						rel, err := c.Acquire(t.Context())
						if err != nil {
							t.Error(err)
							return
						}
						n := cur.Add(1)
						for {
							p := peak.Load()
							if n <= p || peak.CompareAndSwap(p, n) {
								break
							}
						}
						time.Sleep(time.Millisecond)
						cur.Add(-1)
						rel()
					}
				})
			}
			wg.Wait()
			if p := peak.Load(); p != 3 {
				t.Fatalf("peak holders = %d, want 3", p)
			}
			u, err := a.Usage(t.Context(), time.Now())
			if err != nil || u.InFlight != 0 || u.Holders != 2 || u.Degraded != "" {
				t.Fatalf("usage = %+v, %v; want 0 in flight, 2 holders, shared", u, err)
			}
		})
	}
}

// TestSharedBudgets: the hourly budget counts every process's calls; a
// refusal says when the hour resets; BILL's block reaches the others; the
// next clock hour starts at zero.
func TestSharedBudgets(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			a, b := bc.open(t, sentinelPassword), bc.open(t, sentinelPassword)
			now := time.Now().Truncate(time.Hour).Add(10 * time.Minute)
			ok := 0
			for i := range 10 {
				c := a
				if i%2 == 1 {
					c = b
				}
				sp, err := c.Spend(t.Context(), billapi.BudgetRequests, now, 7)
				if err != nil {
					t.Fatal(err)
				}
				if sp.OK {
					ok++
				} else if !sp.ResetAt.Equal(now.Truncate(time.Hour).Add(time.Hour)) || sp.Blocked {
					t.Fatalf("refusal = %+v, want a reset at the top of the hour", sp)
				}
			}
			if ok != 7 {
				t.Fatalf("%d calls passed a shared budget of 7", ok)
			}
			if sp, _ := b.Spend(t.Context(), billapi.BudgetLogins, now, 1); !sp.OK {
				t.Fatalf("login budget is separate, got %+v", sp)
			}
			u, _ := a.Usage(t.Context(), now)
			if u.Requests != 7 || u.Logins != 1 {
				t.Fatalf("usage = %+v, want 7 requests and 1 login", u)
			}
			if sp, _ := b.Spend(t.Context(), billapi.BudgetRequests, now.Add(time.Hour), 7); !sp.OK {
				t.Fatalf("next hour: %+v", sp)
			}
			until := time.Now().Add(time.Minute)
			if err := a.Block(t.Context(), billapi.BudgetLogins, until); err != nil {
				t.Fatal(err)
			}
			sp, _ := b.Spend(t.Context(), billapi.BudgetLogins, time.Now(), 100)
			if sp.OK || !sp.Blocked || sp.ResetAt.UnixMilli() != until.UnixMilli() {
				t.Fatalf("after BILL's block: %+v", sp)
			}
		})
	}
}

// TestSessionSealed: the session one process saves, another with the same
// credentials loads; other credentials cannot; no secret is stored in clear.
func TestSessionSealed(t *testing.T) {
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			a, b := bc.open(t, sentinelPassword), bc.open(t, sentinelPassword)
			other := bc.open(t, "another-password")
			s := billapi.Session{ID: secret.New(sentinelSession), APIEndPoint: testBase, OrgID: sentinelOrg}
			unlock, err := a.Sessions.(billapi.LoginLocker).LockLogin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			if _, err := b.Sessions.(billapi.LoginLocker).LockLogin(ctx); err == nil {
				t.Fatal("a second login lock was granted while the first is held")
			}
			cancel()
			if err := a.Sessions.Save(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			unlock()
			got, ok, err := b.Sessions.Load(t.Context())
			if err != nil || !ok || !got.ID.Equal(s.ID) {
				t.Fatalf("load = %v %v", ok, err)
			}
			if _, ok, _ := other.Sessions.Load(t.Context()); ok {
				t.Fatal("a session opened with other credentials")
			}
			stored := bc.leak(t)
			for _, s := range []string{sentinelDevKey, sentinelUser, sentinelPassword, sentinelOrg, sentinelSession} {
				if strings.Contains(stored, s) {
					t.Fatalf("%q is stored in clear", s)
				}
			}
			if err := b.Sessions.Invalidate(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := a.Sessions.Load(t.Context()); ok {
				t.Fatal("session still there after Invalidate")
			}
		})
	}
}

// TestRedisFallbackAndRejoin: with Redis stopped, calls go on one at a
// time per process and Usage says why; when Redis is back, three slots are
// shared again and the budget counted meanwhile was handed over.
func TestRedisFallbackAndRejoin(t *testing.T) {
	rs := redistest.Start(t)
	o := Options{Spec: Spec{Kind: KindRedis, URL: rs.URL()}, Credentials: creds(sentinelPassword), BaseURL: testBase, Logger: zerolog.Nop(), Probe: 50 * time.Millisecond}
	c := openOpts(t, o)
	rs.Stop()
	rel, err := c.Acquire(t.Context())
	if err != nil {
		t.Fatalf("acquire with redis down: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	if _, err := c.Acquire(ctx); err == nil {
		t.Fatal("a second call went in flight in fallback")
	}
	cancel()
	if sp, err := c.Spend(t.Context(), billapi.BudgetRequests, time.Now(), 100); err != nil || !sp.OK {
		t.Fatalf("spend in fallback = %+v %v", sp, err)
	}
	u, _ := c.Usage(t.Context(), time.Now())
	if u.Degraded == "" || u.InFlight != 1 {
		t.Fatalf("usage in fallback = %+v, want degraded with 1 in flight", u)
	}
	rs.Restart(t)
	deadline := time.Now().Add(5 * time.Second)
	for c.Down() != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.Down() != nil {
		t.Fatal("did not rejoin redis")
	}
	// The fallback call still in flight is a registered holder.
	u, err = c.Usage(t.Context(), time.Now())
	if err != nil || u.InFlight != 1 || u.Requests != 1 {
		t.Fatalf("usage after rejoin = %+v %v, want the fallback call held and its request counted", u, err)
	}
	rel()
	var rels []func()
	for range 3 {
		r, err := c.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		rels = append(rels, r)
	}
	if u, _ := c.Usage(t.Context(), time.Now()); u.InFlight != 3 {
		t.Fatalf("in flight after rejoin = %d, want 3 shared", u.InFlight)
	}
	for _, r := range rels {
		r()
	}
}

// TestKilledHolderFreesSlots: a process holding every slot is killed
// (SIGKILL). With file locks the slots are free at once; with Redis within
// the lease.
func TestKilledHolderFreesSlots(t *testing.T) {
	dir := t.TempDir()
	rs := redistest.Start(t)
	tests := []struct {
		name   string
		spec   string
		within time.Duration
	}{
		{"local", "local", 500 * time.Millisecond},
		{"redis", rs.URL(), DefaultLease + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldSlots$")
			cmd.Env = append(os.Environ(), "COORD_HELPER_SPEC="+tt.spec, "COORD_HELPER_DIR="+dir)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			if _, err := out.Read(buf); err != nil || string(buf[:4]) != "HELD" {
				t.Fatalf("helper did not take the slots: %q %v", buf, err)
			}
			spec, _ := ParseSpec(tt.spec)
			c := openOpts(t, Options{Spec: spec, Credentials: creds(sentinelPassword), BaseURL: testBase, Dir: dir, Logger: zerolog.Nop()})
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			if _, err := c.Acquire(ctx); err == nil {
				t.Fatal("a slot was free while the helper held all three")
			}
			cancel()
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			killed := time.Now()
			var rels []func()
			for range 3 {
				ctx, cancel := context.WithTimeout(t.Context(), tt.within)
				r, err := c.Acquire(ctx)
				cancel()
				if err != nil {
					t.Fatalf("slot %d not regained within %s", len(rels)+1, tt.within)
				}
				rels = append(rels, r)
			}
			t.Logf("%s: full cap regained %s after SIGKILL", tt.name, time.Since(killed).Round(time.Millisecond))
			for _, r := range rels {
				r()
			}
		})
	}
}

// TestHelperHoldSlots is not a test: TestKilledHolderFreesSlots runs it in
// a child process that takes every slot and waits to be killed.
func TestHelperHoldSlots(t *testing.T) {
	specArg := os.Getenv("COORD_HELPER_SPEC")
	if specArg == "" {
		return // run directly: nothing to do
	}
	spec, err := ParseSpec(specArg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(context.Background(), Options{Spec: spec, Credentials: creds(sentinelPassword), BaseURL: testBase, Dir: os.Getenv("COORD_HELPER_DIR"), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	os.Stdout.WriteString("HELD")
	select {}
}

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"", "local", ""},
		{"local", "local", ""},
		{"redis://127.0.0.1:6379", "redis://127.0.0.1:6379", ""},
		{"redis://127.0.0.1:6379/2", "redis://127.0.0.1:6379/2", ""},
		{"redis://:hunter2@10.0.0.1:6379/0", "redis://10.0.0.1:6379/0", ""},
		{"redis://127.0.0.1:6379/x", "", "database number"},
		{"memcached://x", "", "use local or redis://"},
		{"redis://", "", "redis://HOST:PORT"},
	}
	for _, tt := range tests {
		s, err := ParseSpec(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseSpec(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || s.String() != tt.want {
			t.Errorf("ParseSpec(%q) = %q, %v; want %q", tt.in, s.String(), err, tt.want)
		}
	}
}
