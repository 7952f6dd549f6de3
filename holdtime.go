//go:build !lockstats

package llmfeedbackprocessor

// holdTimer times how long the traces path holds a shared lock, in a build
// with the lockstats tag (holdtime_lockstats.go); here it does nothing and
// costs nothing.
type holdTimer struct{}

func startHold() holdTimer { return holdTimer{} }

// part ends a hold of one cache part's lock.
func (holdTimer) part() {}

// shared ends a hold of a lock that is not split in parts.
func (holdTimer) shared() {}
