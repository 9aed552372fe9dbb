package emulator

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxListPage is BILL's largest List page.
const maxListPage = 999

// filter is one parsed List filter.
type filter struct {
	idx  int
	op   string
	vals []any // one value, or several for in/nin; string, float64 or bool
}

// sortKey is one parsed sort entry.
type sortKey struct {
	idx int
	asc bool
}

// listQuery is a parsed List request.
type listQuery struct {
	start, max int
	filters    []filter
	sorts      []sortKey
}

var listOps = []string{"=", "<", ">", "!=", "<=", ">=", "in", "nin"}

// intParam reads a required non-negative integer from data.
func intParam(data map[string]any, key string) (int, *apiError) {
	v, ok := data[key]
	if !ok || v == nil {
		return 0, errf(codeMissingParam, "Missing required parameter: %s in data.", key)
	}
	f, ok := v.(float64)
	if !ok {
		return 0, errf(codeDatatype, "Invalid datatype for %s: expected an integer, got %s.", key, jsonKind(v))
	}
	if f != math.Trunc(f) || f < 0 || f > math.MaxInt32 {
		return 0, errf(codeBadParam, "Invalid parameter: %s must be a whole number from 0, got %v.", key, f)
	}
	return int(f), nil
}

// parseList validates a List request's data.
func parseList(def *entityDef, data map[string]any) (*listQuery, *apiError) {
	q := &listQuery{}
	var aerr *apiError
	if q.start, aerr = intParam(data, "start"); aerr != nil {
		return nil, aerr
	}
	if q.max, aerr = intParam(data, "max"); aerr != nil {
		return nil, aerr
	}
	if q.max < 1 || q.max > maxListPage {
		return nil, errf(codeBadParam, "Invalid parameter: max must be 1 to %d, got %d.", maxListPage, q.max)
	}
	if v, ok := data["nested"]; ok && v != nil {
		if _, ok := v.(bool); !ok {
			return nil, errf(codeDatatype, "Invalid datatype for nested: expected a boolean, got %s.", jsonKind(v))
		}
	}
	if v, ok := data["filters"]; ok && v != nil {
		arr, ok := v.([]any)
		if !ok {
			return nil, errf(codeDatatype, "Invalid datatype for filters: expected an array, got %s.", jsonKind(v))
		}
		for i, item := range arr {
			f, aerr := parseFilter(def, i, item)
			if aerr != nil {
				return nil, aerr
			}
			q.filters = append(q.filters, f)
		}
	}
	if v, ok := data["sort"]; ok && v != nil {
		arr, ok := v.([]any)
		if !ok {
			return nil, errf(codeDatatype, "Invalid datatype for sort: expected an array, got %s.", jsonKind(v))
		}
		for i, item := range arr {
			k, aerr := parseSort(def, i, item)
			if aerr != nil {
				return nil, aerr
			}
			q.sorts = append(q.sorts, k)
		}
	}
	return q, nil
}

// member reads a string member of a filter or sort entry.
func member(m map[string]any, what string, i int, key string) (string, bool, *apiError) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", true, errf(codeDatatype, "Invalid datatype for %s[%d].%s: expected a string, got %s.", what, i, key, jsonKind(v))
	}
	return s, true, nil
}

func parseFilter(def *entityDef, i int, item any) (filter, *apiError) {
	m, ok := item.(map[string]any)
	if !ok {
		return filter{}, errf(codeDatatype, "Invalid datatype for filters[%d]: expected an object with field, op and value, got %s.", i, jsonKind(item))
	}
	field, ok, aerr := member(m, "filters", i, "field")
	if aerr != nil {
		return filter{}, aerr
	}
	idx, known := def.index[field]
	if !ok || !known || !def.fields[idx].filterable {
		return filter{}, errf(codeFilterField, "Invalid filter field: %q cannot be filtered on for %s. Filterable fields: %s.", field, def.name, def.filterNames)
	}
	op, ok, aerr := member(m, "filters", i, "op")
	if aerr != nil {
		return filter{}, aerr
	}
	if !ok || !slices.Contains(listOps, op) {
		return filter{}, errf(codeFilterOp, "Invalid filter operator: %q. Use one of = < > != <= >= in nin.", op)
	}
	raw, ok, aerr := member(m, "filters", i, "value")
	if aerr != nil {
		return filter{}, aerr
	}
	if !ok {
		return filter{}, errf(codeMissingParam, "Missing required parameter: filters[%d].value.", i)
	}
	parts := []string{raw}
	if op == "in" || op == "nin" {
		parts = strings.Split(raw, ",")
	}
	f := filter{idx: idx, op: op, vals: make([]any, 0, len(parts))}
	fd := &def.fields[idx]
	for _, p := range parts {
		if op == "in" || op == "nin" {
			p = strings.TrimSpace(p)
		}
		v, aerr := filterValue(fd, p)
		if aerr != nil {
			return filter{}, aerr
		}
		f.vals = append(f.vals, v)
	}
	return f, nil
}

