package store

import (
	"encoding/binary"
	"math"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
)

// KeyKind is how a feedback record names its completion.
type KeyKind uint8

// The kinds, in the order a record's attributes are tried.
const (
	ByTrace        KeyKind = iota // a trace id, with an optional Selector inside the trace
	ByResponse                    // gen_ai.response.id, in any trace
	ByAppKey                      // a configured attribute of the span or its resource
	ByConversation                // the conversation's completion that ended last at or before At
)

// JoinKey is a feedback record's key into the cache and the pending store.
// Values other than trace ids are kept as 64-bit hashes (xxhash, no seed:
// the same after a restart); response ids and conversation ids are compared
// whole on lookup as well, app key values by hash alone.
type JoinKey struct {
	Kind  KeyKind
	App   uint8 // which configured key, for ByAppKey
	Trace pcommon.TraceID
	Hash  uint64
}

// DedupeScope is what a feedback id is unique within: the trace, for a key
// by trace id; otherwise the key itself, so that one id sent about two
// different completions by response id, app key or conversation is two
// records, as it is about two traces. name is the attribute the record
// named its completion by: an app key's scope is its name's, not its place
// in join::keys, which a new configuration may change. The scope is the
// value's hash and a hash of its kind (and app key name) in the bytes of a
// trace id.
func (k JoinKey) DedupeScope(name string) pcommon.TraceID {
	if k.Kind == ByTrace {
		return k.Trace
	}
	ns := "llm_feedback.dedupe." + string(rune('0'+k.Kind))
	if k.Kind == ByAppKey {
		ns += "." + name
	}
	var s pcommon.TraceID
	binary.LittleEndian.PutUint64(s[:8], k.Hash)
	binary.LittleEndian.PutUint64(s[8:], HashValue(ns))
	return s
}

// HashValue is the hash a JoinKey keeps of a value.
func HashValue(v string) uint64 { return xxhash.Sum64String(v) }

// TraceKey is the key of a trace.
func TraceKey(id pcommon.TraceID) JoinKey { return JoinKey{Kind: ByTrace, Trace: id} }

// Query is what a feedback record looks for.
type Query struct {
	Key      JoinKey
	Value    string   // the response or conversation id, compared whole
	Selector Selector // inside a trace, for ByTrace
	At       int64    // the feedback's time, for ByConversation
}

// ConversationStats sums a conversation's cached completions up to the one
// a feedback record was joined to.
type ConversationStats struct {
	Completions, InputTokens, OutputTokens int64
}

// Add adds o's counts to s, each sum stopping at the largest int64 rather
// than wrapping: counts come from spans, and a sum of absurd ones must not
// turn negative.
func (s *ConversationStats) Add(o ConversationStats) {
	s.Completions = addSat(s.Completions, o.Completions)
	s.InputTokens = addSat(s.InputTokens, o.InputTokens)
	s.OutputTokens = addSat(s.OutputTokens, o.OutputTokens)
}

func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Match is the completion a query found.
type Match struct {
	Trace        pcommon.TraceID
	Comp         genai.Completion
	Conversation ConversationStats
}
