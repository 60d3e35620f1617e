//go:build !race

package iceberg

// raceEnabled: see race_test.go.
const raceEnabled = false
