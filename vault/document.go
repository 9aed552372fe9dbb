package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"filippo.io/age"
	"github.com/bill-mcp/bill-mcp/secret"
)

// FormatVersion is the version of the vault's plaintext format.
const FormatVersion = 1

// document is the decrypted vault.
type document struct {
	sessionKey *age.X25519Identity // encrypts session caches; made at init
	httpToken  secret.Secret
	profiles   map[string]Profile
	agents     map[string]Agent
}

// The on-disk (plaintext, then encrypted) shapes. Only marshal and
// parseDocument touch them; they live no longer than one call.
type fileDoc struct {
	Version    int                    `json:"version"`
	SessionKey string                 `json:"sessionKey"`
	HTTPToken  string                 `json:"httpToken,omitempty"`
	Profiles   map[string]fileProfile `json:"profiles"`
	Agents     map[string]fileAgent   `json:"agents,omitempty"`
}

type fileProfile struct {
	DevKey      string `json:"devKey"`
	UserName    string `json:"userName"`
	Password    string `json:"password"`
	OrgID       string `json:"orgId"`
	Environment string `json:"environment"`
}

func newDocument() (*document, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("generate session-cache key: %w", err)
	}
	return &document{sessionKey: id, profiles: map[string]Profile{}, agents: map[string]Agent{}}, nil
}

func (d *document) clone() *document {
	c := *d
	c.profiles = maps.Clone(d.profiles)
	c.agents = cloneAgents(d.agents)
	return &c
}

func (d *document) marshal() ([]byte, error) {
	f := fileDoc{
		Version:    FormatVersion,
		SessionKey: d.sessionKey.String(),
		HTTPToken:  d.httpToken.Reveal(),
		Profiles:   make(map[string]fileProfile, len(d.profiles)),
	}
	for _, name := range slices.Sorted(maps.Keys(d.profiles)) {
		p := d.profiles[name]
		f.Profiles[name] = fileProfile{
			DevKey:      p.DevKey.Reveal(),
			UserName:    p.UserName.Reveal(),
			Password:    p.Password.Reveal(),
			OrgID:       p.OrgID,
			Environment: string(p.Environment),
		}
	}
	if len(d.agents) > 0 {
		f.Agents = make(map[string]fileAgent, len(d.agents))
		for name, a := range d.agents {
			f.Agents[name] = a.toFile()
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode vault: %w", err)
	}
	return b, nil
}

// decodeStrict decodes exactly one JSON value into out, refusing unknown
// fields and trailing data.
func decodeStrict(b []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// parseDocument parses and validates a decrypted vault.
func parseDocument(b []byte) (*document, error) {
	var f fileDoc
	if err := decodeStrict(b, &f); err != nil {
		return nil, fmt.Errorf("bad vault format: %w", err)
	}
	if f.Version != FormatVersion {
		return nil, fmt.Errorf("vault format version %d; this bill-mcp reads version %d (upgrade bill-mcp)", f.Version, FormatVersion)
	}
	if f.Profiles == nil {
		return nil, errors.New("vault has no profiles object")
	}
	id, err := age.ParseX25519Identity(f.SessionKey)
	if err != nil {
		return nil, errors.New("vault sessionKey is not an age identity")
	}
	d := &document{sessionKey: id, httpToken: secret.New(f.HTTPToken), profiles: make(map[string]Profile, len(f.Profiles))}
	for name, fp := range f.Profiles {
		if err := ValidateProfileName(name); err != nil {
			return nil, err
		}
		p := Profile{
			DevKey:      secret.New(fp.DevKey),
			UserName:    secret.New(fp.UserName),
			Password:    secret.New(fp.Password),
			OrgID:       fp.OrgID,
			Environment: Environment(fp.Environment),
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("profile %q: %w", name, err)
		}
		d.profiles[name] = p
	}
	d.agents = make(map[string]Agent, len(f.Agents))
	for name, fa := range f.Agents {
		a, err := agentFromFile(name, fa)
		if err != nil {
			return nil, err
		}
		d.agents[name] = a
	}
	return d, nil
}

func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b, nil
}
