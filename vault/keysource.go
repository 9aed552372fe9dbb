package vault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/zalando/go-keyring"
)

// Environment variables that choose the vault's location and key.
const (
	EnvDir            = "BILL_MCP_VAULT_DIR"
	EnvPassphraseFile = "BILL_MCP_VAULT_PASSPHRASE_FILE"
	EnvPassphrase     = "BILL_MCP_VAULT_PASSPHRASE"
	// EnvIdentityFile names an age identity file (age-keygen's format)
	// that locks the vault: no passphrase, no scrypt at start. The file is
	// protected like an SSH key (mode 0600); `vault init` creates it when
	// it does not exist.
	EnvIdentityFile = "BILL_MCP_VAULT_IDENTITY_FILE"
)

// KeyringService is the OS keyring service under which the vault's age
// identity is stored; the account is the vault file's absolute path.
const KeyringService = "bill-mcp"

// DefaultKeyringTimeout bounds one OS keyring call.
const DefaultKeyringTimeout = 5 * time.Second

// KeyKind says where the vault key comes from.
type KeyKind int

// Key sources. They are tried identity file first, then passphrase file,
// passphrase variable and OS keyring (resolveKeySource); the values keep
// the order they were added in.
const (
	KeyNone           KeyKind = iota // nothing usable was found
	KeyPassphraseFile                // BILL_MCP_VAULT_PASSPHRASE_FILE
	KeyPassphraseEnv                 // BILL_MCP_VAULT_PASSPHRASE
	KeyKeyring                       // an age X25519 identity in the OS keyring
	KeyIdentityFile                  // BILL_MCP_VAULT_IDENTITY_FILE: an age X25519 identity in a file
)

// StartCost says what opening the vault costs with a key source at each
// server start, for `vault status`.
func (k KeyKind) StartCost() string {
	switch k {
	case KeyPassphraseFile, KeyPassphraseEnv:
		return "scrypt (work factor 2^18): about 1 s of CPU and 256 MiB of memory at every start; " +
			"for servers started by Claude Desktop, Cursor or a service, prefer " + EnvIdentityFile + " or the OS keyring"
	case KeyKeyring:
		return "one OS keyring read at start (X25519 key, no scrypt)"
	case KeyIdentityFile:
		return "one small file read at start (X25519 key, no scrypt)"
	default:
		return "unknown"
	}
}

// String names the key source for status output and errors.
func (k KeyKind) String() string {
	switch k {
	case KeyPassphraseFile:
		return "passphrase file (" + EnvPassphraseFile + ")"
	case KeyPassphraseEnv:
		return "passphrase variable (" + EnvPassphrase + ")"
	case KeyKeyring:
		return "OS keyring"
	case KeyIdentityFile:
		return "identity file (" + EnvIdentityFile + ")"
	default:
		return "none"
	}
}

// KeySource describes the key the vault would use. It never holds the key.
type KeySource struct {
	Kind KeyKind
	// Detail is the passphrase file's path, or the keyring service/account.
	Detail string
}

// String describes the source, e.g. "passphrase file (BILL_MCP_VAULT_PASSPHRASE_FILE) /run/secrets/p".
func (k KeySource) String() string {
	if k.Detail == "" {
		return k.Kind.String()
	}
	return k.Kind.String() + " " + k.Detail
}

// Keyring stores the vault's age identity in the OS keyring. Get returns an
// error wrapping ErrKeyringNotFound when there is no entry, and one wrapping
// ErrKeyringUnavailable when there is no keyring to ask.
type Keyring interface {
	Get(ctx context.Context, service, account string) (secret.Secret, error)
	Set(ctx context.Context, service, account string, value secret.Secret) error
}

// noKeyringHelp is appended to every "no keyring" answer.
const noKeyringHelp = "set " + EnvPassphraseFile + " to a file holding the vault passphrase (e.g. a Docker secret), or " + EnvPassphrase

// OSKeyring returns the platform keyring (macOS Keychain, Windows
// Credential Manager, the freedesktop Secret Service over D-Bus), each call
// bounded by timeout (DefaultKeyringTimeout when 0). getenv (os.Getenv when
// nil) is used to spot a Linux session without D-Bus quickly.
func OSKeyring(getenv func(string) string, timeout time.Duration) Keyring {
	if getenv == nil {
		getenv = os.Getenv
	}
	if timeout <= 0 {
		timeout = DefaultKeyringTimeout
	}
	return &osKeyring{getenv: getenv, timeout: timeout, stat: os.Stat, goos: runtime.GOOS, uid: os.Getuid()}
}

type osKeyring struct {
	getenv  func(string) string
	timeout time.Duration
	stat    func(string) (os.FileInfo, error)
	goos    string
	uid     int
}

// errNoSecretService is the plain answer on a headless Linux machine.
var errNoSecretService = fmt.Errorf("no OS keyring available on this machine (no D-Bus Secret Service); %s: %w", noKeyringHelp, ErrKeyringUnavailable)

// sessionBusAvailable reports whether a Linux/BSD session has a D-Bus
// session bus to find a Secret Service on. Without one the keyring library
// would try to autolaunch dbus, which is slow and never helps a server.
func (k *osKeyring) sessionBusAvailable() bool {
	if k.goos == "darwin" || k.goos == "windows" {
		return true
	}
	if k.getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return true
	}
	_, err := k.stat("/run/user/" + strconv.Itoa(k.uid) + "/bus")
	return err == nil
}

