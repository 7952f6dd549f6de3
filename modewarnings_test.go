package llmfeedbackprocessor

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

func TestIneffectiveKeys(t *testing.T) {
	tests := []struct {
		name string
		conf map[string]any // what the user wrote under llm_feedback
		want []string
	}{
		{name: "join defaults", conf: map[string]any{}},
		{name: "route defaults", conf: map[string]any{"mode": "route"}},
		{
			name: "join with record_trace_id changed",
			conf: map[string]any{"route": map[string]any{"record_trace_id": "completion"}},
			want: []string{`route::record_trace_id is set to completion, but mode is "join": it is read only in mode: route; remove it, or set mode: route if this collector is a routing tier in front of joining collectors`},
		},
		{
			// Written, but equal to the default: indistinguishable from
			// absent, and harmless.
			name: "join with record_trace_id at its default",
			conf: map[string]any{"route": map[string]any{"record_trace_id": "stand_in"}},
		},
		{
			name: "route reads record_trace_id and event_names",
			conf: map[string]any{"mode": "route", "route": map[string]any{"record_trace_id": "completion"},
				"feedback": map[string]any{"event_names": []any{"thumbs"}}},
		},
		{
			name: "route reads storage",
			conf: map[string]any{"mode": "route", "storage": "file_storage/router", "storage_write_wait": "2s"},
		},
		{
			name: "route with a flush interval and no storage",
			conf: map[string]any{"mode": "route", "storage_flush_interval": "5s"},
			want: []string{`storage_flush_interval is set to 5s, but storage is not set, so in mode "route" nothing is saved; set storage to a storage extension id (such as file_storage/llm), or remove storage_flush_interval`},
		},
		{
			name: "route with join-only keys, one per key in config order; the cache is read",
			conf: map[string]any{
				"mode":                 "route",
				"cache":                map[string]any{"ttl": "1h", "max_traces": 10},
				"pending":              map[string]any{"on_expiry": "drop"},
				"output":               map[string]any{"newrelic_event_type": false},
				"max_attribute_length": 100,
			},
			want: []string{
				`pending::on_expiry is set to drop, but mode is "route", which only addresses feedback to its completion's trace: it is not read; remove pending::on_expiry, or set mode: join if this collector should join feedback`,
				`output::newrelic_event_type is set to false, but mode is "route", which only addresses feedback to its completion's trace: it is not read; remove output::newrelic_event_type, or set mode: join if this collector should join feedback`,
				`max_attribute_length is set to 100, but mode is "route", which only addresses feedback to its completion's trace: it is not read; remove max_attribute_length, or set mode: join if this collector should join feedback`,
			},
		},
		{
			name: "join with a flush interval and no storage",
			conf: map[string]any{"storage_flush_interval": "5s"},
			want: []string{`storage_flush_interval is set to 5s, but storage is not set, so in mode "join" nothing is saved; set storage to a storage extension id (such as file_storage/llm), or remove storage_flush_interval`},
		},
		{
			name: "join with storage and a flush interval",
			conf: map[string]any{"storage": "file_storage/llm", "storage_flush_interval": "5s"},
		},
		{
			name: "join with every join key changed",
			conf: map[string]any{
				"cache":    map[string]any{"ttl": "1h"},
				"pending":  map[string]any{"ttl": "1m", "retry_grace": "1m"},
				"feedback": map[string]any{"dedupe_ttl": "1h", "max_metadata_keys": 5},
				"output":   map[string]any{"evaluation_event": true},
				"storage":  "file_storage/llm",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, confmap.NewFromStringMap(tt.conf).Unmarshal(cfg))
			require.NoError(t, cfg.Validate())
			require.Equal(t, tt.want, ineffectiveKeys(cfg))
		})
	}
}

// Every key route mode does not read is in joinOnlyKeys: a key added to
// Config and forgotten there would be accepted silently in route mode.
func TestJoinOnlyKeysCoverConfig(t *testing.T) {
	readInRoute := map[string]bool{
		"mode": true, "route::record_trace_id": true, "feedback::event_names": true,
		"cache::ttl": true, "cache::max_traces": true, "cache::max_completions_per_trace": true,
		"pending::ttl": true, "pending::max_records": true, "pending::retry_grace": true, "pending::shutdown_timeout": true,
		"join::keys": true, "join::by_response_id": true, "join::by_conversation": true, "join::max_conversations": true,
		"storage": true, "storage_flush_interval": true, "storage_timeout": true, "storage_write_wait": true, "storage_queue_size": true,
	}
	listed := map[string]bool{}
	for _, k := range joinOnlyKeys {
		listed[k.name] = true
	}
	var leaves []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(prefix+k+"::", sub)
				continue
			}
			leaves = append(leaves, prefix+k)
		}
	}
	conf := confmap.New()
	require.NoError(t, conf.Marshal(createDefaultConfig()))
	walk("", conf.ToStringMap())
	require.NotEmpty(t, leaves)
	for _, key := range leaves {
		require.True(t, readInRoute[key] != listed[key], "key %s must be either read in route mode or listed in joinOnlyKeys", key)
	}
	require.Len(t, leaves, len(readInRoute)+len(joinOnlyKeys))
}
