package policy

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/bill-mcp/bill-mcp/secret"
	"github.com/bill-mcp/bill-mcp/vault"
)

// Store is where agents live: the vault.
type Store interface {
	Agents(ctx context.Context) (map[string]vault.Agent, error)
	State() (vault.FileState, error)
}

// Directory answers "who is this agent, and what may it do now" for a
// running server. It re-reads the agents only when the vault file changed
// (one stat per call), so `agent disable` and `agent rm` take effect at an
// agent's next call without a restart.
type Directory struct {
	store Store

	mu     sync.Mutex
	state  vault.FileState
	loaded bool
	agents map[string]Agent
	hashes map[string]string // token hash -> name
}

// NewDirectory reads agents from store on first use.
func NewDirectory(store Store) *Directory { return &Directory{store: store} }

// ErrUnknownAgent: no agent of that name (it was never added, or removed).
var ErrUnknownAgent = errors.New("unknown agent")

func (d *Directory) refresh(ctx context.Context) error {
	st, err := d.store.State()
	if err != nil {
		return err
	}
	if d.loaded && st.Same(d.state) {
		return nil
	}
	raw, err := d.store.Agents(ctx)
	if err != nil {
		return err
	}
	agents := make(map[string]Agent, len(raw))
	hashes := make(map[string]string, len(raw))
	for name, va := range raw {
		a, err := FromVault(va)
		if err != nil {
			return err
		}
		agents[name] = a
		hashes[va.TokenHash] = name
	}
	d.state, d.loaded, d.agents, d.hashes = st, true, agents, hashes
	return nil
}

// Agent returns the named agent as the vault holds it now.
func (d *Directory) Agent(ctx context.Context, name string) (Agent, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.refresh(ctx); err != nil {
		return Agent{}, fmt.Errorf("read agents from the vault: %w", err)
	}
	a, ok := d.agents[name]
	if !ok {
		return Agent{}, fmt.Errorf("agent %s: %w", name, ErrUnknownAgent)
	}
	return a, nil
}

// ByToken returns the name of the agent whose bearer token this is.
func (d *Directory) ByToken(ctx context.Context, token secret.Secret) (string, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.refresh(ctx); err != nil {
		return "", false, fmt.Errorf("read agents from the vault: %w", err)
	}
	name, ok := d.hashes[vault.HashToken(token)]
	return name, ok, nil
}

// Identity is who makes a call and how it arrived.
type Identity struct {
	Agent     string // "" for the owner
	Transport string // stdio, sse or http
	Remote    string // the peer's address on HTTP
}

// Owner reports whether the caller is the owner (full access).
func (i Identity) Owner() bool { return i.Agent == "" }

// Who names the caller for people: the agent, or "owner".
func (i Identity) Who() string {
	if i.Agent == "" {
		return "owner"
	}
	return i.Agent
}

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity ctx carries.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}
