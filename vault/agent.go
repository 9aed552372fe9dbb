package vault

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"slices"
	"time"

	"filippo.io/age"
	"github.com/bill-mcp/bill-mcp/secret"
)

// ErrAgentNotFound: the vault holds no agent of that name.
var ErrAgentNotFound = errors.New("agent not found")

// ErrInvalidAgent: an agent or agent name fails validation.
var ErrInvalidAgent = errors.New("invalid agent")

// Agent is one AI agent's identity and access, kept in the vault. The
// vault stores only a SHA-256 hash of the agent's bearer token, never the
// token. Grants and Confirm are plain strings here; internal/policy gives
// them meaning (the vault checks only their shape).
type Agent struct {
	Name      string
	Grants    map[string]string // area -> level; a missing area is off
	Confirm   string            // none, destructive or writes
	Enabled   bool
	TokenHash string // hex SHA-256 of the bearer token
	Created   time.Time
}

type fileAgent struct {
	Grants    map[string]string `json:"grants,omitempty"`
	Confirm   string            `json:"confirm,omitempty"`
	Enabled   bool              `json:"enabled"`
	TokenHash string            `json:"tokenHash"`
	Created   string            `json:"created,omitempty"`
}

var agentNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateAgentName checks that name can name an agent: 1-64 letters,
// digits, '.', '_' or '-', starting with a letter or digit.
func ValidateAgentName(name string) error {
	if !agentNameRE.MatchString(name) {
		return fmt.Errorf("agent name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit: %w", name, ErrInvalidAgent)
	}
	return nil
}

// HashToken returns the hex SHA-256 of a bearer token, as Agent.TokenHash holds it.
func HashToken(token secret.Secret) string {
	sum := sha256.Sum256([]byte(token.Reveal()))
	return hex.EncodeToString(sum[:])
}

// MatchesToken reports, in constant time, whether token is a's token.
func (a Agent) MatchesToken(token secret.Secret) bool {
	h := HashToken(token)
	return len(a.TokenHash) == len(h) && subtle.ConstantTimeCompare([]byte(a.TokenHash), []byte(h)) == 1
}

func (a Agent) toFile() fileAgent {
	f := fileAgent{Confirm: a.Confirm, Enabled: a.Enabled, TokenHash: a.TokenHash}
	if len(a.Grants) > 0 {
		f.Grants = maps.Clone(a.Grants)
	}
	if !a.Created.IsZero() {
		f.Created = a.Created.UTC().Format(time.RFC3339)
	}
	return f
}

func agentFromFile(name string, f fileAgent) (Agent, error) {
	if err := ValidateAgentName(name); err != nil {
		return Agent{}, err
	}
	if _, err := hex.DecodeString(f.TokenHash); err != nil || len(f.TokenHash) != 2*sha256.Size {
		return Agent{}, fmt.Errorf("agent %q: tokenHash is not a SHA-256 hex digest: %w", name, ErrInvalidAgent)
	}
	a := Agent{Name: name, Grants: maps.Clone(f.Grants), Confirm: f.Confirm, Enabled: f.Enabled, TokenHash: f.TokenHash}
	if a.Grants == nil {
		a.Grants = map[string]string{}
	}
	if f.Created != "" {
		t, err := time.Parse(time.RFC3339, f.Created)
		if err != nil {
			return Agent{}, fmt.Errorf("agent %q: created %q is not a time: %w", name, f.Created, ErrInvalidAgent)
		}
		a.Created = t
	}
	return a, nil
}

// NoAgentError is the error for a missing agent: it says how to find or
// create one, and errors.Is(err, ErrAgentNotFound) holds.
func (v *Vault) NoAgentError(name string) error { return v.noAgent(name) }

func (v *Vault) noAgent(name string) error {
	return fmt.Errorf("no agent %q in vault at %s; see `bill-mcp agent list`, or create it with `bill-mcp agent add %s`: %w", name, v.path, name, ErrAgentNotFound)
}

