package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

var (
	timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$`)
	idRE        = regexp.MustCompile(`^[0-9A-Za-z]{20}$`)
)

const unset = "00000000000000000000"

func TestLogin(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	demo := emulator.DemoIdentity()
	good := func() url.Values {
		return url.Values{"userName": {demo.UserName}, "password": {demo.Password}, "orgId": {demo.OrgID}, "devKey": {demo.DevKey}}
	}
	tests := []struct {
		name   string
		change func(url.Values)
		code   string
	}{
		{"ok", func(url.Values) {}, ""},
		{"wrong user", func(f url.Values) { f.Set("userName", "someone@else") }, "BDC_1101"},
		{"wrong password", func(f url.Values) { f.Set("password", "nope") }, "BDC_1101"},
		{"wrong devKey", func(f url.Values) { f.Set("devKey", "other-key") }, "BDC_1102"},
		{"missing devKey", func(f url.Values) { f.Del("devKey") }, "BDC_1108"},
		{"wrong org", func(f url.Values) { f.Set("orgId", "00801OTHER0000000001") }, "BDC_1123"},
		{"missing user", func(f url.Values) { f.Del("userName") }, "BDC_1108"},
		{"missing password", func(f url.Values) { f.Del("password") }, "BDC_1108"},
		{"missing org", func(f url.Values) { f.Del("orgId") }, "BDC_1108"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := good()
			tc.change(f)
			env := h.post("/Login.json", f)
			if got := env.code(); got != tc.code {
				t.Fatalf("code = %q (%s), want %q", got, env.msg(), tc.code)
			}
			if tc.code != "" {
				if env.Message != "Error" || env.Status != 1 {
					t.Fatalf("error envelope = %d/%q, want 1/Error", env.Status, env.Message)
				}
				if strings.Contains(string(env.Data), demo.Password) || strings.Contains(string(env.Data), "nope") {
					t.Fatalf("error message echoes a credential: %s", env.Data)
				}
				return
			}
			var d map[string]string
			if err := json.Unmarshal(env.Data, &d); err != nil {
				t.Fatal(err)
			}
			if d["apiEndPoint"] != h.base {
				t.Errorf("apiEndPoint = %q, want %q", d["apiEndPoint"], h.base)
			}
			if d["orgId"] != demo.OrgID {
				t.Errorf("orgId = %q", d["orgId"])
			}
			if !strings.HasPrefix(d["usersId"], "006") || !idRE.MatchString(d["usersId"]) {
				t.Errorf("usersId = %q, want 20 chars starting 006", d["usersId"])
			}
			if d["sessionId"] == "" || d["sessionId"] == h.sid {
				t.Errorf("sessionId = %q, want a new session", d["sessionId"])
			}
		})
	}
}

func TestCustomIdentity(t *testing.T) {
	id := emulator.Identity{UserName: "u@example.com", Password: "pw-from-file", OrgID: "00801ABCDEFGHIJKLMNO", DevKey: "k1"}
	h := newHarness(t, emulator.Config{Identity: id})
	env := h.post("/Login.json", url.Values{"userName": {"demo@bill-mcp.local"}, "password": {"demo-password"}, "orgId": {id.OrgID}, "devKey": {id.DevKey}})
	if env.code() != "BDC_1101" {
		t.Fatalf("demo credentials against a custom identity: code %q, want BDC_1101", env.code())
	}
	info := h.call("/GetSessionInfo.json", nil).object(t)
	if info["organizationId"] != id.OrgID {
		t.Fatalf("organizationId = %v, want %s", info["organizationId"], id.OrgID)
	}
}

func TestSessionCalls(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	info := h.call("/GetSessionInfo.json", nil).object(t)
	if info["organizationId"] != emulator.DemoIdentity().OrgID || !strings.HasPrefix(info["userId"].(string), "006") {
		t.Fatalf("GetSessionInfo = %v", info)
	}
	tests := []struct {
		name string
		form url.Values
		code string
	}{
		{"bogus session", url.Values{"devKey": {h.id.DevKey}, "sessionId": {"not-a-session"}}, "BDC_1109"},
		{"missing session", url.Values{"devKey": {h.id.DevKey}}, "BDC_1108"},
		{"wrong devKey", url.Values{"devKey": {"other"}, "sessionId": {h.sid}}, "BDC_1102"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.post("/GetSessionInfo.json", tc.form).code(); got != tc.code {
				t.Fatalf("code = %q, want %q", got, tc.code)
			}
		})
	}
	t.Run("logout ends the session", func(t *testing.T) {
		env := h.call("/Logout.json", nil)
		if env.Status != 0 || string(env.Data) != "{}" {
			t.Fatalf("Logout = %d %s, want success with {}", env.Status, env.Data)
		}
		if got := h.call("/GetSessionInfo.json", nil).code(); got != "BDC_1109" {
			t.Fatalf("after logout: code %q, want BDC_1109", got)
		}
	})
}

func TestRouting(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	tests := []struct {
		name   string
		path   string
		status int
		code   string
	}{
		{"unknown", "/Crud/Create/Vendor.json", 404, "BDC_1121"},
		{"lower case", "/crud/create/customer.json", 404, "BDC_1121"},
		{"no .json", "/Crud/Read/Customer", 404, "BDC_1121"},
		{"no bank update", "/Crud/Update/CustomerBankAccount.json", 404, "BDC_1121"},
		{"no bank undelete", "/Crud/Undelete/CustomerBankAccount.json", 404, "BDC_1121"},
		{"no bank bulk", "/Bulk/Crud/Create/CustomerBankAccount.json", 404, "BDC_1121"},
		{"no bulk read", "/Bulk/Crud/Read/Customer.json", 404, "BDC_1121"},
		{"known", "/List/Customer.json", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, env := h.postStatus(tc.path, h.form(obj{"start": 0, "max": 10}))
			if status != tc.status || env.code() != tc.code {
				t.Fatalf("HTTP %d %q, want %d %q", status, env.code(), tc.status, tc.code)
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		resp, err := h.srv.Client().Get(h.base + "/List/Customer.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env envelope
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusMethodNotAllowed || env.code() != "BDC_1121" || resp.Header.Get("Allow") != "POST" {
			t.Fatalf("GET: HTTP %d %q Allow=%q", resp.StatusCode, env.code(), resp.Header.Get("Allow"))
		}
	})
	t.Run("JSON body", func(t *testing.T) {
		resp, err := h.srv.Client().Post(h.base+"/GetSessionInfo.json", "application/json", strings.NewReader(`{"devKey":"demo-dev-key"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env envelope
		_ = json.NewDecoder(resp.Body).Decode(&env)
		if env.code() != "BDC_1108" || !strings.Contains(env.msg(), "x-www-form-urlencoded") {
			t.Fatalf("JSON body: %q %q", env.code(), env.msg())
		}
	})
	t.Run("credentials in URL", func(t *testing.T) {
		f := h.form(nil)
		resp, err := h.srv.Client().Post(h.base+"/GetSessionInfo.json?sessionId="+url.QueryEscape(h.sid), "application/x-www-form-urlencoded", strings.NewReader(f.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env envelope
		_ = json.NewDecoder(resp.Body).Decode(&env)
		if env.code() != "BDC_1108" || strings.Contains(env.msg(), h.sid) {
			t.Fatalf("credentials in URL: %q %q", env.code(), env.msg())
		}
	})
}

// seedCustomer is the Create example of seed 001.
func seedCustomer() obj {
	return obj{
		"entity": "Customer", "isActive": "1", "name": "Diamond", "shortName": "Diamond",
		"parentCustomerId": "", "companyName": "Diamond Industrial Inc.",
		"contactFirstName": "George", "contactLastName": "Smith", "accNumber": "212",
		"billAddress1": "123 South North Street", "billAddress2": "Suite 123", "billAddress3": "", "billAddress4": "",
		"billAddressCity": "Santa Clara", "billAddressState": "CA", "billAddressCountry": "USA", "billAddressZip": "95051",
		"shipAddress1": "6868 First Second Avenue", "shipAddress2": "Office 10", "shipAddress3": "", "shipAddress4": "",
		"shipAddressCity": "Saint George", "shipAddressState": "AL", "shipAddressCountry": "USA", "shipAddressZip": "35000",
		"email": "diamond@com.com", "phone": "123-123-1234", "altPhone": "123-123-1256", "fax": "123-123-1235",
		"description": "Industrial diamond company", "printAs": "", "accountType": "1",
	}
}

func TestCreateCustomerLikeSeed(t *testing.T) {
	clock := newFakeClock(time.Date(2016, 12, 9, 21, 38, 40, 0, time.UTC))
	h := newHarness(t, emulator.Config{Now: clock.Now})
	got := h.call("/Crud/Create/Customer.json", obj{"obj": seedCustomer()}).object(t)
	want := map[string]any{
		"entity": "Customer", "isActive": "1", "createdTime": "2016-12-09T21:38:40.000+0000",
		"updatedTime": "2016-12-09T21:38:40.000+0000", "name": "Diamond", "parentCustomerId": unset,
		"billAddress3": nil, "billAddress4": nil, "shipAddress3": nil, "shipAddress4": nil, "printAs": nil,
		"mergedIntoId": unset, "hasAuthorizedToCharge": false, "accountType": "1", "balance": float64(0),
		"companyName": "Diamond Industrial Inc.", "email": "diamond@com.com", "hasBankAccount": false,
		"taxId": nil, "invoiceCurrency": nil,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	id, _ := got["id"].(string)
	if !strings.HasPrefix(id, "0cu") || !idRE.MatchString(id) {
		t.Errorf("id = %q, want 20 chars starting 0cu", id)
	}
	if len(got) != 51 {
		t.Errorf("customer has %d fields, want all 51 of the reference", len(got))
	}
	read := h.call("/Crud/Read/Customer.json", obj{"id": id}).object(t)
	for k, v := range got {
		if read[k] != v {
			t.Errorf("Read %s = %#v, Create answered %#v", k, read[k], v)
		}
	}
}

func TestEntityShapes(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	cust := h.customer("Shapes Inc")
	contact := h.mustCreate("CustomerContact", obj{"customerId": cust, "firstName": "Ann", "email": "ann@shapes.example"})
	bank := h.mustCreate("CustomerBankAccount", obj{"customerId": cust, "nameOnAccount": "Shapes Inc", "routingNumber": "021000021", "accountNumber": "1234567890"})
	tests := []struct {
		name   string
		got    map[string]any
		prefix string
		fields int
		want   map[string]any
	}{
		{"contact", contact, "cpu", 13, map[string]any{"entity": "CustomerContact", "lastName": nil, "timezoneId": nil, "customerId": cust, "isActive": "1"}},
		{"bank account", bank, "cba", 19, map[string]any{"entity": "CustomerBankAccount", "accountNumber": "******7890", "routingNumber": "021000021", "nickname": nil, "isSavings": false, "isPersonalAcct": false, "isPrivate": false, "status": "0", "rndDepExpireDate": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, _ := tc.got["id"].(string)
			if !strings.HasPrefix(id, tc.prefix) || !idRE.MatchString(id) {
				t.Errorf("id = %q, want 20 chars starting %s", id, tc.prefix)
			}
			if len(tc.got) != tc.fields {
				t.Errorf("%d fields, want %d", len(tc.got), tc.fields)
			}
			for _, k := range []string{"createdTime", "updatedTime"} {
				if s, _ := tc.got[k].(string); !timestampRE.MatchString(s) {
					t.Errorf("%s = %q, want BILL's timestamp format", k, s)
				}
			}
			for k, v := range tc.want {
				if tc.got[k] != v {
					t.Errorf("%s = %#v, want %#v", k, tc.got[k], v)
				}
			}
		})
	}
}

// createCase is one create or update attempt that must fail with code and
// leave the store as it was.
type createCase struct {
	name string
	path string
	data any // string: raw data; nil: no data field
	code string
}

func TestInputErrors(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	cust := h.customer("Existing Co")
	contact := h.mustCreate("CustomerContact", obj{"customerId": cust, "firstName": "Bo", "email": "bo@existing.example"})["id"].(string)
	bankObj := func(change obj) obj {
		o := obj{"entity": "CustomerBankAccount", "customerId": cust, "nameOnAccount": "Existing Co", "routingNumber": "021000021", "accountNumber": "000123456789"}
		for k, v := range change {
			if v == nil {
				delete(o, k)
			} else {
				o[k] = v
			}
		}
		return o
	}
	cObj := func(change obj) obj {
		o := obj{"entity": "Customer", "name": "New Co"}
		for k, v := range change {
			if v == nil {
				delete(o, k)
			} else {
				o[k] = v
			}
		}
		return o
	}
	ctObj := func(change obj) obj {
		o := obj{"entity": "CustomerContact", "customerId": cust, "firstName": "Cy", "email": "cy@existing.example"}
		for k, v := range change {
			if v == nil {
				delete(o, k)
			} else {
				o[k] = v
			}
		}
		return o
	}
	const cc, ct, cb = "/Crud/Create/Customer.json", "/Crud/Create/CustomerContact.json", "/Crud/Create/CustomerBankAccount.json"
	tests := []createCase{
		{"no data", cc, nil, "BDC_1108"},
		{"empty data", cc, "", "BDC_1108"},
		{"bad JSON", cc, `{"obj":`, "BDC_1122"},
		{"trailing JSON", cc, `{"obj":{}} x`, "BDC_1122"},
		{"data is an array", cc, `[]`, "BDC_1122"},
		{"no obj", cc, obj{}, "BDC_1108"},
		{"obj is a string", cc, obj{"obj": "x"}, "BDC_1124"},
		{"no entity", cc, obj{"obj": cObj(obj{"entity": nil})}, "BDC_1117"},
		{"entity mismatch", cc, obj{"obj": cObj(obj{"entity": "Vendor"})}, "BDC_1118"},
		{"contact entity on customer path", cc, obj{"obj": ctObj(nil)}, "BDC_1118"},
		{"no name", cc, obj{"obj": cObj(obj{"name": nil})}, "BDC_1117"},
		{"empty name", cc, obj{"obj": cObj(obj{"name": ""})}, "BDC_1117"},
		{"blank name", cc, obj{"obj": cObj(obj{"name": "   "})}, "BDC_1117"},
		{"name is a number", cc, obj{"obj": cObj(obj{"name": 42})}, "BDC_1124"},
		{"isActive 7", cc, obj{"obj": cObj(obj{"isActive": "7"})}, "BDC_1119"},
		{"isActive number", cc, obj{"obj": cObj(obj{"isActive": 1})}, "BDC_1124"},
		{"accountType 9", cc, obj{"obj": cObj(obj{"accountType": "9"})}, "BDC_1119"},
		{"boolean yes", cc, obj{"obj": cObj(obj{"isTaxLiable": "yes"})}, "BDC_1124"},
		{"boolean as string", cc, obj{"obj": cObj(obj{"isTaxLiable": "true"})}, "BDC_1124"},
		{"unknown field", cc, obj{"obj": cObj(obj{"nmae": "x"})}, "BDC_1119"},
		{"bad email", cc, obj{"obj": cObj(obj{"email": "not-an-email"})}, "BDC_1119"},
		{"bad currency", cc, obj{"obj": cObj(obj{"invoiceCurrency": "dollars"})}, "BDC_1119"},
		{"unknown parent", cc, obj{"obj": cObj(obj{"parentCustomerId": "0cu00000000000000000"})}, "BDC_1119"},
		{"duplicate name", cc, obj{"obj": cObj(obj{"name": "existing co "})}, "BDC_1119"},

		{"contact without customerId", ct, obj{"obj": ctObj(obj{"customerId": nil})}, "BDC_1117"},
		{"contact without firstName", ct, obj{"obj": ctObj(obj{"firstName": nil})}, "BDC_1117"},
		{"contact without email", ct, obj{"obj": ctObj(obj{"email": nil})}, "BDC_1117"},
		{"contact bad email", ct, obj{"obj": ctObj(obj{"email": "a@b"})}, "BDC_1119"},
		{"contact timezone 2", ct, obj{"obj": ctObj(obj{"timezoneId": "2"})}, "BDC_1119"},
		{"contact unknown customer", ct, obj{"obj": ctObj(obj{"customerId": "0cu0000000000000zzzz"})}, "BDC_1119"},

		{"bank without TOS", cb, obj{"obj": bankObj(nil)}, "BDC_1117"},
		{"bank TOS false", cb, obj{"obj": bankObj(nil), "agreedWithTOS": false}, "BDC_1119"},
		{"bank TOS string", cb, obj{"obj": bankObj(nil), "agreedWithTOS": "true"}, "BDC_1124"},
		{"bank TOS inside obj", cb, obj{"obj": bankObj(obj{"agreedWithTOS": true})}, "BDC_1119"},
		{"bank nameOnAcct typo", cb, obj{"obj": bankObj(obj{"nameOnAccount": nil, "nameOnAcct": "X"}), "agreedWithTOS": true}, "BDC_1119"},
		{"bank without nameOnAccount", cb, obj{"obj": bankObj(obj{"nameOnAccount": nil}), "agreedWithTOS": true}, "BDC_1117"},
		{"bank without routing", cb, obj{"obj": bankObj(obj{"routingNumber": nil}), "agreedWithTOS": true}, "BDC_1117"},
		{"bank without account", cb, obj{"obj": bankObj(obj{"accountNumber": nil}), "agreedWithTOS": true}, "BDC_1117"},
		{"bank without customer", cb, obj{"obj": bankObj(obj{"customerId": nil}), "agreedWithTOS": true}, "BDC_1117"},
		{"bank routing 5 digits", cb, obj{"obj": bankObj(obj{"routingNumber": "12345"}), "agreedWithTOS": true}, "BDC_1119"},
		{"bank account letters", cb, obj{"obj": bankObj(obj{"accountNumber": "12ab5678"}), "agreedWithTOS": true}, "BDC_1119"},
		{"bank isSavings string", cb, obj{"obj": bankObj(obj{"isSavings": "true"}), "agreedWithTOS": true}, "BDC_1124"},
		{"bank isPersonalAcct maybe", cb, obj{"obj": bankObj(obj{"isPersonalAcct": "maybe"}), "agreedWithTOS": true}, "BDC_1124"},
		{"bank unknown customer", cb, obj{"obj": bankObj(obj{"customerId": "0cu0000000000000zzzz"}), "agreedWithTOS": true}, "BDC_1119"},

		{"read without id", "/Crud/Read/Customer.json", obj{}, "BDC_1108"},
		{"read id number", "/Crud/Read/Customer.json", obj{"id": 7}, "BDC_1124"},
		{"read unknown id", "/Crud/Read/Customer.json", obj{"id": "0cu0000000000000zzzz"}, "BDC_1120"},
		{"read contact id as customer", "/Crud/Read/Customer.json", obj{"id": contact}, "BDC_1120"},
		{"delete unknown id", "/Crud/Delete/CustomerContact.json", obj{"id": "cpu0000000000000zzzz"}, "BDC_1120"},
		{"undelete unknown id", "/Crud/Undelete/Customer.json", obj{"id": "0cu0000000000000zzzz"}, "BDC_1120"},

		{"update without id", "/Crud/Update/Customer.json", obj{"obj": cObj(nil)}, "BDC_1117"},
		{"update unknown id", "/Crud/Update/Customer.json", obj{"obj": cObj(obj{"id": "0cu0000000000000zzzz"})}, "BDC_1120"},
		{"update without name", "/Crud/Update/Customer.json", obj{"obj": obj{"entity": "Customer", "id": cust, "phone": "1"}}, "BDC_1117"},
		{"update bad enum", "/Crud/Update/Customer.json", obj{"obj": cObj(obj{"id": cust, "accountType": "5"})}, "BDC_1119"},
		{"update contact without email", "/Crud/Update/CustomerContact.json", obj{"obj": ctObj(obj{"id": contact, "email": nil})}, "BDC_1117"},
		{"update contact unknown customer", "/Crud/Update/CustomerContact.json", obj{"obj": ctObj(obj{"id": contact, "customerId": "0cu0000000000000zzzz"})}, "BDC_1119"},
		{"update entity mismatch", "/Crud/Update/CustomerContact.json", obj{"obj": cObj(obj{"id": contact})}, "BDC_1118"},
	}
	before := h.e.Stats().Objects
	beforeCust := h.call("/Crud/Read/Customer.json", obj{"id": cust}).object(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := h.call(tc.path, tc.data)
			if env.Status != 1 || env.Message != "Error" || env.code() != tc.code {
				t.Fatalf("got %d %q %q, want error %s", env.Status, env.code(), env.msg(), tc.code)
			}
			if env.msg() == "" {
				t.Fatalf("error %s has no message", tc.code)
			}
			if strings.Contains(env.msg(), "000123456789") || strings.Contains(env.msg(), "12ab5678") {
				t.Fatalf("error message echoes an account number: %s", env.msg())
			}
		})
	}
	after := h.e.Stats().Objects
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s count changed from %d to %d after failed calls", k, v, after[k])
		}
	}
	afterCust := h.call("/Crud/Read/Customer.json", obj{"id": cust}).object(t)
	if afterCust["updatedTime"] != beforeCust["updatedTime"] || afterCust["name"] != beforeCust["name"] {
		t.Errorf("failed updates changed the customer: %v -> %v", beforeCust, afterCust)
	}
}

