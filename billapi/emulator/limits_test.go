package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

func TestInFlightLimit(t *testing.T) {
	h := newHarness(t, emulator.Config{Latency: 500 * time.Millisecond})
	const n = 6
	codes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			f := h.form(obj{"obj": obj{"entity": "Customer", "name": fmt.Sprintf("Concurrent %d", i)}})
			_, env := h.postStatus("/Crud/Create/Customer.json", f)
			codes[i] = env.code()
		})
	}
	close(start)
	wg.Wait()
	ok, rejected := 0, 0
	for _, c := range codes {
		switch c {
		case "":
			ok++
		case "BDC_1322":
			rejected++
		default:
			t.Fatalf("unexpected code %q", c)
		}
	}
	st := h.e.Stats()
	if rejected == 0 || st.MaxInFlight != 3 {
		t.Fatalf("%d rejected, maxInFlight %d; want some BDC_1322 and maxInFlight 3 (codes %v)", rejected, st.MaxInFlight, codes)
	}
	if st.Objects["Customer"] != ok {
		t.Fatalf("%d customers stored, %d calls succeeded: a BDC_1322 call was applied", st.Objects["Customer"], ok)
	}
	if st.InFlight != 0 {
		t.Fatalf("inFlight = %d after all calls returned", st.InFlight)
	}
}

func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, emulator.Config{MaxInFlight: 64})
	const workers, each = 6, 20
	errs := make(chan string, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("W%d-%d", w, i)
				env := h.call("/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": name}})
				if env.Status != 0 {
					errs <- name + ": " + env.code()
					continue
				}
				var o struct{ ID string }
				if err := json.Unmarshal(env.Data, &o); err != nil {
					errs <- err.Error()
					continue
				}
				for _, path := range []string{"/Crud/Read/Customer.json", "/Crud/Delete/Customer.json", "/Crud/Undelete/Customer.json"} {
					if c := h.call(path, obj{"id": o.ID}).code(); c != "" {
						errs <- path + ": " + c
					}
				}
				if c := h.call("/List/Customer.json", obj{"start": 0, "max": 50, "filters": []obj{{"field": "isActive", "op": "=", "value": "1"}}}).code(); c != "" {
					errs <- "list: " + c
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	rows := h.call("/List/Customer.json", obj{"start": 0, "max": 999}).list(t)
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r["id"].(string)] = true
	}
	if len(rows) != workers*each || len(seen) != workers*each {
		t.Fatalf("%d rows, %d distinct ids; want %d", len(rows), len(seen), workers*each)
	}
}

func TestHourlyLimits(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 5, 5, 10, 59, 0, 0, time.UTC))
	h := newHarness(t, emulator.Config{Now: clock.Now, HourlyLimit: 3, LoginLimit: 2})
	info := func() string { return h.call("/GetSessionInfo.json", nil).code() }
	for i := range 3 {
		if c := info(); c != "" {
			t.Fatalf("call %d: %s", i, c)
		}
	}
	env := h.call("/GetSessionInfo.json", nil)
	if env.code() != "BDC_1144" || !strings.Contains(env.msg(), "next hour") {
		t.Fatalf("4th call: %q %q, want BDC_1144", env.code(), env.msg())
	}
	if c := h.call("/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": "Over Budget"}}).code(); c != "BDC_1144" {
		t.Fatalf("create over budget: %q", c)
	}
	if n := h.e.Stats().Objects["Customer"]; n != 0 {
		t.Fatal("a call over the hourly budget was applied")
	}
	// Logins have their own budget: one used by the harness, one left.
	h.login()
	loginForm := url.Values{"userName": {h.id.UserName}, "password": {h.id.Password}, "orgId": {h.id.OrgID}, "devKey": {h.id.DevKey}}
	if c := h.post("/Login.json", loginForm).code(); c != "BDC_1144" {
		t.Fatalf("3rd login: %q, want BDC_1144", c)
	}
	clock.Add(59*time.Second + 999*time.Millisecond)
	if c := info(); c != "BDC_1144" {
		t.Fatalf("at 10:59:59.999: %q, want BDC_1144 still", c)
	}
	clock.Add(time.Millisecond) // 11:00:00, a new clock hour
	if c := info(); c != "" {
		t.Fatalf("after the hour: %q", c)
	}
	if c := h.post("/Login.json", loginForm).code(); c != "" {
		t.Fatalf("login after the hour: %q", c)
	}
}

