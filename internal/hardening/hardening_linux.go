//go:build linux

package hardening

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// NonDumpable sets PR_SET_DUMPABLE to 0 and RLIMIT_CORE to 0 for this
// process. Call it first thing in main, before any credential is read.
func NonDumpable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_CORE, 0): %w", err)
	}
	return nil
}
