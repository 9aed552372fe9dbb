package billapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/secret"
)

func TestDecodeEnvelope(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantData  string
		wantCode  string
		wantClass Class
	}{
		{"success object", 200, `{"response_status":0,"response_message":"Success","response_data":{"id":"0cu1"}}`, `{"id":"0cu1"}`, "", ClassUnknown},
		{"success array", 200, `{"response_status":0,"response_message":"Success","response_data":[]}`, `[]`, "", ClassUnknown},
		{"success without data", 200, `{"response_status":0,"response_message":"Success"}`, `null`, "", ClassUnknown},
		{"session error", 200, `{"response_status":1,"response_message":"Error","response_data":{"error_code":"BDC_1109","error_message":"Session is invalid. Please log in."}}`, "", CodeSessionInvalid, ClassSession},
		{"input error", 200, `{"response_status":1,"response_data":{"error_code":"BDC_1119","error_message":"Invalid field"}}`, "", CodeInvalidField, ClassInput},
		{"hourly limit", 200, `{"response_status":1,"response_data":{"error_code":"BDC_1144","error_message":"Max"}}`, "", CodeHourlyLimit, ClassHourlyLimit},
		{"in flight", 200, `{"response_status":1,"response_data":{"error_code":"BDC_1322","error_message":"Too many"}}`, "", CodeTooManyInFlight, ClassConcurrency},
		{"auth", 200, `{"response_status":1,"response_data":{"error_code":"BDC_1101","error_message":"Wrong"}}`, "", CodeBadCredentials, ClassAuth},
		{"404 envelope", 404, `{"response_status":1,"response_data":{"error_code":"BDC_1121","error_message":"API not supported."}}`, "", CodeAPINotSupported, ClassInput},
		{"404 html", 404, `<html>not found</html>`, "", CodeAPINotSupported, ClassInput},
		{"502 html", 502, `<html>bad gateway</html>`, "", CodeBadResponse, ClassServer},
		{"200 truncated", 200, `{"response_status":0,"response_da`, "", CodeBadResponse, ClassTransport},
		{"200 empty", 200, ``, "", CodeBadResponse, ClassTransport},
		{"no status", 200, `{"response_data":{}}`, "", CodeBadResponse, ClassTransport},
		{"unknown status", 200, `{"response_status":7}`, "", CodeBadResponse, ClassTransport},
		{"error without code", 200, `{"response_status":1,"response_data":"oops"}`, "", CodeBadResponse, ClassTransport},
		{"success on 500", 500, `{"response_status":0,"response_data":{}}`, "", CodeBadResponse, ClassServer},
		{"system error on 500", 500, `{"response_status":1,"response_data":{"error_code":"BDC_1001","error_message":"x"}}`, "", CodeSystemError, ClassServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, e := decodeEnvelope("Crud/Read/Customer", tt.status, []byte(tt.body))
			if tt.wantCode == "" {
				if e != nil {
					t.Fatalf("unexpected error %v", e)
				}
				if string(d) != tt.wantData {
					t.Fatalf("data = %s, want %s", d, tt.wantData)
				}
				return
			}
			if e == nil {
				t.Fatalf("want error %s, got data %s", tt.wantCode, d)
			}
			if e.Code != tt.wantCode || e.Class != tt.wantClass || e.HTTPStatus != tt.status {
				t.Fatalf("error = %+v, want code %s class %v status %d", e, tt.wantCode, tt.wantClass, tt.status)
			}
			if e.Op != "Crud/Read/Customer" {
				t.Fatalf("op = %q", e.Op)
			}
		})
	}
}

func TestDecodeEnvelopeNeverEchoesBody(t *testing.T) {
	const secret = "password=hunter2-s3cr3t"
	for _, body := range []string{secret, `{"response_status":0,"x":"` + secret, `<p>` + secret + `</p>`} {
		_, e := decodeEnvelope("Login", 200, []byte(body))
		if e == nil {
			t.Fatalf("body %q decoded without error", body)
		}
		if strings.Contains(e.Error(), "hunter2") {
			t.Fatalf("error %q echoes the body", e.Error())
		}
	}
}

