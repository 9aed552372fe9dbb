package billapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkDecodeListPage decodes a List page of 999 customers shaped like
// seed 001's answer, side by side with plain encoding/json into the same
// fields (the baseline), and reports x-plain, the tolerant reader's time
// over the baseline's: for BILL-typed answers (the fast path) and for
// answers whose numbers and strings are swapped (the fallback).
func BenchmarkDecodeListPage(b *testing.B) {
	type plainCustomer Customer
	page := func(swapped bool) []byte {
		var sb strings.Builder
		sb.WriteString("[")
		for i := range MaxListPage {
			if i > 0 {
				sb.WriteString(",")
			}
			bal, typ := `1250.5`, `"1"`
			if swapped {
				bal, typ = `"1250.50"`, `1`
			}
			fmt.Fprintf(&sb, `{"entity" : "Customer", "id" : "0cu01QRJUQPTK%07d", "isActive" : "1", "createdTime" : "2016-12-09T21:38:40.000+0000",
 "name" : "Diamond %d", "companyName" : "Diamond Industrial Inc.", "billAddress3" : null, "email" : "d%d@com.com", "phone" : "123-123-1234",
 "parentCustomerId" : "00000000000000000000", "hasAuthorizedToCharge" : false, "accountType" : %s, "balance" : %s, "hasCreditCard" : false}`, i, i, i, typ, bal)
		}
		sb.WriteString("]")
		return []byte(sb.String())
	}
	for _, swapped := range []bool{false, true} {
		raw := page(swapped)
		name := map[bool]string{false: "as BILL types it", true: "numbers and strings swapped"}[swapped]
		b.Run(name, func(b *testing.B) {
			var base, tol time.Duration
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				var p []plainCustomer
				_ = json.Unmarshal(raw, &p) // the baseline: errors on swapped types, as plain decoding would
				base += time.Since(start)
				start = time.Now()
				var c []Customer
				if err := json.Unmarshal(raw, &c); err != nil || len(c) != MaxListPage {
					b.Fatalf("tolerant decode: %v (%d records)", err, len(c))
				}
				tol += time.Since(start)
			}
			b.ReportMetric(float64(tol)/float64(base), "x-plain")
		})
	}
}
