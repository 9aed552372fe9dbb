package vault

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/bill-mcp/bill-mcp/secret"
)

// Environment is the BILL environment a profile's credentials belong to.
// Sandbox and production share no data and no credentials.
type Environment string

// The two BILL environments.
const (
	Sandbox    Environment = "sandbox"
	Production Environment = "production"
)

// ParseEnvironment accepts "sandbox" or "production" (case-insensitive,
// surrounding spaces ignored).
func ParseEnvironment(s string) (Environment, error) {
	switch e := Environment(strings.ToLower(strings.TrimSpace(s))); e {
	case Sandbox, Production:
		return e, nil
	default:
		return "", fmt.Errorf("environment %q: use sandbox or production: %w", s, ErrInvalidProfile)
	}
}

// Profile is one named set of BILL credentials. DevKey, UserName and
// Password are Secrets; OrgID and Environment are not secret.
type Profile struct {
	DevKey      secret.Secret
	UserName    secret.Secret
	Password    secret.Secret
	OrgID       string
	Environment Environment
}

// OrgIDPrefix begins every BILL organization id ("a unique alphanumeric
// value that begins with 008", in BILL's words). Validate does not refuse
// an orgId without it (BILL is the judge of its own ids); `vault set`
// warns instead.
const OrgIDPrefix = "008"

// Validate reports every missing or malformed field at once, naming the
// fields and never their values.
func (p Profile) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		s    secret.Secret
	}{{"devKey", p.DevKey}, {"userName", p.UserName}, {"password", p.Password}} {
		switch {
		case f.s.IsZero():
			errs = append(errs, fmt.Errorf("%s is required", f.name))
		case strings.TrimSpace(f.s.Reveal()) != f.s.Reveal() || strings.ContainsAny(f.s.Reveal(), "\r\n"):
			errs = append(errs, fmt.Errorf("%s has leading/trailing spaces or a line break; re-enter it without them", f.name))
		}
	}
	switch {
	case p.OrgID == "":
		errs = append(errs, errors.New("orgId is required"))
	case strings.ContainsAny(p.OrgID, " \t\r\n"):
		errs = append(errs, fmt.Errorf("orgId %q has a space or line break; a BILL organization id is one word starting with %s", p.OrgID, OrgIDPrefix))
	}
	if _, err := ParseEnvironment(string(p.Environment)); err != nil || Environment(strings.ToLower(string(p.Environment))) != p.Environment {
		errs = append(errs, fmt.Errorf("environment %q: use sandbox or production", p.Environment))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidProfile, errors.Join(errs...))
}

var profileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateProfileName checks that name can name a profile (and its
// session-cache file): 1-64 letters, digits, '.', '_' or '-', starting
// with a letter or digit.
func ValidateProfileName(name string) error {
	if !profileNameRE.MatchString(name) {
		return fmt.Errorf("profile name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit: %w", name, ErrInvalidProfile)
	}
	return nil
}
