package emulator

import (
	"slices"
	"strings"
	"sync"
)

// object is one stored entity: its field values in the entity's field
// order. A value is nil (null), string, bool or float64.
type object struct {
	vals []any
}

func (o *object) id() string      { return o.vals[fID].(string) }
func (o *object) isActive() bool  { return o.vals[fActive] == active }
func (o *object) created() string { return o.vals[fCreated].(string) }

// store holds every object. All methods expect mu to be held by the caller
// as documented.
type store struct {
	mu    sync.RWMutex
	defs  [numKinds]*entityDef
	byID  [numKinds]map[string]*object
	order [numKinds][]*object // creation order
	// names maps a trimmed, lower-cased customer name to its customer id;
	// inactive customers keep their names.
	names map[string]string
	// activeBank maps a customer id to its one active bank account id.
	activeBank map[string]string
	// dupNames lets customers share a name; maskRouting masks routingNumber
	// in answers (Config.DuplicateNames, Config.MaskRoutingNumbers).
	dupNames, maskRouting bool
}

func newStore(dupNames, maskRouting bool) *store {
	s := &store{defs: [numKinds]*entityDef{customerDef(), contactDef(), bankAccountDef()}, dupNames: dupNames, maskRouting: maskRouting}
	s.clear()
	return s
}

// clear empties the store; mu must be held for writing.
func (s *store) clear() {
	for k := range s.byID {
		s.byID[k] = make(map[string]*object)
		s.order[k] = nil
	}
	s.names = make(map[string]string)
	s.activeBank = make(map[string]string)
}

func nameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// change is one validated field assignment.
type change struct {
	idx int
	val any
}

// clearValue is what a field holds when it is not set.
func clearValue(fd *fieldDef) any {
	if fd.ref {
		return unsetID
	}
	return fd.def
}

func isUnset(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && (s == "" || s == unsetID)
}

// parseObj validates obj against def: known fields only, JSON types,
// enums and formats. It reads no stored state. Read-only fields are
// ignored. The returned changes are in field order.
func parseObj(def *entityDef, obj map[string]any) ([]change, *apiError) {
	known := 0
	for k := range obj {
		if _, ok := def.index[k]; ok {
			known++
		}
	}
	if known != len(obj) {
		var unknown []string
		for k := range obj {
			if _, ok := def.index[k]; !ok {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
		if unknown[0] == "agreedWithTOS" && def.kind == kindBankAccount {
			return nil, errf(codeInvalidValue, "Invalid field: agreedWithTOS goes in data beside obj, not inside obj.")
		}
		return nil, errf(codeInvalidValue, "Invalid field: %s is not a field of %s.", unknown[0], def.name)
	}
	changes := make([]change, 0, len(obj))
	for i := fActive; i < len(def.fields); i++ {
		fd := &def.fields[i]
		if fd.readOnly {
			continue
		}
		v, ok := obj[fd.name]
		if !ok {
			continue
		}
		if v == nil {
			changes = append(changes, change{i, clearValue(fd)})
			continue
		}
		switch fd.typ {
		case tString:
			s, ok := v.(string)
			if !ok {
				return nil, errf(codeDatatype, "Invalid datatype for field %s: expected a string, got %s.", fd.name, jsonKind(v))
			}
			if s == "" {
				changes = append(changes, change{i, clearValue(fd)})
				continue
			}
			if fd.enum != nil && !slices.Contains(fd.enum, s) {
				return nil, errf(codeInvalidValue, "Invalid field,value: %s, %s. Allowed values: %s.", fd.name, s, strings.Join(fd.enum, ", "))
			}
			if fd.check != nil {
				if p := fd.check(s); p != "" {
					if fd.secret {
						return nil, errf(codeInvalidValue, "Invalid field value: %s %s.", fd.name, p)
					}
					return nil, errf(codeInvalidValue, "Invalid field,value: %s, %s. The value %s.", fd.name, s, p)
				}
			}
			changes = append(changes, change{i, s})
		case tBool:
			b, ok := v.(bool)
			if !ok {
				return nil, errf(codeDatatype, "Invalid datatype for field %s: expected a boolean (true or false), got %s.", fd.name, jsonKind(v))
			}
			changes = append(changes, change{i, b})
		case tNumber:
			f, ok := v.(float64)
			if !ok {
				return nil, errf(codeDatatype, "Invalid datatype for field %s: expected a number, got %s.", fd.name, jsonKind(v))
			}
			changes = append(changes, change{i, f})
		}
	}
	return changes, nil
}

// jsonKind names the JSON type of a decoded value, for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "an unknown type"
	}
}

