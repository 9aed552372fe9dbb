package billapi

// WriteObserver learns every customer and contact this client wrote, as
// BILL answered it, right after a successful Create, Update, Delete or
// Undelete, single or bulk (a local search index keeps itself current this
// way). Methods are called on the calling goroutine; they must be quick and
// must not call the client.
type WriteObserver interface {
	CustomersWritten(objs []Customer)
	ContactsWritten(objs []CustomerContact)
}

// noteOne returns a pass-through for a single call's results that reports
// the object to note when the call succeeded.
func noteOne[T any](note func([]T)) func(*T, error) (*T, error) {
	return func(obj *T, err error) (*T, error) {
		if err == nil && obj != nil && note != nil {
			note([]T{*obj})
		}
		return obj, err
	}
}

// noteBulk returns a pass-through for a bulk call's results that reports
// the objects of the items that succeeded.
func noteBulk[T any](note func([]T)) func([]BulkResult[T], error) ([]BulkResult[T], error) {
	return func(res []BulkResult[T], err error) ([]BulkResult[T], error) {
		if note == nil {
			return res, err
		}
		done := make([]T, 0, len(res))
		for _, r := range res {
			if r.Err == nil && r.Object != nil {
				done = append(done, *r.Object)
			}
		}
		if len(done) > 0 {
			note(done)
		}
		return res, err
	}
}

// noteCustomers is the observer's callback for customers; nil without one.
func (c *Client) noteCustomers() func([]Customer) {
	if c.observer == nil {
		return nil
	}
	return c.observer.CustomersWritten
}

// noteContacts is the observer's callback for contacts; nil without one.
func (c *Client) noteContacts() func([]CustomerContact) {
	if c.observer == nil {
		return nil
	}
	return c.observer.ContactsWritten
}
