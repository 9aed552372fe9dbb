package emulator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// TestUnknownBehaviourSwitches: where BILL's behaviour is unknown the
// emulator answers either way, per Config.
func TestUnknownBehaviourSwitches(t *testing.T) {
	t.Run("duplicate names", func(t *testing.T) {
		for _, allow := range []bool{false, true} {
			h := newHarness(t, emulator.Config{DuplicateNames: allow})
			h.customer("Twin Co")
			env := h.call("/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": " twin co "}})
			switch {
			case allow && env.Status != 0:
				t.Fatalf("duplicates allowed: second create answered %s %s", env.code(), env.msg())
			case !allow && env.code() != "BDC_1119":
				t.Fatalf("duplicates refused: second create answered %s, want BDC_1119", env.code())
			}
			n := len(h.call("/List/Customer.json", obj{"start": 0, "max": 10}).list(t))
			if want := map[bool]int{false: 1, true: 2}[allow]; n != want {
				t.Fatalf("DuplicateNames=%v: %d customers stored, want %d", allow, n, want)
			}
		}
	})
	t.Run("routing number masking", func(t *testing.T) {
		for _, mask := range []bool{false, true} {
			h := newHarness(t, emulator.Config{MaskRoutingNumbers: mask})
			ba := h.mustCreate("CustomerBankAccount", obj{"customerId": h.customer("Bank Co"), "nameOnAccount": "B",
				"routingNumber": "021000358", "accountNumber": "1234567890"})
			want := map[bool]string{false: "021000358", true: "*****0358"}[mask]
			if ba["routingNumber"] != want {
				t.Fatalf("MaskRoutingNumbers=%v: routingNumber %v, want %s", mask, ba["routingNumber"], want)
			}
			row := h.call("/List/CustomerBankAccount.json", obj{"start": 0, "max": 10}).list(t)[0]
			if row["routingNumber"] != want || row["isSavings"] != false {
				t.Fatalf("list row %v: want routingNumber %s and boolean isSavings", row, want)
			}
		}
	})
	t.Run("in filter", func(t *testing.T) {
		for _, refuse := range []bool{false, true} {
			h := newHarness(t, emulator.Config{RefuseInFilter: refuse})
			id := h.customer("In Co")
			for _, op := range []string{"in", "nin"} {
				env := h.call("/List/Customer.json", obj{"start": 0, "max": 10, "filters": []obj{{"field": "id", "op": op, "value": id}}})
				if refuse && env.code() != "BDC_1131" || !refuse && env.Status != 0 {
					t.Fatalf("RefuseInFilter=%v, op %s: answered %s %s", refuse, op, env.code(), env.msg())
				}
			}
			if env := h.call("/List/Customer.json", obj{"start": 0, "max": 10, "filters": []obj{{"field": "id", "op": "=", "value": id}}}); env.Status != 0 {
				t.Fatalf("RefuseInFilter=%v: = refused: %s", refuse, env.code())
			}
		}
	})
}

// TestFaultsAppliedErrorAndEcho: applied-error applies the call and then
// answers BDC_1001; echo answers BDC_1001 quoting the request and applies
// nothing.
func TestFaultsAppliedErrorAndEcho(t *testing.T) {
	t.Run("applied-error", func(t *testing.T) {
		h := newHarness(t, emulator.Config{})
		h.e.SetFaults(emulator.FaultSpec{P: 1, Kinds: []emulator.FaultKind{emulator.FaultAppliedError}})
		env := h.call("/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": "Applied Co"}})
		h.e.SetFaults(emulator.FaultSpec{})
		if env.code() != "BDC_1001" {
			t.Fatalf("answered %s, want BDC_1001", env.code())
		}
		if n := len(h.call("/List/Customer.json", obj{"start": 0, "max": 10}).list(t)); n != 1 {
			t.Fatalf("%d customers stored, want the 1 the faulted call applied", n)
		}
	})
	t.Run("echo", func(t *testing.T) {
		h := newHarness(t, emulator.Config{})
		h.e.SetFaults(emulator.FaultSpec{P: 1, Kinds: []emulator.FaultKind{emulator.FaultEcho}})
		env := h.call("/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": "Echo Co"}})
		login := h.post("/Login.json", url.Values{"userName": {h.id.UserName}, "password": {h.id.Password},
			"orgId": {h.id.OrgID}, "devKey": {h.id.DevKey}})
		h.e.SetFaults(emulator.FaultSpec{})
		if env.code() != "BDC_1001" || !strings.Contains(env.msg(), url.QueryEscape(h.sid)) || !strings.Contains(env.msg(), url.QueryEscape(h.id.DevKey)) {
			t.Fatalf("echo answered %s %q; want BDC_1001 quoting the devKey and session id", env.code(), env.msg())
		}
		if !strings.Contains(login.msg(), url.QueryEscape(h.id.Password)) {
			t.Fatalf("echoed Login %q does not quote the password", login.msg())
		}
		if n := len(h.call("/List/Customer.json", obj{"start": 0, "max": 10}).list(t)); n != 0 {
			t.Fatalf("%d customers stored, want none: echo applies nothing", n)
		}
	})
}

// inFlightProbe records the emulator's in-flight count when the answer is
// written.
type inFlightProbe struct {
	*httptest.ResponseRecorder
	e      *emulator.Emulator
	atSend []int64
}

func (p *inFlightProbe) Write(b []byte) (int, error) {
	p.atSend = append(p.atSend, p.e.Stats().InFlight)
	return p.ResponseRecorder.Write(b)
}

// TestCountWhileAnswering: when a call stops counting against the
// in-flight cap is unknown for BILL; either way the call is counted while
// it runs and not after its handler returned.
func TestCountWhileAnswering(t *testing.T) {
	for _, tc := range []struct {
		while  bool
		atSend int64
	}{{false, 0}, {true, 1}} {
		t.Run(fmt.Sprintf("CountWhileAnswering=%v", tc.while), func(t *testing.T) {
			h := newHarness(t, emulator.Config{CountWhileAnswering: tc.while})
			f := h.form(obj{"obj": obj{"entity": "Customer", "name": "Counted"}})
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/v2/Crud/Create/Customer.json", strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			p := &inFlightProbe{ResponseRecorder: httptest.NewRecorder(), e: h.e}
			h.e.ServeHTTP(p, req)
			if p.Code != http.StatusOK || !strings.Contains(p.Body.String(), `"Counted"`) {
				t.Fatalf("create answered %d: %s", p.Code, p.Body)
			}
			if len(p.atSend) == 0 || p.atSend[0] != tc.atSend {
				t.Fatalf("in flight while the answer was written: %v, want %d", p.atSend, tc.atSend)
			}
			if st := h.e.Stats(); st.InFlight != 0 || st.MaxInFlight != 1 {
				t.Fatalf("after the call: inFlight %d, maxInFlight %d; want 0 and 1", st.InFlight, st.MaxInFlight)
			}
		})
	}
}
