//go:build !linux

package hardening

// NonDumpable does nothing outside Linux: macOS and Windows have no
// equivalent a process can set on itself without extra privileges.
func NonDumpable() error { return nil }
