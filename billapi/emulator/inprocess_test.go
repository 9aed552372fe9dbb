package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

// inproc drives an emulator through ServeHTTP directly, without sockets,
// for the fuzz target and the benchmarks.
type inproc struct {
	tb  testing.TB
	e   *emulator.Emulator
	id  emulator.Identity
	sid string
}

func newInproc(tb testing.TB, cfg emulator.Config) *inproc {
	tb.Helper()
	p := &inproc{tb: tb, e: emulator.New(cfg), id: emulator.DemoIdentity()}
	rec := p.do("/Login.json", url.Values{"userName": {p.id.UserName}, "password": {p.id.Password}, "orgId": {p.id.OrgID}, "devKey": {p.id.DevKey}}.Encode())
	var env struct {
		Data struct {
			SessionID string `json:"sessionId"`
		} `json:"response_data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Data.SessionID == "" {
		tb.Fatalf("login: %v %s", err, rec.Body.Bytes())
	}
	p.sid = env.Data.SessionID
	return p
}

// do posts an encoded form body to path.
func (p *inproc) do(path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "http://emulator.test/api/v2"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	p.e.ServeHTTP(rec, req)
	return rec
}

// body encodes an authenticated form with data.
func (p *inproc) body(data string) string {
	return url.Values{"devKey": {p.id.DevKey}, "sessionId": {p.sid}, "data": {data}}.Encode()
}

// dataPaths are the 24 operations that take data.
var dataPaths = []string{
	"/Crud/Create/Customer.json", "/Crud/Read/Customer.json", "/Crud/Update/Customer.json", "/Crud/Delete/Customer.json", "/Crud/Undelete/Customer.json",
	"/List/Customer.json", "/Bulk/Crud/Create/Customer.json", "/Bulk/Crud/Update/Customer.json", "/Bulk/Crud/Delete/Customer.json", "/Bulk/Crud/Undelete/Customer.json",
	"/Crud/Create/CustomerContact.json", "/Crud/Read/CustomerContact.json", "/Crud/Update/CustomerContact.json", "/Crud/Delete/CustomerContact.json", "/Crud/Undelete/CustomerContact.json",
	"/List/CustomerContact.json", "/Bulk/Crud/Create/CustomerContact.json", "/Bulk/Crud/Update/CustomerContact.json", "/Bulk/Crud/Delete/CustomerContact.json", "/Bulk/Crud/Undelete/CustomerContact.json",
	"/Crud/Create/CustomerBankAccount.json", "/Crud/Read/CustomerBankAccount.json", "/Crud/Delete/CustomerBankAccount.json", "/List/CustomerBankAccount.json",
}

// inputCodes are the codes bad data may earn; anything else (a system
// error, a session or limit error) would be a bug.
var inputCodes = regexp.MustCompile(`^BDC_11(08|17|18|19|20|22|24|29|30|31)$`)

// FuzzParseData feeds arbitrary data (and, through raw, arbitrary form
// bodies) to every data-taking operation and checks the emulator always
// answers a well-formed envelope with an input-error code or a success of
// the right shape, never panics, and never leaks an account number.
func FuzzParseData(f *testing.F) {
	seeds := []string{
		`{"obj":{"entity":"Customer","name":"Fuzz"}}`,
		`{"obj":{"entity":"Customer","id":"$CID","name":"Fuzz 2","isActive":"2"}}`,
		`{"obj":{"entity":"CustomerContact","customerId":"$CID","firstName":"F","email":"f@x.io","timezoneId":"4"}}`,
		`{"obj":{"entity":"CustomerBankAccount","customerId":"$CID","nameOnAccount":"N","routingNumber":"021000021","accountNumber":"123456789"},"agreedWithTOS":true}`,
		`{"id":"$CID"}`,
		`{"start":0,"max":999,"filters":[{"field":"isActive","op":"in","value":"1,2"}],"sort":[{"field":"name","asc":"false"}]}`,
		`{"start":0,"max":5,"filters":[{"field":"createdTime","op":">","value":"2020-01-01"}]}`,
		`{"bulk":[{"obj":{"entity":"Customer","name":"B1"}},{"id":"$CID"},7,null]}`,
		`{"obj":null}`, `[]`, `null`, `{"obj":{"entity":"Customer","name":"\u0000\ud800"}}`, `{`, ``,
	}
	for i, s := range seeds {
		f.Add(uint8(i), s, false)
	}
	f.Add(uint8(0), "devKey=demo-dev-key&data=%7B%7D&data=x", true)
	f.Add(uint8(5), "devKey=demo-dev-key&sessionId=%zz", true)
	p := newInproc(f, emulator.Config{HourlyLimit: 1 << 30})
	anchor := ""
	f.Fuzz(func(t *testing.T, op uint8, data string, raw bool) {
		if anchor == "" || p.e.Stats().Objects["Customer"] > 2000 {
			p.e.Reset()
			rec := p.do("/Crud/Create/Customer.json", p.body(`{"obj":{"entity":"Customer","name":"Anchor"}}`))
			var env struct {
				Data struct{ ID string } `json:"response_data"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &env)
			anchor = env.Data.ID
		}
		path := dataPaths[int(op)%len(dataPaths)]
		body := data
		if !raw {
			body = p.body(strings.ReplaceAll(data, "$CID", anchor))
		}
		rec := p.do(path, body)
		if rec.Code != http.StatusOK && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: HTTP %d", path, rec.Code)
		}
		var env struct {
			Status  int             `json:"response_status"`
			Message string          `json:"response_message"`
			Data    json.RawMessage `json:"response_data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("%s: answer is not JSON: %v: %q", path, err, rec.Body.Bytes())
		}
		switch env.Status {
		case 0:
			if env.Message != "Success" || len(env.Data) == 0 {
				t.Fatalf("%s: bad success envelope %s", path, rec.Body.Bytes())
			}
		case 1:
			var e struct {
				Code    string `json:"error_code"`
				Message string `json:"error_message"`
			}
			if err := json.Unmarshal(env.Data, &e); err != nil || e.Message == "" || env.Message != "Error" {
				t.Fatalf("%s: bad error envelope %s", path, rec.Body.Bytes())
			}
			if !raw && !inputCodes.MatchString(e.Code) {
				t.Fatalf("%s: data %q earned %s: %s", path, data, e.Code, e.Message)
			}
		default:
			t.Fatalf("%s: response_status %d", path, env.Status)
		}
		if strings.Contains(path, "BankAccount") && strings.Contains(rec.Body.String(), `"accountNumber":"`) &&
			!strings.Contains(rec.Body.String(), `"accountNumber":"******`) {
			t.Fatalf("%s: unmasked account number: %s", path, rec.Body.Bytes())
		}
	})
}

