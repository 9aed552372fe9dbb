package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkAppend: one chained, locked audit line against the baseline of
// writing the same JSON line to an open file (no lock, no chain), side by
// side in each iteration.
func BenchmarkAppend(b *testing.B) {
	rec := Record{Time: time.Now(), Agent: "sales-bot", Client: "claude/1", Transport: "stdio", Tool: "create_customer",
		Args: "email, name", Records: []Ref{{ID: "0cu01ABCDEFGHIJKLMNO", Name: "Acme Corp"}}, Decision: Allowed,
		Rule: "customers: write", Outcome: OK, DurationMS: 212}
	dir := b.TempDir()
	l := Open(filepath.Join(dir, FileName))
	f, err := os.OpenFile(filepath.Join(dir, "plain.jsonl"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var chained, plain time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := l.Append(rec); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		line, _ := json.Marshal(rec)
		if _, err := f.Write(append(line, '\n')); err != nil {
			b.Fatal(err)
		}
		chained += t1.Sub(t0)
		plain += time.Since(t1)
	}
	b.ReportMetric(float64(chained.Microseconds())/float64(b.N), "chained-µs/line")
	b.ReportMetric(float64(plain.Microseconds())/float64(b.N), "plain-µs/line")
	b.ReportMetric(float64(chained)/float64(plain), "chained/plain")
}
