package billapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// objData is Create/Update data: {"obj":{...}}.
type objData[T any] struct {
	Obj T `json:"obj"`
}

// bankAccountCreateData is CustomerBankAccount Create data: agreedWithTOS
// travels beside obj, not inside it.
type bankAccountCreateData struct {
	Obj           CustomerBankAccount `json:"obj"`
	AgreedWithTOS bool                `json:"agreedWithTOS"`
}

// idData is Read/Delete/Undelete data: {"id":"..."}.
type idData struct {
	ID string `json:"id"`
}

// bulkData is Bulk data: {"bulk":[...]}.
type bulkData[E any] struct {
	Bulk []E `json:"bulk"`
}

func crudPath(op, entity string) string { return "Crud/" + op + "/" + entity }

// decodeEntity decodes a Crud answer.
func decodeEntity[T any](op string, raw json.RawMessage) (*T, error) {
	v := new(T)
	if isNull(raw) || json.Unmarshal(raw, v) != nil {
		return nil, badResponse(op, 200, "the answer is not a "+entityOf(op))
	}
	return v, nil
}

// byID runs Read, Delete or Undelete on one id.
func byID[T any](ctx context.Context, c *Client, k kind[T], verb, id string) (*T, error) {
	op := crudPath(verb, k.entity)
	if e := checkID(op, "id", k.prefix, id); e != nil {
		return nil, e
	}
	mode := modeIdempotent
	if verb == "Read" {
		mode = modeRead
	}
	raw, err := c.call(ctx, op, idData{ID: id}, mode)
	if err != nil {
		var rl *refusedAfterLost
		if errors.As(err, &rl) {
			return readBack(ctx, c, k, verb, id, nil, rl.cause)
		}
		return nil, err
	}
	v, err := decodeEntity[T](op, raw)
	if err == nil && verb == "Read" {
		sawIDs(c, []T{*v})
	}
	return v, err
}

// update sends an Update. BILL requires some fields on every update
// (Customer name; CustomerContact customerId, firstName, email); when the
// caller left them nil the client reads the record first and sends its
// current values, so "change only the phone" works as callers expect.
func update[T any](ctx context.Context, c *Client, k kind[T], obj T) (*T, error) {
	op := crudPath("Update", k.entity)
	if e := checkID(op, "id", k.prefix, k.id(&obj)); e != nil {
		return nil, e
	}
	if len(k.missingForUpdate(&obj)) > 0 {
		cur, err := byID(ctx, c, k, "Read", k.id(&obj))
		if err != nil {
			return nil, err
		}
		k.fill(&obj, cur)
	}
	sent := k.forWrite(obj)
	raw, err := c.call(ctx, op, objData[T]{Obj: sent}, modeIdempotent)
	if err != nil {
		var rl *refusedAfterLost
		if errors.As(err, &rl) {
			return readBack(ctx, c, k, "Update", k.id(&obj), &sent, rl.cause)
		}
		return nil, err
	}
	return decodeEntity[T](op, raw)
}

// readBack settles an update, delete or undelete whose earlier answer was
// lost and whose retry was refused: the first attempt may have applied.
// It reads the record; when it holds the change the call succeeded, else
// the refusal stands, saying the record was checked. When the read fails
// too the outcome is undecided. sent is the update's object (nil otherwise).
func readBack[T any](ctx context.Context, c *Client, k kind[T], verb, id string, sent *T, cause *Error) (*T, error) {
	cur, err := byID(ctx, c, k, "Read", id)
	if err != nil {
		when := ""
		var re *Error
		if errors.As(err, &re) && re.Class == ClassHourlyLimit && !re.ResetAt.IsZero() {
			when = " after " + re.ResetAt.UTC().Format("15:04") + " UTC, when BILL's hourly limit resets"
		}
		return nil, &Error{Op: cause.Op, Code: CodeUndecidedOutcome, Class: ClassTransport, Err: errors.Join(cause, err),
			Message: fmt.Sprintf("the answer to this %s was lost, BILL refused the retry (%s: %s) and reading the %s back failed; the change may or may not have been made: get the %s%s to check",
				strings.ToLower(verb), cause.Code, cause.Message, k.entity, k.entity, when)}
	}
	if holds(k, verb, sent, cur) {
		c.log.Debug().Str("op", cause.Op).Str("code", cause.Code).Msg("bill: retry refused after a lost answer; the record holds the change")
		return cur, nil
	}
	e := *cause
	e.Message = cause.Message + " (an earlier attempt's answer was lost; the record was read back and does not hold the change)"
	return nil, &e
}

