package billapi

import (
	"context"
	"time"
)

// Recovery after a crash.
//
// A caller that journals its bulk creates (see BulkOptions.Settled) knows,
// after its process died, which items it had sent without learning their
// outcome. FindCreatedCustomers and FindCreatedCustomerContacts settle such
// items the way a lost answer is settled inside one process (see
// reconcile.go): they list the records created since the journal's
// write-ahead time and match them to the items by key, skipping the ids
// the caller already holds (claimed), so two identical contacts of one
// import are two records and each is claimed once. An item with no match
// was not applied and may be sent again.

// FindCreatedCustomers returns, for each of objs, the customer an earlier
// create sent at sentAt (by this process or one that died) made, or nil
// when there is none.
func (c *Client) FindCreatedCustomers(ctx context.Context, objs []Customer, sentAt time.Time, claimed []string) ([]*Customer, error) {
	return findCreated(ctx, c, customerKind(), objs, sentAt, claimed)
}

// FindCreatedCustomerContacts returns, for each of objs, the contact an
// earlier create sent at sentAt made, or nil when there is none.
func (c *Client) FindCreatedCustomerContacts(ctx context.Context, objs []CustomerContact, sentAt time.Time, claimed []string) ([]*CustomerContact, error) {
	return findCreated(ctx, c, contactKind(), objs, sentAt, claimed)
}

// findCreated reconciles objs as a lost create sent at sentAt: the
// createdTime window opens reconcileMargin before it (clock skew), and a
// record this process saw in an answer before sentAt is not a candidate.
func findCreated[T any](ctx context.Context, c *Client, k kind[T], objs []T, sentAt time.Time, claimed []string) ([]*T, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	c.known.mu.Lock()
	c.known.knowLocked(claimed)
	c.known.mu.Unlock()
	batch := make([]T, len(objs))
	for i := range objs {
		batch[i] = k.forWrite(objs[i])
	}
	return reconcile(ctx, c, k, batch, sentAt.Add(-reconcileMargin), sentAt)
}
