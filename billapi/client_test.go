package billapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/rs/zerolog"
)

func TestNewValidatesConfig(t *testing.T) {
	good := func() Config { return Config{BaseURL: SandboxBaseURL, Credentials: testCreds()} }
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"ok", func(*Config) {}, ""},
		{"max in flight 3", func(c *Config) { c.MaxInFlight = 3 }, ""},
		{"empty base", func(c *Config) { c.BaseURL = "" }, "BaseURL is empty"},
		{"ftp base", func(c *Config) { c.BaseURL = "ftp://x/api/v2" }, "not an http(s) URL"},
		{"base with query", func(c *Config) { c.BaseURL = SandboxBaseURL + "?devKey=x" }, "must not carry user info or a query"},
		{"base with user info", func(c *Config) { c.BaseURL = "https://u:pw-s3cr3t@api.bill.com/api/v2" }, "must not carry user info or a query"},
		{"max in flight 4", func(c *Config) { c.MaxInFlight = 4 }, "MaxInFlight 4 is out of range"},
		{"max in flight -1", func(c *Config) { c.MaxInFlight = -1 }, "MaxInFlight -1 is out of range"},
		{"negative budget", func(c *Config) { c.HourlyLoginBudget = -1 }, "must not be negative"},
		{"negative timeout", func(c *Config) { c.CallTimeout = -time.Second }, "must not be negative"},
		{"backoff inverted", func(c *Config) { c.BackoffBase = time.Minute; c.BackoffMax = time.Second }, "larger than BackoffMax"},
		{"no password", func(c *Config) { c.Credentials.Password = secret.Secret{} }, "Credentials lack Password"},
		{"no org", func(c *Config) { c.Credentials.OrgID = " " }, "Credentials lack OrgID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.mutate(&cfg)
			c, err := New(cfg)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "devKey=x") {
				t.Fatalf("New error %q echoes a credential", err)
			}
		})
	}
}

func readCustomerHandler(op string, data map[string]any, n int) reply {
	switch op {
	case "Crud/Read/Customer":
		return okReply(customerJSON(fmt.Sprint(data["id"]), "Acme"))
	case "Logout":
		return okReply(map[string]any{})
	case "GetSessionInfo":
		return okReply(map[string]any{"organizationId": testOrg, "userId": "00601USER00000000001"})
	}
	return bdcReply(CodeAPINotSupported, "unexpected "+op)
}

func TestConcurrentFirstCallsShareOneLogin(t *testing.T) {
	f := newFakeBill(t, readCustomerHandler)
	f.loginDelay = 20 * time.Millisecond
	c := newTestClient(t, f, func(c *Config) { c.MaxInFlight = 3 })
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			if _, err := c.GetCustomer(t.Context(), testCustomerID); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := f.logins.Load(); n != 1 {
		t.Fatalf("logins = %d, want 1", n)
	}
	if _, logins := c.HourlyUsage(); logins != 1 {
		t.Fatalf("login budget used = %d, want 1", logins)
	}
}