// filterValue converts a filter's string value to the field's type.
func filterValue(fd *fieldDef, p string) (any, *apiError) {
	switch {
	case fd.timestamp:
		t, ok := parseInstant(p)
		if !ok {
			return nil, errf(codeDatatype, "Invalid datatype for filter value of %s: %q is not a timestamp like 2016-12-09T21:38:40.000+0000.", fd.name, p)
		}
		return t, nil
	case fd.typ == tNumber:
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, errf(codeDatatype, "Invalid datatype for filter value of %s: %q is not a number.", fd.name, p)
		}
		return f, nil
	case fd.typ == tBool:
		switch p {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errf(codeDatatype, "Invalid datatype for filter value of %s: %q is not true or false.", fd.name, p)
	case fd.enum != nil:
		if !slices.Contains(fd.enum, p) {
			return nil, errf(codeInvalidValue, "Invalid field,value: %s, %s. Allowed values: %s.", fd.name, p, strings.Join(fd.enum, ", "))
		}
	}
	return p, nil
}

// timeFormat is how BILL writes timestamps.
const timeFormat = "2006-01-02T15:04:05.000-0700"

// parseInstant accepts BILL's own format, RFC 3339 and a plain date, and
// returns the instant in BILL's format (UTC), which sorts as text.
func parseInstant(s string) (string, bool) {
	for _, layout := range []string{timeFormat, time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(timeFormat), true
		}
	}
	return "", false
}

func parseSort(def *entityDef, i int, item any) (sortKey, *apiError) {
	m, ok := item.(map[string]any)
	if !ok {
		return sortKey{}, errf(codeDatatype, "Invalid datatype for sort[%d]: expected an object with field and asc, got %s.", i, jsonKind(item))
	}
	fv, _ := m["field"]
	field, ok := fv.(string)
	if fv != nil && !ok {
		return sortKey{}, errf(codeDatatype, "Invalid datatype for sort[%d].field: expected a string, got %s.", i, jsonKind(fv))
	}
	idx, known := def.index[field]
	if !known {
		return sortKey{}, errf(codeFilterField, "Invalid sort field: %q is not a field of %s.", field, def.name)
	}
	k := sortKey{idx: idx, asc: true}
	switch a := m["asc"].(type) {
	case nil:
	case bool:
		k.asc = a
	case string:
		switch a {
		case "true", "1":
		case "false", "0":
			k.asc = false
		default:
			return sortKey{}, errf(codeDatatype, "Invalid datatype for sort[%d].asc: %q is not true or false.", i, a)
		}
	case float64:
		switch a {
		case 1:
		case 0:
			k.asc = false
		default:
			return sortKey{}, errf(codeDatatype, "Invalid datatype for sort[%d].asc: %v is not true or false.", i, a)
		}
	default:
		return sortKey{}, errf(codeDatatype, "Invalid datatype for sort[%d].asc: expected true or false, got %s.", i, jsonKind(a))
	}
	return k, nil
}

// compareValues orders two stored or filter values of one field; null
// sorts first.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case nil:
		if b == nil {
			return 0
		}
		return -1
	case string:
		y, ok := b.(string)
		if !ok {
			return cmpNil(b)
		}
		return strings.Compare(x, y)
	case float64:
		y, ok := b.(float64)
		if !ok {
			return cmpNil(b)
		}
		return cmp.Compare(x, y)
	case bool:
		y, ok := b.(bool)
		if !ok {
			return cmpNil(b)
		}
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		default:
			return 1
		}
	}
	return 0
}

func cmpNil(b any) int {
	if b == nil {
		return 1
	}
	return 0
}

// matches reports whether o passes f.
func (f *filter) matches(o *object) bool {
	v := o.vals[f.idx]
	switch f.op {
	case "in", "nin":
		in := false
		for _, w := range f.vals {
			if compareValues(v, w) == 0 && (v != nil) {
				in = true
				break
			}
		}
		return in == (f.op == "in")
	}
	if v == nil {
		// null equals nothing and orders against nothing; it is "not equal".
		return f.op == "!="
	}
	c := compareValues(v, f.vals[0])
	switch f.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	case ">=":
		return c >= 0
	}
	return false
}

// defaultOrder is createdTime, then id.
func defaultOrder(a, b *object) int {
	if c := strings.Compare(a.created(), b.created()); c != 0 {
		return c
	}
	return strings.Compare(a.id(), b.id())
}

// list answers List: filter, sort, page, render. s.mu must be held for
// reading.
func (s *store) list(b []byte, def *entityDef, q *listQuery) []byte {
	all := s.order[def.kind]
	picked := make([]*object, 0, min(len(all), 1024))
	for _, o := range all {
		ok := true
		for i := range q.filters {
			if !q.filters[i].matches(o) {
				ok = false
				break
			}
		}
		if ok {
			picked = append(picked, o)
		}
	}
	if len(q.sorts) == 0 {
		if !slices.IsSortedFunc(picked, defaultOrder) {
			slices.SortStableFunc(picked, defaultOrder)
		}
	} else {
		slices.SortStableFunc(picked, func(a, b *object) int {
			for _, k := range q.sorts {
				c := compareValues(a.vals[k.idx], b.vals[k.idx])
				if c != 0 {
					if !k.asc {
						return -c
					}
					return c
				}
			}
			return defaultOrder(a, b)
		})
	}
	if q.start >= len(picked) {
		picked = nil
	} else {
		picked = picked[q.start:min(len(picked), q.start+q.max)]
	}
	if need := len(b) + 2 + len(picked)*(len(def.fields)*24+16); cap(b) < need {
		nb := make([]byte, len(b), need)
		copy(nb, b)
		b = nb
	}
	b = append(b, '[')
	for i, o := range picked {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendObject(b, def, o)
	}
	return append(b, ']')
}
