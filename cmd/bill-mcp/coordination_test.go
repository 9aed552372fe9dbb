package main

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/coordination/redistest"
)

// watchedEmulator counts the API calls in flight at the emulator's door,
// with a peak that can be reset. A call counts from the request's arrival
// until its answer starts (or its handler returns without one): no client
// can have read the answer yet, so a correct gate never has a fourth call
// at the door, and the count is never below what the emulator holds.
// (The emulator's own maxInFlight cannot exceed its cap: it refuses the
// fourth call before counting it.) Bulk calls can be held at the door for a while
// after the emulator answered (holdBulk), and the first other call to
// arrive after a moment (since) is recorded (firstSince).
type watchedEmulator struct {
	*emulator.Emulator
	URL            string
	cur, peak      atomic.Int64
	bulkCur        atomic.Int64
	holdBulk       atomic.Int64 // nanoseconds a bulk answer waits at the door
	since, arrived atomic.Int64 // unix nanoseconds: the moment, the first other call after it
}

func startWatchedEmulator(t *testing.T, cfg emulator.Config) *watchedEmulator {
	t.Helper()
	w := &watchedEmulator{Emulator: emulator.New(cfg)}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			w.Emulator.ServeHTTP(rw, r)
			return
		}
		n := w.cur.Add(1)
		for p := w.peak.Load(); n > p && !w.peak.CompareAndSwap(p, n); p = w.peak.Load() {
		}
		leave := sync.OnceFunc(func() { w.cur.Add(-1) })
		defer leave()
		rw = &answerStarts{ResponseWriter: rw, start: leave}
		if !strings.Contains(r.URL.Path, "/Bulk/") {
			if since, now := w.since.Load(), time.Now().UnixNano(); since > 0 && now > since {
				w.arrived.CompareAndSwap(0, now)
			}
			w.Emulator.ServeHTTP(rw, r)
			return
		}
		w.bulkCur.Add(1)
		defer w.bulkCur.Add(-1)
		hold := time.Duration(w.holdBulk.Load())
		if hold <= 0 {
			w.Emulator.ServeHTTP(rw, r)
			return
		}
		rec := httptest.NewRecorder()
		w.Emulator.ServeHTTP(rec, r)
		select {
		case <-time.After(hold):
		case <-r.Context().Done():
			return
		}
		replay(rw, rec)
	}))
	t.Cleanup(srv.Close)
	w.URL = srv.URL + "/api/v2"
	return w
}