func TestReadOnlyFieldsIgnored(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	o := h.mustCreate("Customer", obj{
		"name": "RO Co", "id": "0cuMINE0000000000000", "createdTime": "2001-01-01T00:00:00.000+0000",
		"balance": 99.5, "hasBankAccount": true, "mergedIntoId": "0cuX", "taxId": "12-3456789", "hasAuthorizedToCharge": true,
	})
	if o["id"] == "0cuMINE0000000000000" || o["balance"] != float64(0) || o["hasBankAccount"] != false ||
		o["createdTime"] == "2001-01-01T00:00:00.000+0000" || o["mergedIntoId"] != unset || o["taxId"] != nil || o["hasAuthorizedToCharge"] != false {
		t.Fatalf("read-only fields were taken from the request: %v", o)
	}
	// Read-only fields of the wrong type are ignored too (a client may echo a whole entity back).
	o = h.call("/Crud/Update/Customer.json", obj{"obj": obj{"entity": "Customer", "id": o["id"], "name": "RO Co", "balance": "lots", "createdTime": 5}}).object(t)
	if o["balance"] != float64(0) {
		t.Fatalf("balance = %v", o["balance"])
	}
}

func TestUpdateChangesOnlySentFields(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	h := newHarness(t, emulator.Config{Now: clock.Now})
	c := h.mustCreate("Customer", obj{"name": "Upd Co", "companyName": "Upd Company", "email": "a@upd.example", "accountType": "2"})
	clock.Add(90 * time.Second)
	u := h.call("/Crud/Update/Customer.json", obj{"obj": obj{"entity": "Customer", "id": c["id"], "name": "Upd Co", "phone": "555"}}).object(t)
	tests := []struct {
		field string
		want  any
	}{
		{"companyName", "Upd Company"},
		{"email", "a@upd.example"},
		{"accountType", "2"},
		{"phone", "555"},
		{"createdTime", c["createdTime"]},
		{"updatedTime", "2026-03-01T10:01:30.000+0000"},
	}
	for _, tc := range tests {
		if u[tc.field] != tc.want {
			t.Errorf("%s = %#v, want %#v", tc.field, u[tc.field], tc.want)
		}
	}
	u = h.call("/Crud/Update/Customer.json", obj{"obj": obj{"entity": "Customer", "id": c["id"], "name": "Renamed Co", "companyName": "", "email": nil}}).object(t)
	if u["companyName"] != nil || u["email"] != nil || u["name"] != "Renamed Co" || u["phone"] != "555" {
		t.Fatalf("clearing fields: %v", u)
	}
	// The old name is free again; the new one is taken.
	h.customer("upd co")
	if code := h.call("/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": "RENAMED CO"}}).code(); code != "BDC_1119" {
		t.Fatalf("duplicate of renamed customer: code %q", code)
	}
	// Contacts: update needs customerId, firstName, email; lastName kept.
	ct := h.mustCreate("CustomerContact", obj{"customerId": c["id"], "firstName": "A", "lastName": "B", "email": "ab@upd.example", "timezoneId": "6"})
	u = h.call("/Crud/Update/CustomerContact.json", obj{"obj": obj{"entity": "CustomerContact", "id": ct["id"], "customerId": c["id"], "firstName": "Al", "email": "al@upd.example"}}).object(t)
	if u["firstName"] != "Al" || u["lastName"] != "B" || u["timezoneId"] != "6" {
		t.Fatalf("contact update: %v", u)
	}
}

