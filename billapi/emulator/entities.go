package emulator

import (
	"strings"
)

// This file describes the three entities as BILL's v2 reference lists them
// (the facts are kept in ../testdata/wire-schemas.json): every
// response field in response order, its JSON type, enum values, whether it
// is read-only (absent from the Create/Update request schemas), filterable
// ("You can filter with this field") and required.

// fieldType is a field's JSON type on the wire.
type fieldType uint8

const (
	tString fieldType = iota
	tBool
	tNumber
)

// fieldDef describes one field of an entity.
type fieldDef struct {
	name       string
	typ        fieldType
	enum       []string // allowed values of an enum carried as a string
	ref        bool     // an id reference: unset is unsetID, never null
	readOnly   bool     // not in the request schemas: ignored on create/update
	filterable bool     // List may filter on it
	timestamp  bool     // createdTime/updatedTime: filters compare instants
	reqCreate  bool     // required on Create
	reqUpdate  bool     // required on Update (besides id)
	def        any      // value when not sent on Create (nil => null, refs => unsetID)
	// check validates a non-empty string value; it returns a problem
	// description or "" when the value is fine.
	check func(string) string
	// secret values are never echoed in error messages.
	secret bool
}

// entityKind tells the store which entity-specific rules apply.
type entityKind uint8

const (
	kindCustomer entityKind = iota
	kindContact
	kindBankAccount
	numKinds
)

// entityDef is one entity: its name, id prefix and fields.
type entityDef struct {
	kind    entityKind
	name    string
	prefix  string
	fields  []fieldDef
	index   map[string]int
	canEdit bool // has Update and Undelete

	// positions of fields with special handling; -1 when absent.
	nameIdx, customerIdx, parentIdx, maskIdx, routingIdx, hasBankIdx int
	// filterNames lists the filterable fields, for error messages.
	filterNames string
}

// Positions shared by all three entities.
const (
	fEntity  = 0
	fID      = 1
	fActive  = 2
	fCreated = 3
	fUpdated = 4
)

// Wire constants.
const (
	unsetID  = "00000000000000000000"
	active   = "1"
	inactive = "2"
)

var enumActive = []string{active, inactive}

// commonHead is the five fields every entity starts with.
func commonHead() []fieldDef {
	return []fieldDef{
		{name: "entity"},
		{name: "id", readOnly: true, filterable: true},
		{name: "isActive", enum: enumActive, filterable: true, def: active},
		{name: "createdTime", readOnly: true, filterable: true, timestamp: true},
		{name: "updatedTime", readOnly: true, filterable: true, timestamp: true},
	}
}

func str(name string) fieldDef { return fieldDef{name: name} }

func customerDef() *entityDef {
	f := commonHead()
	f = append(f,
		fieldDef{name: "name", reqCreate: true, reqUpdate: true},
		str("shortName"),
		fieldDef{name: "parentCustomerId", ref: true, filterable: true},
		str("companyName"), str("contactFirstName"), str("contactLastName"), str("accNumber"),
		str("billAddress1"), str("billAddress2"), str("billAddress3"), str("billAddress4"),
		str("billAddressCity"), str("billAddressState"), str("billAddressCountry"), str("billAddressZip"),
		str("shipAddress1"), str("shipAddress2"), str("shipAddress3"), str("shipAddress4"),
		str("shipAddressCity"), str("shipAddressState"), str("shipAddressCountry"), str("shipAddressZip"),
		fieldDef{name: "email", check: checkEmail},
		str("phone"), str("altPhone"), str("fax"), str("description"),
		fieldDef{name: "invoiceCurrency", filterable: true, check: checkCurrency},
		str("printAs"),
		fieldDef{name: "mergedIntoId", ref: true, readOnly: true, filterable: true},
		fieldDef{name: "hasAuthorizedToCharge", typ: tBool, readOnly: true, filterable: true, def: false},
		fieldDef{name: "accountType", enum: []string{"0", "1", "2"}, filterable: true, def: "0"},
		fieldDef{name: "paymentTermId", ref: true, filterable: true},
		fieldDef{name: "balance", typ: tNumber, readOnly: true, filterable: true, def: float64(0)},
		fieldDef{name: "availCredit", typ: tNumber, readOnly: true, def: float64(0)},
		fieldDef{name: "taxId", readOnly: true},
		fieldDef{name: "hasBankAccount", typ: tBool, readOnly: true, def: false},
		fieldDef{name: "hasNetBankAccount", typ: tBool, readOnly: true, def: false},
		fieldDef{name: "hasBankAccountAutoPay", typ: tBool, readOnly: true, def: false},
		fieldDef{name: "defaultDeliveryMethod", enum: []string{"0", "1"}, filterable: true, def: "0"},
		fieldDef{name: "isAutoChargeDismissed", typ: tBool, filterable: true, def: false},
		fieldDef{name: "isTaxLiable", typ: tBool, filterable: true, def: false},
		fieldDef{name: "creationSource", enum: []string{"0", "1", "2"}, filterable: true, def: "0"},
		fieldDef{name: "enabledInvoiceFinancing", typ: tBool, def: false},
		fieldDef{name: "hasCustomerCard", typ: tBool, readOnly: true, def: false},
	)
	return finishDef(&entityDef{kind: kindCustomer, name: "Customer", prefix: "0cu", fields: f, canEdit: true})
}