// replay sends the answer rec recorded.
func replay(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// answerStarts calls start when the answer's status or first bytes are
// written.
type answerStarts struct {
	http.ResponseWriter
	start func()
}

func (a *answerStarts) WriteHeader(status int) {
	a.start()
	a.ResponseWriter.WriteHeader(status)
}

func (a *answerStarts) Write(b []byte) (int, error) {
	a.start()
	return a.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (a *answerStarts) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// firstSince reports how long after the moment marked by since the first
// call other than a bulk one arrived (false: none yet).
func (w *watchedEmulator) firstSince() (time.Duration, bool) {
	a := w.arrived.Load()
	if a == 0 {
		return 0, false
	}
	return time.Duration(a - w.since.Load()), true
}

// resetPeak starts a new peak from the calls in flight now.
func (w *watchedEmulator) resetPeak() { w.peak.Store(w.cur.Load()) }

// demoEnv is a server's environment with the emulator's demo identity as
// --credentials env.
func demoEnv(baseURL string, extra ...string) []string {
	id := emulator.DemoIdentity()
	return serverEnv(append([]string{"BILL_DEV_KEY=" + id.DevKey, "BILL_USERNAME=" + id.UserName, "BILL_PASSWORD=" + id.Password,
		"BILL_ORG_ID=" + id.OrgID, "BILL_ENV=sandbox", "BILL_BASE_URL=" + baseURL}, extra...)...)
}

// load makes n concurrent tool calls on c, a spread of reads, lists and
// creates (names tagged by tag), and returns the failures.
func load(t *testing.T, c *client.Client, tag, seedID string, n int) []string {
	t.Helper()
	var mu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var name string
			var args map[string]any
			switch i % 3 {
			case 0:
				name, args = "get_customer", map[string]any{"customerId": seedID}
			case 1:
				name, args = "list_customers", map[string]any{"max": 5}
			default:
				name, args = "create_customer", map[string]any{"name": fmt.Sprintf("%s %04d", tag, i)}
			}
			_, isErr, raw := callTool(t, c, name, args)
			if isErr {
				mu.Lock()
				failed = append(failed, name+": "+raw)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failed
}

// seedCustomer creates the customer the loads read.
func seedCustomer(t *testing.T, c *client.Client) string {
	t.Helper()
	sc, isErr, raw := callTool(t, c, "create_customer", map[string]any{"name": "Seed Co"})
	if isErr {
		t.Fatalf("seed: %s", raw)
	}
	return sc["customer"].(map[string]any)["id"].(string)
}

// clearOfHourEnd waits out the end of a clock hour less than 20 s away:
// the test counts hourly budgets, which BILL and bill-mcp both reset then.
func clearOfHourEnd(t *testing.T) {
	t.Helper()
	now := time.Now()
	if left := billapi.TopOfNextHour(now).Sub(now); left < 20*time.Second {
		t.Logf("waiting %s for the clock hour to turn", left.Round(time.Second))
		time.Sleep(left + 100*time.Millisecond)
	}
}

// checkShared asserts the done-when figures at the emulator: exactly 3 in
// flight at the door at the peak since the last reset (more: the limits
// were not shared; fewer: the load never filled the cap, so sharing was
// not put to the test), BDC_1322 at most 1% of requests, logins as given.
func checkShared(t *testing.T, e *watchedEmulator, logins int64) {
	t.Helper()
	st := e.Stats()
	busy := st.Errors[billapi.CodeTooManyInFlight]
	peak := e.peak.Load()
	t.Logf("emulator: %d requests, %d logins, door peak %d, BDC_1322 %d", st.Requests, st.Logins, peak, busy)
	switch {
	case peak > 3:
		t.Errorf("%d calls in flight at BILL at once, want at most 3", peak)
	case peak < 3:
		t.Errorf("at most %d calls in flight at BILL at once: the load never filled the cap of 3, so sharing it was not tested", peak)
	}
	if busy*100 > st.Requests {
		t.Errorf("BDC_1322 answered %d of %d requests, want <= 1%%", busy, st.Requests)
	}
	if logins >= 0 && st.Logins != logins {
		t.Errorf("logins = %d, want %d", st.Logins, logins)
	}
}

// TestThreeProcessesShareLimitsLocally: three servers on one vault profile
// (local backend), 100 concurrent tool calls each, one emulator.
func TestThreeProcessesShareLimitsLocally(t *testing.T) {
	clearOfHourEnd(t)
	id := emulator.DemoIdentity()
	emu := startWatchedEmulator(t, emulator.Config{Identity: id, Latency: 5 * time.Millisecond})
	env := serverEnv("BILL_MCP_VAULT_DIR="+t.TempDir()+"/vault", "BILL_MCP_VAULT_PASSPHRASE=share-test-passphrase")
	demoVault(t, env)

	var servers []*stdioServer
	for range 3 {
		servers = append(servers, startStdioServer(t, env, "--profile", "acme", "--base-url", emu.URL, "--log-level", "warn"))
	}
	seed := seedCustomer(t, servers[0].Client)
	start := time.Now()
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() {
			for _, f := range load(t, s.Client, fmt.Sprintf("P%d", i), seed, 100) {
				t.Errorf("process %d: %s", i, f)
			}
		})
	}
	wg.Wait()
	t.Logf("300 calls in %s", time.Since(start).Round(time.Millisecond))
	checkShared(t, emu, 1)
	out := limitsCmd(t, env, "--profile", "acme", "--base-url", emu.URL)
	checkLimits(t, out, "local", 3, 301, 1)
}

// roundRobin is a load balancer that sends each request to the next replica.
func roundRobin(t *testing.T, addrs []string) string {
	t.Helper()
	var n atomic.Uint64
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			u, _ := url.Parse("http://" + addrs[int(n.Add(1)-1)%len(addrs)])
			r.SetURL(u)
			r.Out.Host = u.Host
		},
		FlushInterval: -1,
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestThreeReplicasShareLimitsOnRedis: three replicas on the Redis
// backend behind a round-robin balancer over stateless HTTP, 100
// concurrent tool calls per client; progress of a bulk call still reaches
// the client that asked.
func TestThreeReplicasShareLimitsOnRedis(t *testing.T) {
	clearOfHourEnd(t)
	rs := redistest.Start(t)
	emu := startWatchedEmulator(t, emulator.Config{Latency: 5 * time.Millisecond})
	const token = "replica-test-token-7c2e"
	env := demoEnv(emu.URL, "BILL_MCP_TOKEN="+token, "BILL_MCP_COORDINATION="+rs.URL())
	var addrs []string
	for range 3 {
		// Each replica has a cache of its own: only Redis joins them.
		hs := startHTTPServer(t, append(env, "XDG_CACHE_HOME="+t.TempDir()), "--stateless", "--credentials", "env", "--log-level", "warn")
		addrs = append(addrs, hs.Addr)
	}
	lb := &httpServer{Addr: roundRobin(t, addrs)}
	notes := &lockedBuffer{}
	var clients []*client.Client
	for i := range 3 {
		var nb *lockedBuffer
		if i == 0 {
			nb = notes
		}
		clients = append(clients, lb.client(t, token, nb))
	}
	seed := seedCustomer(t, clients[0])
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			for _, f := range load(t, c, fmt.Sprintf("R%d", i), seed, 100) {
				t.Errorf("client %d: %s", i, f)
			}
		})
	}
	wg.Wait()
	checkShared(t, emu, 1)
	out := limitsCmd(t, append(env, "XDG_CACHE_HOME="+t.TempDir()), "--credentials", "env")
	checkLimits(t, out, rs.URL(), 3, 301, 1)

	items := make([]any, 250)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("Bulk %03d", i)}
	}
	if _, isErr, raw := callTool(t, clients[0], "bulk_create_customers", map[string]any{"customers": items}); isErr {
		t.Fatalf("bulk over the balancer: %s", raw)
	}
	if got := strings.Count(notes.String(), "notifications/progress"); got < 3 {
		t.Fatalf("%d progress notifications reached the client over stateless HTTP, want one per chunk (3):\n%s", got, notes.String())
	}
}

