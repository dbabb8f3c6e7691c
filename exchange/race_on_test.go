//go:build race

package exchange

// The race detector makes sync.Pool drop items at random, so pooled scratch is
// sometimes allocated anew: allocation counts are not checked under -race.
const raceEnabled = true
