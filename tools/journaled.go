package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/bill-mcp/bill-mcp/billapi"
	"github.com/bill-mcp/bill-mcp/internal/journal"
)

// Journaled calls: what the bulk tools, onboard_customer and
// upsert_customers share to run under a crash journal (internal/journal).

// requestDigest is the digest of a call of tool whose request is parts,
// each streamed into the hash as JSON (a bulk request's one part is its
// items), so a large request is never copied to be hashed.
func requestDigest(tool string, parts ...any) (string, error) {
	h := journal.NewDigest(tool)
	enc := json.NewEncoder(h)
	for _, p := range parts {
		if err := enc.Encode(p); err != nil {
			return "", fmt.Errorf("digest of a %s request: %w", tool, err)
		}
	}
	return h.Sum(), nil
}

// openJournal opens the journal of a call of tool over n items (or parts)
// whose request has digest, under importKey or, when the caller gave
// none, the key derived from digest. It returns the journal and its key,
// or the error result to answer, nothing having been sent: the key belongs
// to another request, a call with it is running, or the journal cannot be
// opened. The caller closes the journal.
func openJournal(ctx context.Context, tool, importKey, digest string, n int) (*journal.Journal, string, *mcp.CallToolResult) {
	key := importKey
	if key == "" {
		key = journal.DeriveKey(digest)
	}
	store := journal.FromContext(ctx)
	if store == nil {
		store = journal.NewMemory("")
	}
	j, err := store.Open(ctx, tool, key, digest, n)
	switch {
	case errors.Is(err, journal.ErrMismatch):
		return nil, key, badArgument(fmt.Sprintf("importKey %q belongs to a different request (%v)", key, err),
			"to finish that job send exactly the same items; for a new job use a new importKey or omit it")
	case errors.Is(err, journal.ErrBusy):
		return nil, key, failure(CodeBusy, "a call with this importKey is still running",
			"wait for it to finish, then call again with the same importKey to get its whole outcome")
	case err != nil:
		return nil, key, failure(CodeInternal, "the server could not open the import journal, so nothing was sent",
			"retry once; if it fails again, tell the user to check the bill-mcp server log")
	}
	return j, key, nil
}

// errJournalWrite is the failure of a journal write due before a send:
// nothing more was sent.
var errJournalWrite = itemError{Code: CodeInternal, Message: "the server could not write the import journal, so nothing more was sent",
	Hint: "retry once with the same importKey; if it fails again, tell the user to check the bill-mcp server log"}

// digestFailed answers a request the server could not digest (it cannot
// happen with decoded arguments, which always encode).
func digestFailed() *mcp.CallToolResult {
	return failure(CodeInternal, "the server could not fingerprint the request, so nothing was sent", "retry the call; if it fails again, report a bug in bill-mcp")
}

// mayHaveApplied reports whether a write that failed with err may still
// have been applied at BILL. Only a refusal is sure not to have been: bad
// input, credentials or session refused, a limit reached, BILL not
// reached. A lost answer, a server error (BILL does not say a BDC_1001
// applied nothing), a canceled call or an error not from BILL may have
// been; such a write stays in doubt in the journal, and a refused one is
// recorded as failed, safe to send again.
func mayHaveApplied(err error) bool {
	var be *billapi.Error
	if !errors.As(err, &be) {
		return true
	}
	switch be.Class {
	case billapi.ClassInput, billapi.ClassAuth, billapi.ClassSession, billapi.ClassHourlyLimit, billapi.ClassConcurrency, billapi.ClassUnreachable:
		return false
	}
	return true
}

// settleOutcomes journals bulk outcomes over the items idx (an outcome's
// Index is a position in idx): applied items done with action, refused
// ones failed, and those inDoubt says may have been applied left in doubt
// for the next call to look for. It returns how many were applied and how
// many failed (in doubt or not). A journal that cannot be written loses
// only the resume shortcut, so its error is dropped; an outcome the
// journal already holds is not written again.
func settleOutcomes(j *journal.Journal, action journal.Action, idx []int, outs []billapi.ItemOutcome, inDoubt func(*billapi.Error) bool) (applied, failed int) {
	var done, refused []int
	var ids []string
	for _, o := range outs {
		if o.Index < 0 || o.Index >= len(idx) {
			continue
		}
		switch i := idx[o.Index]; {
		case o.ID != "":
			done, ids = append(done, i), append(ids, o.ID)
		case o.Err != nil:
			if !inDoubt(o.Err) {
				refused = append(refused, i)
			}
			failed++
		}
	}
	_ = j.SettleAs(action, done, ids, refused)
	return len(done), failed
}

// outcomes are bulk results as BulkOptions.Settled reports them.
func outcomes[T any](res []billapi.BulkResult[T], id func(T) string) []billapi.ItemOutcome {
	out := make([]billapi.ItemOutcome, 0, len(res))
	for _, r := range res {
		o := billapi.ItemOutcome{Index: r.Index, Err: r.Err}
		if r.Object != nil {
			o.ID = id(*r.Object)
		}
		out = append(out, o)
	}
	return out
}