// TestKilledReplicaFreesItsSlots: a replica holding every slot (a bulk
// import whose calls BILL answers slowly) is killed with SIGKILL while the
// other two queue calls behind it. Its leases keep the cap until they run
// out (no survivor call reaches BILL before), then the survivors regain the
// full cap, and every call they were making succeeds exactly once. Run with
// the emulator's in-flight count ending either when an answer is ready or
// when it is written out.
func TestKilledReplicaFreesItsSlots(t *testing.T) {
	for _, whileAnswering := range []bool{false, true} {
		t.Run(fmt.Sprintf("CountWhileAnswering=%v", whileAnswering), func(t *testing.T) {
			killReplica(t, emulator.Config{Latency: 100 * time.Millisecond, CountWhileAnswering: whileAnswering})
		})
	}
}

func killReplica(t *testing.T, cfg emulator.Config) {
	rs := redistest.Start(t)
	emu := startWatchedEmulator(t, cfg)
	// The victim's bulk calls stay in flight 3 s: it surely holds every
	// slot when it dies.
	emu.holdBulk.Store(int64(3 * time.Second))
	const token = "kill-test-token-19ab"
	env := demoEnv(emu.URL, "BILL_MCP_TOKEN="+token, "BILL_MCP_COORDINATION="+rs.URL())

	victimAddr := freeAddr(t)
	victim := exec.Command(binPath, "serve", "--transport", "http", "--stateless", "--addr", victimAddr, "--credentials", "env", "--log-level", "warn")
	victim.Env = append(env, "XDG_CACHE_HOME="+t.TempDir())
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = victim.Process.Kill(); _ = victim.Wait() })
	waitListening(t, victimAddr)
	vc := (&httpServer{Addr: victimAddr}).client(t, token, nil)
	var survivors []*client.Client
	for range 2 {
		hs := startHTTPServer(t, append(env, "XDG_CACHE_HOME="+t.TempDir()), "--stateless", "--credentials", "env", "--log-level", "warn")
		survivors = append(survivors, hs.client(t, token, nil))
	}

	items := make([]any, 1200)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("Victim %04d", i)}
	}
	go func() { _, _, _ = callTool(t, vc, "bulk_create_customers", map[string]any{"customers": items}) }()
	waitUntil(t, 10*time.Second, "the victim holds 3 slots", func() bool { return emu.bulkCur.Load() == 3 })

	// The survivors queue creates behind the victim's slots.
	var wg sync.WaitGroup
	var failed atomic.Int32
	names := make(chan string, 60)
	for i, c := range survivors {
		for j := range 30 {
			wg.Go(func() {
				name := fmt.Sprintf("Survivor %d-%02d", i, j)
				if _, isErr, raw := callTool(t, c, "create_customer", map[string]any{"name": name}); isErr {
					failed.Add(1)
					t.Errorf("%s: %s", name, raw)
					return
				}
				names <- name
			})
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n, bulk := emu.cur.Load(), emu.bulkCur.Load(); n != 3 || bulk != 3 {
		t.Fatalf("before the kill: %d calls at BILL, %d of them the victim's; want the victim's 3 alone", n, bulk)
	}
	emu.since.Store(time.Now().UnixNano())
	if err := victim.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = victim.Wait()
	// The victim's calls end with its connections; the cap stays taken
	// until its leases (3 s, renewed every 1 s) run out: at least 2 s.
	waitUntil(t, 2*time.Second, "the victim's calls end", func() bool { return emu.bulkCur.Load() == 0 })
	waitUntil(t, 10*time.Second, "the survivors regain 3 slots", func() bool { return emu.cur.Load() == 3 })
	regained := time.Since(killed)
	first, ok := emu.firstSince()
	if !ok {
		t.Fatal("the survivors hold 3 slots but no call of theirs was seen arriving")
	}
	t.Logf("first survivor call %s, full cap %s after SIGKILL (lease 3s, renewed every 1s)", first.Round(10*time.Millisecond), regained.Round(10*time.Millisecond))
	if first < 1500*time.Millisecond {
		t.Errorf("a survivor call reached BILL %s after the kill, while the dead replica's leases (at least 2 s left) still held the cap", first)
	}
	if regained > 5*time.Second {
		t.Errorf("full cap regained after %s, want within the 3 s lease (+2 s for a loaded machine)", regained)
	}
	wg.Wait()
	close(names)
	if failed.Load() > 0 {
		t.Fatalf("%d survivor calls failed", failed.Load())
	}
	for name := range names {
		var found []any
		sc, isErr, raw := callTool(t, survivors[0], "list_customers", map[string]any{"nameContains": name})
		if isErr {
			t.Fatalf("list %s: %s", name, raw)
		}
		found, _ = sc["customers"].([]any)
		if len(found) != 1 {
			t.Errorf("%s exists %d times at the emulator, want once", name, len(found))
		}
	}
	checkShared(t, emu, -1)
}

// TestRedisStoppedMidRun: three processes on Redis under load; Redis is
// stopped: calls go on, at one in flight per process (never above 3 at the
// emulator); Redis restarts: the processes rejoin and one process alone
// reaches the shared cap of 3 again.
func TestRedisStoppedMidRun(t *testing.T) {
	rs := redistest.Start(t)
	emu := startWatchedEmulator(t, emulator.Config{Latency: 20 * time.Millisecond})
	env := demoEnv(emu.URL, "BILL_MCP_COORDINATION="+rs.URL())
	var servers []*stdioServer
	for range 3 {
		servers = append(servers, startStdioServer(t, append(env, "XDG_CACHE_HOME="+t.TempDir()), "--credentials", "env", "--log-level", "warn"))
	}
	seed := seedCustomer(t, servers[0].Client)
	run := func(tag string, n int, procs []*stdioServer) {
		var wg sync.WaitGroup
		for i, s := range procs {
			wg.Go(func() {
				for _, f := range load(t, s.Client, fmt.Sprintf("%s%d", tag, i), seed, n) {
					t.Errorf("%s process %d: %s", tag, i, f)
				}
			})
		}
		wg.Wait()
	}
	run("Before", 30, servers)

	rs.Stop()
	emu.resetPeak()
	run("Down", 30, servers)
	for i, s := range servers {
		if !strings.Contains(s.Stderr.String(), "coordination backend unreachable") {
			t.Errorf("process %d did not log the fallback:\n%s", i, s.Stderr.String())
		}
	}
	if p := emu.peak.Load(); p > 3 {
		t.Errorf("with redis down the emulator saw %d in flight, want <= 3 (1 per process)", p)
	}
	if out := limitsCmd(t, env, "--credentials", "env"); !strings.Contains(out, "UNREACHABLE") {
		t.Errorf("bill-mcp limits with redis down does not say so:\n%s", out)
	}
	t.Logf("redis down: peak in flight %d", emu.peak.Load())

	rs.Restart(t)
	waitUntil(t, 10*time.Second, "every process rejoins redis", func() bool {
		for _, s := range servers {
			if !strings.Contains(s.Stderr.String(), "answers again") {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // past the rejoin hold-off
	emu.resetPeak()
	run("After", 60, servers[:1])
	if p := emu.peak.Load(); p != 3 {
		t.Errorf("after redis restarted one process reached %d in flight, want the shared cap 3", p)
	}
	checkShared(t, emu, -1)
}

// TestHourlyBudgetStopsBeforeBILL: emulator and servers at 300 requests an
// hour; three processes spend the shared budget and stop locally, before
// BILL answers BDC_1144, with errors that say when the hour resets.
func TestHourlyBudgetStopsBeforeBILL(t *testing.T) {
	clearOfHourEnd(t)
	emu := startWatchedEmulator(t, emulator.Config{HourlyLimit: 300})
	env := demoEnv(emu.URL, "XDG_CACHE_HOME="+t.TempDir())
	var servers []*stdioServer
	for range 3 {
		servers = append(servers, startStdioServer(t, env, "--credentials", "env", "--hourly-limit", "300", "--log-level", "warn"))
	}
	seed := seedCustomer(t, servers[0].Client)
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for _, s := range servers {
		for range 4 {
			wg.Go(func() {
				for range 40 {
					_, isErr, raw := callTool(t, s.Client, "get_customer", map[string]any{"customerId": seed})
					switch {
					case !isErr:
						ok.Add(1)
					case strings.Contains(raw, billapi.CodeLocalBudget) && strings.Contains(raw, "resets at"):
						refused.Add(1)
					default:
						t.Errorf("unexpected failure: %s", raw)
					}
				}
			})
		}
	}
	wg.Wait()
	st := emu.Stats()
	t.Logf("%d calls answered, %d refused locally; emulator: %d requests (logins %d), BDC_1144 %d", ok.Load(), refused.Load(), st.Requests, st.Logins, st.Errors[billapi.CodeHourlyLimit])
	if st.Errors[billapi.CodeHourlyLimit] != 0 {
		t.Errorf("BILL answered BDC_1144 %d times: the processes did not stop at their shared budget", st.Errors[billapi.CodeHourlyLimit])
	}
	if got := ok.Load() + 1; got != 300 {
		t.Errorf("%d requests were answered (seed included), want exactly the budget 300", got)
	}
	if refused.Load() == 0 {
		t.Error("no call was refused: the budget was never reached")
	}
}

// limitsCmd runs `bill-mcp limits ARGS` and returns its output.
func limitsCmd(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"limits"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bill-mcp limits %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// checkLimits asserts what `bill-mcp limits` printed: the backend, the
// holders, at least minRequests requests and exactly logins logins this
// hour, a reset time, and no secret.
func checkLimits(t *testing.T, out, backend string, holders, minRequests, logins int) {
	t.Helper()
	t.Logf("bill-mcp limits:\n%s", out)
	var gotHolders, gotRequests, gotLogins int
	for _, line := range strings.Split(out, "\n") {
		_, _ = fmt.Sscanf(line, "holders: %d", &gotHolders)
		_, _ = fmt.Sscanf(line, "requests: %d", &gotRequests)
		_, _ = fmt.Sscanf(line, "logins: %d", &gotLogins)
	}
	if !strings.Contains(out, "backend:      "+backend) || gotHolders != holders || gotRequests < minRequests || gotLogins != logins || !strings.Contains(out, "hour resets:") {
		t.Errorf("limits: want backend %s, %d holders, >= %d requests, %d logins", backend, holders, minRequests, logins)
	}
	id := emulator.DemoIdentity()
	for _, s := range []string{id.DevKey, id.Password, id.UserName} {
		if strings.Contains(out, s) {
			t.Errorf("limits printed a secret")
		}
	}
}

// waitUntil polls cond every 5 ms until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	waitUntil(t, 20*time.Second, addr+" listens", func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}