func TestUniqueNames(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	acme := h.customer("Acme")
	other := h.customer("Other")
	tests := []struct {
		name string
		path string
		data obj
		code string
	}{
		{"same name", "/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": "Acme"}}, "BDC_1119"},
		{"case and spaces", "/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": "  aCME "}}, "BDC_1119"},
		{"update to taken name", "/Crud/Update/Customer.json", obj{"obj": obj{"entity": "Customer", "id": other, "name": "ACME"}}, "BDC_1119"},
		{"update to own name, new case", "/Crud/Update/Customer.json", obj{"obj": obj{"entity": "Customer", "id": acme, "name": "ACME"}}, ""},
		{"delete keeps the name", "/Crud/Delete/Customer.json", obj{"id": acme}, ""},
		{"inactive still holds it", "/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": "acme"}}, "BDC_1119"},
		{"different name", "/Crud/Create/Customer.json", obj{"obj": obj{"entity": "Customer", "name": "Acme 2"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := h.call(tc.path, tc.data)
			if env.code() != tc.code {
				t.Fatalf("code %q (%s), want %q", env.code(), env.msg(), tc.code)
			}
			if tc.code == "BDC_1119" && !strings.Contains(env.msg(), "already exists") {
				t.Fatalf("message %q does not say the name exists", env.msg())
			}
		})
	}
}

