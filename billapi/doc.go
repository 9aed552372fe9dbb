// Package billapi is the serialized client for BILL's v2 API: customers,
// customer contacts and customer bank accounts.
//
// Every call goes through one Client, which is safe for concurrent use:
//
//   - Wire: POST {base}/{Path}.json with a form-encoded body of devKey,
//     sessionId and data (a JSON string). Credentials are secret.Secrets and
//     are revealed in exactly one place, the form encoder; they never enter
//     a URL, an error or a log line. Text from upstream (BILL's messages, a
//     proxy's answer) is redacted of credentials and session ids and cut to
//     a bounded length before it becomes an error.
//   - Reading is tolerant (unknown fields, nulls, booleans or "true"/"false",
//     numbers or numeric strings; see tolerant.go); writing is strict.
//   - Session: the first call logs in (or takes the SessionStore's session);
//     concurrent callers share one login. BDC_1109 voids the session, logs
//     in again once and repeats the call.
//   - Gate: at most Config.MaxInFlight calls in flight (1..3), hourly
//     budgets per clock hour, counted through the Coordinator with every
//     client on the same devKey and org, that stop it before BILL does, and
//     exponential backoff with full jitter for failures that are safe to
//     repeat. BDC_1144 is never hammered: the client fails fast until the
//     top of the next hour.
//   - Exactly-once creates: a create whose answer is lost (or answered
//     BDC_1001/BDC_1002) is reconciled (listed and matched) before it is sent
//     again; see reconcile.go. An update, delete or undelete whose answer was
//     lost and whose retry is refused is read back and reported truthfully.
//   - A request that never left the machine (DNS, connect, TLS) falls back
//     from Login's apiEndPoint to the configured base, is tried once more,
//     then answers CodeUnreachable: nothing was sent.
//   - Bulk calls of any length, 100 items per call, chunks running
//     concurrently up to the in-flight cap, one result per item in input
//     order.
//
// Errors are *Error values carrying BILL's BDC code, message, HTTP status
// and a Class; errors.Is(err, ErrSession) and friends test the class.
package billapi
