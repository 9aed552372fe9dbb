package billapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// readFixture returns one of the real-shaped BILL answers in testdata:
// pretty-printed ("key" : value), fields in any order, fields this client
// does not model, null optionals, and numbers or numeric strings where
// BILL's examples vary.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureData decodes a fixture's envelope and returns response_data.
func fixtureData(t *testing.T, name string) json.RawMessage {
	t.Helper()
	d, e := decodeEnvelope("Fixture/"+name, 200, readFixture(t, name))
	if e != nil {
		t.Fatalf("%s: %v", name, e)
	}
	return d
}

func TestFixturesDecode(t *testing.T) {
	t.Run("customer answers of seed 001", func(t *testing.T) {
		for _, name := range []string{"customer-create.json", "customer-read.json", "customer-delete.json"} {
			c, err := decodeEntity[Customer]("Crud/Read/Customer", fixtureData(t, name))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if c.ID != "0cu01QRJUQPTKMMYijuo" || Deref(c.Name) != "Diamond" || c.BillAddress3 != nil || Deref(c.ParentCustomerID) != UnsetID ||
				c.HasAuthorizedToCharge == nil || *c.HasAuthorizedToCharge || Deref(c.AccountType) != "1" {
				t.Fatalf("%s decoded as %+v", name, c)
			}
		}
	})
	t.Run("customer list with numeric strings and extra fields", func(t *testing.T) {
		var cs []Customer
		if err := json.Unmarshal(fixtureData(t, "customer-list.json"), &cs); err != nil {
			t.Fatal(err)
		}
		if len(cs) != 2 || *cs[0].Balance != 1250.5 || cs[0].AvailCredit != nil {
			t.Fatalf("first customer %+v", cs[0])
		}
		r := cs[1]
		if Deref(r.AccountType) != "2" || *r.Balance != 0 || r.AvailCredit != nil || Deref(r.IsActive) != Active ||
			!*r.HasAuthorizedToCharge || *r.IsTaxLiable || r.Email != nil {
			t.Fatalf("second customer (numbers and strings swapped) %+v", r)
		}
	})
	t.Run("contact", func(t *testing.T) {
		ct, err := decodeEntity[CustomerContact]("Crud/Read/CustomerContact", fixtureData(t, "contact-read.json"))
		if err != nil || Deref(ct.TimezoneID) != "3" || Deref(ct.FirstName) != "George" || ct.AltPhone != nil {
			t.Fatalf("contact %+v, %v", ct, err)
		}
	})
	t.Run("bank account with booleans and a masked routing number", func(t *testing.T) {
		b, err := decodeEntity[CustomerBankAccount]("Crud/Read/CustomerBankAccount", fixtureData(t, "bank-account-read.json"))
		if err != nil {
			t.Fatal(err)
		}
		if *b.IsSavings || !*b.IsPersonalAcct || Deref(b.RoutingNumber) != "*****0358" || Deref(b.AccountNumber) != "******7890" || b.Nickname != nil {
			t.Fatalf("bank account %+v", b)
		}
	})
	t.Run("bank account list, booleans as strings", func(t *testing.T) {
		var bs []CustomerBankAccount
		if err := json.Unmarshal(fixtureData(t, "bank-account-list.json"), &bs); err != nil {
			t.Fatal(err)
		}
		if len(bs) != 2 || !*bs[0].IsSavings || *bs[0].IsPersonalAcct || *bs[1].IsSavings || !*bs[1].IsPersonalAcct ||
			Deref(bs[1].IsActive) != Inactive || bs[1].IsLockedByOrg != nil {
			t.Fatalf("bank accounts %+v %+v", bs[0], bs[1])
		}
	})
	t.Run("bulk answer, one envelope per item", func(t *testing.T) {
		outs, e := decodeBulkItems[Customer]("Bulk/Crud/Create/Customer", fixtureData(t, "customer-bulk-create.json"), 3)
		if e != nil {
			t.Fatal(e)
		}
		if outs[0].obj == nil || Deref(outs[0].obj.Name) != "Bulk One" || outs[1].err == nil || outs[1].err.Code != CodeMissingData ||
			outs[2].obj == nil || outs[2].obj.ID != "0cu01BULK00000000003" {
			t.Fatalf("bulk outcomes %+v", outs)
		}
	})
	t.Run("login", func(t *testing.T) {
		var la loginAnswer
		if err := json.Unmarshal(fixtureData(t, "login.json"), &la); err != nil || la.SessionID == "" || la.APIEndPoint != SandboxBaseURL {
			t.Fatalf("login %+v, %v", la, err)
		}
	})
	t.Run("error", func(t *testing.T) {
		_, e := decodeEnvelope("List/Customer", 200, readFixture(t, "error.json"))
		if e == nil || e.Code != CodeSessionInvalid || e.Class != ClassSession {
			t.Fatalf("error envelope decoded as %v", e)
		}
	})
}