// Agents returns every agent by name, read from the vault file now.
func (v *Vault) Agents(ctx context.Context) (map[string]Agent, error) {
	doc, _, err := v.load(ctx)
	if err != nil {
		return nil, err
	}
	return cloneAgents(doc.agents), nil
}

// AgentNames returns the agent names, sorted.
func (v *Vault) AgentNames(ctx context.Context) ([]string, error) {
	doc, _, err := v.load(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(doc.agents)), nil
}

// Agent returns one agent.
func (v *Vault) Agent(ctx context.Context, name string) (Agent, error) {
	doc, _, err := v.load(ctx)
	if err != nil {
		return Agent{}, err
	}
	a, ok := doc.agents[name]
	if !ok {
		return Agent{}, v.noAgent(name)
	}
	a.Grants = maps.Clone(a.Grants)
	return a, nil
}

// EditAgent creates or changes an agent atomically: edit receives the
// current agent (exists=false and a zero Agent for a new one) and returns
// the new one. An error from edit changes nothing. Name and TokenHash are
// checked.
func (v *Vault) EditAgent(ctx context.Context, name string, edit func(cur Agent, exists bool) (Agent, error)) error {
	if err := ValidateAgentName(name); err != nil {
		return err
	}
	return v.update(ctx, func(d *document) error {
		cur, ok := d.agents[name]
		if ok {
			cur.Grants = maps.Clone(cur.Grants)
		}
		a, err := edit(cur, ok)
		if err != nil {
			return err
		}
		a.Name = name
		if _, err := agentFromFile(name, a.toFile()); err != nil {
			return err
		}
		for other, o := range d.agents {
			if other != name && o.TokenHash == a.TokenHash {
				return fmt.Errorf("agent %q: token collides with agent %q; rotate it: %w", name, other, ErrInvalidAgent)
			}
		}
		d.agents[name] = a
		return nil
	})
}

// RemoveAgent deletes an agent.
func (v *Vault) RemoveAgent(ctx context.Context, name string) error {
	return v.update(ctx, func(d *document) error {
		if _, ok := d.agents[name]; !ok {
			return v.noAgent(name)
		}
		delete(d.agents, name)
		return nil
	})
}

// FileState identifies one version of the vault file cheaply (without
// reading it): a running server compares it before each call and re-reads
// the agents only when it changed. Writes replace the file by rename, so a
// new version is a new file.
type FileState struct{ fi fs.FileInfo }

// Same reports whether s and o are the same version of the file.
func (s FileState) Same(o FileState) bool {
	if s.fi == nil || o.fi == nil {
		return s.fi == nil && o.fi == nil
	}
	return os.SameFile(s.fi, o.fi) && s.fi.ModTime().Equal(o.fi.ModTime()) && s.fi.Size() == o.fi.Size()
}

// State stats the vault file.
func (v *Vault) State() (FileState, error) {
	fi, err := os.Stat(v.path)
	if err != nil {
		return FileState{}, fmt.Errorf("vault %s: %w", v.path, err)
	}
	return FileState{fi: fi}, nil
}

// Sealer encrypts small records (pending approvals) to a key kept inside
// the vault, so that what it seals can be read back only with the vault's
// own key. It never touches the vault file again once made.
type Sealer struct{ id *age.X25519Identity }

// Sealer returns the vault's sealer. It uses the vault as last read by
// this Vault, reading it if it has not been.
func (v *Vault) Sealer(ctx context.Context) (*Sealer, error) {
	doc, err := v.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return &Sealer{id: doc.sessionKey}, nil
}

// Seal encrypts plain.
func (s *Sealer) Seal(plain []byte) ([]byte, error) {
	out, err := encrypt(plain, s.id.Recipient())
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return out, nil
}

// Open decrypts what Seal made; it fails on anything else.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	plain, err := decrypt(sealed, s.id)
	if err != nil {
		return nil, fmt.Errorf("unseal: %w", ErrDamaged)
	}
	return plain, nil
}

func cloneAgents(m map[string]Agent) map[string]Agent {
	out := make(map[string]Agent, len(m))
	for k, a := range m {
		a.Grants = maps.Clone(a.Grants)
		out[k] = a
	}
	return out
}
