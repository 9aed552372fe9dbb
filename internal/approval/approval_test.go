package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// xorSealer stands in for the vault's sealer: it only has to be reversible
// and hide the plain text.
type xorSealer struct{}

func (xorSealer) Seal(p []byte) ([]byte, error) { return xor(p), nil }
func (xorSealer) Open(p []byte) ([]byte, error) { return xor(p), nil }
func xor(p []byte) []byte {
	out := make([]byte, len(p))
	for i, b := range p {
		out[i] = b ^ 0x5a
	}
	return out
}

func TestLifecycle(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), DirName)
	s := NewStore(dir, xorSealer{})
	now := time.Unix(5000, 0)
	s.now = func() time.Time { return now }
	args := json.RawMessage(`{"accountNumber":"987654321098"}`)
	c, err := s.Create(ctx, "janitor", "create_customer_bank_account", args, "add account ending 1098", "bank_accounts: full", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, c.Code[:4]+c.Code[5:]+".age"))
	if bytes.Contains(raw, []byte("987654321098")) {
		t.Error("the account number is stored in clear")
	}
	if _, err := s.Take(ctx, "janitor", c.Code); !errors.Is(err, ErrNotApproved) {
		t.Errorf("take before approval: %v", err)
	}
	if _, err := s.Take(ctx, "other", c.Code); !errors.Is(err, ErrOtherAgent) {
		t.Errorf("take by another agent: %v", err)
	}
	if _, err := s.Decide(ctx, "nope", func(Call) (bool, error) { return true, nil }); !errors.Is(err, ErrUnknown) {
		t.Errorf("decide a bad code: %v", err)
	}
	lower := c.Code[:4] + c.Code[5:]
	if got, err := s.Decide(ctx, lower, func(Call) (bool, error) { return true, nil }); err != nil || got.State != StateApproved {
		t.Fatalf("approve (code typed without dash): %+v %v", got, err)
	}
	if list, _ := s.List(); len(list) != 1 || list[0].Code != c.Code {
		t.Errorf("List = %+v", list)
	}
	got, err := s.Take(ctx, "janitor", c.Code)
	if err != nil || string(got.Args) != string(args) || got.Tool != "create_customer_bank_account" {
		t.Fatalf("Take = %+v %v", got, err)
	}
	if _, err := s.Take(ctx, "janitor", c.Code); !errors.Is(err, ErrUsed) {
		t.Errorf("second take: %v", err)
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("a used call is still listed: %+v", list)
	}

	late, _ := s.Create(ctx, "janitor", "delete_customer", json.RawMessage(`{}`), "x", "r", time.Minute)
	denied, _ := s.Create(ctx, "janitor", "delete_customer", json.RawMessage(`{}`), "x", "r", time.Minute)
	if got, err := s.Decide(ctx, denied.Code, func(Call) (bool, error) { return false, nil }); err != nil || got.State != StateDenied {
		t.Errorf("deny: %+v %v", got, err)
	}
	if _, err := s.Take(ctx, "janitor", denied.Code); !errors.Is(err, ErrDenied) {
		t.Errorf("take denied: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.Decide(ctx, late.Code, func(Call) (bool, error) { t.Error("asked about an expired call"); return true, nil }); !errors.Is(err, ErrExpired) {
		t.Errorf("approve expired: %v", err)
	}
	if _, err := s.Take(ctx, "janitor", late.Code); !errors.Is(err, ErrExpired) {
		t.Errorf("take expired: %v", err)
	}
}
