package main

import (
	"context"
	"fmt"
)

// runServe is a stub; its owner replaces this file.
func runServe(ctx context.Context, args []string, s stdio) error {
	return fmt.Errorf("not implemented yet: %w", errUsage)
}
