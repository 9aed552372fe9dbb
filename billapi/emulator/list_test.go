package emulator_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// listFixture holds 10 customers created one minute apart: c00..c09.
// c03 and c07 are inactive; even ones have accountType "1", odd "2";
// c05 has invoiceCurrency EUR.
type listFixture struct {
	h     *harness
	ids   []string
	times []string
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	clock := newFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	h := newHarness(t, emulator.Config{Now: clock.Now})
	f := &listFixture{h: h}
	for i := range 10 {
		fields := obj{"name": fmt.Sprintf("c%02d", i), "accountType": []string{"1", "2"}[i%2]}
		if i == 5 {
			fields["invoiceCurrency"] = "EUR"
		}
		o := h.mustCreate("Customer", fields)
		f.ids = append(f.ids, o["id"].(string))
		f.times = append(f.times, o["createdTime"].(string))
		clock.Add(time.Minute)
	}
	for _, i := range []int{3, 7} {
		h.call("/Crud/Delete/Customer.json", obj{"id": f.ids[i]}).object(t)
	}
	return f
}

// names lists the customer names of a List answer, in order.
func names(rows []map[string]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i], _ = r["name"].(string)
	}
	return out
}

func seq(idx ...int) []string {
	out := make([]string, len(idx))
	for i, n := range idx {
		out[i] = fmt.Sprintf("c%02d", n)
	}
	return out
}