func TestFormBodyEncodesAndRevealsSecrets(t *testing.T) {
	body := formBody(secretField("devKey", secret.New("k&y=1 +")), plainField("data", `{"a":"b c"}`))
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatalf("body %q does not parse: %v", body, err)
	}
	if got := v.Get("devKey"); got != "k&y=1 +" {
		t.Fatalf("devKey = %q", got)
	}
	if got := v.Get("data"); got != `{"a":"b c"}` {
		t.Fatalf("data = %q", got)
	}
	if len(v) != 2 {
		t.Fatalf("fields = %v", v)
	}
}

func TestTimeFormat(t *testing.T) {
	ts := time.Date(2016, 12, 9, 21, 38, 40, 0, time.FixedZone("X", 3600))
	if got, want := FormatTime(ts), "2016-12-09T20:38:40.000+0000"; got != want {
		t.Fatalf("FormatTime = %q, want %q", got, want)
	}
	back, err := ParseTime("2016-12-09T21:38:40.000+0000")
	if err != nil || !back.Equal(time.Date(2016, 12, 9, 21, 38, 40, 0, time.UTC)) {
		t.Fatalf("ParseTime = %v, %v", back, err)
	}
	if _, err := ParseTime("2016-12-09"); err == nil {
		t.Fatal("ParseTime accepted a date without time")
	}
}

func TestCheckID(t *testing.T) {
	tests := []struct {
		id     string
		prefix string
		ok     bool
	}{
		{"0cu01ABCDEFGHIJ12345", PrefixCustomer, true},
		{"cpu01ABCDEFGHIJ12345", PrefixCustomerContact, true},
		{"cba01ABCDEFGHIJ12345", PrefixCustomerBankAccount, true},
		{"cpu01ABCDEFGHIJ12345", PrefixCustomer, false},
		{"0cu01ABCDEFGHIJ1234", PrefixCustomer, false},
		{"0cu01ABCDEFGHIJ123456", PrefixCustomer, false},
		{"0cu01ABCDEFGHIJ1234/", PrefixCustomer, false},
		{"", PrefixCustomer, false},
	}
	for _, tt := range tests {
		e := checkID("Crud/Read/X", "id", tt.prefix, tt.id)
		if (e == nil) != tt.ok {
			t.Errorf("checkID(%q, %q) = %v, want ok=%v", tt.id, tt.prefix, e, tt.ok)
		}
		if e != nil && (e.Class != ClassInput || !strings.Contains(e.Message, tt.prefix)) {
			t.Errorf("checkID(%q) error %+v does not say what to fix", tt.id, e)
		}
	}
}

func TestListRequest(t *testing.T) {
	tests := []struct {
		name    string
		p       ListParams
		want    string
		wantErr bool
	}{
		{"defaults", ListParams{}, `{"start":0,"max":999,"filters":[],"sort":[],"nested":false}`, false},
		{"full", ListParams{Start: 5, Max: 10, Filters: []Filter{{Field: "isActive", Op: OpEq, Value: "1"}}, Sort: []Sort{{Field: "createdTime", Asc: true}, {Field: "id"}}},
			`{"start":5,"max":10,"filters":[{"field":"isActive","op":"=","value":"1"}],"sort":[{"field":"createdTime","asc":"true"},{"field":"id","asc":"false"}],"nested":false}`, false},
		{"max too big", ListParams{Max: 1000}, "", true},
		{"max negative", ListParams{Max: -1}, "", true},
		{"start negative", ListParams{Start: -1}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, e := listRequest("List/Customer", tt.p)
			if tt.wantErr {
				if e == nil || e.Class != ClassInput {
					t.Fatalf("want input error, got %v", e)
				}
				return
			}
			if e != nil {
				t.Fatal(e)
			}
			b, _ := json.Marshal(d)
			if string(b) != tt.want {
				t.Fatalf("data = %s\nwant   %s", b, tt.want)
			}
		})
	}
}

