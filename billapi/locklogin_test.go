package billapi

import (
	"context"
	"errors"
	"testing"
)

// lockFailStore is a session store whose login lock fails.
type lockFailStore struct {
	memStore
	err error
}

func (l *lockFailStore) LockLogin(context.Context) (func(), error) { return nil, l.err }

// A login lock that fails with an *Error (a hung holder) fails the call
// with that error and sends nothing; any other lock failure only loses
// the cross-process coordination.
func TestLoginLockFailure(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantFail bool
	}{
		{"store says fail", &Error{Op: "Login", Code: "LOGIN_LOCK_TIMEOUT", Message: "held too long"}, true},
		{"plain lock error", errors.New("lock: permission denied"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeBill(t, readCustomerHandler)
			c := newTestClient(t, f, func(c *Config) { c.SessionStore = &lockFailStore{err: tt.err} })
			_, err := c.GetCustomer(t.Context(), testCustomerID)
			var be *Error
			if tt.wantFail {
				if !errors.As(err, &be) || be.Code != "LOGIN_LOCK_TIMEOUT" {
					t.Errorf("GetCustomer = %v, want the lock error", err)
				}
				return
			}
			if err != nil {
				t.Errorf("GetCustomer = %v, want success without the lock", err)
			}
		})
	}
}
