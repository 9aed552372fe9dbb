package tools

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/index"
)

// maxListedFailures is how many failures a bulk-style answer lists one by
// one; past it, failures are counted by code.
const maxListedFailures = 100

// Match keys of upsert_customers.
const (
	matchAccNumber = "accNumber"
	matchName      = "name"
)

// upsertCustomersArgs are upsert_customers' arguments; each row is
// create_customer's arguments, checked against its schema (schemas/upsert_customers.item.json).
type upsertCustomersArgs struct {
	MatchOn   string           `json:"matchOn" jsonschema:"required,enum=accNumber,enum=name" jsonschema_description:"Compared case-insensitively."`
	Customers []map[string]any `json:"customers" jsonschema:"required,minItems=1,maxItems=10000" jsonschema_description:"Each: create_customer's arguments."`
	ImportKey string           `json:"importKey,omitempty" jsonschema:"maxLength=100" jsonschema_description:"Optional job id; a repeat changes nothing."`
}

// upsertInput is upsert_customers' arguments with the rows decoded.
type upsertInput struct {
	MatchOn   string
	Customers []createCustomerArgs
	ImportKey string
}

// upsertSummary counts upsert_customers' outcomes.
type upsertSummary struct {
	Total     int `json:"total" jsonschema:"required"`
	Created   int `json:"created" jsonschema:"required"`
	Updated   int `json:"updated" jsonschema:"required"`
	Unchanged int `json:"unchanged" jsonschema:"required"`
	Failed    int `json:"failed" jsonschema:"required"`
}

// rowFailure is one failed row.
type rowFailure struct {
	Index int `json:"index" jsonschema:"required"`
	itemError
}

// JSONSchema is a failed row's output shape, kept small.
func (rowFailure) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", Required: []string{"index", "code"}}
}

// JSONSchema is the upsert summary's output shape, kept small.
func (upsertSummary) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", Description: "total, created, updated, unchanged, failed"}
}

// upsertOutput is upsert_customers' result.
type upsertOutput struct {
	Summary        upsertSummary  `json:"summary" jsonschema:"required"`
	Failures       []rowFailure   `json:"failures,omitempty" jsonschema_description:"The first 100."`
	FailuresByCode map[string]int `json:"failuresByCode,omitempty"`
	IDs            []string       `json:"ids" jsonschema:"required" jsonschema_description:"Per row; empty where it failed."`
}

func upsertCustomersDef() Def {
	return defineBulk[upsertCustomersArgs, createCustomerArgs, upsertOutput](ToolsetCustomers, "upsert_customers", OpUpsert, "Upsert customers",
		"Sync any number of customers matched on accNumber or name: create the missing, update what differs, leave the rest.",
		func(ctx context.Context, d Deps, req mcp.CallToolRequest, a upsertCustomersArgs, items itemDecoder[createCustomerArgs]) *mcp.CallToolResult {
			rows, bad := items("customers", a.Customers)
			if bad != nil {
				return bad
			}
			return upsert(ctx, d.Client, d.Index, upsertInput{MatchOn: a.MatchOn, Customers: rows, ImportKey: a.ImportKey}, progressDone(ctx, req))
		})
}

// rowPlan is what upsert does with one row.
type rowPlan struct {
	create *billapi.Customer
	update *billapi.Customer
	id     string // the matched customer
	fail   *itemError
}