func (k *osKeyring) call(ctx context.Context, f func() (string, error)) (string, error) {
	if !k.sessionBusAvailable() {
		return "", errNoSecretService
	}
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1) // buffered: a late answer must not block the goroutine forever
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		switch {
		case r.err == nil:
			return r.v, nil
		case errors.Is(r.err, keyring.ErrNotFound):
			return "", ErrKeyringNotFound
		case k.goos != "darwin" && k.goos != "windows":
			return "", fmt.Errorf("no OS keyring available on this machine (D-Bus Secret Service: %v); %s: %w", r.err, noKeyringHelp, ErrKeyringUnavailable)
		default:
			return "", fmt.Errorf("OS keyring: %v; %s: %w", r.err, noKeyringHelp, ErrKeyringUnavailable)
		}
	case <-ctx.Done():
		return "", fmt.Errorf("OS keyring did not answer within %s (locked or no keyring daemon?); %s: %w", k.timeout, noKeyringHelp, ErrKeyringUnavailable)
	}
}

// Get reads an entry.
func (k *osKeyring) Get(ctx context.Context, service, account string) (secret.Secret, error) {
	v, err := k.call(ctx, func() (string, error) { return keyring.Get(service, account) })
	return secret.New(v), err
}

// Set writes an entry.
func (k *osKeyring) Set(ctx context.Context, service, account string, value secret.Secret) error {
	_, err := k.call(ctx, func() (string, error) { return "", keyring.Set(service, account, value.Reveal()) })
	return err
}

// keySource is the resolved source plus the passphrase it carries, if any.
type keySource struct {
	KeySource
	passphrase secret.Secret
}

// resolveKeySource applies the documented order: identity file,
// passphrase file, passphrase variable, then the OS keyring. A passphrase
// file that is set but unreadable or empty is an error rather than a
// silent fall-through. The identity file is read when a key is needed
// (Init may create it).
func resolveKeySource(getenv func(string) string, vaultPath string) (keySource, error) {
	if p := getenv(EnvIdentityFile); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return keySource{}, fmt.Errorf("%s=%s: %w", EnvIdentityFile, p, err)
		}
		return keySource{KeySource: KeySource{Kind: KeyIdentityFile, Detail: abs}}, nil
	}
	if p := getenv(EnvPassphraseFile); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return keySource{}, fmt.Errorf("%s=%s: cannot read the passphrase file: %w", EnvPassphraseFile, p, err)
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if s == "" {
			return keySource{}, fmt.Errorf("%s=%s: the passphrase file is empty; put the vault passphrase in it: %w", EnvPassphraseFile, p, ErrNoKey)
		}
		return keySource{KeySource: KeySource{Kind: KeyPassphraseFile, Detail: p}, passphrase: secret.New(s)}, nil
	}
	if s := getenv(EnvPassphrase); s != "" {
		return keySource{KeySource: KeySource{Kind: KeyPassphraseEnv}, passphrase: secret.New(s)}, nil
	}
	return keySource{KeySource: KeySource{Kind: KeyKeyring, Detail: "(service " + KeyringService + ", account " + vaultPath + ")"}}, nil
}

// isPassphrase reports a passphrase key source (scrypt).
func (k keySource) isPassphrase() bool {
	return k.Kind == KeyPassphraseFile || k.Kind == KeyPassphraseEnv
}

// readIdentityFile reads the X25519 identity in path. The file must be
// private to the user, like an SSH key.
func readIdentityFile(path string) (*age.X25519Identity, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s=%s: no such file; `bill-mcp vault init` creates it for a new vault, or point it at the key that locks this one: %w", EnvIdentityFile, path, ErrNoKey)
	}
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", EnvIdentityFile, path, err)
	}
	defer f.Close()
	if err := checkKeyPerms(f, path); err != nil {
		return nil, err
	}
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: not an age identity file (%v): %w", EnvIdentityFile, path, err, ErrNoKey)
	}
	for _, id := range ids {
		if x, ok := id.(*age.X25519Identity); ok {
			return x, nil
		}
	}
	return nil, fmt.Errorf("%s=%s: holds no X25519 identity (AGE-SECRET-KEY-1...): %w", EnvIdentityFile, path, ErrNoKey)
}

// checkKeyPerms refuses a key file other users can read.
func checkKeyPerms(f *os.File, path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s=%s: %w", EnvIdentityFile, path, err)
	}
	if perm := fi.Mode().Perm(); perm&groupOtherBit != 0 {
		return fmt.Errorf("%s=%s has mode %04o; the key must be private to you: run `chmod 600 %s`: %w", EnvIdentityFile, path, perm, path, ErrInsecurePermissions)
	}
	return nil
}

// loadOrCreateIdentity reads the identity in path, or makes a new one
// there (mode 0600, never replacing a file) when there is none.
func loadOrCreateIdentity(path string) (*age.X25519Identity, error) {
	if _, err := os.Stat(path); err == nil {
		return readIdentityFile(path)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("generate vault key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), dirPerm); err != nil {
		return nil, fmt.Errorf("%s=%s: %w", EnvIdentityFile, path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: create the key file: %w", EnvIdentityFile, path, err)
	}
	content := "# bill-mcp vault key: keep it private (mode 0600) and back it up; without it the vault cannot be opened.\n" +
		"# public key: " + id.Recipient().String() + "\n" + id.String() + "\n"
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s=%s: write the key file: %w", EnvIdentityFile, path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s=%s: %w", EnvIdentityFile, path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("%s=%s: %w", EnvIdentityFile, path, err)
	}
	return id, nil
}
