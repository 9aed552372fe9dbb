//go:build race

package billapi_test

// raceEnabled: the race detector slows every call about tenfold, so the
// soak runs a smaller volume under it (the same faults, seeds and settings).
const raceEnabled = true
