//go:build lockstats

package llmfeedbackprocessor

import (
	"sync/atomic"
	"time"
)

// holdStats adds up, across goroutines, the nanoseconds the traces path held
// a cache part's lock (part) and a lock that is not split (shared), for
// BenchmarkTracesPathSerial.
var holdStats struct{ part, shared atomic.Int64 }

type holdTimer struct{ start time.Time }

func startHold() holdTimer { return holdTimer{start: time.Now()} }

func (h holdTimer) part() { holdStats.part.Add(int64(time.Since(h.start))) }

func (h holdTimer) shared() { holdStats.shared.Add(int64(time.Since(h.start))) }