// checkEntity checks obj.entity against the path's entity.
func checkEntity(def *entityDef, obj map[string]any) *apiError {
	v, ok := obj["entity"]
	if !ok || v == nil {
		return errf(codeMissingData, "Missing required data: obj.entity (set it to %q).", def.name)
	}
	s, ok := v.(string)
	if !ok {
		return errf(codeDatatype, "Invalid datatype for field entity: expected a string, got %s.", jsonKind(v))
	}
	if s != def.name {
		return errf(codeEntityMismatch, "Entity in data (%s) does not match the API's entity (%s).", s, def.name)
	}
	return nil
}

// create validates and stores a new object; s.mu must be held for writing.
// data is the whole data object (for agreedWithTOS beside obj).
func (s *store) create(def *entityDef, data map[string]any, now string, newID func(prefix string) string) (*object, *apiError) {
	obj, aerr := objOf(data)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := checkEntity(def, obj); aerr != nil {
		return nil, aerr
	}
	changes, aerr := parseObj(def, obj)
	if aerr != nil {
		return nil, aerr
	}
	vals := make([]any, len(def.fields))
	for i := range def.fields {
		vals[i] = clearValue(&def.fields[i])
	}
	for _, c := range changes {
		vals[c.idx] = c.val
	}
	for i := range def.fields {
		if def.fields[i].reqCreate && isUnset(vals[i]) {
			return nil, errf(codeMissingData, "Missing required data: obj.%s is required to create a %s.", def.fields[i].name, def.name)
		}
	}
	if def.kind == kindBankAccount {
		if aerr := checkTOS(data); aerr != nil {
			return nil, aerr
		}
	}
	o := &object{vals: vals}
	if aerr := s.checkRules(def, o, ""); aerr != nil {
		return nil, aerr
	}
	id := newID(def.prefix)
	vals[fEntity] = def.name
	vals[fID] = id
	vals[fCreated] = now
	vals[fUpdated] = now
	s.byID[def.kind][id] = o
	s.order[def.kind] = append(s.order[def.kind], o)
	s.index(def, o, nil)
	return o, nil
}

func checkTOS(data map[string]any) *apiError {
	v, ok := data["agreedWithTOS"]
	if !ok || v == nil {
		return errf(codeMissingData, "Missing required data: agreedWithTOS (true, beside obj) is required to create a CustomerBankAccount.")
	}
	b, ok := v.(bool)
	if !ok {
		return errf(codeDatatype, "Invalid datatype for field agreedWithTOS: expected a boolean, got %s.", jsonKind(v))
	}
	if !b {
		return errf(codeInvalidValue, "Invalid field,value: agreedWithTOS, false. The customer must agree to the Terms of Service (true).")
	}
	return nil
}

// objOf returns data.obj.
func objOf(data map[string]any) (map[string]any, *apiError) {
	v, ok := data["obj"]
	if !ok || v == nil {
		return nil, errf(codeMissingParam, "Missing required parameter: obj in data.")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errf(codeDatatype, "Invalid datatype for obj: expected an object, got %s.", jsonKind(v))
	}
	return obj, nil
}

// checkRules applies the rules that read stored state: references exist,
// customer names are unique, one active bank account per customer. self is
// the id of the object being updated ("" on create). s.mu must be held.
func (s *store) checkRules(def *entityDef, o *object, self string) *apiError {
	switch def.kind {
	case kindCustomer:
		name := o.vals[def.nameIdx].(string)
		if strings.TrimSpace(name) == "" {
			return errf(codeMissingData, "Missing required data: obj.name must not be blank.")
		}
		if owner, ok := s.names[nameKey(name)]; ok && owner != self && !s.dupNames {
			return errf(codeInvalidValue, "Invalid field,value: name, %s. A customer with this name already exists.", name)
		}
		if p, _ := o.vals[def.parentIdx].(string); p != unsetID {
			if p == self && self != "" {
				return errf(codeInvalidValue, "Invalid field,value: parentCustomerId, %s. A customer cannot be its own parent.", p)
			}
			if _, ok := s.byID[kindCustomer][p]; !ok {
				return errf(codeInvalidValue, "Invalid field,value: parentCustomerId, %s. No customer has this id.", p)
			}
		}
	case kindContact, kindBankAccount:
		c := o.vals[def.customerIdx].(string)
		if _, ok := s.byID[kindCustomer][c]; !ok {
			return errf(codeInvalidValue, "Invalid field,value: customerId, %s. No customer has this id.", c)
		}
		if def.kind == kindBankAccount && o.isActive() {
			if _, ok := s.activeBank[c]; ok {
				return errf(codeInvalidValue, "Invalid field,value: customerId, %s. This customer already has an active bank account; delete it before adding another.", c)
			}
		}
	}
	return nil
}

