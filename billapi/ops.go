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
		return nil, err
	}
	return decodeEntity[T](op, raw)
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
	raw, err := c.call(ctx, op, objData[T]{Obj: k.forWrite(obj)}, modeIdempotent)
	if err != nil {
		return nil, err
	}
	return decodeEntity[T](op, raw)
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
