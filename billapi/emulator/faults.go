package emulator

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// FaultKind names one kind of injected failure.
type FaultKind string

// The fault kinds ParseFaults understands.
const (
	// FaultSystem answers BDC_1001; nothing is applied.
	FaultSystem FaultKind = "system"
	// FaultConcurrency answers BDC_1322; nothing is applied.
	FaultConcurrency FaultKind = "concurrency"
	// FaultRateLimit answers BDC_1144; nothing is applied.
	FaultRateLimit FaultKind = "ratelimit"
	// FaultSession drops the caller's session and answers BDC_1109; nothing
	// is applied. Login calls are never given this fault.
	FaultSession FaultKind = "session"
	// FaultReset closes the connection before the call is applied.
	FaultReset FaultKind = "reset"
	// FaultLostResponse applies the call, then closes the connection
	// without an answer.
	FaultLostResponse FaultKind = "lost-response"
	// FaultAppliedError applies the call, then answers BDC_1001: nothing
	// BILL documents says a BDC_1001 means nothing was applied.
	FaultAppliedError FaultKind = "applied-error"
	// FaultEcho answers BDC_1001 whose message quotes the request's form
	// body (credentials and session id included), as a careless upstream
	// might; nothing is applied.
	FaultEcho FaultKind = "echo"
)

// AllFaultKinds lists every fault kind, in the order "kinds=all" expands to.
func AllFaultKinds() []FaultKind {
	return []FaultKind{FaultSystem, FaultConcurrency, FaultRateLimit, FaultSession, FaultReset, FaultLostResponse, FaultAppliedError, FaultEcho}
}

// FaultSpec says how often faults strike and which kinds: each API call
// draws a fault with probability P, its kind chosen uniformly from Kinds.
type FaultSpec struct {
	P     float64
	Kinds []FaultKind
}

// Enabled reports whether the spec can inject anything.
func (f FaultSpec) Enabled() bool { return f.P > 0 && len(f.Kinds) > 0 }

// String renders the spec in the form ParseFaults reads ("" when off).
func (f FaultSpec) String() string {
	if !f.Enabled() {
		return ""
	}
	ks := make([]string, len(f.Kinds))
	for i, k := range f.Kinds {
		ks[i] = string(k)
	}
	return "p=" + strconv.FormatFloat(f.P, 'g', -1, 64) + ",kinds=" + strings.Join(ks, "+")
}

// ParseFaults reads a fault spec such as
// "p=0.05,kinds=system+concurrency+session+reset+lost-response".
// "" means no faults. p is a probability from 0 to 1; kinds is a
// '+'-separated list of fault kinds, or "all". Both are required.
func ParseFaults(spec string) (FaultSpec, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return FaultSpec{}, nil
	}
	var fs FaultSpec
	var haveP, haveKinds bool
	for part := range strings.SplitSeq(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return FaultSpec{}, fmt.Errorf("fault spec %q: %q is not key=value (want e.g. p=0.05,kinds=system+reset)", spec, part)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "p":
			p, err := strconv.ParseFloat(val, 64)
			if err != nil || !(p >= 0 && p <= 1) {
				return FaultSpec{}, fmt.Errorf("fault spec %q: p must be a probability from 0 to 1, got %q", spec, val)
			}
			fs.P, haveP = p, true
		case "kinds":
			if val == "all" {
				fs.Kinds, haveKinds = AllFaultKinds(), true
				continue
			}
			fs.Kinds = fs.Kinds[:0]
			for k := range strings.SplitSeq(val, "+") {
				kind := FaultKind(strings.TrimSpace(k))
				if !slices.Contains(AllFaultKinds(), kind) {
					return FaultSpec{}, fmt.Errorf("fault spec %q: unknown fault kind %q (known: system, concurrency, ratelimit, session, reset, lost-response, applied-error, echo, or all)", spec, kind)
				}
				if !slices.Contains(fs.Kinds, kind) {
					fs.Kinds = append(fs.Kinds, kind)
				}
			}
			haveKinds = true
		default:
			return FaultSpec{}, fmt.Errorf("fault spec %q: unknown key %q (known: p, kinds)", spec, key)
		}
	}
	if !haveP {
		return FaultSpec{}, fmt.Errorf("fault spec %q: p is missing (e.g. p=0.05)", spec)
	}
	if !haveKinds {
		return FaultSpec{}, fmt.Errorf("fault spec %q: kinds is missing (e.g. kinds=system+reset, or kinds=all)", spec)
	}
	return fs, nil
}

// SetFaults replaces the fault spec; the random source continues.
func (e *Emulator) SetFaults(f FaultSpec) {
	e.faultMu.Lock()
	e.faults = f
	e.faultMu.Unlock()
}

// drawFault draws one fault for an API call: "" for none. While faults are
// on, every call draws from the seeded source, so a seed and a call order
// repeat the faults.
func (e *Emulator) drawFault(login bool) FaultKind {
	e.faultMu.Lock()
	defer e.faultMu.Unlock()
	if !e.faults.Enabled() {
		return ""
	}
	if e.faultRNG.Float64() >= e.faults.P {
		return ""
	}
	k := e.faults.Kinds[e.faultRNG.IntN(len(e.faults.Kinds))]
	if login && k == FaultSession {
		return ""
	}
	return k
}

func (e *Emulator) countFault(k FaultKind) {
	e.mu.Lock()
	e.stats.Faults[string(k)]++
	e.mu.Unlock()
}
