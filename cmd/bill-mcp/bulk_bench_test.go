package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// The bulk benchmarks import 10,000 items at 20 ms emulator latency
// through the tool (MCP over stdio to a `bill-mcp serve` child, progress
// notifications on) and, in the same run against the same emulator, with
// a plain client that speaks the wire format with 3 workers and nothing
// else (no gate, no reconciliation, no MCP). BILL allows 3 calls in flight
// and 100 items a call, so 10,000 items take at least 34 rounds: the floor
// is 34 x 20 ms = 0.68 s.
const (
	benchItems   = 10000
	benchLatency = 20 * time.Millisecond
)

var benchFloor = time.Duration((benchItems/100+2)/3) * benchLatency

// wireClient is the baseline: Login once, then Bulk calls of 100 items
// from 3 workers, each answer decoded and checked.
type wireClient struct {
	base    string
	http    *http.Client
	devKey  string
	session string
}

func newWireClient(b *testing.B, base string) *wireClient {
	b.Helper()
	id := emulator.DemoIdentity()
	w := &wireClient{base: base, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 3}}, devKey: id.DevKey}
	var la struct {
		SessionID string `json:"sessionId"`
	}
	w.post(b, "Login", url.Values{"userName": {id.UserName}, "password": {id.Password}, "orgId": {id.OrgID}, "devKey": {id.DevKey}}, &la)
	w.session = la.SessionID
	return w
}

