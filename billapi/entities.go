package billapi

// Entity names as BILL spells them in paths and in obj.entity.
const (
	EntityCustomer            = "Customer"
	EntityCustomerContact     = "CustomerContact"
	EntityCustomerBankAccount = "CustomerBankAccount"
)

// Id prefixes BILL uses for the entities this client handles.
const (
	PrefixCustomer            = "0cu"
	PrefixCustomerContact     = "cpu"
	PrefixCustomerBankAccount = "cba"
)

// UnsetID is how BILL writes an id reference that is not set.
const UnsetID = "00000000000000000000"

// Enum values as they travel on the wire (strings).
const (
	Active   = "1" // isActive: active
	Inactive = "2" // isActive: inactive (soft-deleted)
)

// Customer is BILL's Customer entity with every field of the v2 reference.
//
// Optional fields are pointers: nil means "not sent" on Create/Update and
// "null" in a response; a pointer to "" sent on Update clears the field.
// Enums travel as strings (isActive "1"/"2", accountType "0"/"1"/"2").
type Customer struct {
	Entity                  string   `json:"entity,omitempty"`
	ID                      string   `json:"id,omitempty"`
	IsActive                *string  `json:"isActive,omitempty"`
	CreatedTime             *string  `json:"createdTime,omitempty"`
	UpdatedTime             *string  `json:"updatedTime,omitempty"`
	Name                    *string  `json:"name,omitempty"`
	ShortName               *string  `json:"shortName,omitempty"`
	ParentCustomerID        *string  `json:"parentCustomerId,omitempty"`
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
	AccountType             *string  `json:"accountType,omitempty"`
	PaymentTermID           *string  `json:"paymentTermId,omitempty"`
	Balance                 *float64 `json:"balance,omitempty"`
	AvailCredit             *float64 `json:"availCredit,omitempty"`
	TaxID                   *string  `json:"taxId,omitempty"`
	HasBankAccount          *bool    `json:"hasBankAccount,omitempty"`
	HasNetBankAccount       *bool    `json:"hasNetBankAccount,omitempty"`
	HasBankAccountAutoPay   *bool    `json:"hasBankAccountAutoPay,omitempty"`
	DefaultDeliveryMethod   *string  `json:"defaultDeliveryMethod,omitempty"`
	IsAutoChargeDismissed   *bool    `json:"isAutoChargeDismissed,omitempty"`
	IsTaxLiable             *bool    `json:"isTaxLiable,omitempty"`
	CreationSource          *string  `json:"creationSource,omitempty"`
	EnabledInvoiceFinancing *bool    `json:"enabledInvoiceFinancing,omitempty"`
	HasCustomerCard         *bool    `json:"hasCustomerCard,omitempty"`
}

// CustomerContact is BILL's CustomerContact entity (a person at a customer).
// Required on create: customerId, firstName, email. timezoneId is "3".."6"
// (PST, MST, CST, EST).
type CustomerContact struct {
	Entity      string  `json:"entity,omitempty"`
	ID          string  `json:"id,omitempty"`
	IsActive    *string `json:"isActive,omitempty"`
	CreatedTime *string `json:"createdTime,omitempty"`
	UpdatedTime *string `json:"updatedTime,omitempty"`
	CustomerID  *string `json:"customerId,omitempty"`
	FirstName   *string `json:"firstName,omitempty"`
	LastName    *string `json:"lastName,omitempty"`
	Email       *string `json:"email,omitempty"`
	Phone       *string `json:"phone,omitempty"`
	AltPhone    *string `json:"altPhone,omitempty"`
	Fax         *string `json:"fax,omitempty"`
	TimezoneID  *string `json:"timezoneId,omitempty"`
}

// CustomerBankAccount is BILL's CustomerBankAccount entity. BILL masks
// accountNumber in every response ("******7890") and may mask routingNumber
// ("*****0358"). isSavings and isPersonalAcct are JSON booleans on the wire
// (BILL's answers; reference transcriptions that type them as strings are
// wrong); the reader also accepts "true"/"false". Required on create:
// customerId, nameOnAccount, routingNumber, accountNumber, and the
// agreedWithTOS flag beside obj (see CreateCustomerBankAccount).
type CustomerBankAccount struct {
	Entity           string  `json:"entity,omitempty"`
	ID               string  `json:"id,omitempty"`
	IsActive         *string `json:"isActive,omitempty"`
	CreatedTime      *string `json:"createdTime,omitempty"`
	UpdatedTime      *string `json:"updatedTime,omitempty"`
	CustomerID       *string `json:"customerId,omitempty"`
	NameOnAccount    *string `json:"nameOnAccount,omitempty"`
	Nickname         *string `json:"nickname,omitempty"`
	RoutingNumber    *string `json:"routingNumber,omitempty"`
	AccountNumber    *string `json:"accountNumber,omitempty"`
	IsLockedByOrg    *bool   `json:"isLockedByOrg,omitempty"`
	IsSavings        *bool   `json:"isSavings,omitempty"`
	IsPersonalAcct   *bool   `json:"isPersonalAcct,omitempty"`
	IsWrittenAuth    *bool   `json:"isWrittenAuth,omitempty"`
	IsPrivate        *bool   `json:"isPrivate,omitempty"`
	Phone            *string `json:"phone,omitempty"`
	CpUserID         *string `json:"cpUserId,omitempty"`
	Status           *string `json:"status,omitempty"`
	RndDepExpireDate *string `json:"rndDepExpireDate,omitempty"`
}

// String returns a pointer to s, for filling optional entity fields.
func String(s string) *string { return &s }

// Bool returns a pointer to b, for filling optional entity fields.
func Bool(b bool) *bool { return &b }

// Deref returns *p, or "" when p is nil.
func Deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// identified is an entity with a BILL id.
type identified interface{ billID() string }

func (c *Customer) billID() string            { return c.ID }
func (c *CustomerContact) billID() string     { return c.ID }
func (c *CustomerBankAccount) billID() string { return c.ID }

// sawIDs records the ids of records in an answer, so reconciliation never
// claims a record seen before its call started.
func sawIDs[T any](c *Client, recs []T) {
	ids := make([]string, 0, len(recs))
	for i := range recs {
		if v, ok := any(&recs[i]).(identified); ok {
			ids = append(ids, v.billID())
		}
	}
	c.known.saw(ids...)
}