// index updates the name and bank-account indexes after o changed from old
// (nil on create). s.mu must be held for writing.
func (s *store) index(def *entityDef, o *object, old []any) {
	switch def.kind {
	case kindCustomer:
		if old != nil {
			delete(s.names, nameKey(old[def.nameIdx].(string)))
		}
		s.names[nameKey(o.vals[def.nameIdx].(string))] = o.id()
	case kindBankAccount:
		c := o.vals[def.customerIdx].(string)
		if o.isActive() {
			s.activeBank[c] = o.id()
		} else if s.activeBank[c] == o.id() {
			delete(s.activeBank, c)
		}
	}
}

// idOf reads a string id from data[key].
func idOf(data map[string]any, key, what string) (string, *apiError) {
	v, ok := data[key]
	if !ok || v == nil {
		return "", errf(codeMissingParam, "Missing required parameter: %s in data.", what)
	}
	id, ok := v.(string)
	if !ok {
		return "", errf(codeDatatype, "Invalid datatype for %s: expected a string, got %s.", what, jsonKind(v))
	}
	if id == "" {
		return "", errf(codeMissingParam, "Missing required parameter: %s in data is empty.", what)
	}
	return id, nil
}

// lookup finds an object by id; s.mu must be held.
func (s *store) lookup(def *entityDef, id string) (*object, *apiError) {
	o, ok := s.byID[def.kind][id]
	if !ok {
		return nil, errf(codeNoData, "No data found: no %s has id %s.", def.name, id)
	}
	return o, nil
}

// read answers Read; s.mu must be held.
func (s *store) read(def *entityDef, data map[string]any) (*object, *apiError) {
	id, aerr := idOf(data, "id", "id")
	if aerr != nil {
		return nil, aerr
	}
	return s.lookup(def, id)
}

// update changes only the fields sent; s.mu must be held for writing.
func (s *store) update(def *entityDef, data map[string]any, now string) (*object, *apiError) {
	obj, aerr := objOf(data)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := checkEntity(def, obj); aerr != nil {
		return nil, aerr
	}
	v, ok := obj["id"]
	if !ok || v == nil || v == "" {
		return nil, errf(codeMissingData, "Missing required data: obj.id is required to update a %s.", def.name)
	}
	id, ok := v.(string)
	if !ok {
		return nil, errf(codeDatatype, "Invalid datatype for field id: expected a string, got %s.", jsonKind(v))
	}
	changes, aerr := parseObj(def, obj)
	if aerr != nil {
		return nil, aerr
	}
	for i := range def.fields {
		fd := &def.fields[i]
		if !fd.reqUpdate {
			continue
		}
		missing := true
		for _, c := range changes {
			if c.idx == i {
				missing = isUnset(c.val)
				break
			}
		}
		if missing {
			return nil, errf(codeMissingData, "Missing required data: obj.%s is required to update a %s.", fd.name, def.name)
		}
	}
	o, aerr := s.lookup(def, id)
	if aerr != nil {
		return nil, aerr
	}
	next := &object{vals: slices.Clone(o.vals)}
	for _, c := range changes {
		next.vals[c.idx] = c.val
	}
	if aerr := s.checkRules(def, next, id); aerr != nil {
		return nil, aerr
	}
	old := o.vals
	next.vals[fUpdated] = now
	o.vals = next.vals
	s.index(def, o, old)
	return o, nil
}

// setActive answers Delete (to inactive) and Undelete (to active). Both are
// idempotent: an object already in the wanted state comes back unchanged.
// s.mu must be held for writing.
func (s *store) setActive(def *entityDef, data map[string]any, to string, now string) (*object, *apiError) {
	id, aerr := idOf(data, "id", "id")
	if aerr != nil {
		return nil, aerr
	}
	o, aerr := s.lookup(def, id)
	if aerr != nil {
		return nil, aerr
	}
	if o.vals[fActive] == to {
		return o, nil
	}
	if def.kind == kindBankAccount && to == active {
		if _, ok := s.activeBank[o.vals[def.customerIdx].(string)]; ok {
			return nil, errf(codeInvalidValue, "Invalid field,value: id, %s. The customer already has an active bank account.", id)
		}
	}
	o.vals[fActive] = to
	o.vals[fUpdated] = now
	s.index(def, o, nil)
	return o, nil
}

// appendObject renders o as BILL does: every field, nulls included, the
// account number masked, hasBankAccount derived. s.mu must be held.
func (s *store) appendObject(b []byte, def *entityDef, o *object) []byte {
	b = append(b, '{')
	for i := range def.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, def.fields[i].name...)
		b = append(b, '"', ':')
		v := o.vals[i]
		switch i {
		case def.maskIdx:
			if str, ok := v.(string); ok {
				v = mask(str)
			}
		case def.routingIdx:
			if str, ok := v.(string); ok && s.maskRouting {
				v = maskRouting(str)
			}
		case def.hasBankIdx:
			_, v = s.activeBank[o.id()]
		}
		b = appendValue(b, v)
	}
	return append(b, '}')
}
