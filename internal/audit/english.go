package audit

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/bill-mcp/bill-mcp/internal/rawitems"
)

// maxRefs bounds the records one line lists; Count says how many there were.
const maxRefs = 10

// idRE matches the ids of the objects bill-mcp touches: customers,
// contacts and bank accounts. Nothing else is ever taken as an id.
var idRE = regexp.MustCompile(`^(0cu|cpu|cba)[A-Za-z0-9]{17}$`)

// idKeys are the only keys whose values are read as ids.
var idKeys = map[string]bool{
	"id": true, "customerId": true, "contactId": true, "bankAccountId": true, "parentCustomerId": true,
	"customerIds": true, "contactIds": true, "bankAccountIds": true,
}

// SummarizeArgs names the arguments a call carried, never their values:
// "name, email" or "customers[12], importKey".
func SummarizeArgs(args map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if a, ok := args[k].([]any); ok {
			parts = append(parts, fmt.Sprintf("%s[%d]", k, len(a)))
			continue
		}
		if raw, ok := rawitems.Items(args[k]); ok {
			n, _ := rawitems.Count(raw)
			parts = append(parts, fmt.Sprintf("%s[%d]", k, n))
			continue
		}
		parts = append(parts, k)
	}
	return strings.Join(parts, ", ")
}

// Touched collects the records a call named or answered: ids of customers,
// contacts and bank accounts, and the "name" beside them. It reads only
// those keys, so an account number or a credential can never be collected.
// It returns at most maxRefs refs and the total it found.
func Touched(args map[string]any, result any) ([]Ref, int) {
	var refs []Ref
	// indexes into refs, so that 100,000 items stay linear
	byID, byName, nameOnly := map[string]int{}, map[string]int{}, map[string]int{}
	index := func(i int) {
		r := refs[i]
		if r.ID != "" {
			byID[r.ID] = i
		}
		if r.Name != "" {
			if _, ok := byName[r.Name]; !ok {
				byName[r.Name] = i
			}
			if _, ok := nameOnly[r.Name]; !ok && r.ID == "" {
				nameOnly[r.Name] = i
			}
		}
	}
	add := func(r Ref) {
		if r.ID == "" && r.Name == "" {
			return
		}
		if i, ok := byID[r.ID]; ok && r.ID != "" { // the same record: take its name
			if refs[i].Name == "" && r.Name != "" {
				refs[i].Name = r.Name
				index(i)
			}
			return
		}
		if r.Name != "" {
			if _, ok := byName[r.Name]; ok && r.ID == "" { // named already
				return
			}
			if i, ok := nameOnly[r.Name]; ok { // named without an id: this is it
				refs[i].ID = r.ID
				delete(nameOnly, r.Name)
				index(i)
				return
			}
		}
		refs = append(refs, r)
		index(len(refs) - 1)
	}
	unseen := 0 // items kept as JSON past the sample walked
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		x, ok := v.(map[string]any)
		if !ok || depth > 3 {
			return
		}
		own := Ref{}
		if s, ok := x["id"].(string); ok && idRE.MatchString(s) {
			own.ID = s
		}
		if n, ok := x["name"].(string); ok {
			own.Name = truncate(n, 80)
		}
		var others []Ref
		for _, k := range slices.Sorted(maps.Keys(x)) {
			v := x[k]
			if raw, ok := rawitems.Items(v); ok {
				var left int
				v, left = sampleItems(raw)
				unseen += left
			}
			switch val := v.(type) {
			case string:
				if idKeys[k] && k != "id" && idRE.MatchString(val) {
					if own.ID == "" {
						own.ID = val
					} else {
						others = append(others, Ref{ID: val})
					}
				}
			case []any:
				for _, e := range val {
					if s, ok := e.(string); ok && idKeys[k] && idRE.MatchString(s) {
						others = append(others, Ref{ID: s})
					} else {
						walk(e, depth+1)
					}
				}
			case map[string]any:
				walk(val, depth+1)
			}
		}
		add(own)
		for _, r := range others {
			add(r)
		}
	}
	walk(args, 0)
	walk(result, 0)
	n := len(refs) + unseen // an item past the sample counts as one record
	if len(refs) > maxRefs {
		refs = refs[:maxRefs]
	}
	return refs, n
}

