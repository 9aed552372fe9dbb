// Package tools defines bill-mcp's MCP tools: one constructor per BILL
// operation returning the tool (schemas, title, annotations) and its handler
// over a billapi.Client, grouped in toolsets (customers, contacts,
// bank_accounts) that the server registers.
package tools

//go:generate go run ./internal/gen -out ../schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/index"
)

// Toolset names, as --toolsets takes them.
const (
	ToolsetCustomers    = "customers"
	ToolsetContacts     = "contacts"
	ToolsetBankAccounts = "bank_accounts"
)

// ToolsetNames lists every toolset in catalogue order.
func ToolsetNames() []string {
	return []string{ToolsetCustomers, ToolsetContacts, ToolsetBankAccounts}
}

// ErrNotReadOnly is returned when a tool added as a read tool does not
// declare readOnlyHint true (or a write tool declares it).
var ErrNotReadOnly = errors.New("tools: read-only annotation mismatch")

// Toolset is a named group of tools. Read tools and write tools are added
// separately so that a tool cannot end up in the read-only server by
// accident: AddReadTools refuses a tool without readOnlyHint true.
type Toolset struct {
	Name        string
	Description string
	tools       []server.ServerTool
}

// NewToolset returns an empty toolset.
func NewToolset(name, description string) *Toolset {
	return &Toolset{Name: name, Description: description}
}

// AddReadTools adds tools that only read. Each must declare readOnlyHint
// true; otherwise nothing is added and the error names the tool.
func (ts *Toolset) AddReadTools(tools ...server.ServerTool) error {
	for _, t := range tools {
		if !IsReadOnly(t.Tool) {
			return fmt.Errorf("toolset %s: %s added as a read tool but readOnlyHint is not true: %w", ts.Name, t.Tool.Name, ErrNotReadOnly)
		}
	}
	ts.tools = append(ts.tools, tools...)
	return nil
}

// AddWriteTools adds tools that change data. Each must declare readOnlyHint
// false explicitly; otherwise nothing is added and the error names the tool.
func (ts *Toolset) AddWriteTools(tools ...server.ServerTool) error {
	for _, t := range tools {
		h := t.Tool.Annotations.ReadOnlyHint
		if h == nil || *h {
			return fmt.Errorf("toolset %s: %s added as a write tool but readOnlyHint is not false: %w", ts.Name, t.Tool.Name, ErrNotReadOnly)
		}
	}
	ts.tools = append(ts.tools, tools...)
	return nil
}

