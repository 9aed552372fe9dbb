package vault

import (
	"context"
	"fmt"
	"path/filepath"

	"filippo.io/age"
)

// journalsDir is where the import journals live, next to the session caches.
const journalsDir = "journals"

// JournalDir is the directory of the import journals (internal/journal).
func (v *Vault) JournalDir() string { return filepath.Join(v.dir, journalsDir) }

// Sealer encrypts small records with the vault's session-cache key (age
// X25519): like the session cache it costs no scrypt, and it can be read
// only with the key that opens the vault.
type Sealer struct{ id *age.X25519Identity }

// Sealer returns the sealer of this vault, reading the vault if this Vault
// has not yet.
func (v *Vault) Sealer(ctx context.Context) (*Sealer, error) {
	doc, err := v.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return &Sealer{id: doc.sessionKey}, nil
}

// Seal encrypts plain.
func (s *Sealer) Seal(plain []byte) ([]byte, error) {
	b, err := encrypt(plain, s.id.Recipient())
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return b, nil
}

// Open decrypts what Seal made.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	b, err := decrypt(sealed, s.id)
	if err != nil {
		return nil, fmt.Errorf("open sealed record: %w", err)
	}
	return b, nil
}
