package server_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/internal/approval"
	"github.com/bill-mcp/bill-mcp/internal/audit"
	"github.com/bill-mcp/bill-mcp/internal/policy"
	"github.com/bill-mcp/bill-mcp/internal/server"
	"github.com/bill-mcp/bill-mcp/vault"
)

// agentStore is a fixed set of agents.
type agentStore map[string]vault.Agent

func (a agentStore) Agents(context.Context) (map[string]vault.Agent, error) { return a, nil }
func (a agentStore) State() (vault.FileState, error)                        { return vault.FileState{}, nil }

type plainSealer struct{}

func (plainSealer) Seal(p []byte) ([]byte, error) { return append([]byte(nil), p...), nil }
func (plainSealer) Open(p []byte) ([]byte, error) { return append([]byte(nil), p...), nil }

// elicitor answers every elicitation with action.
type elicitor struct {
	action mcp.ElicitationResponseAction
	asked  []string
}

func (e *elicitor) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	e.asked = append(e.asked, req.Params.Message)
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: e.action}}, nil
}

func governed(t *testing.T, g server.Governance, opts ...client.ClientOption) (*client.Client, string) {
	t.Helper()
	trail := filepath.Join(t.TempDir(), "audit.jsonl")
	g.Audit = audit.Open(trail)
	g.Agents = policy.NewDirectory(agentStore{
		"janitor": {Name: "janitor", Enabled: true, Grants: map[string]string{"customers": "full"}, Confirm: "destructive", TokenHash: strings.Repeat("a", 64)},
		"reader":  {Name: "reader", Enabled: true, Grants: map[string]string{"customers": "read"}, TokenHash: strings.Repeat("b", 64)},
	})
	g.Approvals = approval.NewStore(filepath.Join(t.TempDir(), "approvals"), plainSealer{})
	s := newServer(t, server.Options{Governance: &g})
	c, err := client.NewInProcessClientWithOptions(s, append([]client.ClientOption{client.WithProtocolVersion(protocolVersion)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	initialize(t, c)
	return c, trail
}

func text(res *mcp.CallToolResult) string {
	if res == nil || len(res.Content) == 0 {
		return ""
	}
	tc, _ := mcp.AsTextContent(res.Content[0])
	return tc.Text
}

func names(t *testing.T, c *client.Client) []string {
	t.Helper()
	res, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tl := range res.Tools {
		out = append(out, tl.Name)
	}
	return out
}

func TestOwnerSeesEverythingButRunApproved(t *testing.T) {
	c, _ := governed(t, server.Governance{})
	got := names(t, c)
	if slices.Contains(got, server.ToolRunApproved) || !slices.Contains(got, "delete_customer") || !slices.Contains(got, "create_customer_bank_account") {
		t.Errorf("owner lists %v", got)
	}
}

func TestHTTPCallWithoutIdentityIsRefused(t *testing.T) {
	// Over HTTP the identity comes from the bearer token; a call that
	// somehow carries none gets nothing (fail closed), not the owner's access.
	c, _ := governed(t, server.Governance{Transport: server.TransportHTTP})
	if got := names(t, c); len(got) != 0 {
		t.Errorf("lists %v", got)
	}
	res, err := callTool(t, c, "list_customers", map[string]any{})
	if err != nil || !res.IsError || !strings.Contains(text(res), server.CodePermissionDenied) {
		t.Errorf("call = %v %s", err, text(res))
	}
}

func TestRefusalBeatsSchemaComplaint(t *testing.T) {
	c, trail := governed(t, server.Governance{Agent: "reader"})
	res, err := callTool(t, c, "create_customer", map[string]any{"bogus": 1})
	if err != nil || !strings.HasPrefix(text(res), server.CodePermissionDenied+": agent reader may not call create_customer") {
		t.Errorf("call = %v %s", err, text(res))
	}
	recs, _ := audit.Read(trail)
	if len(recs) != 1 || recs[0].Decision != audit.Refused || recs[0].Agent != "reader" || recs[0].Client != "server-test/1" {
		t.Errorf("trail = %+v", recs)
	}
}

func TestConfirmViaElicitation(t *testing.T) {
	tests := []struct {
		name     string
		action   mcp.ElicitationResponseAction
		elicit   bool // the client supports elicitation
		wantCode string
		wantDec  string
	}{
		{"accepted runs the call", mcp.ElicitationResponseActionAccept, true, "", audit.Approved},
		{"declined refuses", mcp.ElicitationResponseActionDecline, true, server.CodeApprovalRefused, audit.Refused},
		{"no elicitation falls back to a code", "", false, server.CodeApprovalRequired, audit.ApprovalRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &elicitor{action: tt.action}
			var opts []client.ClientOption
			if tt.elicit {
				opts = append(opts, client.WithElicitationHandler(e))
			}
			c, trail := governed(t, server.Governance{Agent: "janitor", ConfirmVia: server.ConfirmViaElicitation}, opts...)
			created, err := callTool(t, c, "create_customer", map[string]any{"name": "Elicited Co"})
			if err != nil || created.IsError {
				t.Fatalf("create: %v %s", err, text(created))
			}
			id := created.StructuredContent.(map[string]any)["customer"].(map[string]any)["id"].(string)
			res, err := callTool(t, c, "delete_customer", map[string]any{"customerId": id})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode == "" && res.IsError || tt.wantCode != "" && !strings.HasPrefix(text(res), tt.wantCode+": ") {
				t.Errorf("delete = %s, want code %q", text(res), tt.wantCode)
			}
			if tt.elicit && (len(e.asked) != 1 || !strings.Contains(e.asked[0], id)) {
				t.Errorf("asked %q", e.asked)
			}
			recs, _ := audit.Read(trail)
			if last := recs[len(recs)-1]; last.Tool != "delete_customer" || last.Decision != tt.wantDec {
				t.Errorf("last record = %+v, want decision %s", last, tt.wantDec)
			}
		})
	}
}

func TestApprovedCallOnAServerThatDoesNotServeItIsKept(t *testing.T) {
	store := approval.NewStore(filepath.Join(t.TempDir(), "approvals"), plainSealer{})
	call, err := store.Create(t.Context(), "janitor", "delete_customer", []byte(`{"customerId":"0cu01ABCDEFGHIJKLMNO"}`), "delete", "customers: full", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Decide(t.Context(), call.Code, func(approval.Call) (bool, error) { return true, nil }); err != nil {
		t.Fatal(err)
	}
	g := server.Governance{Agent: "janitor", Approvals: store, Agents: policy.NewDirectory(agentStore{
		"janitor": {Name: "janitor", Enabled: true, Grants: map[string]string{"customers": "full"}, Confirm: "destructive", TokenHash: strings.Repeat("a", 64)},
	})}
	s := newServer(t, server.Options{Governance: &g, ReadOnly: true})
	c := inProcess(t, s)
	res, err := callTool(t, c, server.ToolRunApproved, map[string]any{"approvalCode": call.Code})
	if err != nil || !strings.Contains(text(res), "is not served by this server") {
		t.Fatalf("run_approved_call = %v %s", err, text(res))
	}
	if got, err := store.Get(call.Code); err != nil || got.State != approval.StateApproved {
		t.Errorf("the code was spent: %+v %v", got, err)
	}
}

// TestAgentListCostsLess reports the bytes of tools/list an agent reads,
// against the owner's, and of a refusal and an approval answer.
func TestAgentListCostsLess(t *testing.T) {
	size := func(c *client.Client) int {
		res, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		return len(b)
	}
	owner, _ := governed(t, server.Governance{})
	reader, _ := governed(t, server.Governance{Agent: "reader"})
	janitor, _ := governed(t, server.Governance{Agent: "janitor"})
	o, r, j := size(owner), size(reader), size(janitor)
	t.Logf("tools/list bytes: owner %d, reader (customers=read) %d, janitor (customers=full, confirm destructive) %d", o, r, j)
	if r >= o || j >= o || r >= j {
		t.Errorf("an agent's list is not smaller than the owner's: owner %d reader %d janitor %d", o, r, j)
	}
	refused, _ := callTool(t, reader, "create_customer", map[string]any{"name": "X"})
	held, _ := callTool(t, janitor, "delete_customer", map[string]any{"customerId": "0cu01ABCDEFGHIJKLMNO"})
	t.Logf("answer bytes: refusal %d, approval required %d", len(text(refused)), len(text(held)))
	if len(text(refused)) > 400 || len(text(held)) > 600 {
		t.Errorf("policy answers too long: %q / %q", text(refused), text(held))
	}
}
