package billapi

import (
	"fmt"
	"strings"
)

// kind describes one entity to the generic Crud, List, Bulk and
// reconciliation code, so the typed methods stay one-liners.
type kind[T any] struct {
	entity string
	prefix string
	// id returns the object's id.
	id func(*T) string
	// forWrite returns obj as it is sent on create or update: entity set,
	// server-managed fields (timestamps, balances, flags BILL computes) left out.
	forWrite func(obj T) T
	// checkCreate rejects obviously bad create input before it costs a call.
	checkCreate func(op string, obj *T) *Error
	// missingForUpdate names the fields BILL requires on update that obj
	// leaves nil; fill copies them from the current record.
	missingForUpdate func(obj *T) []string
	fill             func(obj *T, cur *T)
	// matchKey identifies a created record for reconciliation: two records
	// with the same key are indistinguishable to the client.
	matchKey func(obj *T) string
	// owners returns the customer ids objs' records belong to, which
	// narrow the reconciliation List; nil for customers themselves.
	// ok=false means none of objs can exist in BILL.
	owners func(objs []T) (ids []string, ok bool)
	// ownerOf returns the customer id one object belongs to ("" for customers).
	ownerOf func(obj *T) string
	// created returns the record's createdTime, for ordering candidates.
	created func(obj *T) string
	// active returns the record's isActive ("1" active, "2" deleted).
	active func(obj *T) string
	// sameItem reports whether got, one item of a Bulk Create answer, is
	// the answer to sent: the same identifying content (updates, deletes
	// and undeletes compare ids with sameID).
	sameItem func(sent, got *T) bool
	// isDuplicate reports BILL's answer to a create that collides with an
	// existing record (customer names are unique: WIRE-DECISIONS.md).
	isDuplicate func(e *Error) bool
}

// norm folds a string for matching: trimmed and case-insensitive.
func norm(p *string) string { return strings.ToLower(strings.TrimSpace(Deref(p))) }

// digits keeps only the decimal digits of s.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// last4 returns the last four digits of an account number, masked or not.
func last4(p *string) string {
	d := digits(Deref(p))
	if len(d) > 4 {
		return d[len(d)-4:]
	}
	return d
}

// checkID verifies that id looks like a BILL id of the given prefix:
// 20 letters and digits starting with prefix.
func checkID(op, what, prefix, id string) *Error {
	ok := len(id) == 20 && strings.HasPrefix(id, prefix)
	for i := 0; ok && i < len(id); i++ {
		ch := id[i]
		ok = ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z'
	}
	if ok {
		return nil
	}
	return &Error{Op: op, Code: CodeLocalInput, Class: ClassInput,
		Message: fmt.Sprintf("%s %q is not a BILL id: it must be 20 letters and digits starting with %q", what, id, prefix)}
}

// validCustomerIDs keeps the distinct well-formed customer ids of ids;
// ok=false when none is left.
func validCustomerIDs(ids []string) ([]string, bool) {
	seen := make(map[string]bool, len(ids))
	var valid []string
	for _, id := range ids {
		if checkID("", "", PrefixCustomer, id) == nil && !seen[id] {
			seen[id] = true
			valid = append(valid, id)
		}
	}
	return valid, len(valid) > 0
}

// activeOr1 is isActive as a create leaves it: "1" unless set.
func activeOr1(p *string) string {
	if p == nil || *p == "" {
		return Active
	}
	return *p
}

// sameID compares ids, for Bulk answers to updates, deletes and undeletes.
func sameID(a, b string) bool { return a != "" && a == b }

// customerKind describes Customer.
func customerKind() kind[Customer] {
	return kind[Customer]{
		entity: EntityCustomer,
		prefix: PrefixCustomer,
		id:     func(o *Customer) string { return o.ID },
		forWrite: func(o Customer) Customer {
			o.Entity = EntityCustomer
			o.CreatedTime, o.UpdatedTime = nil, nil
			o.Balance, o.AvailCredit, o.MergedIntoID = nil, nil, nil
			o.HasBankAccount, o.HasNetBankAccount, o.HasBankAccountAutoPay, o.HasCustomerCard = nil, nil, nil, nil
			// Not in BILL's create/update request schemas: read-only in v2.
			o.TaxID, o.HasAuthorizedToCharge = nil, nil
			return o
		},
		checkCreate: func(op string, o *Customer) *Error {
			if o.ParentCustomerID != nil && *o.ParentCustomerID != "" && *o.ParentCustomerID != UnsetID {
				return checkID(op, "parentCustomerId", PrefixCustomer, *o.ParentCustomerID)
			}
			return nil
		},
		missingForUpdate: func(o *Customer) []string {
			if o.Name == nil {
				return []string{"name"}
			}
			return nil
		},
		fill: func(o, cur *Customer) {
			if o.Name == nil {
				o.Name = cur.Name
			}
		},
		// Names need not be unique at BILL: a lost customer is matched on
		// every identifying field the caller sent ("" and null alike).
		matchKey: func(o *Customer) string {
			return strings.Join([]string{norm(o.Name), norm(o.CompanyName), norm(o.Email), norm(o.AccNumber)}, "\x00")
		},
		owners:  func([]Customer) ([]string, bool) { return nil, true },
		ownerOf: func(*Customer) string { return "" },
		created: func(o *Customer) string { return Deref(o.CreatedTime) },
		active:  func(o *Customer) string { return Deref(o.IsActive) },
		sameItem: func(sent, got *Customer) bool {
			if sent.ID != "" {
				return sameID(sent.ID, got.ID)
			}
			return norm(sent.Name) == norm(got.Name)
		},
		isDuplicate: isDuplicateName,
	}
}