// holds reports whether cur shows the effect of verb (and of sent, for
// Update).
func holds[T any](k kind[T], verb string, sent, cur *T) bool {
	switch verb {
	case "Delete":
		return k.active(cur) == Inactive
	case "Undelete":
		return k.active(cur) == Active
	case "Update":
		return sent != nil && fieldsMatch(sent, cur)
	}
	return false
}

// fieldsMatch reports whether every field set in sent has the same value
// in cur ("" and null alike, strings compared trimmed).
func fieldsMatch[T any](sent, cur *T) bool {
	var s, r map[string]any
	bs, err1 := json.Marshal(sent)
	br, err2 := json.Marshal(cur)
	if err1 != nil || err2 != nil || json.Unmarshal(bs, &s) != nil || json.Unmarshal(br, &r) != nil {
		return false
	}
	for f, v := range s {
		if f == "entity" || f == "id" {
			continue
		}
		if cmpValue(v) != cmpValue(r[f]) {
			return false
		}
	}
	return true
}

// cmpValue renders a decoded JSON value for fieldsMatch.
func cmpValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		x = strings.TrimSpace(x)
		if x == UnsetID {
			return ""
		}
		return x
	default:
		return fmt.Sprint(x)
	}
}

// checkNewObject rejects create input that cannot be right.
func checkNewObject[T any](op string, k kind[T], obj *T) *Error {
	if id := k.id(obj); id != "" {
		return &Error{Op: op, Code: CodeLocalInput, Class: ClassInput,
			Message: fmt.Sprintf("id %q is set on a new %s: leave id empty to create one (BILL assigns it), or use Update to change an existing one", id, k.entity)}
	}
	return k.checkCreate(op, obj)
}

// create sends one Create with exactly-once reconciliation; wrap builds
// data around the prepared object.
func create[T any](ctx context.Context, c *Client, k kind[T], obj T, wrap func(T) any) (*T, error) {
	op := crudPath("Create", k.entity)
	if e := checkNewObject(op, k, &obj); e != nil {
		return nil, e
	}
	obj = k.forWrite(obj)
	send := func(ctx context.Context, objs []T) ([]outcome[T], error) {
		raw, err := c.call(ctx, op, wrap(objs[0]), modeCreate)
		if err != nil {
			// A definite answer for this one item (input error, duplicate
			// name, retries spent) is the item's outcome; a lost answer or a
			// failure of everything goes back to the reconciler as is.
			var lost *lostAnswer
			var e *Error
			if !errors.As(err, &lost) && errors.As(err, &e) && !isFatal(e) {
				return []outcome[T]{{err: e}}, nil
			}
			return nil, err
		}
		v, err := decodeEntity[T](op, raw)
		if err != nil {
			// The record was created but its answer is unreadable: reconcile.
			return nil, &lostAnswer{cause: asError(op, err)}
		}
		return []outcome[T]{{obj: v}}, nil
	}
	out, err := createReconciled(ctx, c, k, op, []T{obj}, send)
	if out[0].obj != nil {
		return out[0].obj, nil
	}
	if out[0].err != nil {
		return nil, out[0].err
	}
	return nil, err
}

func wrapObj[T any](o T) any { return objData[T]{Obj: o} }

// requireTOS checks the terms flag of a bank-account create.
func requireTOS(agreed bool) *Error {
	if agreed {
		return nil
	}
	return &Error{Op: crudPath("Create", EntityCustomerBankAccount), Code: CodeLocalInput, Class: ClassInput,
		Message: "agreedWithTOS must be true: BILL adds a customer bank account only after the customer has accepted BILL's terms of service"}
}

// joinFields lists field names for messages.
func joinFields(f []string) string { return strings.Join(f, ", ") }
