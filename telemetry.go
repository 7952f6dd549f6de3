package llmfeedbackprocessor

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// telemetry records the processor's internal metrics, one method per
// metric. Every attribute value is one of a few known constants, so each
// attribute set is built once, when the package loads: counting looks up a
// read-only map (or nothing) and allocates nothing.
type telemetry struct {
	tb *metadata.TelemetryBuilder
}

// attrOpt is the options for one attribute set, built once. Passed on to
// Add as it is, it allocates nothing; a fresh variadic slice would escape
// (Add is an interface method) and cost an allocation per count.
type attrOpt []metric.AddOption

func optionFor(key, value string) attrOpt {
	return attrOpt{metric.WithAttributeSet(attribute.NewSet(attribute.String(key, value)))}
}

var (
	joinImmediate = optionFor("join", "immediate")
	joinDelayed   = optionFor("join", "delayed")
	// reasonOptions holds the attribute set of every reason any metric
	// reports; see knownReasons.
	reasonOptions = func() map[string]attrOpt {
		m := map[string]attrOpt{}
		for _, r := range knownReasons {
			m[r] = optionFor("reason", r)
		}
		return m
	}()
)

// reason is the attribute set of reason r; one outside knownReasons would
// be built on the spot (and allocate), never be missing.
func reason(r string) attrOpt {
	if o, ok := reasonOptions[r]; ok {
		return o
	}
	return optionFor("reason", r)
}

func newTelemetry(tb *metadata.TelemetryBuilder) *telemetry {
	return &telemetry{tb: tb}
}

func count(c metric.Int64Counter, n int64, opt attrOpt) {
	if n != 0 {
		c.Add(context.Background(), n, opt...)
	}
}

func (t *telemetry) feedbackReceived(n int64) {
	count(t.tb.ProcessorLlmFeedbackFeedbackReceived, n, nil)
}

func (t *telemetry) feedbackInvalid(why string) {
	count(t.tb.ProcessorLlmFeedbackFeedbackInvalid, 1, reason(why))
}

func (t *telemetry) feedbackDuplicates(n int64) {
	count(t.tb.ProcessorLlmFeedbackFeedbackDuplicates, n, nil)
}

func (t *telemetry) feedbackUnmatched(n int64, why string) {
	count(t.tb.ProcessorLlmFeedbackFeedbackUnmatched, n, reason(why))
}

func (t *telemetry) feedbackDropped(n int64) {
	count(t.tb.ProcessorLlmFeedbackFeedbackDropped, n, nil)
}

// feedbackMatched counts one join, at once or after waiting, and its delay.
func (t *telemetry) feedbackMatched(delayed bool, delayMs int64) {
	t.feedbackAddressed(delayed, 1)
	t.tb.ProcessorLlmFeedbackFeedbackDelay.Record(context.Background(), float64(max(delayMs, 0)))
}

// feedbackAddressed counts records a router addressed to their completion's
// trace, at once or after waiting: feedback_matched without a delay, which
// only the joining tier, that sees both sides, measures.
func (t *telemetry) feedbackAddressed(delayed bool, n int64) {
	opt := joinImmediate
	if delayed {
		opt = joinDelayed
	}
	count(t.tb.ProcessorLlmFeedbackFeedbackMatched, n, opt)
}

func (t *telemetry) pendingOverflow(n int64) {
	count(t.tb.ProcessorLlmFeedbackPendingOverflow, n, nil)
}

func (t *telemetry) emitFailures(n int64) {
	count(t.tb.ProcessorLlmFeedbackEmitFailures, n, nil)
}

func (t *telemetry) completionsSeen(n int64) {
	count(t.tb.ProcessorLlmFeedbackCompletionsSeen, n, nil)
}

func (t *telemetry) truncated(n int64, why string) {
	count(t.tb.ProcessorLlmFeedbackTruncated, n, reason(why))
}

func (t *telemetry) cacheEvictions(n int64, why string) {
	count(t.tb.ProcessorLlmFeedbackCacheEvictions, n, reason(why))
}

func (t *telemetry) storageError(why string) {
	count(t.tb.ProcessorLlmFeedbackStorageErrors, 1, reason(why))
}

// Reasons of the truncated metric: the limit that cut a value.
const (
	truncatedAttributeLength = "max_attribute_length"
	truncatedMetadataKeys    = "max_metadata_keys"
	truncatedCompletionField = "completion_field" // genai.MaxStringBytes
)

// knownReasons is every value the reason attribute takes.
var knownReasons = []string{
	// feedback_invalid
	feedback.ReasonMissingRating, feedback.ReasonBadRating, feedback.ReasonBadTraceID,
	feedback.ReasonNoJoinKey, feedback.ReasonBadSpanID, feedback.ReasonBadType,
	// feedback_unmatched
	unmatchedExpired, unmatchedOverflow, unmatchedShutdown,
	// cache_evictions
	store.ReasonMaxTraces, store.ReasonMaxPerTrace, store.ReasonMaxDedupeIDs, store.ReasonMaxConversations,
	// truncated
	truncatedAttributeLength, truncatedMetadataKeys, truncatedCompletionField,
	// storage_errors
	storageGet, storageSet, storageBatch, storageClient, storageCorrupt, storageQueueFull, storageWriteWait,
}