func upsert(ctx context.Context, c *billapi.Client, ix *index.Index, a upsertInput, progress func(done, total int)) *mcp.CallToolResult {
	all, err := ix.Customers(ctx, c, 0)
	if err != nil {
		return errorResult(err, customerEntity(), OpRead)
	}
	key := func(cu *billapi.Customer) string {
		if a.MatchOn == matchName {
			return normKey(billapi.Deref(cu.Name))
		}
		return normKey(billapi.Deref(cu.AccNumber))
	}
	existing := map[string][]*billapi.Customer{}
	for i := range all {
		if k := key(&all[i]); k != "" {
			existing[k] = append(existing[k], &all[i])
		}
	}

	plans := make([]rowPlan, len(a.Customers))
	seen := map[string]int{}
	for i, row := range a.Customers {
		want := row.customer()
		k := key(&want)
		switch {
		case k == "":
			plans[i].fail = &itemError{Code: CodeInvalidArgument, Message: fmt.Sprintf("row has no %s to match on", a.MatchOn), Hint: fmt.Sprintf("give every row a %s, or match on the other field", a.MatchOn)}
			continue
		case seen[k] > 0:
			plans[i].fail = &itemError{Code: CodeDuplicateRow, Message: fmt.Sprintf("row %d has the same %s", seen[k]-1, a.MatchOn), Hint: "merge the two rows into one and send it again"}
			continue
		}
		seen[k] = i + 1
		hits := existing[k]
		switch len(hits) {
		case 0:
			plans[i].create = &want
		case 1:
			plans[i].id = hits[0].ID
			if upd, differs := changes(hits[0], want); differs {
				plans[i].update = &upd
			}
		default:
			plans[i].fail = &itemError{Code: CodeAmbiguous, Message: fmt.Sprintf("%d customers have this %s: %s", len(hits), a.MatchOn, joinIDs(hits)), Hint: "update the right one with update_customer"}
		}
	}

	var creates, updates []billapi.Customer
	var createI, updateI []int
	for i, p := range plans {
		switch {
		case p.create != nil:
			creates, createI = append(creates, *p.create), append(createI, i)
		case p.update != nil:
			updates, updateI = append(updates, *p.update), append(updateI, i)
		}
	}
	total := len(creates) + len(updates)
	report := func(offset int) func(done, _ int) {
		if progress == nil {
			return nil
		}
		return func(done, _ int) { progress(offset+done, total) }
	}
	out := upsertOutput{IDs: make([]string, len(plans)), Summary: upsertSummary{Total: len(plans)}}
	outcome := make([]string, len(plans)) // action per row
	apply := func(idx []int, res []billapi.BulkResult[billapi.Customer], err error, op Op, action string) {
		for k, i := range idx {
			switch {
			case k < len(res) && res[k].Object != nil:
				out.IDs[i], outcome[i] = res[k].Object.ID, action
			case k < len(res) && res[k].Err != nil:
				x := explain(res[k].Err, customerEntity(), op, time.Now())
				plans[i].fail = &x
			default:
				x := explain(orNoAnswer(err), customerEntity(), op, time.Now())
				plans[i].fail = &x
			}
		}
	}
	if len(creates) > 0 {
		res, err := c.BulkCreateCustomers(ctx, creates, billapi.BulkOptions{Progress: report(0)})
		apply(createI, res, err, OpCreate, actionCreated)
	}
	if len(updates) > 0 {
		res, err := c.BulkUpdateCustomers(ctx, updates, billapi.BulkOptions{Progress: report(len(creates))})
		apply(updateI, res, err, OpUpdate, "updated")
	}
	for i, p := range plans {
		switch {
		case p.fail != nil:
			out.IDs[i] = ""
			out.Summary.Failed++
			if len(out.Failures) < maxListedFailures {
				out.Failures = append(out.Failures, rowFailure{Index: i, itemError: *p.fail})
			}
			if out.FailuresByCode == nil {
				out.FailuresByCode = map[string]int{}
			}
			out.FailuresByCode[p.fail.Code]++
		case outcome[i] == actionCreated:
			out.Summary.Created++
		case outcome[i] == "updated":
			out.Summary.Updated++
		default:
			out.IDs[i] = p.id
			out.Summary.Unchanged++
		}
	}
	if out.Summary.Failed <= maxListedFailures {
		out.FailuresByCode = nil
	}
	return structured(out)
}

// orNoAnswer is err, or an error saying BILL gave no answer for an item.
func orNoAnswer(err error) error {
	if err != nil {
		return err
	}
	return &billapi.Error{Code: billapi.CodeUndecidedOutcome, Class: billapi.ClassTransport, Message: "BILL gave no answer for this row"}
}

func normKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// changes returns an update of cur carrying the fields of want that differ
// (a field want leaves nil is not compared; nil and "" are equal), and
// whether any does. The update always carries the name, which BILL
// requires on every update.
func changes(cur *billapi.Customer, want billapi.Customer) (billapi.Customer, bool) {
	upd := billapi.Customer{ID: cur.ID}
	cv, wv, uv := reflect.ValueOf(cur).Elem(), reflect.ValueOf(want), reflect.ValueOf(&upd).Elem()
	differs := false
	for i := range wv.NumField() {
		w := wv.Field(i)
		if w.Kind() != reflect.Pointer || w.IsNil() {
			continue
		}
		cf := cv.Field(i)
		if !cf.IsNil() && reflect.DeepEqual(cf.Elem().Interface(), w.Elem().Interface()) {
			continue
		}
		if cf.IsNil() && w.Elem().Kind() == reflect.String && w.Elem().String() == "" {
			continue
		}
		uv.Field(i).Set(w)
		differs = true
	}
	if upd.Name == nil {
		upd.Name = cur.Name
	}
	return upd, differs
}
