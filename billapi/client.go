package billapi

// STUB FILE: the method set below is the contract tools/ builds on. The
// wire-layer work replaces every body; keep the signatures.

import (
	"context"
	"errors"
	"iter"
)

var errNotImplemented = errors.New("billapi: not implemented yet")

// Client is the one serialized BILL v2 client: every call passes its gate
// (in-flight cap, hourly budgets, backoff) and its session handling.
type Client struct {
	cfg Config
}

// New validates cfg and returns a Client. It does not log in: the first call does.
func New(cfg Config) (*Client, error) { return &Client{cfg: cfg}, nil }

// Login logs in now (normally the first call does it). Concurrent callers share one login.
func (c *Client) Login(ctx context.Context) error { return errNotImplemented }

// Logout ends the session and forgets it in the session store.
func (c *Client) Logout(ctx context.Context) error { return errNotImplemented }

// CreateCustomer creates a customer. name is required and unique.
func (c *Client) CreateCustomer(ctx context.Context, obj Customer) (*Customer, error) {
	return nil, errNotImplemented
}

// GetCustomer reads a customer by id (0cu...).
func (c *Client) GetCustomer(ctx context.Context, id string) (*Customer, error) {
	return nil, errNotImplemented
}

// UpdateCustomer changes the fields set in obj (obj.ID required). Fields BILL
// requires on update (name) are filled from the current record when absent.
func (c *Client) UpdateCustomer(ctx context.Context, obj Customer) (*Customer, error) {
	return nil, errNotImplemented
}

// DeleteCustomer soft-deletes a customer (isActive becomes "2").
func (c *Client) DeleteCustomer(ctx context.Context, id string) (*Customer, error) {
	return nil, errNotImplemented
}

// UndeleteCustomer restores a soft-deleted customer (isActive becomes "1").
func (c *Client) UndeleteCustomer(ctx context.Context, id string) (*Customer, error) {
	return nil, errNotImplemented
}

// ListCustomers returns one page.
func (c *Client) ListCustomers(ctx context.Context, p ListParams) ([]Customer, error) {
	return nil, errNotImplemented
}

// AllCustomers pages through every customer matching p (p.Start and p.Max
// set the first page and the page size).
func (c *Client) AllCustomers(ctx context.Context, p ListParams) iter.Seq2[Customer, error] {
	return func(yield func(Customer, error) bool) { yield(Customer{}, errNotImplemented) }
}

// BulkCreateCustomers creates any number of customers, 100 per call, one result per item in input order.
func (c *Client) BulkCreateCustomers(ctx context.Context, objs []Customer, o BulkOptions) ([]BulkResult[Customer], error) {
	return nil, errNotImplemented
}

// BulkUpdateCustomers updates any number of customers, 100 per call.
func (c *Client) BulkUpdateCustomers(ctx context.Context, objs []Customer, o BulkOptions) ([]BulkResult[Customer], error) {
	return nil, errNotImplemented
}

// BulkDeleteCustomers soft-deletes customers by id, 100 per call.
func (c *Client) BulkDeleteCustomers(ctx context.Context, ids []string, o BulkOptions) ([]BulkResult[Customer], error) {
	return nil, errNotImplemented
}

// BulkUndeleteCustomers restores customers by id, 100 per call.
func (c *Client) BulkUndeleteCustomers(ctx context.Context, ids []string, o BulkOptions) ([]BulkResult[Customer], error) {
	return nil, errNotImplemented
}

// CreateCustomerContact creates a contact (customerId, firstName, email required).
func (c *Client) CreateCustomerContact(ctx context.Context, obj CustomerContact) (*CustomerContact, error) {
	return nil, errNotImplemented
}

// GetCustomerContact reads a contact by id (cpu...).
func (c *Client) GetCustomerContact(ctx context.Context, id string) (*CustomerContact, error) {
	return nil, errNotImplemented
}

// UpdateCustomerContact changes the fields set in obj (obj.ID required);
// required fields absent from obj are filled from the current record.
func (c *Client) UpdateCustomerContact(ctx context.Context, obj CustomerContact) (*CustomerContact, error) {
	return nil, errNotImplemented
}

// DeleteCustomerContact soft-deletes a contact.
func (c *Client) DeleteCustomerContact(ctx context.Context, id string) (*CustomerContact, error) {
	return nil, errNotImplemented
}

// UndeleteCustomerContact restores a contact.
func (c *Client) UndeleteCustomerContact(ctx context.Context, id string) (*CustomerContact, error) {
	return nil, errNotImplemented
}

// ListCustomerContacts returns one page.
func (c *Client) ListCustomerContacts(ctx context.Context, p ListParams) ([]CustomerContact, error) {
	return nil, errNotImplemented
}

// AllCustomerContacts pages through every contact matching p.
func (c *Client) AllCustomerContacts(ctx context.Context, p ListParams) iter.Seq2[CustomerContact, error] {
	return func(yield func(CustomerContact, error) bool) { yield(CustomerContact{}, errNotImplemented) }
}

// BulkCreateCustomerContacts creates any number of contacts, 100 per call.
func (c *Client) BulkCreateCustomerContacts(ctx context.Context, objs []CustomerContact, o BulkOptions) ([]BulkResult[CustomerContact], error) {
	return nil, errNotImplemented
}

// BulkUpdateCustomerContacts updates any number of contacts, 100 per call.
func (c *Client) BulkUpdateCustomerContacts(ctx context.Context, objs []CustomerContact, o BulkOptions) ([]BulkResult[CustomerContact], error) {
	return nil, errNotImplemented
}

// BulkDeleteCustomerContacts soft-deletes contacts by id, 100 per call.
func (c *Client) BulkDeleteCustomerContacts(ctx context.Context, ids []string, o BulkOptions) ([]BulkResult[CustomerContact], error) {
	return nil, errNotImplemented
}

// BulkUndeleteCustomerContacts restores contacts by id, 100 per call.
func (c *Client) BulkUndeleteCustomerContacts(ctx context.Context, ids []string, o BulkOptions) ([]BulkResult[CustomerContact], error) {
	return nil, errNotImplemented
}

// CreateCustomerBankAccount adds a bank account; agreedWithTOS must be true
// (the customer accepted BILL's payment terms). The answer's accountNumber is masked.
func (c *Client) CreateCustomerBankAccount(ctx context.Context, obj CustomerBankAccount, agreedWithTOS bool) (*CustomerBankAccount, error) {
	return nil, errNotImplemented
}

// GetCustomerBankAccount reads a bank account by id (cba...).
func (c *Client) GetCustomerBankAccount(ctx context.Context, id string) (*CustomerBankAccount, error) {
	return nil, errNotImplemented
}

// DeleteCustomerBankAccount soft-deletes a bank account.
func (c *Client) DeleteCustomerBankAccount(ctx context.Context, id string) (*CustomerBankAccount, error) {
	return nil, errNotImplemented
}

// ListCustomerBankAccounts returns one page.
func (c *Client) ListCustomerBankAccounts(ctx context.Context, p ListParams) ([]CustomerBankAccount, error) {
	return nil, errNotImplemented
}

// AllCustomerBankAccounts pages through every bank account matching p.
func (c *Client) AllCustomerBankAccounts(ctx context.Context, p ListParams) iter.Seq2[CustomerBankAccount, error] {
	return func(yield func(CustomerBankAccount, error) bool) { yield(CustomerBankAccount{}, errNotImplemented) }
}
