package main

import (
	"context"
	"fmt"
)

// runEmulator is a stub; its owner replaces this file.
func runEmulator(ctx context.Context, args []string, s stdio) error {
	return fmt.Errorf("not implemented yet: %w", errUsage)
}