func TestSessionExpiryReloginsOnceAndRepeats(t *testing.T) {
	f := newFakeBill(t, readCustomerHandler)
	c := newTestClient(t, f, func(c *Config) { c.MaxInFlight = 3 })
	if _, err := c.GetCustomer(t.Context(), testCustomerID); err != nil {
		t.Fatal(err)
	}
	f.expireSessions()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 20 {
		wg.Go(func() {
			if _, err := c.GetCustomer(t.Context(), testCustomerID); err != nil {
				failed.Add(1)
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.logins.Load(); n != 2 {
		t.Fatalf("logins = %d, want 2 (one re-login)", n)
	}
}

func TestSessionRejectedTwiceGivesUp(t *testing.T) {
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		return bdcReply(CodeSessionInvalid, "Session is invalid. Please log in.")
	})
	c := newTestClient(t, f, nil)
	_, err := c.GetCustomer(t.Context(), testCustomerID)
	if !errors.Is(err, ErrSession) {
		t.Fatalf("err = %v, want session error", err)
	}
	if got := f.logins.Load(); got != 2 {
		t.Fatalf("logins = %d, want 2 (first login + one re-login)", got)
	}
	if got := f.count("Crud/Read/Customer"); got != 2 {
		t.Fatalf("reads = %d, want 2", got)
	}
}

func TestBadCredentialsAreNotRetried(t *testing.T) {
	f := newFakeBill(t, readCustomerHandler)
	cfg := func(c *Config) { c.Credentials.Password = secret.New("wrong-s3cr3t") }
	c := newTestClient(t, f, cfg)
	_, err := c.GetCustomer(t.Context(), testCustomerID)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeBadCredentials || !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v, want BDC_1101", err)
	}
	if got := f.logins.Load(); got != 1 {
		t.Fatalf("logins = %d, want 1", got)
	}
}

func TestHourlyLimitFromBillFailsFastUntilTopOfHour(t *testing.T) {
	now := time.Date(2026, 1, 2, 10, 15, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		if n == 1 {
			return bdcReply(CodeHourlyLimit, "Max number of allowed requests per hour reached.")
		}
		return readCustomerHandler(op, data, n)
	})
	c := newTestClient(t, f, func(c *Config) { c.Now = func() time.Time { return *clock.Load() } })
	_, err := c.GetCustomer(t.Context(), testCustomerID)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeHourlyLimit || !e.ResetAt.Equal(time.Date(2026, 1, 2, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("err = %+v, want BDC_1144 resetting at 11:00", err)
	}
	_, err = c.GetCustomer(t.Context(), testCustomerID)
	if !errors.Is(err, ErrHourlyLimit) {
		t.Fatalf("second call err = %v, want hourly limit", err)
	}
	if got := f.count("Crud/Read/Customer"); got != 1 {
		t.Fatalf("reads reaching BILL = %d, want 1 (no hammering)", got)
	}
	later := now.Add(time.Hour)
	clock.Store(&later)
	if _, err := c.GetCustomer(t.Context(), testCustomerID); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
}

func TestLocalBudgets(t *testing.T) {
	now := time.Date(2026, 1, 2, 10, 59, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	f := newFakeBill(t, readCustomerHandler)
	c := newTestClient(t, f, func(c *Config) {
		c.HourlyRequestBudget = 2
		c.HourlyLoginBudget = 1
		c.Now = func() time.Time { return *clock.Load() }
	})
	for i := range 2 {
		if _, err := c.GetCustomer(t.Context(), testCustomerID); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := c.GetCustomer(t.Context(), testCustomerID)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeLocalBudget || !e.ResetAt.Equal(time.Date(2026, 1, 2, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("err = %v, want local budget resetting at 11:00", err)
	}
	if got := f.count("Crud/Read/Customer"); got != 2 {
		t.Fatalf("reads reaching BILL = %d, want 2", got)
	}
	if err := c.Login(t.Context()); !errors.Is(err, ErrHourlyLimit) {
		t.Fatalf("second login err = %v, want local login budget", err)
	}
	next := now.Add(2 * time.Minute)
	clock.Store(&next)
	if _, err := c.GetCustomer(t.Context(), testCustomerID); err != nil {
		t.Fatalf("next hour: %v", err)
	}
	if err := c.Login(t.Context()); err != nil {
		t.Fatalf("next hour login: %v", err)
	}
}

func TestRetryPolicy(t *testing.T) {
	created := okReply(customerJSON(testCustomerID, "Acme"))
	empty := okReply([]any{})
	tests := []struct {
		name      string
		call      func(ctx context.Context, c *Client) error
		op        string
		replies   []reply // per call to op; the last repeats
		wantCalls int
		wantLists int
		wantCode  string // "" for success
	}{
		{"read retries BDC_1322", getCustomer, "Crud/Read/Customer",
			[]reply{bdcReply(CodeTooManyInFlight, "busy"), bdcReply(CodeTooManyInFlight, "busy"), created}, 3, 0, ""},
		{"read retries a lost answer", getCustomer, "Crud/Read/Customer", []reply{{hangup: true}, created}, 2, 0, ""},
		{"read retries HTTP 502", getCustomer, "Crud/Read/Customer", []reply{{status: 502, body: "<html>"}, created}, 2, 0, ""},
		{"read retries BDC_1002", getCustomer, "Crud/Read/Customer", []reply{bdcReply(CodeUnknownError, "?"), created}, 2, 0, ""},
		{"read gives up after MaxAttempts", getCustomer, "Crud/Read/Customer", []reply{bdcReply(CodeSystemError, "down")}, 4, 0, CodeSystemError},
		{"read input error is not retried", getCustomer, "Crud/Read/Customer", []reply{bdcReply(CodeNoDataFound, "No data")}, 1, 0, CodeNoDataFound},
		{"delete retries a lost answer", deleteCustomer, "Crud/Delete/Customer", []reply{{hangup: true}, created}, 2, 0, ""},
		{"create reconciles BDC_1001 before resending", createCustomer, "Crud/Create/Customer", []reply{bdcReply(CodeSystemError, "down"), created}, 2, 1, ""},
		{"read BDC_1002 twice is an input error", getCustomer, "Crud/Read/Customer", []reply{bdcReply(CodeUnknownError, "?")}, 2, 0, CodeUnknownError},
		{"create BDC_1002 twice is an input error", createCustomer, "Crud/Create/Customer", []reply{bdcReply(CodeUnknownError, "?")}, 2, 2, CodeUnknownError},
		{"create retries BDC_1322", createCustomer, "Crud/Create/Customer", []reply{bdcReply(CodeTooManyInFlight, "busy"), created}, 2, 0, ""},
		{"create reconciles a lost answer before resending", createCustomer, "Crud/Create/Customer", []reply{{hangup: true}, created}, 2, 1, ""},
		{"create reconciles BDC_1002", createCustomer, "Crud/Create/Customer", []reply{bdcReply(CodeUnknownError, "?"), created}, 2, 1, ""},
		{"create reconciles HTTP 503", createCustomer, "Crud/Create/Customer", []reply{{status: 503, body: "down"}, created}, 2, 1, ""},
		{"create input error", createCustomer, "Crud/Create/Customer", []reply{bdcReply(CodeMissingData, "name")}, 1, 0, CodeMissingData},
		{"create lost every time", createCustomer, "Crud/Create/Customer", []reply{{hangup: true}}, 4, 4, CodeTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
				switch op {
				case tt.op:
					return tt.replies[min(n, len(tt.replies))-1]
				case "List/Customer":
					return empty
				}
				return bdcReply(CodeAPINotSupported, op)
			})
			c := newTestClient(t, f, func(c *Config) { c.MaxAttempts = 4 })
			err := tt.call(t.Context(), c)
			if tt.wantCode == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantCode != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
			}
			if got := f.count(tt.op); got != tt.wantCalls {
				t.Fatalf("calls to %s = %d, want %d", tt.op, got, tt.wantCalls)
			}
			if got := f.count("List/Customer"); got != tt.wantLists {
				t.Fatalf("reconciliation lists = %d, want %d", got, tt.wantLists)
			}
		})
	}
}

