package emulator_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/bill-mcp/bill-mcp/billapi/emulator"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec    string
		p       float64
		kinds   []emulator.FaultKind
		errPart string // non-empty: want an error mentioning this
	}{
		{spec: "", p: 0},
		{spec: "  ", p: 0},
		{spec: "p=0.05,kinds=system+concurrency+session+reset+lost-response", p: 0.05, kinds: []emulator.FaultKind{"system", "concurrency", "session", "reset", "lost-response"}},
		{spec: " p = 1 , kinds = ratelimit ", p: 1, kinds: []emulator.FaultKind{"ratelimit"}},
		{spec: "kinds=reset+reset,p=0.5", p: 0.5, kinds: []emulator.FaultKind{"reset"}},
		{spec: "p=0.2,kinds=all", p: 0.2, kinds: emulator.AllFaultKinds()},
		{spec: "p=0.1,kinds=applied-error+echo", p: 0.1, kinds: []emulator.FaultKind{"applied-error", "echo"}},
		{spec: "p=0,kinds=system", p: 0, kinds: []emulator.FaultKind{"system"}},
		{spec: "p=1.5,kinds=system", errPart: "probability from 0 to 1"},
		{spec: "p=-0.1,kinds=system", errPart: "probability from 0 to 1"},
		{spec: "p=NaN,kinds=system", errPart: "probability from 0 to 1"},
		{spec: "p=abc,kinds=system", errPart: "probability"},
		{spec: "p=0.1,kinds=system+meteor", errPart: `unknown fault kind "meteor"`},
		{spec: "p=0.1", errPart: "kinds is missing"},
		{spec: "kinds=system", errPart: "p is missing"},
		{spec: "p=0.1,kinds=system,q=2", errPart: `unknown key "q"`},
		{spec: "p0.1", errPart: "not key=value"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			fs, err := emulator.ParseFaults(tc.spec)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fs.P != tc.p || !slices.Equal(fs.Kinds, tc.kinds) {
				t.Fatalf("got %+v, want p=%v kinds=%v", fs, tc.p, tc.kinds)
			}
			if fs.Enabled() {
				again, err := emulator.ParseFaults(fs.String())
				if err != nil || again.P != fs.P || !slices.Equal(again.Kinds, fs.Kinds) {
					t.Fatalf("String() %q does not parse back: %+v %v", fs.String(), again, err)
				}
			}
		})
	}
}