// TestTolerantReaderRefusesNonsense: tolerance has limits; a value that is
// neither form of the field's type is an error, not a silent zero.
func TestTolerantReaderRefusesNonsense(t *testing.T) {
	for _, in := range []string{
		`{"id":"cba1","isSavings":"maybe"}`,
		`{"id":"cba1","isSavings":{}}`,
		`{"id":"cba1","nameOnAccount":["x"]}`,
	} {
		var b CustomerBankAccount
		if err := json.Unmarshal([]byte(in), &b); err == nil {
			t.Errorf("%s decoded without error: %+v", in, b)
		}
	}
	var c Customer
	if err := json.Unmarshal([]byte(`{"balance":"12,50"}`), &c); err == nil {
		t.Errorf("a non-numeric balance decoded: %v", *c.Balance)
	}
}

// TestPlainBulkAgreesWithTolerant: a Bulk answer is read in one plain pass
// when it can be (plainBulkItems), item by item tolerantly otherwise; both
// give the same records. The real-shaped fixtures (numbers for strings,
// strings for booleans, unknown and null fields) take the tolerant path; an
// answer of records written back plainly takes the fast one.
func TestPlainBulkAgreesWithTolerant(t *testing.T) {
	t.Run("customers", func(t *testing.T) { checkPlainBulk[Customer](t, "customer-list.json") })
	t.Run("bank accounts", func(t *testing.T) { checkPlainBulk[CustomerBankAccount](t, "bank-account-list.json") })
	t.Run("contacts", func(t *testing.T) { checkPlainBulk[CustomerContact](t, "contact-read.json") })
}

func checkPlainBulk[T any](t *testing.T, fixture string) {
	data := fixtureData(t, fixture)
	var recs []json.RawMessage
	if json.Unmarshal(data, &recs) != nil {
		recs = []json.RawMessage{data}
	}
	// records as real BILL wrote them, then the same records written back
	// by this client: every field of its own type
	var plain []json.RawMessage
	for _, r := range recs {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		plain = append(plain, b)
	}
	for _, set := range []struct {
		name     string
		recs     []json.RawMessage
		wantFast bool
	}{{"as BILL wrote them", recs, false}, {"written back plainly", plain, true}} {
		var answer struct {
			Bulk []plainEnvelope `json:"bulk"`
		}
		for _, r := range set.recs {
			answer.Bulk = append(answer.Bulk, plainEnvelope{Status: new(int), Message: "Success", Data: r})
		}
		raw, err := json.Marshal(answer)
		if err != nil {
			t.Fatal(err)
		}
		if _, fast := plainBulkItems[T](raw, len(set.recs)); fast != set.wantFast {
			t.Errorf("%s: fast path taken = %v, want %v", set.name, fast, set.wantFast)
		}
		outs, e := decodeBulkItems[T]("Bulk/Crud/Create/X", raw, len(set.recs))
		if e != nil {
			t.Fatalf("%s: %v", set.name, e)
		}
		for i, r := range set.recs {
			want := new(T)
			if err := json.Unmarshal(r, want); err != nil {
				t.Fatal(err)
			}
			if outs[i].err != nil || !reflect.DeepEqual(outs[i].obj, want) {
				t.Errorf("%s: item %d = %+v (%v), want %+v", set.name, i, outs[i].obj, outs[i].err, want)
			}
		}
	}
}