func TestListPagingAndDefaultOrder(t *testing.T) {
	f := newListFixture(t)
	tests := []struct {
		name  string
		start int
		max   int
		want  []string
	}{
		{"all, inactive included", 0, 999, seq(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
		{"first page", 0, 3, seq(0, 1, 2)},
		{"middle page", 3, 3, seq(3, 4, 5)},
		{"last partial page", 9, 3, seq(9)},
		{"past the end", 10, 3, []string{}},
		{"far past the end", 500, 999, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := f.h.call("/List/Customer.json", obj{"start": tc.start, "max": tc.max}).list(t)
			if got := names(rows); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestListFilters(t *testing.T) {
	f := newListFixture(t)
	flt := func(field, op, value string) obj { return obj{"field": field, "op": op, "value": value} }
	tests := []struct {
		name    string
		filters []obj
		want    []string
	}{
		{"active", []obj{flt("isActive", "=", "1")}, seq(0, 1, 2, 4, 5, 6, 8, 9)},
		{"inactive", []obj{flt("isActive", "=", "2")}, seq(3, 7)},
		{"not active", []obj{flt("isActive", "!=", "1")}, seq(3, 7)},
		{"accountType in", []obj{flt("accountType", "in", "2, 0")}, seq(1, 3, 5, 7, 9)},
		{"accountType nin", []obj{flt("accountType", "nin", "2")}, seq(0, 2, 4, 6, 8)},
		{"two filters", []obj{flt("accountType", "=", "2"), flt("isActive", "=", "1")}, seq(1, 5, 9)},
		{"createdTime >", []obj{flt("createdTime", ">", f.times[7])}, seq(8, 9)},
		{"createdTime >=", []obj{flt("createdTime", ">=", f.times[7])}, seq(7, 8, 9)},
		{"createdTime < RFC 3339", []obj{flt("createdTime", "<", "2026-01-02T03:06:05Z")}, seq(0, 1)},
		{"createdTime <= date", []obj{flt("createdTime", "<=", "2026-01-02")}, []string{}},
		{"updatedTime range", []obj{flt("updatedTime", ">=", f.times[2]), flt("updatedTime", "<", f.times[4])}, seq(2)},
		{"id =", []obj{flt("id", "=", f.ids[4])}, seq(4)},
		{"id in", []obj{flt("id", "in", f.ids[1]+","+f.ids[8])}, seq(1, 8)},
		{"balance number", []obj{flt("balance", ">=", "0")}, seq(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
		{"balance above", []obj{flt("balance", ">", "0.5")}, []string{}},
		{"boolean", []obj{flt("isTaxLiable", "=", "false")}, seq(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
		{"currency", []obj{flt("invoiceCurrency", "=", "EUR")}, seq(5)},
		{"null is != anything", []obj{flt("invoiceCurrency", "!=", "EUR")}, seq(0, 1, 2, 3, 4, 6, 7, 8, 9)},
		{"unset parent", []obj{flt("parentCustomerId", "=", unset)}, seq(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := f.h.call("/List/Customer.json", obj{"start": 0, "max": 999, "filters": tc.filters}).list(t)
			if got := names(rows); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestListSort(t *testing.T) {
	f := newListFixture(t)
	tests := []struct {
		name string
		sort []obj
		want []string
	}{
		{"name desc string", []obj{{"field": "name", "asc": "false"}}, seq(9, 8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"name asc bool", []obj{{"field": "name", "asc": true}}, seq(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
		{"createdTime desc bool", []obj{{"field": "createdTime", "asc": false}}, seq(9, 8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"accountType then name desc", []obj{{"field": "accountType", "asc": "true"}, {"field": "name", "asc": "false"}}, seq(8, 6, 4, 2, 0, 9, 7, 5, 3, 1)},
		{"isActive desc, ties by createdTime", []obj{{"field": "isActive", "asc": "false"}}, seq(3, 7, 0, 1, 2, 4, 5, 6, 8, 9)},
		{"asc omitted", []obj{{"field": "name"}}, seq(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := f.h.call("/List/Customer.json", obj{"start": 0, "max": 999, "sort": tc.sort}).list(t)
			if got := names(rows); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("sorted page", func(t *testing.T) {
		rows := f.h.call("/List/Customer.json", obj{"start": 2, "max": 2, "sort": []obj{{"field": "name", "asc": "false"}}}).list(t)
		if got := names(rows); !slices.Equal(got, seq(7, 6)) {
			t.Fatalf("got %v", got)
		}
	})
}

func TestListErrors(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	cust := h.customer("List Err Co")
	h.mustCreate("CustomerContact", obj{"customerId": cust, "firstName": "L", "email": "l@le.example", "timezoneId": "4"})
	flt := func(field, op string, value any) []obj { return []obj{{"field": field, "op": op, "value": value}} }
	tests := []struct {
		name string
		path string
		data any
		code string
	}{
		{"no data", "/List/Customer.json", nil, "BDC_1108"},
		{"no start", "/List/Customer.json", obj{"max": 10}, "BDC_1108"},
		{"no max", "/List/Customer.json", obj{"start": 0}, "BDC_1108"},
		{"max 0", "/List/Customer.json", obj{"start": 0, "max": 0}, "BDC_1129"},
		{"max 1000", "/List/Customer.json", obj{"start": 0, "max": 1000}, "BDC_1129"},
		{"start negative", "/List/Customer.json", obj{"start": -1, "max": 10}, "BDC_1129"},
		{"start fractional", "/List/Customer.json", obj{"start": 1.5, "max": 10}, "BDC_1129"},
		{"start string", "/List/Customer.json", obj{"start": "0", "max": 10}, "BDC_1124"},
		{"filters not array", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": obj{}}, "BDC_1124"},
		{"filter not object", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": []any{"isActive"}}, "BDC_1124"},
		{"name not filterable", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": flt("name", "=", "x")}, "BDC_1130"},
		{"unknown field", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": flt("colour", "=", "x")}, "BDC_1130"},
		{"missing field", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": []obj{{"op": "=", "value": "1"}}}, "BDC_1130"},
		{"bad op", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": flt("isActive", "like", "1")}, "BDC_1131"},
		{"missing op", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": []obj{{"field": "isActive", "value": "1"}}}, "BDC_1131"},
		{"missing value", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": []obj{{"field": "isActive", "op": "="}}}, "BDC_1108"},
		{"value not string", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": flt("isActive", "=", 1)}, "BDC_1124"},
		{"bad enum value", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": flt("isActive", "=", "7")}, "BDC_1119"},
		{"bad number", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": flt("balance", ">", "lots")}, "BDC_1124"},
		{"bad boolean", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": flt("isTaxLiable", "=", "yes")}, "BDC_1124"},
		{"bad timestamp", "/List/Customer.json", obj{"start": 0, "max": 10, "filters": flt("createdTime", ">", "yesterday")}, "BDC_1124"},
		{"unknown sort field", "/List/Customer.json", obj{"start": 0, "max": 10, "sort": []obj{{"field": "colour", "asc": "true"}}}, "BDC_1130"},
		{"bad asc", "/List/Customer.json", obj{"start": 0, "max": 10, "sort": []obj{{"field": "name", "asc": "maybe"}}}, "BDC_1124"},
		{"nested not bool", "/List/Customer.json", obj{"start": 0, "max": 10, "nested": "yes"}, "BDC_1124"},
		{"contact firstName not filterable", "/List/CustomerContact.json", obj{"start": 0, "max": 10, "filters": flt("firstName", "=", "L")}, "BDC_1130"},
		{"contact bad timezone", "/List/CustomerContact.json", obj{"start": 0, "max": 10, "filters": flt("timezoneId", "=", "2")}, "BDC_1119"},
		{"bank routing not filterable", "/List/CustomerBankAccount.json", obj{"start": 0, "max": 10, "filters": flt("routingNumber", "=", "1")}, "BDC_1130"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := h.call(tc.path, tc.data)
			if env.code() != tc.code {
				t.Fatalf("code %q (%s), want %q", env.code(), env.msg(), tc.code)
			}
		})
	}
	t.Run("contact filters", func(t *testing.T) {
		for _, tc := range []struct {
			f    []obj
			want int
		}{
			{flt("customerId", "=", cust), 1},
			{flt("timezoneId", "in", "3,4"), 1},
			{flt("timezoneId", "=", "5"), 0},
		} {
			rows := h.call("/List/CustomerContact.json", obj{"start": 0, "max": 10, "filters": tc.f, "nested": false}).list(t)
			if len(rows) != tc.want {
				t.Fatalf("filter %v: %d rows, want %d", tc.f, len(rows), tc.want)
			}
		}
	})
}
