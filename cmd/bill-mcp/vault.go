package main

import (
	"context"
	"fmt"
)

// runVault is a stub; its owner replaces this file.
func runVault(ctx context.Context, args []string, s stdio) error {
	return fmt.Errorf("not implemented yet: %w", errUsage)
}
