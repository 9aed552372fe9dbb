package vault

import "errors"

// Errors the vault returns, wrapped with the path and what to do; test
// them with errors.Is.
var (
	// ErrNotInitialized: there is no vault file yet (run `bill-mcp vault init`).
	ErrNotInitialized = errors.New("vault not initialized")
	// ErrExists: init found a vault file already there.
	ErrExists = errors.New("vault already exists")
	// ErrNoKey: no key source is available (no passphrase and no OS keyring).
	ErrNoKey = errors.New("no vault key")
	// ErrWrongKey: the key at hand does not open the vault.
	ErrWrongKey = errors.New("wrong vault key")
	// ErrDamaged: the vault or a cache file is tampered, truncated or malformed.
	ErrDamaged = errors.New("vault file damaged")
	// ErrInsecurePermissions: the vault directory or file is open to other users.
	ErrInsecurePermissions = errors.New("insecure vault permissions")
	// ErrProfileNotFound: the vault holds no profile of that name.
	ErrProfileNotFound = errors.New("profile not found")
	// ErrInvalidProfile: a profile or profile name fails validation.
	ErrInvalidProfile = errors.New("invalid profile")
	// ErrKeyringUnavailable: the OS keyring cannot be reached.
	ErrKeyringUnavailable = errors.New("OS keyring unavailable")
	// ErrKeyringNotFound: the OS keyring holds no entry for this vault.
	ErrKeyringNotFound = errors.New("no entry in OS keyring")
	// ErrLoginLockTimeout: another process held the login lock too long.
	ErrLoginLockTimeout = errors.New("login lock wait timed out")
)