func getCustomer(ctx context.Context, c *Client) error {
	_, err := c.GetCustomer(ctx, testCustomerID)
	return err
}

func deleteCustomer(ctx context.Context, c *Client) error {
	_, err := c.DeleteCustomer(ctx, testCustomerID)
	return err
}

func createCustomer(ctx context.Context, c *Client) error {
	_, err := c.CreateCustomer(ctx, Customer{Name: String("Acme")})
	return err
}

func TestLostCreateFoundByReconciliationIsNotResent(t *testing.T) {
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		switch op {
		case "Crud/Create/Customer":
			return reply{hangup: true} // pretend it applied
		case "List/Customer":
			filters := fmt.Sprint(data["filters"])
			if !strings.Contains(filters, "createdTime") || !strings.Contains(filters, ">=") {
				return bdcReply(CodeBadFilterField, "expected a createdTime filter, got "+filters)
			}
			return okReply([]any{customerJSON("0cu01OTHERCUSTOMER01", "Other"), customerJSON(testCustomerID, " ACME ")})
		}
		return bdcReply(CodeAPINotSupported, op)
	})
	c := newTestClient(t, f, nil)
	got, err := c.CreateCustomer(t.Context(), Customer{Name: String("acme")})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != testCustomerID {
		t.Fatalf("id = %s, want the reconciled %s", got.ID, testCustomerID)
	}
	if n := f.count("Crud/Create/Customer"); n != 1 {
		t.Fatalf("creates sent = %d, want 1", n)
	}
	// The record is now known: a second lost create of the same name must
	// not claim it again; BILL's duplicate answer then stands.
	f2 := f
	f2.handle = func(op string, data map[string]any, n int) reply {
		switch op {
		case "Crud/Create/Customer":
			if n == 2 {
				return reply{hangup: true}
			}
			return bdcReply(CodeInvalidField, "Invalid field,value: name, acme. A customer with this name already exists.")
		case "List/Customer":
			return okReply([]any{customerJSON(testCustomerID, "Acme")})
		}
		return bdcReply(CodeAPINotSupported, op)
	}
	_, err = c.CreateCustomer(t.Context(), Customer{Name: String("acme")})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidField {
		t.Fatalf("err = %v, want the duplicate-name BDC_1119", err)
	}
}

