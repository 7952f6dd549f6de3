package llmfeedbackprocessor

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Modes. In join mode (the default) the processor joins feedback to its
// completion. In route mode, for a routing tier in front of several
// collectors, it only sets each feedback record's TraceID to the completion's
// trace (read from its trace_id attribute), so a trace-id load balancer sends
// the record to the collector that has the completion's spans.
const (
	ModeJoin  = "join"
	ModeRoute = "route"
)

// On-expiry policies for pending feedback.
const (
	OnExpiryEmit = "emit"
	OnExpiryDrop = "drop"
)

// Config is the llm_feedback processor's configuration.
type Config struct {
	Mode     string         `mapstructure:"mode"`
	Route    RouteConfig    `mapstructure:"route"`
	Cache    CacheConfig    `mapstructure:"cache"`
	Pending  PendingConfig  `mapstructure:"pending"`
	Feedback FeedbackConfig `mapstructure:"feedback"`
	Output   OutputConfig   `mapstructure:"output"`
	Join     JoinConfig     `mapstructure:"join"`
	// Storage names a storage extension (such as file_storage/llm) that keeps
	// pending feedback and the completion cache across restarts. Optional.
	Storage *component.ID `mapstructure:"storage"`
	// StorageFlushInterval is how often the completion cache and the dedupe
	// window are saved.
	StorageFlushInterval time.Duration `mapstructure:"storage_flush_interval"`
	// StorageTimeout bounds each call to the storage extension.
	StorageTimeout time.Duration `mapstructure:"storage_timeout"`
	// StorageWriteWait bounds how long the logs side waits, before it
	// acknowledges a batch whose feedback it held, for that feedback to be
	// written to storage; 0 acknowledges at once.
	StorageWriteWait time.Duration `mapstructure:"storage_write_wait"`
	// StorageQueueSize bounds the held records waiting to be written; one
	// that finds the queue full is held in memory only, and counted.
	StorageQueueSize int `mapstructure:"storage_queue_size"`
	// MaxAttributeLength caps string attribute values on output records, in bytes.
	MaxAttributeLength int `mapstructure:"max_attribute_length"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Route-mode encodings of the record's TraceID.
const (
	RouteStandIn    = "stand_in"
	RouteCompletion = "completion"
)

// RouteConfig shapes route mode.
type RouteConfig struct {
	// RecordTraceID is what route mode writes into a feedback record's
	// TraceID: "completion", the completion's trace id; or "stand_in", an id
	// that the contrib load_balancing exporter at v0.161.0 routes to the same
	// backend as the completion's spans (its logs path hashes trace ids
	// differently from its traces path). The completion's trace id always
	// goes in the trace_id attribute, from which the joining tier reads it.
	RecordTraceID string `mapstructure:"record_trace_id"`
}

// CacheConfig bounds the completion cache.
type CacheConfig struct {
	TTL                    time.Duration `mapstructure:"ttl"`
	MaxTraces              int           `mapstructure:"max_traces"`
	MaxCompletionsPerTrace int           `mapstructure:"max_completions_per_trace"`
}

// PendingConfig bounds feedback that waits for its completion.
type PendingConfig struct {
	TTL        time.Duration `mapstructure:"ttl"`
	MaxRecords int           `mapstructure:"max_records"`
	OnExpiry   string        `mapstructure:"on_expiry"`
	// RetryGrace is how long past its deadline held-back feedback is retried
	// when the next consumer refuses it.
	RetryGrace time.Duration `mapstructure:"retry_grace"`
	// ShutdownTimeout is how long the last flush at shutdown retries a
	// refusing consumer.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
}

// FeedbackConfig says which records are feedback and how they are read.
type FeedbackConfig struct {
	EventNames      []string      `mapstructure:"event_names"`
	MaxMetadataKeys int           `mapstructure:"max_metadata_keys"`
	DedupeTTL       time.Duration `mapstructure:"dedupe_ttl"`
	DedupeMaxIDs    int           `mapstructure:"dedupe_max_ids"`
}

// JoinConfig says which keys besides the trace id find a completion.
type JoinConfig struct {
	// Keys are attributes an app sets on a completion span (or its
	// resource) and on feedback about it, such as its own message id.
	Keys []string `mapstructure:"keys"`
	// ByResponseID finds a completion by gen_ai.response.id in any trace.
	ByResponseID bool `mapstructure:"by_response_id"`
	// ByConversation finds the turn of a conversation a user rated.
	ByConversation bool `mapstructure:"by_conversation"`
	// MaxConversations bounds the conversations indexed.
	MaxConversations int `mapstructure:"max_conversations"`
}

// OutputConfig shapes the emitted records.
type OutputConfig struct {
	NewRelicEventType bool `mapstructure:"newrelic_event_type"`
	EvaluationEvent   bool `mapstructure:"evaluation_event"`
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		Mode:                 ModeJoin,
		Route:                RouteConfig{RecordTraceID: RouteStandIn},
		Cache:                CacheConfig{TTL: 30 * time.Minute, MaxTraces: 100_000, MaxCompletionsPerTrace: 16},
		Pending:              PendingConfig{TTL: 30 * time.Second, MaxRecords: 10_000, OnExpiry: OnExpiryEmit, RetryGrace: 30 * time.Second, ShutdownTimeout: 10 * time.Second},
		Feedback:             FeedbackConfig{EventNames: []string{"LlmFeedbackMessage"}, MaxMetadataKeys: 128, DedupeTTL: 30 * time.Minute, DedupeMaxIDs: 100_000},
		Output:               OutputConfig{NewRelicEventType: true},
		Join:                 JoinConfig{ByResponseID: true, ByConversation: true, MaxConversations: 100_000},
		StorageFlushInterval: 10 * time.Second,
		StorageTimeout:       5 * time.Second,
		StorageWriteWait:     time.Second,
		StorageQueueSize:     10_000,
		MaxAttributeLength:   4095,
	}
}

// Validate reports every problem at once, each naming the key and the value.
func (cfg *Config) Validate() error {
	var errs []error
	positiveDur := func(key string, d time.Duration) {
		switch {
		case d <= 0:
			errs = append(errs, fmt.Errorf("%s must be a positive duration, got %s", key, d))
		case d > maxDuration:
			errs = append(errs, fmt.Errorf("%s must be at most %s, got %s", key, maxDuration, d))
		}
	}
	positiveInt := func(key string, n int) {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive integer, got %d", key, n))
		}
	}
	if cfg.Mode != ModeJoin && cfg.Mode != ModeRoute {
		errs = append(errs, fmt.Errorf("mode must be %q or %q, got %q", ModeJoin, ModeRoute, cfg.Mode))
	}
	if r := cfg.Route.RecordTraceID; r != RouteStandIn && r != RouteCompletion {
		errs = append(errs, fmt.Errorf("route::record_trace_id must be %q or %q, got %q", RouteStandIn, RouteCompletion, r))
	}
	positiveDur("cache::ttl", cfg.Cache.TTL)
	positiveInt("cache::max_traces", cfg.Cache.MaxTraces)
	positiveInt("cache::max_completions_per_trace", cfg.Cache.MaxCompletionsPerTrace)
	// The cache links its entries by 32-bit index.
	if n := int64(cfg.Cache.MaxTraces) * int64(cfg.Cache.MaxCompletionsPerTrace); n > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("cache::max_traces times cache::max_completions_per_trace must be at most %d, got %d", math.MaxInt32, n))
	}
	positiveDur("pending::ttl", cfg.Pending.TTL)
	positiveInt("pending::max_records", cfg.Pending.MaxRecords)
	positiveDur("pending::retry_grace", cfg.Pending.RetryGrace)
	positiveDur("pending::shutdown_timeout", cfg.Pending.ShutdownTimeout)
	if cfg.Pending.OnExpiry != OnExpiryEmit && cfg.Pending.OnExpiry != OnExpiryDrop {
		errs = append(errs, fmt.Errorf("pending::on_expiry must be %q or %q, got %q", OnExpiryEmit, OnExpiryDrop, cfg.Pending.OnExpiry))
	}
	if len(cfg.Feedback.EventNames) == 0 {
		errs = append(errs, errors.New("feedback::event_names must list at least one event name, got an empty list"))
	}
	for i, n := range cfg.Feedback.EventNames {
		if n == "" {
			errs = append(errs, fmt.Errorf("feedback::event_names[%d] must not be empty", i))
		}
	}
	positiveInt("feedback::max_metadata_keys", cfg.Feedback.MaxMetadataKeys)
	positiveDur("feedback::dedupe_ttl", cfg.Feedback.DedupeTTL)
	positiveInt("feedback::dedupe_max_ids", cfg.Feedback.DedupeMaxIDs)
	errs = append(errs, cfg.Join.validate()...)
	positiveDur("storage_flush_interval", cfg.StorageFlushInterval)
	positiveDur("storage_timeout", cfg.StorageTimeout)
	if cfg.StorageWriteWait < 0 || cfg.StorageWriteWait > maxDuration {
		errs = append(errs, fmt.Errorf("storage_write_wait must be from 0 to %s, got %s", maxDuration, cfg.StorageWriteWait))
	}
	positiveInt("storage_queue_size", cfg.StorageQueueSize)
	positiveInt("max_attribute_length", cfg.MaxAttributeLength)
	return errors.Join(errs...)
}

// maxDuration bounds every duration: a deadline is a time plus one, in
// nanoseconds since 1970, which a duration of centuries would overflow.
const maxDuration = 10 * 365 * 24 * time.Hour

// joinKeysTaken are attribute names join::keys cannot use: the keys the
// join already reads, the feedback's own fields, and the event name that
// marks a record as feedback (every record would carry the same value).
// sdk/go's builtinKeys refuses the same names, with these and reserved
// (testdata/refused_join_keys.txt lists them; both sides' tests check it).
var joinKeysTaken = map[string]bool{
	"trace_id": true, "span_id": true, "gen_ai.response.id": true, "gen_ai.conversation.id": true,
	"session.id": true, "id": true, "rating": true, "category": true, "message": true, "metadata": true,
	"ingest_source": true, "event.name": true, "otel.event.name": true,
}

func (j *JoinConfig) validate() []error {
	var errs []error
	if len(j.Keys) > maxJoinKeys {
		errs = append(errs, fmt.Errorf("join::keys lists %d keys; at most %d", len(j.Keys), maxJoinKeys))
	}
	seen := map[string]bool{}
	for i, k := range j.Keys {
		switch {
		case k == "":
			errs = append(errs, fmt.Errorf("join::keys[%d] must not be empty", i))
		case strings.TrimSpace(k) != k:
			errs = append(errs, fmt.Errorf("join::keys[%d] is %q, with leading or trailing spaces, which no attribute name has", i, k))
		case joinKeysTaken[k]:
			errs = append(errs, fmt.Errorf("join::keys[%d] is %q, which the join reads already, a feedback field uses or marks feedback; name an attribute of your own", i, k))
		case reserved[k] || strings.HasPrefix(k, "llm.feedback.") || strings.HasPrefix(k, "llm.conversation.") || strings.HasPrefix(k, "llm.completion."):
			errs = append(errs, fmt.Errorf("join::keys[%d] is %q, which this processor writes on its output; name an attribute of your own", i, k))
		case seen[k]:
			errs = append(errs, fmt.Errorf("join::keys[%d] repeats %q", i, k))
		}
		seen[k] = true
	}
	if j.MaxConversations <= 0 {
		errs = append(errs, fmt.Errorf("join::max_conversations must be a positive integer, got %d", j.MaxConversations))
	}
	return errs
}