func TestSoftDeleteAndUndelete(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	h := newHarness(t, emulator.Config{Now: clock.Now})
	cust := h.customer("Soft Co")
	contact := h.mustCreate("CustomerContact", obj{"customerId": cust, "firstName": "S", "email": "s@soft.example"})["id"].(string)
	for _, tc := range []struct {
		entity, id string
	}{{"Customer", cust}, {"CustomerContact", contact}} {
		t.Run(tc.entity, func(t *testing.T) {
			clock.Add(time.Minute)
			d := h.call("/Crud/Delete/"+tc.entity+".json", obj{"id": tc.id}).object(t)
			if d["isActive"] != "2" {
				t.Fatalf("after delete isActive = %v", d["isActive"])
			}
			clock.Add(time.Minute)
			again := h.call("/Crud/Delete/"+tc.entity+".json", obj{"id": tc.id}).object(t)
			if again["updatedTime"] != d["updatedTime"] || again["isActive"] != "2" {
				t.Fatalf("second delete changed the entity: %v -> %v", d, again)
			}
			r := h.call("/Crud/Read/"+tc.entity+".json", obj{"id": tc.id}).object(t)
			if r["isActive"] != "2" {
				t.Fatalf("read after delete: isActive %v", r["isActive"])
			}
			u := h.call("/Crud/Undelete/"+tc.entity+".json", obj{"id": tc.id}).object(t)
			if u["isActive"] != "1" || u["updatedTime"] == d["updatedTime"] {
				t.Fatalf("undelete: %v", u)
			}
			u2 := h.call("/Crud/Undelete/"+tc.entity+".json", obj{"id": tc.id}).object(t)
			if u2["isActive"] != "1" || u2["updatedTime"] != u["updatedTime"] {
				t.Fatalf("second undelete: %v", u2)
			}
		})
	}
}

