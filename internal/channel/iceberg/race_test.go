//go:build race

package iceberg

// raceEnabled: the race detector slows the tests down about eightfold, too
// much for timings and for TestLongRunningTable's thousand commits.
const raceEnabled = true
