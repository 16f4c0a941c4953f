//go:build !race

package cmd

import "time"

const raceEnabled = false

// slack widens a time bound for runs under the race detector.
func slack(d time.Duration) time.Duration { return d }