func TestDuplicateAnswerToResentCreateMeansFirstApplied(t *testing.T) {
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		switch op {
		case "Crud/Create/Customer":
			if n == 1 {
				return reply{hangup: true}
			}
			return bdcReply(CodeInvalidField, "Invalid field,value: name, Acme. A customer with this name already exists.")
		case "List/Customer":
			if n == 1 { // BILL had not finished the first attempt yet
				return okReply([]any{})
			}
			return okReply([]any{customerJSON(testCustomerID, "Acme")})
		}
		return bdcReply(CodeAPINotSupported, op)
	})
	c := newTestClient(t, f, nil)
	got, err := c.CreateCustomer(t.Context(), Customer{Name: String("Acme")})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != testCustomerID {
		t.Fatalf("id = %s", got.ID)
	}
}

func TestUndecidedWhenReconciliationFails(t *testing.T) {
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		switch op {
		case "Crud/Create/CustomerContact":
			return reply{hangup: true}
		case "List/CustomerContact":
			return reply{status: 500, body: "broken"}
		}
		return bdcReply(CodeAPINotSupported, op)
	})
	c := newTestClient(t, f, func(c *Config) { c.MaxAttempts = 2 })
	_, err := c.CreateCustomerContact(t.Context(), CustomerContact{CustomerID: String(testCustomerID), FirstName: String("Ann"), Email: String("ann@example.com")})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUndecidedOutcome || !strings.Contains(e.Message, "may or may not exist") {
		t.Fatalf("err = %v, want OUTCOME_UNKNOWN", err)
	}
	if n := f.count("Crud/Create/CustomerContact"); n != 1 {
		t.Fatalf("creates sent = %d, want 1 (never resend undecided)", n)
	}
}

func TestUpdateFillsRequiredFieldsFromCurrentRecord(t *testing.T) {
	var sent map[string]any
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		switch op {
		case "Crud/Read/CustomerContact":
			return okReply(map[string]any{"entity": "CustomerContact", "id": testContactID, "customerId": testCustomerID, "firstName": "Ann", "email": "ann@example.com"})
		case "Crud/Update/CustomerContact":
			sent = data
			return okReply(data["obj"])
		}
		return bdcReply(CodeAPINotSupported, op)
	})
	c := newTestClient(t, f, nil)
	if _, err := c.UpdateCustomerContact(t.Context(), CustomerContact{ID: testContactID, Phone: String("555"), CreatedTime: String("x")}); err != nil {
		t.Fatal(err)
	}
	obj, _ := sent["obj"].(map[string]any)
	want := map[string]any{"entity": "CustomerContact", "id": testContactID, "customerId": testCustomerID, "firstName": "Ann", "email": "ann@example.com", "phone": "555"}
	if fmt.Sprint(obj) != fmt.Sprint(want) {
		t.Fatalf("update sent %v, want %v", obj, want)
	}
}

func TestInputRejectedBeforeAnyCall(t *testing.T) {
	f := newFakeBill(t, readCustomerHandler)
	c := newTestClient(t, f, nil)
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
	}{
		{"bad id", func() error { _, err := c.GetCustomer(ctx, "cpu01ABCDEFGHIJ12345"); return err }},
		{"id on create", func() error {
			_, err := c.CreateCustomer(ctx, Customer{ID: testCustomerID, Name: String("A")})
			return err
		}},
		{"bad customerId on contact", func() error {
			_, err := c.CreateCustomerContact(ctx, CustomerContact{CustomerID: String("nope"), FirstName: String("A"), Email: String("a@b.co")})
			return err
		}},
		{"tos not agreed", func() error {
			_, err := c.CreateCustomerBankAccount(ctx, CustomerBankAccount{CustomerID: String(testCustomerID)}, false)
			return err
		}},
		{"page too big", func() error { _, err := c.ListCustomers(ctx, ListParams{Max: 5000}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeLocalInput || !errors.Is(err, ErrInput) {
				t.Fatalf("err = %v, want a local input error", err)
			}
		})
	}
	if n := f.logins.Load(); n != 0 {
		t.Fatalf("logins = %d: bad input cost a call", n)
	}
}

