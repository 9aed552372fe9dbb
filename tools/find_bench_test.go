package tools_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/billapi/emulator"
	"github.com/bill-mcp/bill-mcp/internal/index"
	"github.com/bill-mcp/bill-mcp/internal/server"
)

// orgSize is the organisation the search targets are measured on.
const orgSize = 5000

// tickClock advances a second at every reading: the emulator then stamps
// records about as far apart as BILL, which takes about a second a bulk
// call of 100, would; Add moves it on by more.
type tickClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tickClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func (c *tickClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// bigOrg is a server over an emulator holding orgSize customers, made by
// another client (the server's index has to read them from BILL).
type bigOrg struct {
	emu   *emulator.Emulator
	clock *tickClock
	cl    *client.Client
}

func newBigOrg(tb testing.TB) *bigOrg {
	tb.Helper()
	clk := &tickClock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	emu := emulator.New(emulator.Config{Now: clk.Now, HourlyLimit: 100_000_000, SessionIdle: 1000 * time.Hour})
	hs := httptest.NewServer(emu)
	tb.Cleanup(hs.Close)
	rows := make([]billapi.Customer, orgSize)
	for i := range rows {
		rows[i] = billapi.Customer{
			Name:         billapi.String(fmt.Sprintf("Customer %04d Holdings", i)),
			CompanyName:  billapi.String(fmt.Sprintf("Customer %04d Holdings LLC", i)),
			Email:        billapi.String(fmt.Sprintf("billing@customer%04d.example", i)),
			AccNumber:    billapi.String(fmt.Sprintf("AR-%05d", i)),
			Phone:        billapi.String(fmt.Sprintf("(415) 55%d-%04d", i%10, i)),
			BillAddress1: billapi.String(fmt.Sprintf("%d Market Street", i)), BillAddressCity: billapi.String("San Francisco"),
			BillAddressState: billapi.String("CA"), BillAddressZip: billapi.String("94105"),
		}
	}
	res, err := newBillClient(tb, hs.URL, nil).BulkCreateCustomers(tb.Context(), rows, billapi.BulkOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			tb.Fatal(r.Err)
		}
	}
	ix := index.New(index.Options{Now: clk.Now})
	s, err := server.New(server.Options{Client: newBillClient(tb, hs.URL, ix), Index: ix, Version: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	return &bigOrg{emu: emu, clock: clk, cl: connect(tb, s)}
}

// call calls a tool and returns its text and the BILL requests it cost
// (logins not counted).
func (o *bigOrg) call(tb testing.TB, name string, args map[string]any) (string, int) {
	tb.Helper()
	before := o.emu.Stats()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := o.cl.CallTool(tb.Context(), req)
	if err != nil || res.IsError {
		tb.Fatalf("%s: %v %s", name, err, text(res))
	}
	after := o.emu.Stats()
	return text(res), int(after.Requests - before.Requests - (after.Logins - before.Logins))
}

// pageUntil is what an agent had to do before find_customers: page
// list_customers (asking 999 a page; the answer bound may cut a page
// shorter) until the email shows up.
func (o *bigOrg) pageUntil(tb testing.TB, email string) (bytes, requests int) {
	start := 0
	for {
		txt, n := o.call(tb, "list_customers", map[string]any{"start": start, "max": 999})
		bytes += len(txt)
		requests += n
		var page struct {
			Paging struct {
				HasMore   bool `json:"hasMore"`
				NextStart int  `json:"nextStart"`
			} `json:"paging"`
		}
		if err := json.Unmarshal([]byte(txt), &page); err != nil {
			tb.Fatalf("list_customers answer: %v", err)
		}
		if strings.Contains(txt, email) || !page.Paging.HasMore {
			return bytes, requests
		}
		start = page.Paging.NextStart
	}
}

// TestFindCustomersAtFiveThousand checks the search targets: in an org of
// 5,000 customers a warm find_customers by email costs at most 2 BILL
// requests and answers at most 2,000 bytes.
func TestFindCustomersAtFiveThousand(t *testing.T) {
	o := newBigOrg(t)
	const email = "billing@customer4321.example"
	steps := []struct {
		name     string
		before   func()
		maxReqs  int
		maxBytes int
	}{
		{"cold: the index is built by paging BILL once", nil, orgSize/999 + 2, 2000},
		{"warm, index older than 60 s: one refresh request", func() { o.clock.Add(61 * time.Second) }, 2, 2000},
		{"warm, index fresh: no request", nil, 0, 2000},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		txt, reqs := o.call(t, "find_customers", map[string]any{"query": email})
		t.Logf("%s: %d BILL requests, %d bytes", s.name, reqs, len(txt))
		if reqs > s.maxReqs || len(txt) > s.maxBytes {
			t.Errorf("%s: %d requests (max %d), %d bytes (max %d)", s.name, reqs, s.maxReqs, len(txt), s.maxBytes)
		}
		if !strings.HasPrefix(txt, `{"customers":[{"id":"0cu`) || !strings.Contains(txt, email) {
			t.Errorf("%s: answer %s", s.name, txt)
		}
	}
	o.clock.Add(61 * time.Second)
	txt, reqs := o.call(t, "list_customers", map[string]any{"nameContains": "customer 4321 holdings"})
	t.Logf("list_customers nameContains, index older than 60 s: %d BILL requests, %d bytes", reqs, len(txt))
	if reqs > 1 || !strings.Contains(txt, email) || !strings.Contains(txt, `"count":1`) {
		t.Errorf("list_customers nameContains: %d requests, answer %s", reqs, txt)
	}
	bytes, reqs := o.pageUntil(t, email)
	t.Logf("baseline, paging list_customers until found: %d BILL requests, %d bytes", reqs, bytes)
}

// BenchmarkFindCustomersByEmail measures a warm find_customers by email
// in an org of 5,000 (the index refreshed every call: the worst warm
// case) beside the baseline of paging list_customers until the customer
// shows up, and reports BILL requests and answer bytes of each and the ratio.
func BenchmarkFindCustomersByEmail(b *testing.B) {
	o := newBigOrg(b)
	const email = "billing@customer4321.example"
	o.call(b, "find_customers", map[string]any{"query": email}) // cold build
	var findBytes, findReqs, pageBytes, pageReqs int
	for b.Loop() {
		o.clock.Add(61 * time.Second)
		txt, n := o.call(b, "find_customers", map[string]any{"query": email})
		findBytes, findReqs = findBytes+len(txt), findReqs+n
		pb, pn := o.pageUntil(b, email)
		pageBytes, pageReqs = pageBytes+pb, pageReqs+pn
	}
	per := func(v int) float64 { return float64(v) / float64(b.N) }
	b.ReportMetric(per(findReqs), "find-requests/op")
	b.ReportMetric(per(findBytes), "find-bytes/op")
	b.ReportMetric(per(pageReqs), "paging-requests/op")
	b.ReportMetric(per(pageBytes), "paging-bytes/op")
	b.ReportMetric(float64(pageBytes)/float64(max(findBytes, 1)), "bytes-ratio")
}