func contactDef() *entityDef {
	f := commonHead()
	f = append(f,
		fieldDef{name: "customerId", ref: true, filterable: true, reqCreate: true, reqUpdate: true},
		fieldDef{name: "firstName", reqCreate: true, reqUpdate: true},
		str("lastName"),
		fieldDef{name: "email", reqCreate: true, reqUpdate: true, check: checkEmail},
		str("phone"), str("altPhone"), str("fax"),
		fieldDef{name: "timezoneId", enum: []string{"3", "4", "5", "6"}, filterable: true},
	)
	return finishDef(&entityDef{kind: kindContact, name: "CustomerContact", prefix: "cpu", fields: f, canEdit: true})
}

func bankAccountDef() *entityDef {
	f := commonHead()
	f = append(f,
		fieldDef{name: "customerId", ref: true, filterable: true, reqCreate: true},
		fieldDef{name: "nameOnAccount", reqCreate: true},
		str("nickname"),
		fieldDef{name: "routingNumber", reqCreate: true, check: checkRouting},
		fieldDef{name: "accountNumber", reqCreate: true, check: checkAccountNumber, secret: true},
		fieldDef{name: "isLockedByOrg", typ: tBool, def: false},
		// Booleans on the wire, as BILL answers them (its support article,
		// its Java client and a 2024 sandbox capture); the OpenAPI
		// transcription's "string" is wrong.
		fieldDef{name: "isSavings", typ: tBool, def: false},
		fieldDef{name: "isPersonalAcct", typ: tBool, def: false},
		fieldDef{name: "isWrittenAuth", typ: tBool, def: false},
		fieldDef{name: "isPrivate", typ: tBool, def: false},
		str("phone"),
		str("cpUserId"),
		fieldDef{name: "status", enum: []string{"0", "1", "2", "3", "4", "5"}, readOnly: true, def: "0"},
		fieldDef{name: "rndDepExpireDate", readOnly: true},
	)
	return finishDef(&entityDef{kind: kindBankAccount, name: "CustomerBankAccount", prefix: "cba", fields: f})
}

func finishDef(d *entityDef) *entityDef {
	d.index = make(map[string]int, len(d.fields))
	var filt []string
	for i, fd := range d.fields {
		d.index[fd.name] = i
		if fd.filterable {
			filt = append(filt, fd.name)
		}
	}
	pos := func(name string) int {
		if i, ok := d.index[name]; ok {
			return i
		}
		return -1
	}
	d.nameIdx = pos("name")
	d.customerIdx = pos("customerId")
	d.parentIdx = pos("parentCustomerId")
	d.hasBankIdx = pos("hasBankAccount")
	d.maskIdx, d.routingIdx = -1, -1
	if d.kind == kindBankAccount {
		d.maskIdx = pos("accountNumber")
		d.routingIdx = pos("routingNumber")
	}
	d.filterNames = strings.Join(filt, ", ")
	return d
}

// checkEmail is a deliberately plain address check: one @, something before
// it, a dot in the domain, no spaces.
func checkEmail(s string) string {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || strings.ContainsAny(s, " \t\r\n,;<>") {
		return "not an email address"
	}
	dom := s[at+1:]
	dot := strings.LastIndexByte(dom, '.')
	if dot <= 0 || dot == len(dom)-1 {
		return "not an email address"
	}
	return ""
}

// checkCurrency wants a three-letter currency code such as USD.
func checkCurrency(s string) string {
	if len(s) != 3 {
		return "must be a three-letter currency code such as USD"
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return "must be a three-letter currency code such as USD"
		}
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkRouting wants a 9-digit ABA routing number (the checksum is not
// verified: BILL checks against its bank directory, which we cannot).
func checkRouting(s string) string {
	if len(s) != 9 || !allDigits(s) {
		return "must be exactly 9 digits"
	}
	return ""
}

// checkAccountNumber wants 4 to 17 digits (US ACH account numbers).
func checkAccountNumber(s string) string {
	if len(s) < 4 || len(s) > 17 || !allDigits(s) {
		return "must be 4 to 17 digits"
	}
	return ""
}

// mask renders an account number as BILL does: six asterisks and the last
// four digits.
func mask(s string) string {
	if len(s) <= 4 {
		return "******" + s
	}
	return "******" + s[len(s)-4:]
}

// maskRouting renders a routing number as BILL's support article shows it:
// five asterisks and the last four digits.
func maskRouting(s string) string {
	if len(s) <= 4 {
		return "*****" + s
	}
	return "*****" + s[len(s)-4:]
}