func TestBulkChunksKeepOrderAndReportProgress(t *testing.T) {
	var sizes []int
	var mu sync.Mutex
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		if op != "Bulk/Crud/Delete/Customer" {
			return bdcReply(CodeAPINotSupported, op)
		}
		items := data["bulk"].([]any)
		mu.Lock()
		sizes = append(sizes, len(items))
		mu.Unlock()
		out := make([]any, len(items))
		for i, it := range items {
			id := it.(map[string]any)["id"].(string)
			if strings.HasSuffix(id, "7") {
				out[i] = map[string]any{"response_status": 1, "response_data": map[string]any{"error_code": CodeNoDataFound, "error_message": "no " + id}}
				continue
			}
			out[i] = map[string]any{"response_status": 0, "response_data": customerJSON(id, "x")}
		}
		return okReply(map[string]any{"bulk": out})
	})
	c := newTestClient(t, f, nil)
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = fmt.Sprintf("0cu01TEST%011d", i)
	}
	ids[5] = "bad-id"
	var progress []int
	res, err := c.BulkDeleteCustomers(t.Context(), ids, BulkOptions{Progress: func(done, total int) {
		if total != 250 {
			t.Errorf("progress total = %d, want 250", total)
		}
		progress = append(progress, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Chunks run concurrently, so they reach BILL in any order.
	slices.Sort(sizes)
	if fmt.Sprint(sizes) != "[50 99 100]" {
		t.Fatalf("chunk sizes = %v, want 99, 100 and 50 (bad id not sent)", sizes)
	}
	// One report per chunk, rising, ending at the total.
	if len(progress) != 3 || !slices.IsSorted(progress) || progress[2] != 250 {
		t.Fatalf("progress = %v, want 3 rising reports ending at 250", progress)
	}
	for i, r := range res {
		switch {
		case r.Index != i:
			t.Fatalf("result %d has index %d", i, r.Index)
		case i == 5:
			if r.Err == nil || r.Err.Code != CodeLocalInput {
				t.Fatalf("bad id result = %+v", r)
			}
		case strings.HasSuffix(ids[i], "7"):
			if r.Err == nil || r.Err.Code != CodeNoDataFound || r.Object != nil {
				t.Fatalf("item %d = %+v, want BDC_1120", i, r)
			}
		default:
			if r.Err != nil || r.Object == nil || r.Object.ID != ids[i] {
				t.Fatalf("item %d = %+v", i, r)
			}
		}
	}
}

func TestBulkStopsOnFatalError(t *testing.T) {
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		if n == 2 {
			return bdcReply(CodeHourlyLimit, "Max number of allowed requests per hour reached.")
		}
		items := data["bulk"].([]any)
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = map[string]any{"response_status": 0, "response_data": customerJSON(it.(map[string]any)["id"].(string), "x")}
		}
		return okReply(map[string]any{"bulk": out})
	})
	// One chunk at a time: which chunk meets the limit is then known.
	c := newTestClient(t, f, func(c *Config) { c.MaxInFlight = 1 })
	ids := make([]string, 350)
	for i := range ids {
		ids[i] = fmt.Sprintf("0cu01TEST%011d", i)
	}
	res, err := c.BulkUndeleteCustomers(t.Context(), ids, BulkOptions{})
	if !errors.Is(err, ErrHourlyLimit) {
		t.Fatalf("err = %v, want hourly limit", err)
	}
	for i, r := range res {
		if i < 100 && (r.Object == nil || r.Err != nil) {
			t.Fatalf("item %d of the first chunk = %+v, want success", i, r)
		}
		if i >= 100 && (r.Err == nil || r.Err.Class != ClassHourlyLimit) {
			t.Fatalf("item %d = %+v, want the hourly limit error", i, r)
		}
	}
	if n := f.count("Bulk/Crud/Undelete/Customer"); n != 2 {
		t.Fatalf("bulk calls = %d, want 2", n)
	}
}

