// Package logging builds the server's zerolog logger: JSON (or console) on
// stderr, never stdout, with a redacting writer as a second net for secrets.
package logging

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// New returns a logger writing to w in format "json" (default) or
// "console", at level (trace, debug, info, warn, error; default info).
func New(w io.Writer, format, level string) (zerolog.Logger, error) {
	lvl := zerolog.InfoLevel
	if level != "" {
		l, err := zerolog.ParseLevel(strings.ToLower(level))
		if err != nil {
			return zerolog.Nop(), fmt.Errorf("log level %q: use trace, debug, info, warn or error: %w", level, err)
		}
		lvl = l
	}
	switch format {
	case "", "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: true}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: use json or console", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}