// post sends one call and decodes response_data into out.
func (w *wireClient) post(b *testing.B, op string, form url.Values, out any) {
	resp, err := w.http.PostForm(w.base+"/"+op+".json", form)
	if err != nil {
		b.Error(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env struct {
		Status int             `json:"response_status"`
		Data   json.RawMessage `json:"response_data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Status != 0 {
		b.Errorf("%s: %s", op, body)
		return
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		b.Errorf("%s: %v", op, err)
	}
}

// bulk sends objs to Bulk/Crud/VERB/ENTITY 100 at a time from 3 workers
// and returns the ids BILL answered, in input order.
func (w *wireClient) bulk(b *testing.B, verb, entity string, objs []map[string]any) []string {
	ids := make([]string, len(objs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				start := int(next.Add(100) - 100)
				if start >= len(objs) {
					return
				}
				end := min(start+100, len(objs))
				items := make([]map[string]any, 0, end-start)
				for _, o := range objs[start:end] {
					items = append(items, map[string]any{"obj": o})
				}
				data, _ := json.Marshal(map[string]any{"bulk": items})
				var ans struct {
					Bulk []struct {
						Status int `json:"response_status"`
						Data   struct {
							ID string `json:"id"`
						} `json:"response_data"`
					} `json:"bulk"`
				}
				w.post(b, "Bulk/Crud/"+verb+"/"+entity, url.Values{"devKey": {w.devKey}, "sessionId": {w.session}, "data": {string(data)}}, &ans)
				if len(ans.Bulk) != end-start {
					b.Errorf("bulk answer holds %d items for %d", len(ans.Bulk), end-start)
					return
				}
				for i, r := range ans.Bulk {
					if r.Status != 0 {
						b.Errorf("item %d refused", start+i)
					}
					ids[start+i] = r.Data.ID
				}
			}
		})
	}
	wg.Wait()
	return ids
}

// benchServer starts `bill-mcp serve` against base and counts progress
// notifications.
func benchServer(b *testing.B, base string) (*client.Client, *atomic.Int64) {
	b.Helper()
	env := demoEnv(base, "XDG_CACHE_HOME="+b.TempDir())
	tr := transport.NewStdio(binPath, env, "serve", "--credentials", "env", "--log-level", "warn", "--hourly-limit", "100000000")
	if err := tr.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	c := client.NewClient(tr)
	b.Cleanup(func() { _ = c.Close() })
	if err := c.Start(b.Context()); err != nil { // installs the notification handler
		b.Fatal(err)
	}
	var notes atomic.Int64
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/progress" {
			notes.Add(1)
		}
	})
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = "2025-11-25"
	req.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
	if _, err := c.Initialize(b.Context(), req); err != nil {
		b.Fatal(err)
	}
	return c, &notes
}

// bulkTool calls a bulk tool with a progress token and checks that every
// item succeeded.
func bulkTool(b *testing.B, c *client.Client, name string, args map[string]any) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = &mcp.Meta{ProgressToken: mcp.ProgressToken("bench")}
	res, err := c.CallTool(b.Context(), req)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	if res.IsError || !strings.Contains(string(raw), fmt.Sprintf(`"succeeded":%d`, benchItems)) {
		if len(raw) > 600 {
			raw = raw[:600]
		}
		b.Fatalf("%s: not every item succeeded: %s", name, raw)
	}
}

// BenchmarkBulk10k reports, per case, the tool's time (tool-s), the
// 3-worker wire client's (3worker-s), and the ratios x-3worker (target
// <= 1.25) and x-floor (tool over the 0.68 s floor; target <= 1.5).
func BenchmarkBulk10k(b *testing.B) {
	base, _, stop, err := emulator.Start(b.Context(), "127.0.0.1:0", emulator.Config{Latency: benchLatency, HourlyLimit: 1 << 30, LoginLimit: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	c, notes := benchServer(b, base)
	w := newWireClient(b, base)
	// 100 customers own the contacts.
	owners := make([]map[string]any, 100)
	for i := range owners {
		owners[i] = map[string]any{"entity": "Customer", "name": fmt.Sprintf("Owner %03d", i)}
	}
	ownerIDs := w.bulk(b, "Create", "Customer", owners)
	run := 0

	cases := []struct {
		name string
		// tool runs the tool, wire the same work with the wire client; each
		// prepares its input, then returns how long the work itself took.
		tool, wire func(b *testing.B, tag string) (d time.Duration)
	}{
		{
			name: "create_customers",
			tool: func(b *testing.B, tag string) (d time.Duration) {
				items := make([]any, benchItems)
				for i := range items {
					items[i] = map[string]any{"name": fmt.Sprintf("%s tool %05d", tag, i), "email": fmt.Sprintf("t%d@x.example", i)}
				}
				start := time.Now()
				bulkTool(b, c, "bulk_create_customers", map[string]any{"customers": items})
				return time.Since(start)
			},
			wire: func(b *testing.B, tag string) (d time.Duration) {
				objs := make([]map[string]any, benchItems)
				for i := range objs {
					objs[i] = map[string]any{"entity": "Customer", "name": fmt.Sprintf("%s wire %05d", tag, i), "email": fmt.Sprintf("w%d@x.example", i)}
				}
				start := time.Now()
				w.bulk(b, "Create", "Customer", objs)
				return time.Since(start)
			},
		},
		{
			name: "create_contacts",
			tool: func(b *testing.B, tag string) (d time.Duration) {
				items := make([]any, benchItems)
				for i := range items {
					items[i] = map[string]any{"customerId": ownerIDs[i%100], "firstName": fmt.Sprintf("%s%d", tag, i), "email": fmt.Sprintf("c%d@x.example", i)}
				}
				start := time.Now()
				bulkTool(b, c, "bulk_create_customer_contacts", map[string]any{"contacts": items})
				return time.Since(start)
			},
			wire: func(b *testing.B, tag string) (d time.Duration) {
				objs := make([]map[string]any, benchItems)
				for i := range objs {
					objs[i] = map[string]any{"entity": "CustomerContact", "customerId": ownerIDs[i%100], "firstName": fmt.Sprintf("%s%d", tag, i), "email": fmt.Sprintf("c%d@x.example", i)}
				}
				start := time.Now()
				w.bulk(b, "Create", "CustomerContact", objs)
				return time.Since(start)
			},
		},
		{
			name: "update_customers",
			tool: func(b *testing.B, tag string) (d time.Duration) {
				ids := seedForUpdate(b, w, tag+" tool")
				items := make([]any, benchItems)
				for i := range items {
					items[i] = map[string]any{"customerId": ids[i], "name": fmt.Sprintf("%s tool %05d", tag, i), "companyName": "Updated " + tag}
				}
				start := time.Now()
				bulkTool(b, c, "bulk_update_customers", map[string]any{"customers": items})
				return time.Since(start)
			},
			wire: func(b *testing.B, tag string) (d time.Duration) {
				ids := seedForUpdate(b, w, tag+" wire")
				objs := make([]map[string]any, benchItems)
				for i := range objs {
					objs[i] = map[string]any{"entity": "Customer", "id": ids[i], "name": fmt.Sprintf("%s wire %05d", tag, i), "companyName": "Updated " + tag}
				}
				start := time.Now()
				w.bulk(b, "Update", "Customer", objs)
				return time.Since(start)
			},
		},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var toolT, wireT time.Duration
			before := notes.Load()
			for b.Loop() {
				run++
				toolT += tc.tool(b, fmt.Sprintf("R%d", run))
				wireT += tc.wire(b, fmt.Sprintf("R%d", run))
			}
			n := float64(b.N)
			tool, wire := toolT.Seconds()/n, wireT.Seconds()/n
			b.ReportMetric(tool, "tool-s")
			b.ReportMetric(wire, "3worker-s")
			b.ReportMetric(tool/wire, "x-3worker")
			b.ReportMetric(tool/benchFloor.Seconds(), "x-floor")
			b.ReportMetric(float64(notes.Load()-before)/n, "progress/op")
		})
	}
}

// seedForUpdate creates 10,000 customers to update, with the wire client.
func seedForUpdate(b *testing.B, w *wireClient, tag string) []string {
	objs := make([]map[string]any, benchItems)
	for i := range objs {
		objs[i] = map[string]any{"entity": "Customer", "name": fmt.Sprintf("%s seed %05d", tag, i)}
	}
	return w.bulk(b, "Create", "Customer", objs)
}
