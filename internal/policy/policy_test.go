package policy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/vault"
)

func TestDecide(t *testing.T) {
	cat, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	agent := func(confirm Confirm, grants ...string) Agent {
		a := Agent{Name: "bot", Grants: map[string]Level{}, Confirm: confirm, Enabled: true}
		for _, g := range grants {
			area, lvl, err := ParseGrant(g)
			if err != nil {
				t.Fatal(err)
			}
			a.Grants[area] = lvl
		}
		return a
	}
	tests := []struct {
		name     string
		agent    Agent
		tool     string
		allowed  bool
		approval bool
		rule     string
	}{
		{"read may get", agent(ConfirmNone, "customers=read"), "get_customer", true, false, "customers: read"},
		{"read may list", agent(ConfirmNone, "customers=read"), "list_customers", true, false, "customers: read"},
		{"read may not create", agent(ConfirmNone, "customers=read"), "create_customer", false, false, "customers: read, needs write"},
		{"write may update", agent(ConfirmNone, "customers=write"), "update_customer", true, false, "customers: write"},
		{"write may undelete", agent(ConfirmNone, "customers=write"), "undelete_customer", true, false, "customers: write"},
		{"write may not delete", agent(ConfirmNone, "customers=write"), "delete_customer", false, false, "customers: write, needs full"},
		{"write may not bulk delete", agent(ConfirmNone, "contacts=write"), "bulk_delete_customer_contacts", false, false, "contacts: write, needs full"},
		{"full may delete", agent(ConfirmNone, "customers=full"), "bulk_delete_customers", true, false, "customers: full"},
		{"bank write may not create an account", agent(ConfirmNone, "bank_accounts=write"), "create_customer_bank_account", false, false, "bank_accounts: write, needs full"},
		{"bank full may create an account", agent(ConfirmNone, "bank_accounts=full"), "create_customer_bank_account", true, false, "bank_accounts: full"},
		{"areas are separate", agent(ConfirmNone, "customers=full"), "get_customer_contact", false, false, "contacts: off, needs read"},
		{"destructive holds a delete", agent(ConfirmDestructive, "customers=full"), "delete_customer", true, true, "customers: full, confirm destructive"},
		{"destructive holds a bulk delete", agent(ConfirmDestructive, "contacts=full"), "bulk_delete_customer_contacts", true, true, "contacts: full, confirm destructive"},
		{"destructive holds a bank-account create", agent(ConfirmDestructive, "bank_accounts=full"), "create_customer_bank_account", true, true, "bank_accounts: full, confirm destructive"},
		{"destructive lets a create through", agent(ConfirmDestructive, "customers=full"), "create_customer", true, false, "customers: full"},
		{"writes holds a create", agent(ConfirmWrites, "customers=write"), "create_customer", true, true, "customers: write, confirm writes"},
		{"writes lets a read through", agent(ConfirmWrites, "customers=write"), "list_customers", true, false, "customers: write"},
		{"disabled", Agent{Name: "bot", Grants: map[string]Level{"customers": Full}}, "get_customer", false, false, "agent disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, ok := cat[tt.tool]
			if !ok {
				t.Fatalf("no tool %s in the catalog", tt.tool)
			}
			d := Decide(tt.agent, op)
			if d.Allowed != tt.allowed || d.NeedsApproval != tt.approval || d.Rule != tt.rule {
				t.Errorf("Decide = %+v, want allowed=%v approval=%v rule=%q", d, tt.allowed, tt.approval, tt.rule)
			}
			if !d.Allowed && (!strings.Contains(d.Reason, "agent bot") || d.Fix == "") {
				t.Errorf("refusal does not name the agent or the fix: %+v", d)
			}
		})
	}
}

func TestOnboardNeedsEveryAreaItReaches(t *testing.T) {
	cat, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	a := Agent{Name: "bot", Enabled: true, Confirm: ConfirmDestructive, Grants: map[string]Level{"customers": Write, "contacts": Write}}
	tests := []struct {
		name     string
		args     map[string]any
		allowed  bool
		approval bool
	}{
		{"customer only", map[string]any{"customer": map[string]any{"name": "A"}}, true, false},
		{"with contacts", map[string]any{"customer": map[string]any{}, "contacts": []any{map[string]any{}}}, true, false},
		{"with a bank account and no bank grant", map[string]any{"customer": map[string]any{}, "bankAccount": map[string]any{}}, false, false},
	}
	for _, tt := range tests {
		ops, ok := cat.Ops("onboard_customer", tt.args)
		if !ok {
			t.Fatal("onboard_customer is not in the catalog")
		}
		if d := DecideAll(a, ops); d.Allowed != tt.allowed || d.NeedsApproval != tt.approval {
			t.Errorf("%s: %+v", tt.name, d)
		}
	}
	a.Grants["bank_accounts"] = Full
	ops, _ := cat.Ops("onboard_customer", map[string]any{"customer": map[string]any{}, "bankAccount": map[string]any{}})
	if d := DecideAll(a, ops); !d.Allowed || !d.NeedsApproval || !strings.Contains(d.Rule, "bank_accounts: full, confirm destructive") {
		t.Errorf("onboarding with a bank account under --confirm destructive: %+v", d)
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{"customers", "invoices=read", "customers=admin", "=read"} {
		if _, _, err := ParseGrant(bad); !errors.Is(err, ErrBadGrant) {
			t.Errorf("ParseGrant(%q) = %v", bad, err)
		}
	}
	if _, err := ParseConfirm("sometimes"); !errors.Is(err, ErrBadGrant) {
		t.Errorf("ParseConfirm accepted a bad mode: %v", err)
	}
	if a, l, err := ParseGrant(" bank_accounts = FULL"); err != nil || a != "bank_accounts" || l != Full {
		t.Errorf("ParseGrant = %s %s %v", a, l, err)
	}
}

// fakeStore counts reads and changes state on demand.
type fakeStore struct {
	agents map[string]vault.Agent
	reads  int
	st     vault.FileState
}

func (f *fakeStore) Agents(context.Context) (map[string]vault.Agent, error) {
	f.reads++
	return f.agents, nil
}
func (f *fakeStore) State() (vault.FileState, error) { return f.st, nil }

func TestDirectoryReadsOnlyOnChange(t *testing.T) {
	tok := secret.New("agent-token-0123456789abcdef")
	fs := &fakeStore{agents: map[string]vault.Agent{"bot": {Name: "bot", Enabled: true, TokenHash: vault.HashToken(tok)}}}
	d := NewDirectory(fs)
	for range 3 {
		if _, err := d.Agent(t.Context(), "bot"); err != nil {
			t.Fatal(err)
		}
	}
	if name, ok, err := d.ByToken(t.Context(), tok); err != nil || !ok || name != "bot" {
		t.Errorf("ByToken = %q %v %v", name, ok, err)
	}
	if fs.reads != 1 {
		t.Errorf("%d vault reads for an unchanged vault, want 1", fs.reads)
	}
	if _, err := d.Agent(t.Context(), "ghost"); !errors.Is(err, ErrUnknownAgent) {
		t.Errorf("unknown agent: %v", err)
	}
}
