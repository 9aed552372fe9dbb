package tools_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bill-mcp/bill-mcp/internal/server"
)

// realBill answers in BILL's real shape from billapi/testdata's fixtures:
// pretty-printed, booleans for isSavings/isPersonalAcct, a masked routing
// number, fields the client does not model. It records each request's data.
type realBill struct {
	t    *testing.T
	mu   sync.Mutex
	data map[string][]string // op -> data fields sent
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "billapi", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (r *realBill) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	op := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, "/api/v2/"), ".json")
	if err := req.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.data[op] = append(r.data[op], req.PostForm.Get("data"))
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	var body string
	switch op {
	case "Login":
		body = fixture(r.t, "login.json")
	case "Crud/Create/CustomerBankAccount", "Crud/Read/CustomerBankAccount":
		body = fixture(r.t, "bank-account-read.json")
	case "Crud/Delete/CustomerBankAccount":
		body = strings.Replace(fixture(r.t, "bank-account-read.json"), `"isActive" : "1"`, `"isActive" : "2"`, 1)
	case "List/CustomerBankAccount":
		body = fixture(r.t, "bank-account-list.json")
	case "Crud/Read/Customer":
		body = fixture(r.t, "customer-read.json")
	case "List/Customer":
		body = fixture(r.t, "customer-list.json")
	case "Crud/Read/CustomerContact":
		body = fixture(r.t, "contact-read.json")
	default:
		body = fixture(r.t, "error.json")
	}
	_, _ = w.Write([]byte(body))
}

// TestBankAccountToolsAgainstRealShape runs every bank-account tool against
// a server answering as BILL does; each answers a result that matches its
// output schema (the server validates it) with booleans and masked numbers.
func TestBankAccountToolsAgainstRealShape(t *testing.T) {
	rb := &realBill{t: t, data: map[string][]string{}}
	hs := httptest.NewServer(rb)
	t.Cleanup(hs.Close)
	s, err := server.New(server.Options{Client: newBillClient(t, hs.URL, nil), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, client: connect(t, s)}

	check := func(tool string, b map[string]any, active string) {
		t.Helper()
		if b["id"] != "cba01ABCDEFGHIJKLMNO" || b["isSavings"] != false || b["isPersonalAcct"] != true ||
			b["routingNumber"] != "*****0358" || b["accountNumber"] != "******7890" || b["isActive"] != active {
			t.Errorf("%s answered %v", tool, b)
		}
	}
	created := e.ok("create_customer_bank_account", map[string]any{"customerId": "0cu01QRJUQPTKMMYijuo", "nameOnAccount": "Diamond Industrial Inc.",
		"routingNumber": "021000358", "accountNumber": "1234567890", "agreedWithTOS": true, "isSavings": false, "isPersonalAcct": true})
	check("create_customer_bank_account", obj(t, created, "bankAccount"), "1")
	check("get_customer_bank_account", obj(t, e.ok("get_customer_bank_account", map[string]any{"bankAccountId": "cba01ABCDEFGHIJKLMNO"}), "bankAccount"), "1")
	check("delete_customer_bank_account", obj(t, e.ok("delete_customer_bank_account", map[string]any{"bankAccountId": "cba01ABCDEFGHIJKLMNO"}), "bankAccount"), "2")
	rows := list(t, e.ok("list_customer_bank_accounts", map[string]any{"customerId": "0cu01QRJUQPTKMMYijuo", "fields": []any{"isSavings", "isPersonalAcct"}}), "bankAccounts")
	if len(rows) != 2 {
		t.Fatalf("list answered %d accounts, want 2", len(rows))
	}
	first, second := rows[0].(map[string]any), rows[1].(map[string]any)
	if first["isSavings"] != true || second["isSavings"] != false || second["isPersonalAcct"] != true || second["isActive"] != "2" {
		t.Errorf("list rows %v / %v: booleans (sent as booleans or strings) must come out as booleans", first, second)
	}

	// What was sent: booleans as JSON booleans, agreedWithTOS beside obj.
	rb.mu.Lock()
	sent := rb.data["Crud/Create/CustomerBankAccount"]
	rb.mu.Unlock()
	if len(sent) != 1 {
		t.Fatalf("creates sent: %d", len(sent))
	}
	var d struct {
		Obj           map[string]any `json:"obj"`
		AgreedWithTOS any            `json:"agreedWithTOS"`
	}
	if err := json.Unmarshal([]byte(sent[0]), &d); err != nil {
		t.Fatal(err)
	}
	if d.Obj["isSavings"] != false || d.Obj["isPersonalAcct"] != true || d.AgreedWithTOS != true {
		t.Errorf("create sent %s; want isSavings/isPersonalAcct and agreedWithTOS as JSON booleans", sent[0])
	}
}

// TestCustomerToolsAgainstRealShape: the seed's customer answer, a list with
// numbers where strings were expected (and the other way round), and a
// contact with a numeric timezoneId render through the tools.
func TestCustomerToolsAgainstRealShape(t *testing.T) {
	hs := httptest.NewServer(&realBill{t: t, data: map[string][]string{}})
	t.Cleanup(hs.Close)
	s, err := server.New(server.Options{Client: newBillClient(t, hs.URL, nil), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, client: connect(t, s)}
	cu := obj(t, e.ok("get_customer", map[string]any{"customerId": "0cu01QRJUQPTKMMYijuo"}), "customer")
	if cu["name"] != "Diamond" || cu["companyName"] != "Diamond Industrial Inc." {
		t.Errorf("get_customer answered %v", cu)
	}
	rows := list(t, e.ok("list_customers", map[string]any{}), "customers")
	if len(rows) != 2 || rows[1].(map[string]any)["name"] != "Ruby" {
		t.Errorf("list_customers answered %v", rows)
	}
	ct := obj(t, e.ok("get_customer_contact", map[string]any{"contactId": "cpu01ABCDEFGHIJKLMNO"}), "contact")
	if ct["firstName"] != "George" || ct["timezoneId"] != "3" {
		t.Errorf("get_customer_contact answered %v", ct)
	}
}

// TestUnreachableBill: with nothing listening at BILL's address, a write
// tool answers an isError result saying nothing was sent and what to
// check, not that an answer was lost.
func TestUnreachableBill(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s, err := server.New(server.Options{Client: newBillClient(t, "http://"+addr, nil), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, client: connect(t, s)}
	res := e.call("create_customer", map[string]any{"name": "Nowhere Co"})
	txt := text(res)
	if !res.IsError || !strings.Contains(txt, "BILL_UNREACHABLE") || !strings.Contains(txt, "nothing was sent") ||
		!strings.Contains(txt, "base URL") || strings.Contains(txt, "may or may not") {
		t.Fatalf("create_customer against nothing answered %s", txt)
	}
}