// isDuplicateName recognises WIRE-DECISIONS.md's duplicate-name answer:
// BDC_1119 "Invalid field,value: name, <name>. A customer with this name already exists."
func isDuplicateName(e *Error) bool {
	if e == nil || e.Code != CodeInvalidField {
		return false
	}
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "already exists") && strings.Contains(m, "name")
}

// contactKind describes CustomerContact.
func contactKind() kind[CustomerContact] {
	return kind[CustomerContact]{
		entity: EntityCustomerContact,
		prefix: PrefixCustomerContact,
		id:     func(o *CustomerContact) string { return o.ID },
		forWrite: func(o CustomerContact) CustomerContact {
			o.Entity = EntityCustomerContact
			o.CreatedTime, o.UpdatedTime = nil, nil
			return o
		},
		checkCreate: func(op string, o *CustomerContact) *Error {
			if o.CustomerID != nil {
				return checkID(op, "customerId", PrefixCustomer, *o.CustomerID)
			}
			return nil
		},
		missingForUpdate: func(o *CustomerContact) []string {
			var m []string
			if o.CustomerID == nil {
				m = append(m, "customerId")
			}
			if o.FirstName == nil {
				m = append(m, "firstName")
			}
			if o.Email == nil {
				m = append(m, "email")
			}
			return m
		},
		fill: func(o, cur *CustomerContact) {
			if o.CustomerID == nil {
				o.CustomerID = cur.CustomerID
			}
			if o.FirstName == nil {
				o.FirstName = cur.FirstName
			}
			if o.Email == nil {
				o.Email = cur.Email
			}
		},
		matchKey: func(o *CustomerContact) string {
			return Deref(o.CustomerID) + "\x00" + norm(o.FirstName) + "\x00" + norm(o.LastName) + "\x00" + norm(o.Email)
		},
		owners: func(objs []CustomerContact) ([]string, bool) {
			ids := make([]string, len(objs))
			for i := range objs {
				ids[i] = Deref(objs[i].CustomerID)
			}
			return validCustomerIDs(ids)
		},
		ownerOf: func(o *CustomerContact) string { return Deref(o.CustomerID) },
		created: func(o *CustomerContact) string { return Deref(o.CreatedTime) },
		active:  func(o *CustomerContact) string { return Deref(o.IsActive) },
		sameItem: func(sent, got *CustomerContact) bool {
			if sent.ID != "" {
				return sameID(sent.ID, got.ID)
			}
			return Deref(sent.CustomerID) == Deref(got.CustomerID) && norm(sent.FirstName) == norm(got.FirstName) && norm(sent.Email) == norm(got.Email)
		},
		isDuplicate: func(*Error) bool { return false },
	}
}

// bankAccountKind describes CustomerBankAccount.
func bankAccountKind() kind[CustomerBankAccount] {
	return kind[CustomerBankAccount]{
		entity: EntityCustomerBankAccount,
		prefix: PrefixCustomerBankAccount,
		id:     func(o *CustomerBankAccount) string { return o.ID },
		forWrite: func(o CustomerBankAccount) CustomerBankAccount {
			o.Entity = EntityCustomerBankAccount
			o.CreatedTime, o.UpdatedTime, o.Status, o.RndDepExpireDate = nil, nil, nil, nil
			return o
		},
		checkCreate: func(op string, o *CustomerBankAccount) *Error {
			if o.CustomerID != nil {
				return checkID(op, "customerId", PrefixCustomer, *o.CustomerID)
			}
			return nil
		},
		missingForUpdate: func(*CustomerBankAccount) []string { return nil },
		fill:             func(*CustomerBankAccount, *CustomerBankAccount) {},
		// Only what BILL answers unmasked: the customer, active, and the
		// last digits of the account number. BILL may mask routingNumber
		// ("*****0358") and could normalise nameOnAccount; a customer has
		// at most one active bank account, so this is enough.
		matchKey: func(o *CustomerBankAccount) string {
			return Deref(o.CustomerID) + "\x00" + activeOr1(o.IsActive) + "\x00" + last4(o.AccountNumber)
		},
		owners: func(objs []CustomerBankAccount) ([]string, bool) {
			ids := make([]string, len(objs))
			for i := range objs {
				ids[i] = Deref(objs[i].CustomerID)
			}
			return validCustomerIDs(ids)
		},
		ownerOf: func(o *CustomerBankAccount) string { return Deref(o.CustomerID) },
		created: func(o *CustomerBankAccount) string { return Deref(o.CreatedTime) },
		active:  func(o *CustomerBankAccount) string { return Deref(o.IsActive) },
		sameItem: func(sent, got *CustomerBankAccount) bool {
			if sent.ID != "" {
				return sameID(sent.ID, got.ID)
			}
			return Deref(sent.CustomerID) == Deref(got.CustomerID) && last4(sent.AccountNumber) == last4(got.AccountNumber)
		},
		isDuplicate: func(*Error) bool { return false },
	}
}
