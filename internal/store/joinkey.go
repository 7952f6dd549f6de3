package store

import (
	"encoding/binary"

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
// records, as it is about two traces. The scope of such a key is its kind,
// configured key and value's hash in the bytes of a trace id, with a tag
// that a random trace id matches once in 2^48.
func (k JoinKey) DedupeScope() pcommon.TraceID {
	if k.Kind == ByTrace {
		return k.Trace
	}
	var s pcommon.TraceID
	binary.LittleEndian.PutUint64(s[:8], k.Hash)
	s[8], s[9] = byte(k.Kind), k.App
	copy(s[10:], "llmkey")
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

// Match is the completion a query found.
type Match struct {
	Trace        pcommon.TraceID
	Comp         genai.Completion
	Conversation ConversationStats
}