// TestBulkChunksMeetBillInOrder: a bulk call runs one worker more than the
// in-flight cap, yet with one call in flight BILL sees the chunks strictly
// in input order (each chunk's first call queues only once the chunk
// before holds its slot), run after run.
func TestBulkChunksMeetBillInOrder(t *testing.T) {
	for run := range 5 {
		var mu sync.Mutex
		var firsts []string
		f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
			items := data["bulk"].([]any)
			mu.Lock()
			firsts = append(firsts, items[0].(map[string]any)["id"].(string))
			mu.Unlock()
			out := make([]any, len(items))
			for i, it := range items {
				out[i] = map[string]any{"response_status": 0, "response_data": customerJSON(it.(map[string]any)["id"].(string), "x")}
			}
			return okReply(map[string]any{"bulk": out})
		})
		c := newTestClient(t, f, func(c *Config) { c.MaxInFlight = 1 })
		ids := make([]string, 1000)
		for i := range ids {
			ids[i] = fmt.Sprintf("0cu01TEST%011d", i)
		}
		if _, err := c.BulkUndeleteCustomers(t.Context(), ids, BulkOptions{}); err != nil {
			t.Fatal(err)
		}
		want := make([]string, 0, 10)
		for k := range 10 {
			want = append(want, ids[k*MaxBulkItems])
		}
		if !slices.Equal(firsts, want) {
			t.Fatalf("run %d: chunks reached BILL starting with %v, want %v", run, firsts, want)
		}
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		switch n {
		case 1:
			return reply{hangup: true}
		case 2:
			return reply{status: 500, body: "oops " + testPassword}
		}
		return bdcReply(CodeNoDataFound, "No data found")
	})
	var logBuf bytes.Buffer
	var mu sync.Mutex
	logger := zerolog.New(zerolog.SyncWriter(&lockedWriter{w: &logBuf, mu: &mu})).Level(zerolog.DebugLevel)
	c := newTestClient(t, f, func(c *Config) { c.Logger = &logger; c.MaxAttempts = 4 })
	var errs []string
	if _, err := c.GetCustomer(t.Context(), testCustomerID); err != nil {
		errs = append(errs, err.Error(), fmt.Sprintf("%+v %#v", err, err))
	}
	bad := newTestClient(t, f, func(c *Config) { c.Credentials.Password = secret.New("wrong-" + testPassword); c.Logger = &logger })
	if err := bad.Login(t.Context()); err != nil {
		errs = append(errs, err.Error(), fmt.Sprintf("%+v", err))
	}
	dead := newTestClient(t, f, func(c *Config) { c.BaseURL = "http://127.0.0.1:1/api/v2"; c.Logger = &logger; c.MaxAttempts = 2 })
	if err := dead.Login(t.Context()); err != nil {
		errs = append(errs, err.Error(), fmt.Sprintf("%+v", err))
	}
	if len(errs) != 6 {
		t.Fatalf("expected three failures, got %v", errs)
	}
	mu.Lock()
	text := strings.Join(errs, "\n") + logBuf.String()
	mu.Unlock()
	for _, s := range []string{testDevKey, testUser, testPassword, "SESSION-s3cr3t"} {
		if strings.Contains(text, s) {
			t.Fatalf("secret %q leaked into errors or logs:\n%s", s, text)
		}
	}
	if !strings.Contains(logBuf.String(), `"op":"Crud/Read/Customer"`) {
		t.Fatalf("debug log lacks the op:\n%s", logBuf.String())
	}
	// The secrets did travel, in bodies only.
	bodies := f.allBodies()
	for _, s := range []string{"DEVKEY-s3cr3t", "PASSWORD-s3cr3t", "SESSION-s3cr3t"} {
		if !strings.Contains(bodies, s) {
			t.Fatalf("%q never reached BILL in a body", s)
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestCancellationStopsBackoff(t *testing.T) {
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		return bdcReply(CodeTooManyInFlight, "busy")
	})
	c := newTestClient(t, f, func(c *Config) {
		c.BackoffBase = time.Hour
		c.BackoffMax = time.Hour
		c.MaxAttempts = 100
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := c.GetCustomer(ctx, testCustomerID); done <- err }()
	for f.count("Crud/Read/Customer") == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeCanceled {
		t.Fatalf("err = %v, want LOCAL_CANCELED", err)
	}
}

func TestCancelledCreateAfterSendIsUndecided(t *testing.T) {
	release := make(chan struct{})
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		<-release
		return okReply(customerJSON(testCustomerID, "Acme"))
	})
	t.Cleanup(func() { close(release) })
	c := newTestClient(t, f, nil)
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := c.CreateCustomer(ctx, Customer{Name: String("Acme")}); done <- err }()
	for f.count("Crud/Create/Customer") == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUndecidedOutcome || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want OUTCOME_UNKNOWN wrapping context.Canceled", err)
	}
}

