// Package policy decides who may call which tool: agents with grants per
// area (customers, contacts, bank_accounts) at a level (off, read, write,
// full), a confirmation mode that sends some calls to a person first, and
// the owner, who may do everything. It knows tools only as an area and a
// kind (read, write, delete); it holds no credential and calls nothing.
package policy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/bill-mcp/bill-mcp/tools"
	"github.com/bill-mcp/bill-mcp/vault"
)

// Level is how far an agent may go in one area.
type Level int

// Levels, each including the one before.
const (
	Off   Level = iota // nothing
	Read               // get, list, find
	Write              // read + create, update, undelete, upsert, onboard
	Full               // write + delete, bulk delete, bank-account create and delete
)

var levelNames = []string{"off", "read", "write", "full"}

// String is the level's name as grants spell it.
func (l Level) String() string {
	if l < Off || l > Full {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// ErrBadGrant marks a grant, level, area or confirm mode that cannot be read.
var ErrBadGrant = errors.New("bad grant")

// ParseLevel reads off, read, write or full.
func ParseLevel(s string) (Level, error) {
	i := slices.Index(levelNames, strings.ToLower(strings.TrimSpace(s)))
	if i < 0 {
		return Off, fmt.Errorf("level %q: use off, read, write or full: %w", s, ErrBadGrant)
	}
	return Level(i), nil
}

// Areas are the toolsets grants name, in catalogue order.
func Areas() []string { return tools.ToolsetNames() }

// ParseGrant reads AREA=LEVEL, e.g. customers=read.
func ParseGrant(s string) (area string, level Level, err error) {
	a, l, ok := strings.Cut(s, "=")
	if !ok {
		return "", Off, fmt.Errorf("grant %q: write AREA=LEVEL, e.g. customers=read: %w", s, ErrBadGrant)
	}
	a = strings.TrimSpace(a)
	if !slices.Contains(Areas(), a) {
		return "", Off, fmt.Errorf("grant %q: area %q: use %s: %w", s, a, strings.Join(Areas(), ", "), ErrBadGrant)
	}
	level, err = ParseLevel(l)
	if err != nil {
		return "", Off, fmt.Errorf("grant %q: %w", s, err)
	}
	return a, level, nil
}

// Confirm says which calls of an agent wait for a person's approval.
type Confirm string

// Confirmation modes.
const (
	ConfirmNone        Confirm = "none"        // none
	ConfirmDestructive Confirm = "destructive" // deletes, bulk deletes, bank-account creates and deletes
	ConfirmWrites      Confirm = "writes"      // every call that changes data
)

// ParseConfirm reads none, destructive or writes ("" is none).
func ParseConfirm(s string) (Confirm, error) {
	switch c := Confirm(strings.ToLower(strings.TrimSpace(s))); c {
	case "", ConfirmNone:
		return ConfirmNone, nil
	case ConfirmDestructive, ConfirmWrites:
		return c, nil
	}
	return "", fmt.Errorf("confirm %q: use none, destructive or writes: %w", s, ErrBadGrant)
}

// Kind is what a tool does to data.
type Kind int

// Kinds of tool.
const (
	KindRead   Kind = iota // reads only
	KindWrite              // creates, updates, restores
	KindDelete             // deletes (soft), one or many
)

// Op is a tool as policy sees it.
type Op struct {
	Tool string
	Area string
	Kind Kind
}

// Needs is the level the op needs in its area. Creating or deleting a bank
// account needs full: it decides where money comes from.
func (o Op) Needs() Level {
	switch {
	case o.Kind == KindRead:
		return Read
	case o.Kind == KindDelete, o.Area == tools.ToolsetBankAccounts:
		return Full
	default:
		return Write
	}
}

// Destructive reports whether --confirm destructive sends the op to a person.
func (o Op) Destructive() bool {
	return o.Kind == KindDelete || (o.Area == tools.ToolsetBankAccounts && o.Kind != KindRead)
}

// NeedsApproval reports whether an agent with confirm mode c must have a
// person approve the op.
func (o Op) NeedsApproval(c Confirm) bool {
	switch c {
	case ConfirmWrites:
		return o.Kind != KindRead
	case ConfirmDestructive:
		return o.Destructive()
	}
	return false
}

// Catalog maps each tool name to its Op.
type Catalog map[string]Op

// NewCatalog reads every tool of the tool inventory, with its toolset and kind.
func NewCatalog() (Catalog, error) {
	c := Catalog{}
	for _, d := range tools.Inventory() {
		k := KindWrite
		switch d.Kind {
		case tools.KindRead:
			k = KindRead
		case tools.KindDelete:
			k = KindDelete
		}
		c[d.Name] = Op{Tool: d.Name, Area: d.Toolset, Kind: k}
	}
	return c, nil
}

// onboardParts names the arguments of onboard_customer that act in other
// areas: contacts are created in contacts, a bank account is created in
// bank_accounts (which needs full, and is held by --confirm destructive).
var onboardParts = []struct{ arg, area string }{
	{"contacts", tools.ToolsetContacts},
	{"bankAccount", tools.ToolsetBankAccounts},
}

// Ops returns what a call of tool with args does, area by area: one Op for
// most tools; onboard_customer adds one for each other area its arguments
// reach. ok is false for a tool the catalog does not know.
func (c Catalog) Ops(tool string, args map[string]any) ([]Op, bool) {
	op, ok := c[tool]
	if !ok {
		return nil, false
	}
	ops := []Op{op}
	if tool == "onboard_customer" {
		for _, p := range onboardParts {
			if v, present := args[p.arg]; present && v != nil {
				if a, isList := v.([]any); isList && len(a) == 0 {
					continue
				}
				ops = append(ops, Op{Tool: tool, Area: p.area, Kind: KindWrite})
			}
		}
	}
	return ops, true
}

// DecideAll decides a call that acts in several areas: every op must be
// allowed; it needs approval when any op does.
func DecideAll(a Agent, ops []Op) Decision {
	var out Decision
	var rules []string
	for i, op := range ops {
		d := Decide(a, op)
		if !d.Allowed {
			return d
		}
		if i == 0 {
			out = d
		}
		out.NeedsApproval = out.NeedsApproval || d.NeedsApproval
		rules = append(rules, d.Rule)
	}
	out.Rule = strings.Join(slices.Compact(rules), "; ")
	return out
}

// Agent is an agent's access as policy reads it.
type Agent struct {
	Name    string
	Grants  map[string]Level
	Confirm Confirm
	Enabled bool
}

// FromVault reads a stored agent.
func FromVault(a vault.Agent) (Agent, error) {
	out := Agent{Name: a.Name, Grants: map[string]Level{}, Enabled: a.Enabled}
	c, err := ParseConfirm(a.Confirm)
	if err != nil {
		return Agent{}, fmt.Errorf("agent %s: %w", a.Name, err)
	}
	out.Confirm = c
	for area, l := range a.Grants {
		lvl, err := ParseLevel(l)
		if err != nil || !slices.Contains(Areas(), area) {
			return Agent{}, fmt.Errorf("agent %s: grant %s=%s: %w", a.Name, area, l, ErrBadGrant)
		}
		if lvl != Off {
			out.Grants[area] = lvl
		}
	}
	return out, nil
}

// GrantsString renders grants as "customers=read contacts=write", or "none".
func (a Agent) GrantsString() string {
	var parts []string
	for _, area := range Areas() {
		if l := a.Grants[area]; l != Off {
			parts = append(parts, area+"="+l.String())
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// MayNeedApproval reports whether any call this agent may make waits for a
// person (run_approved_call is offered only then).
func (a Agent) MayNeedApproval(c Catalog) bool {
	for _, op := range c {
		if a.Grants[op.Area] >= op.Needs() && op.NeedsApproval(a.Confirm) {
			return true
		}
	}
	return false
}

// Decision is policy's answer to one call.
type Decision struct {
	Allowed       bool   // may run (perhaps only after approval)
	NeedsApproval bool   // a person must approve first
	Rule          string // the rule that decided, e.g. "customers: write"
	Reason        string // why it is refused, in words, naming the agent
	Fix           string // what the user can do about a refusal
}

// Owner is the decision for the owner: everything, no approvals.
func Owner() Decision { return Decision{Allowed: true, Rule: "owner"} }

// Decide applies an agent's grants and confirm mode to op.
func Decide(a Agent, op Op) Decision {
	if !a.Enabled {
		return Decision{Rule: "agent disabled",
			Reason: fmt.Sprintf("agent %s is disabled", a.Name),
			Fix:    fmt.Sprintf("tell the user; they can re-enable it with `bill-mcp agent enable %s`", a.Name)}
	}
	need, have := op.Needs(), a.Grants[op.Area]
	if have < need {
		why := fmt.Sprintf("agent %s may not call %s: it needs %s: %s and has %s: %s", a.Name, op.Tool, op.Area, need, op.Area, have)
		if op.Area == tools.ToolsetBankAccounts && op.Kind == KindWrite {
			why += " (creating a bank account needs full)"
		}
		return Decision{Rule: fmt.Sprintf("%s: %s, needs %s", op.Area, have, need), Reason: why,
			Fix: fmt.Sprintf("do not retry; if the user wants this, they can run `bill-mcp agent grant %s %s=%s`", a.Name, op.Area, need)}
	}
	d := Decision{Allowed: true, Rule: fmt.Sprintf("%s: %s", op.Area, have)}
	if op.NeedsApproval(a.Confirm) {
		d.NeedsApproval = true
		d.Rule += ", confirm " + string(a.Confirm)
	}
	return d
}

// Sorted returns a catalog's ops sorted by tool name.
func (c Catalog) Sorted() []Op {
	return slices.Collect(func(yield func(Op) bool) {
		for _, k := range slices.Sorted(maps.Keys(c)) {
			if !yield(c[k]) {
				return
			}
		}
	})
}
