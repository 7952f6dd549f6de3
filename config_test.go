package llmfeedbackprocessor

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	storage := component.MustNewIDWithName("file_storage", "llm")
	tests := []struct {
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig().(*Config)},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			want: &Config{
				Mode:                 ModeJoin,
				Route:                RouteConfig{RecordTraceID: RouteStandIn},
				Cache:                CacheConfig{TTL: time.Hour, MaxTraces: 5000, MaxCompletionsPerTrace: 4},
				Pending:              PendingConfig{TTL: 2 * time.Minute, MaxRecords: 500, OnExpiry: OnExpiryDrop, RetryGrace: time.Minute, ShutdownTimeout: 3 * time.Second},
				Feedback:             FeedbackConfig{EventNames: []string{"LlmFeedbackMessage", "user_feedback"}, MaxMetadataKeys: 32, DedupeTTL: 10 * time.Minute, DedupeMaxIDs: 1000},
				Output:               OutputConfig{NewRelicEventType: false, EvaluationEvent: true},
				Join:                 JoinConfig{Keys: []string{"app.message_id"}, ByResponseID: false, ByConversation: true, MaxConversations: 50},
				Storage:              &storage,
				StorageFlushInterval: 30 * time.Second,
				StorageTimeout:       2 * time.Second,
				StorageWriteWait:     500 * time.Millisecond,
				StorageQueueSize:     100,
				MaxAttributeLength:   1024,
			},
		},
		{id: component.NewIDWithName(metadata.Type, "zero_ttl"), wantErr: []string{"cache::ttl must be a positive duration, got 0s"}},
		{id: component.NewIDWithName(metadata.Type, "negative_bounds"), wantErr: []string{
			"cache::max_traces must be a positive integer, got -1",
			"cache::max_completions_per_trace must be a positive integer, got 0",
			"pending::ttl must be a positive duration, got -5s",
			"pending::max_records must be a positive integer, got 0",
		}},
		{id: component.NewIDWithName(metadata.Type, "bad_on_expiry"), wantErr: []string{`pending::on_expiry must be "emit" or "drop", got "keep"`}},
		{id: component.NewIDWithName(metadata.Type, "route"), want: func() *Config {
			c := createDefaultConfig().(*Config)
			c.Mode = ModeRoute
			return c
		}()},
		{id: component.NewIDWithName(metadata.Type, "bad_mode"), wantErr: []string{`mode must be "join" or "route", got "fanout"`}},
		{id: component.NewIDWithName(metadata.Type, "empty_event_names"), wantErr: []string{"feedback::event_names must list at least one event name, got an empty list"}},
	}
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, want := range tt.wantErr {
					require.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, cfg)
		})
	}
}

func TestValidateOtherKeys(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Feedback.EventNames = []string{"ok", ""}
	cfg.Feedback.MaxMetadataKeys = 0
	cfg.Feedback.DedupeTTL = 0
	cfg.Feedback.DedupeMaxIDs = -3
	cfg.Pending.RetryGrace = 0
	cfg.Pending.ShutdownTimeout = -time.Millisecond
	cfg.StorageTimeout = 0
	cfg.StorageQueueSize = -1
	cfg.Join.Keys = []string{"app.message_id", "", "trace_id", "app.message_id", " app.turn ", "llm.feedback.join_key", "gen_ai.request.model", "event.name", "llm.conversation.completions"}
	cfg.Join.MaxConversations = 0
	cfg.StorageFlushInterval = -time.Second
	cfg.MaxAttributeLength = 0
	cfg.Cache.MaxTraces = 1 << 30
	cfg.Pending.TTL = 100 * 365 * 24 * time.Hour
	cfg.StorageWriteWait = -time.Second
	err := cfg.Validate()
	for _, want := range []string{
		"feedback::event_names[1] must not be empty",
		"feedback::max_metadata_keys must be a positive integer, got 0",
		"feedback::dedupe_ttl must be a positive duration, got 0s",
		"feedback::dedupe_max_ids must be a positive integer, got -3",
		"pending::retry_grace must be a positive duration, got 0s",
		"pending::shutdown_timeout must be a positive duration, got -1ms",
		"storage_timeout must be a positive duration, got 0s",
		"storage_queue_size must be a positive integer, got -1",
		"join::keys lists 9 keys; at most 8",
		"join::keys[1] must not be empty",
		`join::keys[2] is "trace_id", which the join reads already`,
		`join::keys[3] repeats "app.message_id"`,
		`join::keys[4] is " app.turn ", with leading or trailing spaces`,
		`join::keys[5] is "llm.feedback.join_key", which this processor writes on its output`,
		`join::keys[6] is "gen_ai.request.model", which this processor writes on its output`,
		`join::keys[7] is "event.name", which the join reads already, a feedback field uses or marks feedback`,
		`join::keys[8] is "llm.conversation.completions", which this processor writes on its output`,
		"pending::ttl must be at most 87600h0m0s, got 876000h0m0s",
		"storage_write_wait must be from 0 to 87600h0m0s, got -1s",
		"join::max_conversations must be a positive integer, got 0",
		"storage_flush_interval must be a positive duration, got -1s",
		"max_attribute_length must be a positive integer, got 0",
		"cache::max_traces times cache::max_completions_per_trace must be at most 2147483647, got 17179869184",
	} {
		require.ErrorContains(t, err, want)
	}
}

// readRefusedJoinKeys reads testdata/refused_join_keys.txt, which sdk/go's
// tests read too: the names join::keys refuses, and the prefixes (a name
// ending in *) whose every name it refuses.
func readRefusedJoinKeys(t *testing.T) (names, prefixes []string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "refused_join_keys.txt"))
	require.NoError(t, err)
	for _, line := range strings.Split(string(raw), "\n") {
		switch line = strings.TrimSpace(line); {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasSuffix(line, "*"):
			prefixes = append(prefixes, strings.TrimSuffix(line, "*"))
		default:
			names = append(names, line)
		}
	}
	return names, prefixes
}

// join::keys refuses every name of the list sdk/go's RecordKey refuses, and
// nothing it refuses by name is missing from it, so the two agree.
func TestJoinKeysRefuseWhatTheSDKRefuses(t *testing.T) {
	names, prefixes := readRefusedJoinKeys(t)
	refused := func(name string) bool {
		cfg := createDefaultConfig().(*Config)
		cfg.Join.Keys = []string{name}
		return cfg.Validate() != nil
	}
	for _, name := range names {
		assert.True(t, refused(name), "join::keys accepts %q, which the list (and sdk/go) refuses", name)
	}
	for _, p := range prefixes {
		assert.True(t, refused(p+"anything"), "join::keys accepts %q, under the refused prefix %q", p+"anything", p+"*")
	}
	listed := func(name string) bool {
		return slices.Contains(names, name) || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
	}
	for name := range joinKeysTaken {
		assert.True(t, listed(name), "join::keys refuses %q, which the list misses", name)
	}
	for name := range reserved {
		assert.True(t, listed(name), "join::keys refuses %q, which the list misses", name)
	}
	assert.False(t, refused("app.message_id"), "an attribute of the app's own is accepted")
}