// memStore is a SessionStore with a LoginLocker, counting its use.
type memStore struct {
	mu          sync.Mutex
	s           Session
	ok          bool
	saves       int
	invalidates int
	locks       int
}

func (m *memStore) Load(context.Context) (Session, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s, m.ok, nil
}

func (m *memStore) Save(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s, m.ok = s, true
	m.saves++
	return nil
}

func (m *memStore) Invalidate(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ok && m.s.ID.Equal(s.ID) {
		m.ok = false
	}
	m.invalidates++
	return nil
}

func (m *memStore) LockLogin(context.Context) (func(), error) {
	m.mu.Lock()
	m.locks++
	m.mu.Unlock()
	return func() {}, nil
}

func TestSessionStoreIsSharedBetweenClients(t *testing.T) {
	f := newFakeBill(t, readCustomerHandler)
	store := &memStore{}
	a := newTestClient(t, f, func(c *Config) { c.SessionStore = store })
	if _, err := a.GetCustomer(t.Context(), testCustomerID); err != nil {
		t.Fatal(err)
	}
	b := newTestClient(t, f, func(c *Config) { c.SessionStore = store })
	if _, err := b.GetCustomer(t.Context(), testCustomerID); err != nil {
		t.Fatal(err)
	}
	if n := f.logins.Load(); n != 1 {
		t.Fatalf("logins = %d, want 1 (second client reuses the stored session)", n)
	}
	f.expireSessions()
	if _, err := b.GetCustomer(t.Context(), testCustomerID); err != nil {
		t.Fatal(err)
	}
	// a still holds the dead session; the store has b's new one.
	if _, err := a.GetCustomer(t.Context(), testCustomerID); err != nil {
		t.Fatal(err)
	}
	if n := f.logins.Load(); n != 2 {
		t.Fatalf("logins = %d, want 2 (one re-login shared through the store)", n)
	}
	store.mu.Lock()
	saves, locks, invalidates := store.saves, store.locks, store.invalidates
	store.mu.Unlock()
	if saves != 2 || locks < 2 || invalidates < 1 {
		t.Fatalf("store use: saves %d locks %d invalidates %d", saves, locks, invalidates)
	}
	if err := a.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	f := newFakeBill(t, readCustomerHandler)
	store := &memStore{}
	c := newTestClient(t, f, func(c *Config) { c.SessionStore = store })
	si, err := c.GetSessionInfo(t.Context())
	if err != nil || si.OrganizationID != testOrg {
		t.Fatalf("session info = %+v, %v", si, err)
	}
	if err := c.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f.count("Logout") != 1 {
		t.Fatalf("Logout calls = %d", f.count("Logout"))
	}
	if _, ok, _ := store.Load(t.Context()); ok {
		t.Fatal("store still holds the session after Logout")
	}
	if _, err := c.GetCustomer(t.Context(), testCustomerID); err != nil {
		t.Fatal(err)
	}
	if n := f.logins.Load(); n != 2 {
		t.Fatalf("logins = %d, want 2 (a call after Logout logs in)", n)
	}
}

func TestAllPagesUntilShortPage(t *testing.T) {
	const total = 25
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		start, maxN := int(data["start"].(float64)), int(data["max"].(float64))
		var page []any
		for i := start; i < min(start+maxN, total); i++ {
			page = append(page, customerJSON(fmt.Sprintf("0cu01TEST%011d", i), fmt.Sprint(i)))
		}
		if page == nil {
			page = []any{}
		}
		return okReply(page)
	})
	c := newTestClient(t, f, nil)
	var got []string
	for cu, err := range c.AllCustomers(t.Context(), ListParams{Max: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, Deref(cu.Name))
	}
	if len(got) != total || got[0] != "0" || got[total-1] != "24" {
		t.Fatalf("got %d items: %v", len(got), got)
	}
	if n := f.count("List/Customer"); n != 3 {
		t.Fatalf("pages = %d, want 3", n)
	}
	// Stopping early stops paging.
	for range c.AllCustomers(t.Context(), ListParams{Max: 10}) {
		break
	}
	if n := f.count("List/Customer"); n != 4 {
		t.Fatalf("pages after early stop = %d, want 4", n)
	}
}