func TestBaseFor(t *testing.T) {
	tests := []struct {
		name, configured, endpoint, want string
	}{
		{"emulator same host", "http://127.0.0.1:8809/api/v2", "http://127.0.0.1:8809/api/v2", "http://127.0.0.1:8809/api/v2"},
		{"emulator other host ignored", "http://127.0.0.1:8809/api/v2", "http://10.0.0.1:8809/api/v2", "http://127.0.0.1:8809/api/v2"},
		{"bill to bill", SandboxBaseURL, "https://api-stage2.bill.com/api/v2/", "https://api-stage2.bill.com/api/v2"},
		{"bill to foreign", SandboxBaseURL, "https://evil.example.com/api/v2", SandboxBaseURL},
		{"bill to look-alike", SandboxBaseURL, "https://api.bill.com.evil.example/api/v2", SandboxBaseURL},
		{"bill to plain http", SandboxBaseURL, "http://api.bill.com/api/v2", SandboxBaseURL},
		{"empty", SandboxBaseURL, "", SandboxBaseURL},
		{"garbage", SandboxBaseURL, "::::", SandboxBaseURL},
		{"user info", "http://127.0.0.1:1/api/v2", "http://u:p@127.0.0.1:1/api/v2", "http://127.0.0.1:1/api/v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{BaseURL: tt.configured, Credentials: testCreds()})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.baseFor(tt.endpoint); got != tt.want {
				t.Fatalf("baseFor(%q) = %q, want %q", tt.endpoint, got, tt.want)
			}
		})
	}
}

func TestBackoffDelayBounds(t *testing.T) {
	base, limit := 10*time.Millisecond, 80*time.Millisecond
	for attempt := 1; attempt <= 8; attempt++ {
		ceil := min(limit, base<<(attempt-1))
		for range 200 {
			if d := backoffDelay(base, limit, attempt); d < 0 || d > ceil {
				t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, d, ceil)
			}
		}
	}
}

func TestDecodeBulkItems(t *testing.T) {
	ok := `{"response_status":0,"response_message":"Success","response_data":{"entity":"Customer","id":"0cu01ABCDEFGHIJ12345","name":"A"}}`
	bad := `{"response_status":1,"response_message":"Error","response_data":{"error_code":"BDC_1119","error_message":"dup"}}`
	data := json.RawMessage(`{"bulk":[` + ok + `,` + bad + `]}`)
	out, e := decodeBulkItems[Customer]("Bulk/Crud/Create/Customer", data, 2)
	if e != nil {
		t.Fatal(e)
	}
	if out[0].obj == nil || out[0].obj.ID != "0cu01ABCDEFGHIJ12345" || out[0].err != nil {
		t.Fatalf("item 0 = %+v", out[0])
	}
	if out[1].obj != nil || out[1].err == nil || out[1].err.Code != CodeInvalidField {
		t.Fatalf("item 1 = %+v", out[1])
	}
	if _, e := decodeBulkItems[Customer]("Bulk/Crud/Create/Customer", data, 3); e == nil || e.Code != CodeBadResponse {
		t.Fatalf("count mismatch not detected: %v", e)
	}
}

func TestErrorClassesMatchSentinels(t *testing.T) {
	tests := []struct {
		code     string
		status   int
		sentinel error
	}{
		{CodeBadCredentials, 200, ErrAuth},
		{CodeSessionInvalid, 200, ErrSession},
		{CodeHourlyLimit, 200, ErrHourlyLimit},
		{CodeLocalBudget, 0, ErrHourlyLimit},
		{CodeTooManyInFlight, 200, ErrConcurrency},
		{CodeSystemError, 200, ErrServer},
		{CodeBadResponse, 502, ErrServer},
		{CodeTransport, 0, ErrTransport},
		{CodeUndecidedOutcome, 0, ErrTransport},
		{CodeNoDataFound, 200, ErrInput},
	}
	for _, tt := range tests {
		e := &Error{Code: tt.code, Class: ClassOf(tt.code, tt.status)}
		if !errors.Is(e, tt.sentinel) {
			t.Errorf("%s: class %v does not match %v", tt.code, e.Class, tt.sentinel)
		}
	}
}

