package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"
)

// ServerJSON is the repository's server.json: how the MCP Registry
// describes bill-mcp. The file at the repository root is the template of
// the next release; ForRelease turns it into the file a release publishes,
// with the release's version and the digests of the MCPB bundles it built
// (a digest exists only once a bundle does, so the template has none).
type ServerJSON struct {
	Schema      string      `json:"$schema"`
	Name        string      `json:"name"`
	Title       string      `json:"title,omitempty"`
	Description string      `json:"description"`
	Version     string      `json:"version"`
	WebsiteURL  string      `json:"websiteUrl,omitempty"`
	Repository  *Repository `json:"repository,omitempty"`
	Packages    []Package   `json:"packages"`
}

// Repository is where the source lives.
type Repository struct {
	URL    string `json:"url"`
	Source string `json:"source"`
}

// Package is one way to install the server: an OCI image or an MCPB bundle.
type Package struct {
	RegistryType     string     `json:"registryType"`
	Identifier       string     `json:"identifier"`
	Version          string     `json:"version,omitempty"`
	FileSHA256       string     `json:"fileSha256,omitempty"`
	RuntimeHint      string     `json:"runtimeHint,omitempty"`
	Transport        Transport  `json:"transport"`
	RuntimeArguments []Argument `json:"runtimeArguments,omitempty"`
	PackageArguments []Argument `json:"packageArguments,omitempty"`
}

// Transport is how a client speaks to the started package.
type Transport struct {
	Type string `json:"type"`
}

// Argument is one command-line argument of the runtime (docker) or of the
// package (bill-mcp).
type Argument struct {
	Type        string           `json:"type"` // positional or named
	Name        string           `json:"name,omitempty"`
	Value       string           `json:"value,omitempty"`
	ValueHint   string           `json:"valueHint,omitempty"`
	Description string           `json:"description,omitempty"`
	Format      string           `json:"format,omitempty"`
	IsRequired  bool             `json:"isRequired,omitempty"`
	Variables   map[string]Input `json:"variables,omitempty"`
}

// Input is a value the client asks the user for, substituted into an
// argument's {curly_braces}.
type Input struct {
	Description string `json:"description,omitempty"`
	Format      string `json:"format,omitempty"`
	Default     string `json:"default,omitempty"`
	IsRequired  bool   `json:"isRequired,omitempty"`
	IsSecret    bool   `json:"isSecret,omitempty"`
}

// LoadServerJSON reads a server.json, refusing fields this type does not
// know (ForRelease would silently drop them).
func LoadServerJSON(p string) (ServerJSON, error) {
	var s ServerJSON
	raw, err := os.ReadFile(p)
	if err != nil {
		return s, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("%s: %w", p, err)
	}
	return s, nil
}

// ForRelease is the server.json of release version: the template's
// version and every identifier carry version, and each MCPB package gets
// the SHA-256 of its bundle from digests (by file name). A template
// bundle without a digest was not built: with partial (a build for some
// platforms only) it is left out, otherwise that is an error. A digest
// for a bundle the template does not list is an error either way.
func (s ServerJSON) ForRelease(version string, digests map[string]string, partial bool) (ServerJSON, error) {
	if err := CheckVersion(version); err != nil {
		return ServerJSON{}, err
	}
	out := s
	out.Version = version
	out.Packages = nil
	used := map[string]bool{}
	for _, p := range s.Packages {
		p.Identifier = strings.ReplaceAll(p.Identifier, s.Version, version)
		if p.RegistryType == "mcpb" {
			name := path.Base(p.Identifier)
			d, ok := digests[name]
			if !ok {
				if partial {
					continue
				}
				return ServerJSON{}, fmt.Errorf("server.json lists %s, which this release did not build", name)
			}
			used[name] = true
			p.Version, p.FileSHA256 = version, d
		}
		out.Packages = append(out.Packages, p)
	}
	for name := range digests {
		if !used[name] {
			return ServerJSON{}, fmt.Errorf("bundle %s is not in server.json's packages: add it", name)
		}
	}
	return out, nil
}

// Write writes s as indented JSON.
func (s ServerJSON) Write(p string) error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode server.json: %w", err)
	}
	return os.WriteFile(p, append(raw, '\n'), 0o644)
}