func TestSessionIdleExpiry(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 5, 5, 9, 0, 0, 0, time.UTC))
	h := newHarness(t, emulator.Config{Now: clock.Now})
	steps := []struct {
		wait time.Duration
		code string
	}{
		{34 * time.Minute, ""},
		{35 * time.Minute, ""}, // the previous call restarted the clock
		{35*time.Minute + time.Second, "BDC_1109"},
		{0, "BDC_1109"}, // gone for good
	}
	for i, s := range steps {
		clock.Add(s.wait)
		if c := h.call("/GetSessionInfo.json", nil).code(); c != s.code {
			t.Fatalf("step %d: %q, want %q", i, c, s.code)
		}
	}
	h.sid = h.login()
	h.e.ExpireSessions()
	if c := h.call("/List/Customer.json", obj{"start": 0, "max": 1}).code(); c != "BDC_1109" {
		t.Fatalf("after ExpireSessions: %q", c)
	}
	t.Run("custom idle", func(t *testing.T) {
		h := newHarness(t, emulator.Config{Now: clock.Now, SessionIdle: time.Minute})
		clock.Add(61 * time.Second)
		if c := h.call("/GetSessionInfo.json", nil).code(); c != "BDC_1109" {
			t.Fatalf("%q, want BDC_1109", c)
		}
	})
}

func TestFaultKinds(t *testing.T) {
	tests := []struct {
		kind    emulator.FaultKind
		code    string // "" for a connection error
		applied bool
	}{
		{emulator.FaultSystem, "BDC_1001", false},
		{emulator.FaultConcurrency, "BDC_1322", false},
		{emulator.FaultRateLimit, "BDC_1144", false},
		{emulator.FaultSession, "BDC_1109", false},
		{emulator.FaultReset, "", false},
		{emulator.FaultLostResponse, "", true},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			h := newHarness(t, emulator.Config{})
			h.e.SetFaults(emulator.FaultSpec{P: 1, Kinds: []emulator.FaultKind{tc.kind}})
			f := h.form(obj{"obj": obj{"entity": "Customer", "name": "Faulty"}})
			status, body, err := h.rawPost("/Crud/Create/Customer.json", f)
			h.e.SetFaults(emulator.FaultSpec{})
			if tc.code == "" {
				if err == nil {
					t.Fatalf("want a connection error, got HTTP %d %s", status, body)
				}
			} else {
				if err != nil || !strings.Contains(string(body), `"error_code":"`+tc.code+`"`) {
					t.Fatalf("want %s, got %v %s", tc.code, err, body)
				}
			}
			if tc.kind != emulator.FaultSession {
				if c := h.call("/GetSessionInfo.json", nil).code(); c != "" {
					t.Fatalf("session after fault: %q", c)
				}
			} else if c := h.call("/GetSessionInfo.json", nil).code(); c != "BDC_1109" {
				t.Fatalf("session fault left the session alive: %q", c)
			}
			st := h.e.Stats()
			if got := st.Objects["Customer"] == 1; got != tc.applied {
				t.Fatalf("applied = %v, want %v", got, tc.applied)
			}
			if st.Faults[string(tc.kind)] != 1 {
				t.Fatalf("faults stats %v", st.Faults)
			}
		})
	}
}

func TestLoginFaults(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	form := url.Values{"userName": {h.id.UserName}, "password": {h.id.Password}, "orgId": {h.id.OrgID}, "devKey": {h.id.DevKey}}
	h.e.SetFaults(emulator.FaultSpec{P: 1, Kinds: []emulator.FaultKind{emulator.FaultSession}})
	if env := h.post("/Login.json", form); env.code() != "" {
		t.Fatalf("login with only session faults: %q (login never gets a session fault)", env.code())
	}
	h.e.SetFaults(emulator.FaultSpec{P: 1, Kinds: []emulator.FaultKind{emulator.FaultSystem}})
	if env := h.post("/Login.json", form); env.code() != "BDC_1001" {
		t.Fatalf("login with system faults: %q", env.code())
	}
	h.e.SetFaults(emulator.FaultSpec{P: 1, Kinds: []emulator.FaultKind{emulator.FaultReset}})
	if _, _, err := h.rawPost("/Login.json", form); err == nil {
		t.Fatal("login with reset faults answered")
	}
}

// faultSequence makes n calls against a fresh emulator with seed and
// returns the outcome of each.
func faultSequence(t *testing.T, seed int64, n int) []string {
	t.Helper()
	h := newHarness(t, emulator.Config{Seed: seed})
	h.e.SetFaults(emulator.FaultSpec{P: 0.3, Kinds: []emulator.FaultKind{emulator.FaultSystem, emulator.FaultConcurrency, emulator.FaultRateLimit}})
	out := make([]string, n)
	for i := range out {
		env := h.call("/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": fmt.Sprintf("S%d", i)}})
		out[i] = env.code()
		if env.Status == 0 {
			out[i] = env.object(t)["id"].(string)
		}
	}
	return out
}

