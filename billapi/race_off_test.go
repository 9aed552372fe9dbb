//go:build !race

package billapi_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false
