package release

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/bill-mcp/bill-mcp/tools"
)

// MCPB bundles are what Claude Desktop installs with a double click: a zip
// holding manifest.json and the server. bill-mcp's is a "binary" server;
// one bundle per platform, since a Go binary is built for one OS and CPU.

// ManifestVersion is the MCPB manifest specification the bundle follows.
const ManifestVersion = "0.3"

// Manifest is the subset of an MCPB manifest.json that bill-mcp writes.
type Manifest struct {
	ManifestVersion string                `json:"manifest_version"`
	Name            string                `json:"name"`
	DisplayName     string                `json:"display_name"`
	Version         string                `json:"version"`
	Description     string                `json:"description"`
	LongDescription string                `json:"long_description"`
	Author          ManifestAuthor        `json:"author"`
	Repository      ManifestRepository    `json:"repository"`
	Homepage        string                `json:"homepage"`
	Documentation   string                `json:"documentation"`
	Support         string                `json:"support"`
	Keywords        []string              `json:"keywords"`
	PrivacyPolicies []string              `json:"privacy_policies"`
	Server          ManifestServer        `json:"server"`
	Tools           []ManifestTool        `json:"tools"`
	UserConfig      map[string]UserConfig `json:"user_config"`
	Compatibility   Compatibility         `json:"compatibility"`
}

// ManifestAuthor is who publishes the bundle.
type ManifestAuthor struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// ManifestRepository is where the source lives.
type ManifestRepository struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// ManifestServer says how the client starts the server.
type ManifestServer struct {
	Type       string    `json:"type"`
	EntryPoint string    `json:"entry_point"`
	MCPConfig  MCPConfig `json:"mcp_config"`
}

// MCPConfig is the command line the client runs. ${__dirname} is the
// unpacked bundle's directory and ${user_config.KEY} a value the user
// entered at install.
type MCPConfig struct {
	Command           string                    `json:"command"`
	Args              []string                  `json:"args"`
	PlatformOverrides map[string]PlatformConfig `json:"platform_overrides,omitempty"`
}

// PlatformConfig overrides the command on one OS.
type PlatformConfig struct {
	Command string `json:"command"`
}

// ManifestTool names one tool for the install screen.
type ManifestTool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// UserConfig is one setting the client asks the user for at install.
type UserConfig struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Required    bool   `json:"required"`
	Default     any    `json:"default,omitempty"`
	Sensitive   bool   `json:"sensitive,omitempty"`
}

// Compatibility limits the bundle to the platform its binary runs on.
type Compatibility struct {
	Platforms []string `json:"platforms"`
}

const (
	repoURL = "https://github.com/bill-mcp/bill-mcp"
	// billPrivacyPolicy is BILL's: the bundle sends customer data to BILL.
	billPrivacyPolicy = "https://www.bill.com/privacy"
)

// NewManifest is the manifest of t's bundle. The user enters a vault
// profile name (created beforehand with `bill-mcp vault set`) and whether
// to allow only reads; no secret ever goes into the client's settings.
func NewManifest(version string, t Target) (Manifest, error) {
	entries, err := tools.Catalogue()
	if err != nil {
		return Manifest{}, err
	}
	var ts []ManifestTool
	for _, e := range entries {
		ts = append(ts, ManifestTool{Name: e.Name, Description: e.Description})
	}
	m := Manifest{
		ManifestVersion: ManifestVersion,
		Name:            "bill-mcp",
		DisplayName:     "BILL customers, contacts and bank accounts",
		Version:         version,
		Description:     "Manage BILL accounts-receivable customers, contacts and bank accounts; credentials stay in a local vault.",
		LongDescription: "bill-mcp lets Claude create, find, update and bulk-import BILL customers, customer contacts and customer bank accounts through BILL's v2 API. " +
			"Credentials live in bill-mcp's local age-encrypted vault, never in Claude's settings: before installing, run `bill-mcp vault init` and `bill-mcp vault set PROFILE` " +
			"in a terminal, then enter PROFILE here. Every call goes through one rate-aware client that respects BILL's limits and never creates a record twice.",
		Author:          ManifestAuthor{Name: "bill-mcp contributors", URL: repoURL},
		Repository:      ManifestRepository{Type: "git", URL: repoURL + ".git"},
		Homepage:        repoURL,
		Documentation:   repoURL + "#readme",
		Support:         repoURL + "/issues",
		Keywords:        []string{"bill", "bill.com", "accounts receivable", "customers", "contacts", "bank accounts"},
		PrivacyPolicies: []string{billPrivacyPolicy},
		Server: ManifestServer{
			Type:       "binary",
			EntryPoint: "server/" + t.BinaryName(),
			MCPConfig: MCPConfig{
				Command: "${__dirname}/server/bill-mcp",
				Args:    []string{"serve", "--profile", "${user_config.profile}", "--read-only=${user_config.read_only}"},
				PlatformOverrides: map[string]PlatformConfig{
					"win32": {Command: "${__dirname}/server/bill-mcp.exe"},
				},
			},
		},
		Tools: ts,
		UserConfig: map[string]UserConfig{
			"profile": {
				Type:  "string",
				Title: "Vault profile",
				Description: "Name of the bill-mcp vault profile holding your BILL credentials " +
					"(made with `bill-mcp vault set NAME`). A name only, never a key or password.",
				Required: true,
				Default:  "default",
			},
			"read_only": {
				Type:        "boolean",
				Title:       "Read-only",
				Description: "Offer only the tools that read; anything that would change BILL is refused.",
				Required:    false,
				Default:     false,
			},
		},
		Compatibility: Compatibility{Platforms: []string{t.MCPBPlatform()}},
	}
	return m, nil
}

// BundleName is the file name of t's MCPB bundle.
func BundleName(version string, t Target) string {
	return fmt.Sprintf("bill-mcp_%s_%s_%s.mcpb", version, t.OS, t.Arch)
}

// WriteBundle writes t's MCPB bundle to path: manifest.json at the top and
// the binary at the manifest's entry point.
func WriteBundle(path, version string, t Target, bin string) error {
	m, err := NewManifest(version, t)
	if err != nil {
		return err
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	return writeZip(path, []archiveFile{
		{name: "manifest.json", data: append(raw, '\n')},
		{name: m.Server.EntryPoint, data: exe, exec: true},
	})
}