func TestSeedsRepeat(t *testing.T) {
	a := faultSequence(t, 42, 60)
	b := faultSequence(t, 42, 60)
	c := faultSequence(t, 43, 60)
	if strings.Join(a, " ") != strings.Join(b, " ") {
		t.Fatalf("same seed, different outcomes:\n%v\n%v", a, b)
	}
	if strings.Join(a, " ") == strings.Join(c, " ") {
		t.Fatalf("different seeds, same outcomes: %v", a)
	}
	faults := 0
	for _, x := range a {
		if strings.HasPrefix(x, "BDC_") {
			faults++
		}
	}
	if faults == 0 || faults == len(a) {
		t.Fatalf("%d faults in %d calls at p=0.3", faults, len(a))
	}
}

func TestStatsAndReset(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	cust := h.customer("Stats Co")
	h.mustCreate("CustomerContact", obj{"customerId": cust, "firstName": "S", "email": "s@stats.example"})
	h.call("/Crud/Read/Customer.json", obj{"id": "0cu0000000000000zzzz"})
	if status, env := h.postStatus("/Nope.json", url.Values{}); status != http.StatusNotFound || env.code() != "BDC_1121" {
		t.Fatalf("unknown path: HTTP %d %q", status, env.code())
	}
	st := h.stats()
	want := emulator.Stats{Requests: 5, Logins: 1, MaxInFlight: 1}
	if st.Requests != want.Requests || st.Logins != want.Logins || st.MaxInFlight != want.MaxInFlight {
		t.Fatalf("stats %+v, want requests 5, logins 1, maxInFlight 1", st)
	}
	if st.Errors["BDC_1120"] != 1 || st.Errors["BDC_1121"] != 1 {
		t.Fatalf("errors %v", st.Errors)
	}
	if st.Objects["Customer"] != 1 || st.Objects["CustomerContact"] != 1 || st.Objects["CustomerBankAccount"] != 0 {
		t.Fatalf("objects %v", st.Objects)
	}
	resp, err := h.srv.Client().Get(h.srv.URL + "/__emulator/reset")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET reset: HTTP %d", resp.StatusCode)
	}
	resp, err = h.srv.Client().Post(h.srv.URL+"/__emulator/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	st = h.stats()
	if st.Requests != 0 || st.Logins != 0 || len(st.Errors) != 0 || st.Objects["Customer"] != 0 || st.Objects["CustomerContact"] != 0 {
		t.Fatalf("after reset: %+v", st)
	}
	// Sessions survive a reset; the name is free again.
	h.customer("Stats Co")
}

func TestOversizedBody(t *testing.T) {
	h := newHarness(t, emulator.Config{MaxBodyBytes: 2048})
	big := strings.Repeat("x", 4096)
	status, env := h.postStatus("/Crud/Create/Customer.json", h.form(obj{"obj": obj{"entity": "Customer", "name": big}}))
	if status != http.StatusRequestEntityTooLarge || env.code() != "BDC_1129" || !strings.Contains(env.msg(), "2048 bytes") {
		t.Fatalf("HTTP %d %q %q", status, env.code(), env.msg())
	}
	if h.e.Stats().Objects["Customer"] != 0 {
		t.Fatal("oversized create was applied")
	}
	h.customer("Small enough")
}

func TestLatencyHonorsCancel(t *testing.T) {
	h := newServer(t, emulator.Config{Latency: 5 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/GetSessionInfo.json", strings.NewReader(h.form(nil).Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	began := time.Now()
	if resp, err := h.srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("want the cancelled request to fail")
	}
	// The call was admitted, then the handler noticed the cancellation and
	// released its in-flight slot long before the 5s latency.
	if st := h.e.Stats(); st.MaxInFlight != 1 {
		t.Fatalf("maxInFlight %d: the call was never admitted", st.MaxInFlight)
	}
	for h.e.Stats().InFlight != 0 {
		if time.Since(began) > 3*time.Second {
			t.Fatal("in-flight slot held after the client went away")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStart(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	base, e, stop, err := emulator.Start(ctx, "127.0.0.1:0", emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/api/v2") {
		t.Fatalf("baseURL %q", base)
	}
	id := emulator.DemoIdentity()
	form := url.Values{"userName": {id.UserName}, "password": {id.Password}, "orgId": {id.OrgID}, "devKey": {id.DevKey}}
	resp, err := http.Post(base+"/Login.json", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if e.Stats().Logins != 1 {
		t.Fatalf("logins %d", e.Stats().Logins)
	}
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for {
		resp, err := http.Post(base+"/Login.json", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("emulator still serving after ctx was cancelled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, _, err := emulator.Start(t.Context(), "256.0.0.1:bad", emulator.Config{}); err == nil {
		t.Fatal("Start on a bad address succeeded")
	}
}