func TestCallTimeoutPerAttempt(t *testing.T) {
	slow := func(n int) bool { return n == 1 }
	tests := []struct {
		name      string
		op        string
		call      func(context.Context, *Client) error
		wantCalls int
		wantLists int
	}{
		{"read is repeated", "Crud/Read/Customer", getCustomer, 2, 0},
		// A Bulk attempt has its own, longer timeout (BulkCallTimeout).
		{"bulk waits longer", "Bulk/Crud/Create/Customer", func(ctx context.Context, c *Client) error {
			res, err := c.BulkCreateCustomers(ctx, []Customer{{Name: String("Acme")}}, BulkOptions{})
			if err == nil && res[0].Err != nil {
				err = res[0].Err
			}
			return err
		}, 1, 0},
		// A timed-out call may still be running at BILL: two looks, with a
		// pause, before the create is sent again.
		{"create is reconciled twice, then resent", "Crud/Create/Customer", createCustomer, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
				if op == "List/Customer" {
					return okReply([]any{})
				}
				if slow(n) {
					time.Sleep(300 * time.Millisecond)
				}
				if strings.HasPrefix(op, "Bulk/") {
					return okReply(map[string]any{"bulk": []any{map[string]any{"response_status": 0, "response_message": "Success", "response_data": customerJSON(testCustomerID, "Acme")}}})
				}
				return okReply(customerJSON(testCustomerID, "Acme"))
			})
			c := newTestClient(t, f, func(c *Config) { c.CallTimeout, c.BulkCallTimeout = 100*time.Millisecond, 2*time.Second })
			if err := tt.call(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			if got := f.count(tt.op); got != tt.wantCalls {
				t.Fatalf("calls = %d, want %d", got, tt.wantCalls)
			}
			if got := f.count("List/Customer"); got != tt.wantLists {
				t.Fatalf("lists = %d, want %d", got, tt.wantLists)
			}
		})
	}
}

func TestNeverSent(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{fmt.Errorf("post: %w", &net.OpError{Op: "dial", Err: errors.New("no route")}), true},
		{&net.OpError{Op: "read", Err: errors.New("connection reset")}, false},
		{io.EOF, false},
	}
	for _, tt := range tests {
		if got := neverSent(tt.err); got != tt.want {
			t.Errorf("neverSent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestBulkItemErrorsRedacted: BILL's text in a Bulk answer's item errors
// is redacted and cut like every upstream text: an item that quotes the
// devKey, user name and password back reaches the caller without them.
func TestBulkItemErrorsRedacted(t *testing.T) {
	quote := "invalid field near devKey=" + testDevKey + " userName=" + testUser + " password=" + testPassword + " " + strings.Repeat("padding ", 80)
	f := newFakeBill(t, func(op string, data map[string]any, n int) reply {
		items := data["bulk"].([]any)
		out := make([]any, len(items))
		for i, it := range items {
			obj := it.(map[string]any)
			if i == 0 {
				out[i] = map[string]any{"response_status": 1, "response_data": map[string]string{"error_code": CodeInvalidField, "error_message": quote}}
				continue
			}
			out[i] = map[string]any{"response_status": 0, "response_data": customerJSON(obj["id"].(string), "x")}
		}
		return okReply(map[string]any{"bulk": out})
	})
	c := newTestClient(t, f, nil)
	res, err := c.BulkUndeleteCustomers(t.Context(), []string{testCustomerID, "0cu01TESTCUSTOMER002"}, BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := res[0].Err
	if e == nil || e.Code != CodeInvalidField {
		t.Fatalf("item 0 = %+v, want BILL's refusal", res[0])
	}
	for _, s := range []string{testDevKey, testUser, testPassword} {
		if strings.Contains(e.Error(), s) {
			t.Errorf("item error carries a credential: %s", e.Error())
		}
	}
	if !strings.Contains(e.Message, "[REDACTED]") || len(e.Message) > 2*maxUpstreamText {
		t.Errorf("item error not redacted and cut: %d bytes: %s", len(e.Message), e.Message)
	}
}
