package vault

import "path/filepath"

// journalsDir is where the import journals live, next to the session
// caches; they are sealed with the vault's Sealer.
const journalsDir = "journals"

// JournalDir is the directory of the import journals (internal/journal).
func (v *Vault) JournalDir() string { return filepath.Join(v.dir, journalsDir) }
