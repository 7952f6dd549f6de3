package llmfeedbackprocessor

import (
	"fmt"
	"reflect"
)

// configKey reads one config key, so that a key can be compared with its
// default and shown as the user wrote it.
type configKey struct {
	name string
	read func(*Config) any
}

// joinOnlyKeys are read only in join mode: route mode addresses feedback
// records (with the cache, the pending store and the join keys, to learn
// where each key's completion went, and storage, to keep both across a
// restart) but never enriches or dedupes.
var joinOnlyKeys = []configKey{
	{"pending::on_expiry", func(c *Config) any { return c.Pending.OnExpiry }},
	{"feedback::max_metadata_keys", func(c *Config) any { return c.Feedback.MaxMetadataKeys }},
	{"feedback::dedupe_ttl", func(c *Config) any { return c.Feedback.DedupeTTL }},
	{"feedback::dedupe_max_ids", func(c *Config) any { return c.Feedback.DedupeMaxIDs }},
	{"output::newrelic_event_type", func(c *Config) any { return c.Output.NewRelicEventType }},
	{"output::evaluation_event", func(c *Config) any { return c.Output.EvaluationEvent }},
	{"max_attribute_length", func(c *Config) any { return c.MaxAttributeLength }},
}

var (
	recordTraceIDKey = configKey{"route::record_trace_id", func(c *Config) any { return c.Route.RecordTraceID }}
	storageKey       = configKey{"storage", func(c *Config) any { return c.Storage }}
	flushKey         = configKey{"storage_flush_interval", func(c *Config) any { return c.StorageFlushInterval }}
)

// ineffectiveKeys returns one warning per key that the user set but that
// does nothing with the rest of cfg: a join-only key in route mode,
// route::record_trace_id in join mode, storage_flush_interval without
// storage. Each message names the key, its value, the mode and what to do.
//
// A key counts as set when its value differs from the default. The processor
// sees the unmarshalled Config, not what the user wrote, so a key written
// with its default value (route::record_trace_id: stand_in in join mode) is
// taken as absent; it changes nothing either way, so the warnings that
// matter are the ones for values the user chose.
func ineffectiveKeys(cfg *Config) []string {
	def := createDefaultConfig().(*Config)
	set := func(k configKey) bool { return !reflect.DeepEqual(k.read(cfg), k.read(def)) }
	var warnings []string
	switch cfg.Mode {
	case ModeRoute:
		for _, k := range joinOnlyKeys {
			if !set(k) {
				continue
			}
			warnings = append(warnings, fmt.Sprintf(
				"%s is set to %v, but mode is %q, which only addresses feedback to its completion's trace: it is not read; remove %s, or set mode: %s if this collector should join feedback",
				k.name, k.read(cfg), cfg.Mode, k.name, ModeJoin))
		}
	case ModeJoin:
		if set(recordTraceIDKey) {
			warnings = append(warnings, fmt.Sprintf(
				"%s is set to %v, but mode is %q: it is read only in mode: %s; remove it, or set mode: %s if this collector is a routing tier in front of joining collectors",
				recordTraceIDKey.name, recordTraceIDKey.read(cfg), cfg.Mode, ModeRoute, ModeRoute))
		}
	}
	if set(flushKey) && !set(storageKey) {
		warnings = append(warnings, fmt.Sprintf(
			"%s is set to %v, but storage is not set, so in mode %q nothing is saved; set storage to a storage extension id (such as file_storage/llm), or remove %s",
			flushKey.name, flushKey.read(cfg), cfg.Mode, flushKey.name))
	}
	return warnings
}