func BenchmarkCreateCustomer(b *testing.B) {
	p := newInproc(b, emulator.Config{HourlyLimit: 1 << 30})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		rec := p.do("/Crud/Create/Customer.json", p.body(fmt.Sprintf(`{"obj":{"entity":"Customer","name":"Bench %d","companyName":"Bench Co","email":"bench@example.com","accountType":"1","billAddressCity":"Oakland"}}`, i)))
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), `{"response_status":0`) {
			b.Fatalf("create: %s", rec.Body.Bytes())
		}
	}
}

func BenchmarkList10k(b *testing.B) {
	p := newInproc(b, emulator.Config{HourlyLimit: 1 << 30})
	for chunk := range 100 {
		items := make([]string, 100)
		for i := range items {
			items[i] = fmt.Sprintf(`{"obj":{"entity":"Customer","name":"L%05d","accountType":"%d"}}`, chunk*100+i, i%3)
		}
		rec := p.do("/Bulk/Crud/Create/Customer.json", p.body(`{"bulk":[`+strings.Join(items, ",")+`]}`))
		if strings.Contains(rec.Body.String(), `"response_status":1`) {
			b.Fatalf("setup: %s", rec.Body.String()[:300])
		}
	}
	if n := p.e.Stats().Objects["Customer"]; n != 10000 {
		b.Fatalf("%d customers", n)
	}
	body := p.body(`{"start":100,"max":999,"filters":[{"field":"isActive","op":"=","value":"1"},{"field":"accountType","op":"in","value":"1,2"},{"field":"createdTime","op":">=","value":"2000-01-01"}],"sort":[{"field":"name","asc":"false"}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := p.do("/List/Customer.json", body)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), `{"response_status":0`) {
			b.Fatalf("list: %.300s", rec.Body.String())
		}
	}
}