func TestBankAccounts(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	cust := h.customer("Bank Co")
	mk := func(acct string) envelope {
		return h.call("/Crud/Create/CustomerBankAccount.json", obj{"agreedWithTOS": true, "obj": obj{
			"entity": "CustomerBankAccount", "customerId": cust, "nameOnAccount": "Bank Co",
			"routingNumber": "021000021", "accountNumber": acct, "isSavings": true,
		}})
	}
	first := mk("9876543210").object(t)
	if first["accountNumber"] != "******3210" || first["isSavings"] != true {
		t.Fatalf("create: %v", first)
	}
	if c := h.call("/Crud/Read/Customer.json", obj{"id": cust}).object(t); c["hasBankAccount"] != true {
		t.Fatalf("customer hasBankAccount = %v with an active account", c["hasBankAccount"])
	}
	second := mk("1111222233")
	if second.code() != "BDC_1119" || !strings.Contains(second.msg(), "active bank account") {
		t.Fatalf("second active account: %q %q", second.code(), second.msg())
	}
	for _, path := range []string{"/Crud/Read/CustomerBankAccount.json", "/Crud/Delete/CustomerBankAccount.json"} {
		got := h.call(path, obj{"id": first["id"]}).object(t)
		if got["accountNumber"] != "******3210" {
			t.Fatalf("%s: accountNumber %v", path, got["accountNumber"])
		}
	}
	if c := h.call("/Crud/Read/Customer.json", obj{"id": cust}).object(t); c["hasBankAccount"] != false {
		t.Fatalf("customer hasBankAccount = %v after delete", c["hasBankAccount"])
	}
	mk("5555666677").object(t)
	rows := h.call("/List/CustomerBankAccount.json", obj{"start": 0, "max": 10, "filters": []obj{{"field": "customerId", "op": "=", "value": cust}}}).list(t)
	if len(rows) != 2 {
		t.Fatalf("list: %d rows, want 2 (inactive included)", len(rows))
	}
	for _, r := range rows {
		if s, _ := r["accountNumber"].(string); !strings.HasPrefix(s, "******") || len(s) != 10 {
			t.Fatalf("list row accountNumber %q not masked", s)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ex := range h.log {
		for _, full := range []string{"9876543210", "1111222233", "5555666677"} {
			if strings.Contains(string(ex.body), full) {
				t.Fatalf("%s answered a full account number", ex.path)
			}
		}
	}
}

func TestBulk(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	items := []any{
		obj{"obj": obj{"entity": "Customer", "name": "Bulk A"}},
		obj{"obj": obj{"entity": "Customer"}},                   // missing name
		obj{"obj": obj{"entity": "Customer", "name": "bulk a"}}, // duplicate of item 0
		"not an object",
		obj{"obj": obj{"entity": "CustomerContact", "name": "X"}}, // wrong entity
		obj{"obj": obj{"entity": "Customer", "name": "Bulk B", "isTaxLiable": true}},
	}
	res := h.call("/Bulk/Crud/Create/Customer.json", obj{"bulk": items}).bulk(t)
	wantCodes := []string{"", "BDC_1117", "BDC_1119", "BDC_1124", "BDC_1118", ""}
	if len(res) != len(wantCodes) {
		t.Fatalf("%d results for %d items", len(res), len(wantCodes))
	}
	var ids []any
	for i, r := range res {
		if r.code() != wantCodes[i] {
			t.Errorf("item %d: code %q (%s), want %q", i, r.code(), r.msg(), wantCodes[i])
		}
		if r.Status == 0 {
			o := r.object(t)
			ids = append(ids, o["id"])
			if i == 5 && o["isTaxLiable"] != true {
				t.Errorf("item 5 isTaxLiable = %v", o["isTaxLiable"])
			}
		}
	}
	if n := h.e.Stats().Objects["Customer"]; n != 2 {
		t.Fatalf("%d customers stored, want the 2 good items", n)
	}
	del := h.call("/Bulk/Crud/Delete/Customer.json", obj{"bulk": []obj{{"id": ids[0]}, {"id": "0cu0000000000000zzzz"}, {"id": ids[1]}}}).bulk(t)
	if del[0].object(t)["isActive"] != "2" || del[1].code() != "BDC_1120" || del[2].object(t)["isActive"] != "2" {
		t.Fatalf("bulk delete: %v", del)
	}
	und := h.call("/Bulk/Crud/Undelete/Customer.json", obj{"bulk": []obj{{"id": ids[1]}}}).bulk(t)
	if und[0].object(t)["isActive"] != "1" {
		t.Fatalf("bulk undelete: %v", und)
	}
	upd := h.call("/Bulk/Crud/Update/Customer.json", obj{"bulk": []obj{
		{"obj": obj{"entity": "Customer", "id": ids[0], "name": "Bulk A2"}},
		{"obj": obj{"entity": "Customer", "id": ids[1], "name": "Bulk A2"}}, // now taken by item 0
	}}).bulk(t)
	if upd[0].object(t)["name"] != "Bulk A2" || upd[1].code() != "BDC_1119" {
		t.Fatalf("bulk update: %v", upd)
	}

	big := make([]obj, 101)
	for i := range big {
		big[i] = obj{"obj": obj{"entity": "Customer", "name": "Big " + string(rune('A'+i%26)) + strings.Repeat("x", i)}}
	}
	hundred := make([]obj, 100)
	for i := range hundred {
		hundred[i] = obj{"obj": obj{"entity": "Customer", "name": "Hundred " + strings.Repeat("y", i+1)}}
	}
	tests := []struct {
		name string
		data any
		code string
		n    int
	}{
		{"101 items", obj{"bulk": big}, "BDC_1129", 0},
		{"no items", obj{"bulk": []obj{}}, "BDC_1129", 0},
		{"no bulk", obj{}, "BDC_1108", 0},
		{"bulk not array", obj{"bulk": obj{}}, "BDC_1124", 0},
		{"100 items", obj{"bulk": hundred}, "", 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.e.Stats().Objects["Customer"]
			env := h.call("/Bulk/Crud/Create/Customer.json", tc.data)
			if env.code() != tc.code {
				t.Fatalf("code %q (%s), want %q", env.code(), env.msg(), tc.code)
			}
			if got := h.e.Stats().Objects["Customer"] - before; got != tc.n {
				t.Fatalf("%d customers added, want %d", got, tc.n)
			}
		})
	}
}

func TestContactBulk(t *testing.T) {
	h := newHarness(t, emulator.Config{})
	cust := h.customer("Contact Bulk Co")
	res := h.call("/Bulk/Crud/Create/CustomerContact.json", obj{"bulk": []obj{
		{"obj": obj{"entity": "CustomerContact", "customerId": cust, "firstName": "A", "email": "a@cb.example"}},
		{"obj": obj{"entity": "CustomerContact", "customerId": "0cu0000000000000zzzz", "firstName": "B", "email": "b@cb.example"}},
	}}).bulk(t)
	if res[0].Status != 0 || res[1].code() != "BDC_1119" {
		t.Fatalf("contact bulk: %v", res)
	}
	id := res[0].object(t)["id"]
	for _, op := range []string{"Delete", "Undelete"} {
		r := h.call("/Bulk/Crud/"+op+"/CustomerContact.json", obj{"bulk": []obj{{"id": id}}}).bulk(t)
		if r[0].Status != 0 {
			t.Fatalf("%s: %s", op, r[0].code())
		}
	}
	u := h.call("/Bulk/Crud/Update/CustomerContact.json", obj{"bulk": []obj{{"obj": obj{"entity": "CustomerContact", "id": id, "customerId": cust, "firstName": "Z", "email": "z@cb.example"}}}}).bulk(t)
	if u[0].object(t)["firstName"] != "Z" {
		t.Fatalf("bulk update contact: %v", u)
	}
}
