package tools

import (
	"strings"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// The views below are what the tools answer: BILL's entities with the same
// fields in the same order (so a Go conversion maps them), minus the
// "entity" marker, with descriptions for the output schemas.

// customerView is a customer as the tools answer it.
type customerView struct {
	Entity                  string   `json:"-"`
	ID                      string   `json:"id" jsonschema:"required" jsonschema_description:"Customer id, 0cu followed by 17 letters or digits."`
	IsActive                *string  `json:"isActive,omitempty" jsonschema_description:"1 active, 2 inactive (soft-deleted)."`
	CreatedTime             *string  `json:"createdTime,omitempty"`
	UpdatedTime             *string  `json:"updatedTime,omitempty"`
	Name                    *string  `json:"name,omitempty" jsonschema_description:"Unique customer name."`
	ShortName               *string  `json:"shortName,omitempty"`
	ParentCustomerID        *string  `json:"parentCustomerId,omitempty" jsonschema_description:"Parent customer id; 00000000000000000000 means none."`
	CompanyName             *string  `json:"companyName,omitempty"`
	ContactFirstName        *string  `json:"contactFirstName,omitempty"`
	ContactLastName         *string  `json:"contactLastName,omitempty"`
	AccNumber               *string  `json:"accNumber,omitempty"`
	BillAddress1            *string  `json:"billAddress1,omitempty"`
	BillAddress2            *string  `json:"billAddress2,omitempty"`
	BillAddress3            *string  `json:"billAddress3,omitempty"`
	BillAddress4            *string  `json:"billAddress4,omitempty"`
	BillAddressCity         *string  `json:"billAddressCity,omitempty"`
	BillAddressState        *string  `json:"billAddressState,omitempty"`
	BillAddressCountry      *string  `json:"billAddressCountry,omitempty"`
	BillAddressZip          *string  `json:"billAddressZip,omitempty"`
	ShipAddress1            *string  `json:"shipAddress1,omitempty"`
	ShipAddress2            *string  `json:"shipAddress2,omitempty"`
	ShipAddress3            *string  `json:"shipAddress3,omitempty"`
	ShipAddress4            *string  `json:"shipAddress4,omitempty"`
	ShipAddressCity         *string  `json:"shipAddressCity,omitempty"`
	ShipAddressState        *string  `json:"shipAddressState,omitempty"`
	ShipAddressCountry      *string  `json:"shipAddressCountry,omitempty"`
	ShipAddressZip          *string  `json:"shipAddressZip,omitempty"`
	Email                   *string  `json:"email,omitempty"`
	Phone                   *string  `json:"phone,omitempty"`
	AltPhone                *string  `json:"altPhone,omitempty"`
	Fax                     *string  `json:"fax,omitempty"`
	Description             *string  `json:"description,omitempty"`
	InvoiceCurrency         *string  `json:"invoiceCurrency,omitempty"`
	PrintAs                 *string  `json:"printAs,omitempty"`
	MergedIntoID            *string  `json:"mergedIntoId,omitempty"`
	HasAuthorizedToCharge   *bool    `json:"hasAuthorizedToCharge,omitempty"`
	AccountType             *string  `json:"accountType,omitempty" jsonschema_description:"0 none, 1 business, 2 person."`
	PaymentTermID           *string  `json:"paymentTermId,omitempty"`
	Balance                 *float64 `json:"balance,omitempty"`
	AvailCredit             *float64 `json:"availCredit,omitempty"`
	TaxID                   *string  `json:"taxId,omitempty"`
	HasBankAccount          *bool    `json:"hasBankAccount,omitempty"`
	HasNetBankAccount       *bool    `json:"hasNetBankAccount,omitempty"`
	HasBankAccountAutoPay   *bool    `json:"hasBankAccountAutoPay,omitempty"`
	DefaultDeliveryMethod   *string  `json:"defaultDeliveryMethod,omitempty" jsonschema_description:"0 email, 1 US mail."`
	IsAutoChargeDismissed   *bool    `json:"isAutoChargeDismissed,omitempty"`
	IsTaxLiable             *bool    `json:"isTaxLiable,omitempty"`
	CreationSource          *string  `json:"creationSource,omitempty"`
	EnabledInvoiceFinancing *bool    `json:"enabledInvoiceFinancing,omitempty"`
	HasCustomerCard         *bool    `json:"hasCustomerCard,omitempty"`
}

// contactView is a customer contact as the tools answer it.
type contactView struct {
	Entity      string  `json:"-"`
	ID          string  `json:"id" jsonschema:"required" jsonschema_description:"Contact id, cpu followed by 17 letters or digits."`
	IsActive    *string `json:"isActive,omitempty" jsonschema_description:"1 active, 2 inactive (soft-deleted)."`
	CreatedTime *string `json:"createdTime,omitempty"`
	UpdatedTime *string `json:"updatedTime,omitempty"`
	CustomerID  *string `json:"customerId,omitempty" jsonschema_description:"Id of the customer this contact belongs to."`
	FirstName   *string `json:"firstName,omitempty"`
	LastName    *string `json:"lastName,omitempty"`
	Email       *string `json:"email,omitempty"`
	Phone       *string `json:"phone,omitempty"`
	AltPhone    *string `json:"altPhone,omitempty"`
	Fax         *string `json:"fax,omitempty"`
	TimezoneID  *string `json:"timezoneId,omitempty" jsonschema_description:"3 PST, 4 MST, 5 CST, 6 EST."`
}

// bankAccountView is a customer bank account as the tools answer it; the
// account number is always masked.
type bankAccountView struct {
	Entity           string  `json:"-"`
	ID               string  `json:"id" jsonschema:"required" jsonschema_description:"Bank account id, cba followed by 17 letters or digits."`
	IsActive         *string `json:"isActive,omitempty" jsonschema_description:"1 active, 2 inactive (deleted)."`
	CreatedTime      *string `json:"createdTime,omitempty"`
	UpdatedTime      *string `json:"updatedTime,omitempty"`
	CustomerID       *string `json:"customerId,omitempty" jsonschema_description:"Id of the customer this account belongs to."`
	NameOnAccount    *string `json:"nameOnAccount,omitempty"`
	Nickname         *string `json:"nickname,omitempty"`
	RoutingNumber    *string `json:"routingNumber,omitempty"`
	AccountNumber    *string `json:"accountNumber,omitempty" jsonschema_description:"Masked: only the last 4 digits are shown."`
	IsLockedByOrg    *bool   `json:"isLockedByOrg,omitempty"`
	IsSavings        *bool   `json:"isSavings,omitempty" jsonschema_description:"true savings, false checking."`
	IsPersonalAcct   *bool   `json:"isPersonalAcct,omitempty" jsonschema_description:"true personal, false business."`
	IsWrittenAuth    *bool   `json:"isWrittenAuth,omitempty"`
	IsPrivate        *bool   `json:"isPrivate,omitempty"`
	Phone            *string `json:"phone,omitempty"`
	CpUserID         *string `json:"cpUserId,omitempty"`
	Status           *string `json:"status,omitempty"`
	RndDepExpireDate *string `json:"rndDepExpireDate,omitempty"`
}

func viewCustomer(c billapi.Customer) customerView { return customerView(c) }

func viewContact(c billapi.CustomerContact) contactView { return contactView(c) }

func viewBankAccount(b billapi.CustomerBankAccount) bankAccountView {
	v := bankAccountView(b)
	if v.AccountNumber != nil {
		m := maskAccountNumber(*v.AccountNumber)
		v.AccountNumber = &m
	}
	return v
}

// maskAccountNumber keeps what BILL already masked and masks anything else
// down to its last four characters, so a full account number never reaches
// an agent even if an upstream answer carried one.
func maskAccountNumber(s string) string {
	const keep = 4
	visible := strings.TrimLeft(s, "*")
	if s == "" || (visible != s && len(visible) <= keep) {
		return s // already masked: at most the last four show
	}
	if len(s) <= keep {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", 6) + s[len(s)-keep:]
}

// maskDigitRuns replaces every run of five or more digits in s with its
// masked form, so that an account number echoed in an error message is not
// passed on.
func maskDigitRuns(s string) string {
	var b strings.Builder
	run := 0
	flush := func(end int) {
		if run >= 5 {
			b.WriteString(maskAccountNumber(s[end-run : end]))
		} else {
			b.WriteString(s[end-run : end])
		}
		run = 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		flush(i)
		b.WriteByte(s[i])
	}
	flush(len(s))
	return b.String()
}

// mapEach returns f of every element of xs, in order.
func mapEach[A, B any](xs []A, f func(A) B) []B {
	out := make([]B, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