// Tools returns the toolset's tools in catalogue order; with readOnly, only
// those whose readOnlyHint is true.
func (ts *Toolset) Tools(readOnly bool) []server.ServerTool {
	out := make([]server.ServerTool, 0, len(ts.tools))
	for _, t := range ts.tools {
		if readOnly && !IsReadOnly(t.Tool) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// IsReadOnly reports whether t declares readOnlyHint true.
func IsReadOnly(t mcp.Tool) bool {
	h := t.Annotations.ReadOnlyHint
	return h != nil && *h
}

func st(t mcp.Tool, h server.ToolHandlerFunc) server.ServerTool {
	return server.ServerTool{Tool: t, Handler: h}
}

// Toolsets builds every toolset over c and the search index ix. c may be
// nil to read the catalogue and schemas; calling a handler then fails. ix
// nil means an index in memory only.
func Toolsets(c *billapi.Client, ix *index.Index) ([]*Toolset, error) {
	if ix == nil {
		ix = index.New(index.Options{})
	}
	cust := NewToolset(ToolsetCustomers, "BILL accounts-receivable customers")
	if err := errors.Join(
		cust.AddWriteTools(st(CreateCustomer(c))),
		cust.AddReadTools(st(GetCustomer(c))),
		cust.AddWriteTools(st(UpdateCustomer(c)), st(DeleteCustomer(c)), st(UndeleteCustomer(c))),
		cust.AddReadTools(st(ListCustomers(c, ix)), st(FindCustomers(c, ix))),
		cust.AddWriteTools(st(UpsertCustomers(c, ix)), st(OnboardCustomer(c, ix))),
		cust.AddWriteTools(st(BulkCreateCustomers(c)), st(BulkUpdateCustomers(c)), st(BulkDeleteCustomers(c)), st(BulkUndeleteCustomers(c))),
	); err != nil {
		return nil, err
	}
	cont := NewToolset(ToolsetContacts, "people at a customer")
	if err := errors.Join(
		cont.AddWriteTools(st(CreateCustomerContact(c))),
		cont.AddReadTools(st(GetCustomerContact(c))),
		cont.AddWriteTools(st(UpdateCustomerContact(c)), st(DeleteCustomerContact(c)), st(UndeleteCustomerContact(c))),
		cont.AddReadTools(st(ListCustomerContacts(c)), st(FindCustomerContacts(c, ix))),
		cont.AddWriteTools(st(BulkCreateCustomerContacts(c)), st(BulkUpdateCustomerContacts(c)), st(BulkDeleteCustomerContacts(c)), st(BulkUndeleteCustomerContacts(c))),
	); err != nil {
		return nil, err
	}
	bank := NewToolset(ToolsetBankAccounts, "customer bank accounts (numbers always masked)")
	if err := errors.Join(
		bank.AddWriteTools(st(CreateCustomerBankAccount(c))),
		bank.AddReadTools(st(GetCustomerBankAccount(c))),
		bank.AddWriteTools(st(DeleteCustomerBankAccount(c))),
		bank.AddReadTools(st(ListCustomerBankAccounts(c))),
	); err != nil {
		return nil, err
	}
	return []*Toolset{cust, cont, bank}, nil
}

// ParseToolsets reads a --toolsets value: a comma-separated list of
// customers, contacts and bank_accounts, or "all" (also the meaning of "").
// Names are returned once each, in catalogue order.
func ParseToolsets(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return ToolsetNames(), nil
	}
	want := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name := strings.TrimSpace(part)
		if name == "all" {
			return ToolsetNames(), nil
		}
		if !slices.Contains(ToolsetNames(), name) {
			return nil, fmt.Errorf("unknown toolset %q: use a comma-separated list of %s, or all", name, strings.Join(ToolsetNames(), ", "))
		}
		want[name] = true
	}
	var out []string
	for _, n := range ToolsetNames() {
		if want[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// Select returns the tools of the named toolsets over c and ix; with readOnly,
// only the read-only ones.
func Select(c *billapi.Client, ix *index.Index, toolsets []string, readOnly bool) ([]server.ServerTool, error) {
	all, err := Toolsets(c, ix)
	if err != nil {
		return nil, err
	}
	var out []server.ServerTool
	for _, name := range toolsets {
		i := slices.IndexFunc(all, func(ts *Toolset) bool { return ts.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown toolset %q: use %s", name, strings.Join(ToolsetNames(), ", "))
		}
		out = append(out, all[i].Tools(readOnly)...)
	}
	return out, nil
}

// WriteToolNames lists every tool, in any toolset, that changes data: the
// tools a read-only server refuses.
func WriteToolNames() []string {
	all, err := Toolsets(nil, nil)
	if err != nil {
		return nil
	}
	var out []string
	for _, ts := range all {
		for _, t := range ts.Tools(false) {
			if !IsReadOnly(t.Tool) {
				out = append(out, t.Tool.Name)
			}
		}
	}
	return out
}

// CatalogueEntry describes one tool for `bill-mcp tools` and the README.
type CatalogueEntry struct {
	Name        string `json:"name"`
	Toolset     string `json:"toolset"`
	ReadOnly    bool   `json:"readOnly"`
	Title       string `json:"title"`
	Description string `json:"description"` // the first sentence of the tool's description
}

// Catalogue lists every tool in catalogue order, without a client.
func Catalogue() ([]CatalogueEntry, error) {
	all, err := Toolsets(nil, nil)
	if err != nil {
		return nil, err
	}
	var out []CatalogueEntry
	for _, ts := range all {
		for _, t := range ts.Tools(false) {
			out = append(out, CatalogueEntry{
				Name:        t.Tool.Name,
				Toolset:     ts.Name,
				ReadOnly:    IsReadOnly(t.Tool),
				Title:       t.Tool.Title,
				Description: firstSentence(t.Tool.Description),
			})
		}
	}
	return out, nil
}

// CatalogueMarkdown renders the catalogue as the markdown table README.md
// holds between <!-- tools:begin --> and <!-- tools:end -->.
func CatalogueMarkdown() (string, error) {
	entries, err := Catalogue()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| Tool | Toolset | Read-only | Title | What it does |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, e := range entries {
		ro := "no"
		if e.ReadOnly {
			ro = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", e.Name, e.Toolset, ro, mdCell(e.Title), mdCell(e.Description))
	}
	return b.String(), nil
}

// CatalogueJSON renders the catalogue as indented JSON.
func CatalogueJSON() ([]byte, error) {
	entries, err := Catalogue()
	if err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode catalogue: %w", err)
	}
	return append(raw, '\n'), nil
}

func mdCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// SchemaFiles returns every tool's input and output schema, pretty-printed,
// keyed by file name (<tool>.input.json, <tool>.output.json): the content
// of schemas/.
func SchemaFiles() (map[string][]byte, error) {
	all, err := Toolsets(nil, nil)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, ts := range all {
		for _, t := range ts.Tools(false) {
			in, err := indentSchema(t.Tool.RawInputSchema)
			if err != nil {
				return nil, fmt.Errorf("%s input: %w", t.Tool.Name, err)
			}
			outSchema, err := indentSchema(t.Tool.RawOutputSchema)
			if err != nil {
				return nil, fmt.Errorf("%s output: %w", t.Tool.Name, err)
			}
			out[t.Tool.Name+".input.json"] = in
			out[t.Tool.Name+".output.json"] = outSchema
		}
	}
	return out, nil
}