// FuzzDecodeEnvelope: any answer decodes to exactly one of data or an
// error, never panics, and an error never quotes the body.
func FuzzDecodeEnvelope(f *testing.F) {
	seeds := []string{
		`{"response_status":0,"response_message":"Success","response_data":{"id":"0cu"}}`,
		`{"response_status":1,"response_message":"Error","response_data":{"error_code":"BDC_1109","error_message":"Session is invalid."}}`,
		`{"response_status":0,"response_data":{"bulk":[{"response_status":1,"response_data":{"error_code":"BDC_1119"}}]}}`,
		`{"response_status":0,"response_data":[]}`,
		`{"response_status":1}`, `{}`, `[]`, `null`, ``, `{"response_status":"0"}`, `<html>`,
	}
	for _, s := range seeds {
		for _, st := range []int{200, 404, 500} {
			f.Add(st, []byte(s))
		}
	}
	const marker = "ZQXJ-MARKER-ZQXJ"
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		d, e := decodeEnvelope("Crud/Read/Customer", status, body)
		if (d == nil) == (e == nil) {
			t.Fatalf("want exactly one of data/error: data=%q err=%v", d, e)
		}
		if e != nil {
			if e.Code == "" || e.Op == "" {
				t.Fatalf("error lacks code or op: %+v", e)
			}
			if e.Code == CodeBadResponse && e.Class != ClassServer && e.Class != ClassTransport {
				t.Fatalf("bad response classed %v", e.Class)
			}
		}
		if d != nil && !json.Valid(d) {
			t.Fatalf("data %q is not valid JSON", d)
		}
		// A body holding the marker where a non-envelope would be quoted.
		_, e2 := decodeEnvelope("x", status, append([]byte(marker), body...))
		if e2 == nil || strings.Contains(e2.Error(), marker) {
			t.Fatalf("non-envelope body decoded or quoted: %v", e2)
		}
		if _, e3 := decodeBulkItems[Customer]("Bulk/Crud/Create/Customer", body, 1); e3 == nil && !json.Valid(body) {
			t.Fatalf("bulk decoder accepted invalid JSON %q", body)
		}
	})
}

func TestGateAdaptsToBusyAnswers(t *testing.T) {
	g := newGate(3, 100, 10, time.Now, nil)
	limit := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.limit
	}
	steps := []struct {
		busy, ok bool
		times    int
		want     int
	}{
		{busy: true, times: 1, want: 2},
		{busy: true, times: 5, want: 1}, // never below 1
		{ok: true, times: okToGrow - 1, want: 1},
		{ok: true, times: 1, want: 2},
		{busy: false, ok: false, times: 20, want: 2}, // other failures change nothing
		{ok: true, times: 3 * okToGrow, want: 3},     // never above MaxInFlight
	}
	for i, s := range steps {
		for range s.times {
			leave, e := g.enter(t.Context(), "op", false)
			if e != nil {
				t.Fatal(e)
			}
			leave(s.busy, s.ok)
		}
		if got := limit(); got != s.want {
			t.Fatalf("step %d: limit = %d, want %d", i, got, s.want)
		}
	}
	// With the cap at 1, a second caller waits until the first leaves.
	g2 := newGate(1, 100, 10, time.Now, nil)
	leave, e := g2.enter(t.Context(), "op", false)
	if e != nil {
		t.Fatal(e)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, e := g2.enter(ctx, "op", false); e == nil || e.Code != CodeCanceled {
		t.Fatalf("second enter = %v, want it to wait until cancelled", e)
	}
	leave(false, true)
	if _, e := g2.enter(t.Context(), "op", false); e != nil {
		t.Fatalf("enter after leave: %v", e)
	}
}

// TestDecodeBulkItemsTolerant: a Bulk answer that plain JSON cannot read
// (response_status "0" in one item) goes through the tolerant reader and
// gives the same outcomes as the plain answer.
func TestDecodeBulkItemsTolerant(t *testing.T) {
	item := func(status string, id string) string {
		return `{"response_status":` + status + `,"response_message":"Success","response_data":{"entity":"Customer","id":"` + id + `","name":"A"}}`
	}
	for _, tc := range []struct {
		name, first string
	}{
		{"plain", item(`0`, "0cu01ABCDEFGHIJ00001")},
		{"status as a string", item(`"0"`, "0cu01ABCDEFGHIJ00001")},
		// the string status sends it down the tolerant path too
		{"spaces around the item", " \n" + item(`"0"`, "0cu01ABCDEFGHIJ00001") + "\t "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := json.RawMessage(`{"bulk":[` + tc.first + `,` + item(`0`, "0cu01ABCDEFGHIJ00002") + `]}`)
			out, e := decodeBulkItems[Customer]("Bulk/Crud/Create/Customer", data, 2)
			if e != nil {
				t.Fatal(e)
			}
			for i, want := range []string{"0cu01ABCDEFGHIJ00001", "0cu01ABCDEFGHIJ00002"} {
				if out[i].err != nil || out[i].obj == nil || out[i].obj.ID != want || Deref(out[i].obj.Name) != "A" {
					t.Fatalf("item %d = %+v, want id %s", i, out[i], want)
				}
			}
		})
	}
}
