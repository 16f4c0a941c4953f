//go:build race

package cmd

import "time"

// raceEnabled: the race detector slows every goroutine several times,
// so in-process timings say nothing about the program's.
const raceEnabled = true

// slack widens a time bound for runs under the race detector.
func slack(d time.Duration) time.Duration { return d * 3 / 2 }
