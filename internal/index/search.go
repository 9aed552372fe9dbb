package index

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/bill-mcp/bill-mcp/billapi"
)

// CustomerQuery selects customers.
type CustomerQuery struct {
	// Text is matched, case-insensitively, against name, companyName,
	// shortName, email, phone and accNumber.
	Text string
	// IsActive is "1" (active), "2" (inactive) or "" (both).
	IsActive string
	// Max bounds the answer; 0 means all matches.
	Max int
}

// ContactQuery selects contacts.
type ContactQuery struct {
	// Text is matched, case-insensitively, against firstName, lastName,
	// "firstName lastName", email and phone.
	Text string
	// CustomerID, if set, keeps only that customer's contacts.
	CustomerID string
	// IsActive is "1", "2" or "".
	IsActive string
	// Max bounds the answer; 0 means all matches.
	Max int
}

// Found is a search answer: the best matches first, at most Max of them,
// and how many matched in all.
type Found[T any] struct {
	Items []T
	Total int
}

// Match ranks, best first.
const (
	rankExactKey = iota // the whole email or accNumber
	rankExact           // a whole name or phone
	rankPrefix          // the start of a field
	rankContains        // anywhere in a field
	noMatch
)

// FindCustomers searches a copy of the customers no older than maxAge.
// An exact email or accNumber ranks first, then an exact name, a prefix,
// and a match anywhere; ties go by name.
func (ix *Index) FindCustomers(ctx context.Context, src Source, q CustomerQuery, maxAge time.Duration) (Found[billapi.Customer], error) {
	all, err := ix.Customers(ctx, src, maxAge)
	if err != nil {
		return Found[billapi.Customer]{}, err
	}
	m := newMatcher(q.Text)
	d := billapi.Deref
	return rankAll(all, q.Max, func(c *billapi.Customer) (int, string) {
		if q.IsActive != "" && d(c.IsActive) != q.IsActive {
			return noMatch, ""
		}
		r := m.rank([]string{d(c.Email), d(c.AccNumber)},
			[]string{d(c.Name), d(c.CompanyName), d(c.ShortName), d(c.Email), d(c.AccNumber)},
			[]string{d(c.Phone)})
		return r, strings.ToLower(d(c.Name))
	}), nil
}

// FindContacts searches a copy of the contacts no older than maxAge. An
// exact email ranks first.
func (ix *Index) FindContacts(ctx context.Context, src Source, q ContactQuery, maxAge time.Duration) (Found[billapi.CustomerContact], error) {
	all, err := ix.Contacts(ctx, src, maxAge)
	if err != nil {
		return Found[billapi.CustomerContact]{}, err
	}
	m := newMatcher(q.Text)
	d := billapi.Deref
	return rankAll(all, q.Max, func(c *billapi.CustomerContact) (int, string) {
		if (q.IsActive != "" && d(c.IsActive) != q.IsActive) || (q.CustomerID != "" && d(c.CustomerID) != q.CustomerID) {
			return noMatch, ""
		}
		full := strings.TrimSpace(d(c.FirstName) + " " + d(c.LastName))
		r := m.rank([]string{d(c.Email)},
			[]string{full, d(c.FirstName), d(c.LastName), d(c.Email)},
			[]string{d(c.Phone)})
		return r, strings.ToLower(full)
	}), nil
}

// rankAll keeps the items rank accepts, best rank first, then by the sort
// key, and returns at most max of them (0: all) with the total.
func rankAll[T any](all []T, max int, rank func(*T) (int, string)) Found[T] {
	type hit struct {
		i    int
		rank int
		key  string
	}
	var hits []hit
	for i := range all {
		if r, k := rank(&all[i]); r < noMatch {
			hits = append(hits, hit{i, r, k})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	out := Found[T]{Total: len(hits)}
	if max > 0 && len(hits) > max {
		hits = hits[:max]
	}
	out.Items = make([]T, len(hits))
	for j, h := range hits {
		out.Items[j] = all[h.i]
	}
	return out
}

// matcher compares one query with a record's fields.
type matcher struct {
	q      string // lower-cased, trimmed
	digits string // the query's digits, when it looks like a phone number
}

func newMatcher(text string) matcher {
	q := strings.ToLower(strings.TrimSpace(text))
	m := matcher{q: q}
	if d := digitsOf(q); len(d) >= 4 && len(d)*2 >= len(strings.ReplaceAll(q, " ", "")) {
		m.digits = d
	}
	return m
}

// rank is the best rank of the query against keys (exact match only),
// texts and phones (digits compared, punctuation ignored). An empty query
// matches everything, ranked as a match anywhere.
func (m matcher) rank(keys, texts, phones []string) int {
	if m.q == "" {
		return rankContains
	}
	for _, k := range keys {
		if k != "" && strings.EqualFold(strings.TrimSpace(k), m.q) {
			return rankExactKey
		}
	}
	best := noMatch
	for _, t := range texts {
		t = strings.ToLower(t)
		switch {
		case t == "":
		case t == m.q:
			best = min(best, rankExact)
		case strings.HasPrefix(t, m.q):
			best = min(best, rankPrefix)
		case strings.Contains(t, m.q):
			best = min(best, rankContains)
		}
	}
	for _, p := range phones {
		pd := digitsOf(p)
		switch {
		case m.digits != "" && (pd == m.digits || len(pd) >= 7 && strings.HasSuffix(m.digits, pd)):
			// the same number, perhaps written with a country code
			best = min(best, rankExact)
		case m.digits != "" && strings.Contains(pd, m.digits):
			best = min(best, rankContains)
		case p != "" && strings.Contains(strings.ToLower(p), m.q):
			best = min(best, rankContains)
		}
	}
	return best
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
