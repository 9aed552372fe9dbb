// Package tools defines bill-mcp's MCP tools as one static inventory of
// definitions (Def: name, toolset, kind, argument and result types, handler
// binding). Registration, --read-only, --toolsets, the catalogue
// (`bill-mcp tools`), the schemas under schemas/ and the README table are
// all derived from Inventory; handlers are bound only when a server is built
// over a BILL client. The wording agents read (codes, hints, validation
// messages, instructions) lives here too (wording.go).
package tools

//go:generate go run ./internal/gen -out ../schemas

import (
	"context"
	"encoding/json"
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

// ToolsetNames lists every toolset --toolsets accepts, in catalogue order.
func ToolsetNames() []string {
	return []string{ToolsetCustomers, ToolsetContacts, ToolsetBankAccounts}
}

// Kind is what a tool does to BILL's data, as a grant allows it: an agent
// with read access calls KindRead tools, write access adds KindWrite, full
// access adds KindDelete.
type Kind string

// Kinds of tools.
const (
	KindRead   Kind = "read"
	KindWrite  Kind = "write"
	KindDelete Kind = "delete"
)

// Op is the effect of a tool, from which its MCP annotations are derived.
type Op int

// Effects of tools.
const (
	// OpRead only reads: read-only, idempotent.
	OpRead Op = iota
	// OpCreate adds objects: a second call makes a second object.
	OpCreate
	// OpEnsure adds what is missing and reuses what exists: a second call
	// with the same arguments creates nothing (onboard_customer).
	OpEnsure
	// OpUpdate overwrites field values BILL keeps no history of.
	OpUpdate
	// OpUpsert creates what is missing and overwrites what differs.
	OpUpsert
	// OpDelete soft-deletes.
	OpDelete
	// OpUndelete restores.
	OpUndelete
)

// Kind is the grant an operation needs.
func (o Op) Kind() Kind {
	switch o {
	case OpRead:
		return KindRead
	case OpDelete:
		return KindDelete
	default:
		return KindWrite
	}
}

// hints are an operation's annotations:
//   - read: read-only, not destructive, idempotent.
//   - create: not idempotent (contacts have no uniqueness guard), not destructive.
//   - ensure: idempotent (reuses what exists), not destructive (only adds).
//   - update and upsert: idempotent, and destructive: they overwrite values
//     BILL keeps no history of, not an "additive" change in the MCP sense.
//   - delete: destructive (the object leaves BILL's default views), idempotent.
//   - undelete: idempotent, not destructive (it restores).
func (o Op) hints() (readOnly, destructive, idempotent bool) {
	switch o {
	case OpRead:
		return true, false, true
	case OpCreate:
		return false, false, false
	case OpEnsure:
		return false, false, true
	case OpUpdate, OpUpsert, OpDelete:
		return false, true, true
	default: // OpUndelete
		return false, false, true
	}
}

// writes reports whether an operation changes data.
func (o Op) writes() bool { return o != OpRead }

// Deps are what handlers run on. Bind sees them only when a server is
// built; the catalogue and schemas never need them.
type Deps struct {
	// Client is the BILL client every tool calls.
	Client *billapi.Client
	// Index is the local search index over Client's org (find_*,
	// nameContains, onboard and upsert); nil means one in memory only.
	Index *index.Index
}

// Def is one tool's static definition: everything the tool list, the
// catalogue, the schemas and policy need, plus the binding of its handler.
type Def struct {
	Name    string
	Toolset string
	// Kind is the grant the tool needs (read, write, delete); derived from Op.
	Kind        Kind
	Op          Op
	Title       string
	Description string
	// Args and Result are zero values of the argument and result types;
	// the input and output schemas are generated from them.
	Args   any
	Result any
	// Item is, for a bulk tool, the zero value of one item's argument type:
	// items are validated one by one against its schema (ItemSchema), so the
	// tool's own input schema only says "an array of objects".
	Item any
	// ItemsField is, for a bulk tool, the argument holding its items. The
	// handler checks each item on its own (a bad one fails alone), so the
	// check of the whole arguments only sees that the field is an array.
	ItemsField string
	// Published, when set, names the only arguments the input schema lists,
	// to keep a tool with many rarely used fields (a customer's 35) small in
	// tools/list. The tool still takes every argument of Args: the
	// description names the others, and ArgsCheck checks all of them
	// against the full schema (ArgsSchema) before anything is sent.
	Published []string
	// MoreLike, with Published, names a tool whose description already
	// lists the other arguments (update_customer takes create_customer's).
	MoreLike string
	// Bind builds the handler over deps. It is called only to register the
	// tool on a server, which runs ArgsCheck before it.
	Bind func(Deps) server.ToolHandlerFunc
}

// IsBulk reports whether d takes an array of items validated one by one.
func (d Def) IsBulk() bool { return d.Item != nil }

// Tool builds the MCP tool: raw input and output schemas generated from
// Args and Result, the title, and all four hints set explicitly.
//
// mcp-go v1.2.1: NewToolWithRawSchema, not NewTool (which defaults
// destructiveHint and openWorldHint to true) nor WithRawInputSchema (which
// fails to serialize).
func (d Def) Tool() mcp.Tool {
	in, desc := publishedSchema(d.Args, d.Published, d.Description)
	if d.MoreLike != "" {
		in, _ = publishedSchema(d.Args, d.Published, "")
		desc = d.Description + " Also takes the other fields " + d.MoreLike + " takes."
	}
	t := mcp.NewToolWithRawSchema(d.Name, desc, in)
	t.RawOutputSchema = outputSchemaFor(d.Result)
	t.Title = d.Title
	readOnly, destructive, idempotent := d.Op.hints()
	t.Annotations = mcp.ToolAnnotation{
		ReadOnlyHint:    mcp.ToBoolPtr(readOnly),
		DestructiveHint: mcp.ToBoolPtr(destructive),
		IdempotentHint:  mcp.ToBoolPtr(idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(true), // every tool talks to BILL
	}
	return t
}

// ItemSchema is a bulk tool's schema of one item (nil for other tools).
func (d Def) ItemSchema() json.RawMessage {
	if d.Item == nil {
		return nil
	}
	return schemaFor(d.Item)
}

// ArgsSchema is the full schema of the tool's arguments: the input schema,
// or for a tool with Published arguments, the schema its handler checks.
func (d Def) ArgsSchema() json.RawMessage { return schemaFor(d.Args) }

// ArgsCheck returns the check of the tool's call arguments against its
// full, strict argument schema (ArgsSchema): it coerces what is
// forgivable and answers an INVALID_ARGUMENT result naming what breaks the
// schema. The published input schema leaves the root open (no
// additionalProperties false, and for Published tools fewer properties), so
// an unknown or misspelled argument is refused here, by name. A bulk tool's
// items are left to its handler, which checks them one by one.
func (d Def) ArgsCheck() func(args any) (any, *mcp.CallToolResult) {
	check := newArgsChecker(d.Name, d.ArgsSchema())
	if d.ItemsField == "" {
		return check
	}
	var stand any = "" // one id
	if d.Item != nil {
		stand = map[string]any{} // one object
	}
	return itemsLeftToHandler(d.ItemsField, stand, check)
}

// itemsLeftToHandler wraps the arguments check of a bulk tool: the items
// in field are checked one by one by the tool's handler (a bad item fails
// alone, the others go on), so check sees a non-empty array (or one the
// transport kept as JSON, see internal/rawitems) as holding one item that
// stands for them all, and the items pass through untouched.
// Checking every item here as well would refuse the whole call for one
// bad item, and encode and decode the whole request twice more before the
// first chunk is sent.
func itemsLeftToHandler(field string, stand any, check func(any) (any, *mcp.CallToolResult)) func(any) (any, *mcp.CallToolResult) {
	return func(args any) (any, *mcp.CallToolResult) {
		m, ok := args.(map[string]any)
		if !ok {
			return check(args)
		}
		items := m[field]
		if _, ok := newItemSource(items); !ok {
			return check(args)
		}
		shallow := make(map[string]any, len(m))
		for k, v := range m {
			shallow[k] = v
		}
		shallow[field] = []any{stand}
		checked, bad := check(shallow)
		if bad != nil {
			return nil, bad
		}
		out, ok := checked.(map[string]any)
		if !ok {
			return checked, nil
		}
		out[field] = items
		return out, nil
	}
}

// define declares a tool whose handler takes arguments A; R is the type of
// its structured result (the output schema).
func define[A, R any](toolset, name string, op Op, title, description string, run func(context.Context, Deps, mcp.CallToolRequest, A) *mcp.CallToolResult) Def {
	var a A
	var r R
	return Def{
		Name: name, Toolset: toolset, Kind: op.Kind(), Op: op,
		Title: title, Description: description,
		Args: a, Result: r,
		Bind: func(deps Deps) server.ToolHandlerFunc {
			if deps.Index == nil {
				// a server shares one index among its tools (internal/server
				// sets it); a handler bound alone gets its own, in memory
				deps.Index = index.New(index.Options{})
			}
			return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				if deps.Client == nil {
					return noClient(), nil
				}
				args, bad := decodeArgs[A](req)
				if bad != nil {
					return bad, nil
				}
				return run(ctx, deps, req, args), nil
			}
		},
	}
}

// defineBulk declares a bulk tool: A is its arguments (holding the items
// as raw JSON objects), I one item's argument type.
func defineBulk[A, I, R any](toolset, name string, op Op, title, description string, run func(context.Context, Deps, mcp.CallToolRequest, A, itemDecoder[I]) *mcp.CallToolResult) Def {
	var item I
	d := define[A, R](toolset, name, op, title, description, nil)
	d.Item = item
	d.Bind = func(deps Deps) server.ToolHandlerFunc {
		items := newItemDecoder[I](name)
		return define[A, R](toolset, name, op, title, description,
			func(ctx context.Context, deps Deps, req mcp.CallToolRequest, a A) *mcp.CallToolResult {
				return run(ctx, deps, req, a, items)
			}).Bind(deps)
	}
	return d
}

// Inventory lists every tool in catalogue order. It builds no handler.
func Inventory() []Def {
	return slices.Concat(customerDefs(), contactDefs(), bankAccountDefs())
}

// Lookup returns the definition named name.
func Lookup(name string) (Def, bool) {
	defs := Inventory()
	i := slices.IndexFunc(defs, func(d Def) bool { return d.Name == name })
	if i < 0 {
		return Def{}, false
	}
	return defs[i], true
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

// Availability says whether a server offers a tool, and if not, why.
type Availability int

// Availabilities.
const (
	// Offered: listed and callable.
	Offered Availability = iota
	// OffReadOnly: a write tool on a server started with --read-only.
	OffReadOnly
	// OffToolset: a tool of a toolset the server was not started with.
	OffToolset
)

// Availability says whether a server started with toolsets and readOnly
// offers d.
func (d Def) Availability(toolsets []string, readOnly bool) Availability {
	if !slices.Contains(toolsets, d.Toolset) {
		return OffToolset
	}
	if readOnly && d.Kind != KindRead {
		return OffReadOnly
	}
	return Offered
}

// Select returns the definitions a server started with toolsets and
// readOnly offers, in catalogue order.
func Select(toolsets []string, readOnly bool) []Def {
	var out []Def
	for _, d := range Inventory() {
		if d.Availability(toolsets, readOnly) == Offered {
			out = append(out, d)
		}
	}
	return out
}

// CatalogueEntry describes one tool for `bill-mcp tools` and the README.
type CatalogueEntry struct {
	Name        string `json:"name"`
	Toolset     string `json:"toolset"`
	Kind        Kind   `json:"kind"`
	ReadOnly    bool   `json:"readOnly"`
	Title       string `json:"title"`
	Description string `json:"description"` // the first sentence of the tool's description
}

// Catalogue lists every tool in catalogue order, without a client. The
// error is always nil (the inventory is static); it stays for callers.
func Catalogue() ([]CatalogueEntry, error) {
	var out []CatalogueEntry
	for _, d := range Inventory() {
		out = append(out, CatalogueEntry{
			Name:        d.Name,
			Toolset:     d.Toolset,
			Kind:        d.Kind,
			ReadOnly:    d.Kind == KindRead,
			Title:       d.Title,
			Description: firstSentence(d.Description),
		})
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
	b.WriteString("| Tool | Toolset | Kind | Title | What it does |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", e.Name, e.Toolset, e.Kind, mdCell(e.Title), mdCell(e.Description))
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
// keyed by file name: <tool>.input.json (as tools/list shows it),
// <tool>.args.json (the strict schema the handler checks), <tool>.output.json,
// and for bulk tools <tool>.item.json: the content of schemas/.
func SchemaFiles() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, d := range Inventory() {
		t := d.Tool()
		files := map[string]json.RawMessage{".input.json": t.RawInputSchema, ".output.json": t.RawOutputSchema}
		if d.IsBulk() {
			files[".item.json"] = d.ItemSchema()
		}
		files[".args.json"] = d.ArgsSchema()
		for suffix, raw := range files {
			pretty, err := indentSchema(raw)
			if err != nil {
				return nil, fmt.Errorf("%s%s: %w", d.Name, suffix, err)
			}
			out[d.Name+suffix] = pretty
		}
	}
	return out, nil
}

// ToolSnapshot is the whole of one tool as tools/list shows it, for the
// golden snapshots under tools/testdata/toolsnaps.
func ToolSnapshot(d Def) ([]byte, error) {
	raw, err := json.Marshal(d.Tool())
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", d.Name, err)
	}
	return indentSchema(raw)
}

// IsReadOnly reports whether t declares readOnlyHint true.
func IsReadOnly(t mcp.Tool) bool {
	h := t.Annotations.ReadOnlyHint
	return h != nil && *h
}