// sampleItems decodes the first maxRefs items of a JSON array kept as text
// (internal/rawitems) and returns them with how many it left undecoded.
func sampleItems(raw string) (sample []any, left int) {
	n, err := rawitems.Count(raw)
	if err != nil {
		return nil, 0
	}
	dec, err := rawitems.NewDecoder(raw)
	if err != nil {
		return nil, 0
	}
	for len(sample) < maxRefs {
		_, v, err := dec.Next()
		if err != nil {
			break
		}
		sample = append(sample, v)
	}
	return sample, n - len(sample)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

var pastTense = map[string]string{
	"create": "created", "update": "updated", "delete": "deleted", "undelete": "restored",
	"get": "read", "list": "listed", "find": "searched", "upsert": "upserted", "onboard": "onboarded",
}

// nouns maps a tool's object to words (singular, plural).
var nouns = []struct{ suffix, one, many string }{
	{"customer_bank_accounts", "bank account", "bank accounts"},
	{"customer_bank_account", "bank account", "bank accounts"},
	{"customer_contacts", "contact", "contacts"},
	{"customer_contact", "contact", "contacts"},
	{"customers", "customer", "customers"},
	{"customer", "customer", "customers"},
}

// Action says what a call did (or would have done) in words:
// created customer, listed contacts, deleted 3 customers.
func (r Record) Action() string {
	if r.Tool == "run_approved_call" {
		if r.Outcome == OK {
			return "ran approved call"
		}
		return "run approved call"
	}
	name := r.Tool
	bulk := strings.HasPrefix(name, "bulk_")
	name = strings.TrimPrefix(name, "bulk_")
	verb, obj, _ := strings.Cut(name, "_")
	noun := strings.ReplaceAll(obj, "_", " ")
	plural := bulk || verb == "list" || verb == "find"
	for _, n := range nouns {
		if obj == n.suffix {
			noun = n.one
			if plural {
				noun = n.many
			}
			break
		}
	}
	if r.Outcome == OK {
		if p, ok := pastTense[verb]; ok {
			verb = p
		}
	}
	if bulk && r.Count > 0 {
		return fmt.Sprintf("%s %d %s", verb, r.Count, noun)
	}
	return verb + " " + noun
}

// RefsText renders the records: "Acme Corp" (0cu...), ..., and N more.
func (r Record) RefsText() string {
	var parts []string
	for _, ref := range r.Records {
		switch {
		case ref.Name != "" && ref.ID != "":
			parts = append(parts, fmt.Sprintf("%q (%s)", ref.Name, ref.ID))
		case ref.Name != "":
			parts = append(parts, fmt.Sprintf("%q", ref.Name))
		default:
			parts = append(parts, ref.ID)
		}
	}
	if more := r.Count - len(r.Records); more > 0 && len(r.Records) > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(parts, ", ")
}

// DecisionText says the decision and its rule in words.
func (r Record) DecisionText() string {
	rule := ""
	if r.Rule != "" {
		rule = " (" + r.Rule + ")"
	}
	switch r.Decision {
	case ApprovalRequired:
		return "waiting for approval " + r.Approval + rule
	case Approved:
		return "approved " + r.Approval + rule
	}
	return r.Decision + rule
}

// English renders the record as one plain-English line:
//
//	2026-11-30 22:31:07  sales-bot  created customer "Acme Corp" (0cu...)  allowed (customers: write)  212 ms
func (r Record) English() string {
	what := r.Action()
	if refs := r.RefsText(); refs != "" {
		what += " " + refs
	}
	line := fmt.Sprintf("%s  %s  %s  %s", r.Time.UTC().Format("2006-01-02 15:04:05"), r.Agent, what, r.DecisionText())
	if r.Outcome == Failed {
		code := r.Code
		if code == "" {
			code = "error"
		}
		line += "  failed " + code
	}
	return fmt.Sprintf("%s  %d ms", line, int64(r.DurationMS+0.5))
}
