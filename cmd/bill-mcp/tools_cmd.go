package main

import (
	"context"
	"fmt"
)

// runTools is a stub; its owner replaces this file.
func runTools(ctx context.Context, args []string, s stdio) error {
	return fmt.Errorf("not implemented yet: %w", errUsage)
}
