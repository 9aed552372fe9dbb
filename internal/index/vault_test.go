package index_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/index"
	"github.com/bill-mcp/bill-mcp/vault"
)

// countingSource counts List calls.
type countingSource struct {
	fakeSource
	n    atomic.Int64
	last atomic.Value // billapi.ListParams
}

func (c *countingSource) ListCustomers(ctx context.Context, p billapi.ListParams) ([]billapi.Customer, error) {
	c.n.Add(1)
	c.last.Store(p)
	return c.fakeSource.ListCustomers(ctx, p)
}

// TestIndexSealedInTheVault: the index persists encrypted in the vault
// directory (no customer data in the clear) and a second process resumes
// from it.
func TestIndexSealedInTheVault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	env := map[string]string{vault.EnvDir: dir, vault.EnvPassphrase: "pw"}
	open := func() *vault.Vault {
		v, err := vault.Open(vault.Options{Getenv: func(k string) string { return env[k] }, ScryptWorkFactor: 10})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := open().Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	src := &countingSource{fakeSource: fakeSource{customers: []billapi.Customer{cust("0cuA", "Sentinel Holdings", "SENTINEL@globex.example", "", "", "1")}}}
	for run, wantLists := range []int64{1, 1} { // first: build; second: resume with one refresh
		f, err := open().SealedFile("sandbox|http://127.0.0.1|00801ORG")
		if err != nil {
			t.Fatal(err)
		}
		ix := index.New(index.Options{Key: "sandbox|http://127.0.0.1|00801ORG", Store: f})
		before := src.n.Load()
		found, err := ix.FindCustomers(t.Context(), src, index.CustomerQuery{Text: "sentinel@globex.example"}, index.DefaultMaxAge)
		if err != nil || found.Total != 1 {
			t.Fatalf("run %d: %+v, %v", run, found, err)
		}
		if got := src.n.Load() - before; got != wantLists {
			t.Errorf("run %d: %d List calls, want %d", run, got, wantLists)
		}
		p, _ := src.last.Load().(billapi.ListParams)
		if resumed := len(p.Filters) == 1 && p.Filters[0].Field == "updatedTime" && p.Filters[0].Op == billapi.OpGe; resumed != (run == 1) {
			t.Errorf("run %d: List filters %+v; want updatedTime >= only when resuming", run, p.Filters)
		}
		raw, err := os.ReadFile(f.Path())
		if err != nil {
			t.Fatalf("run %d: the index was not saved: %v", run, err)
		}
		if strings.Contains(string(raw), "SENTINEL") || !strings.HasPrefix(f.Path(), dir) {
			t.Errorf("run %d: %s is not sealed inside the vault directory", run, f.Path())
		}
	}
}
