package genai

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// kv is one span attribute; a slice of them keeps the order the test wants.
type kv struct {
	k string
	v any
}

func putAttr(tb testing.TB, m pcommon.Map, k string, v any) {
	tb.Helper()
	switch v := v.(type) {
	case string:
		m.PutStr(k, v)
	case int:
		m.PutInt(k, int64(v))
	case int64:
		m.PutInt(k, v)
	case float64:
		m.PutDouble(k, v)
	case bool:
		m.PutBool(k, v)
	case []string:
		s := m.PutEmptySlice(k)
		for _, e := range v {
			s.AppendEmpty().SetStr(e)
		}
	case []any:
		require.NoError(tb, m.PutEmptySlice(k).FromRaw(v))
	case []byte:
		m.PutEmptyBytes(k).FromRaw(v)
	case map[string]any:
		require.NoError(tb, m.PutEmptyMap(k).FromRaw(v))
	default:
		tb.Fatalf("unsupported attribute type %T for %s", v, k)
	}
}

var testSpanID = pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8}

type spanSpec struct {
	attrs      []kv
	status     ptrace.StatusCode
	start, end int64
	// service is the resource's service.name; nil leaves it unset.
	service any
}

func (s spanSpec) build(tb testing.TB, reverse bool) (ptrace.Span, pcommon.Resource) {
	tb.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if s.service != nil {
		putAttr(tb, rs.Resource().Attributes(), "service.name", s.service)
	}
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("chat gpt-4o")
	span.SetSpanID(testSpanID)
	span.SetStartTimestamp(pcommon.Timestamp(s.start))
	span.SetEndTimestamp(pcommon.Timestamp(s.end))
	span.Status().SetCode(s.status)
	attrs := slices.Clone(s.attrs)
	if reverse {
		slices.Reverse(attrs)
	}
	for _, a := range attrs {
		putAttr(tb, span.Attributes(), a.k, a.v)
	}
	return span, rs.Resource()
}

// summary is everything a Completion exposes, for whole-struct comparison.
type summary struct {
	Op, Provider, RequestModel, ResponseModel, ResponseID, Conversation, Service string
	Finish                                                                       []string
	In, Out                                                                      int64
	HasIn, HasOut                                                                bool
	Err, Truncated                                                               bool
	Duration, End                                                                int64
}

func summarize(c Completion) summary {
	in, hasIn := c.Input()
	out, hasOut := c.Output()
	return summary{
		Op:            c.Operation(),
		Provider:      c.Provider(),
		RequestModel:  c.RequestModel(),
		ResponseModel: c.ResponseModel(),
		ResponseID:    c.ResponseID,
		Conversation:  c.ConversationID,
		Service:       c.ServiceName(),
		Finish:        appendedFinishReasons(&c),
		In:            in,
		Out:           out,
		HasIn:         hasIn,
		HasOut:        hasOut,
		Err:           c.Error(),
		Truncated:     c.Truncated(),
		Duration:      c.DurationNano,
		End:           c.EndUnixNano,
	}
}

const (
	tStart = int64(1_700_000_000_000_000_000)
	tEnd   = tStart + 1_500_000_000
)

type detectCase struct {
	name string
	span spanSpec
	// ok is whether the span is a completion; want is checked only when ok.
	ok   bool
	want summary
}

// withTimes fills the span's times and the matching expected end and duration,
// so the table rows stay about attributes.
func withTimes(c detectCase) detectCase {
	if c.span.start == 0 && c.span.end == 0 {
		c.span.start, c.span.end = tStart, tEnd
		if c.ok {
			c.want.End, c.want.Duration = tEnd, tEnd-tStart
		}
	}
	return c
}

func detectCases() []detectCase {
	long := strings.Repeat("m", 300)
	cases := []detectCase{
		// --- current semconv (1.37+) ---
		{
			name: "semconv current chat, every field",
			span: spanSpec{service: "checkout", attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"gen_ai.provider.name", "openai"},
				{"gen_ai.request.model", "gpt-4o"},
				{"gen_ai.response.model", "gpt-4o-2024-08-06"},
				{"gen_ai.response.id", "chatcmpl-123"},
				{"gen_ai.usage.input_tokens", 12},
				{"gen_ai.usage.output_tokens", 34},
				{"gen_ai.response.finish_reasons", []string{"stop"}},
				{"gen_ai.conversation.id", "conv-1"},
				{"server.address", "api.openai.com"},
			}},
			ok: true,
			want: summary{
				Op: "chat", Provider: "openai", RequestModel: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06",
				ResponseID: "chatcmpl-123", Conversation: "conv-1", Service: "checkout", Finish: []string{"stop"},
				In: 12, Out: 34, HasIn: true, HasOut: true,
			},
		},
		{
			name: "semconv current text_completion",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "text_completion"},
				{"gen_ai.provider.name", "openai"},
				{"gen_ai.request.model", "gpt-3.5-turbo-instruct"},
			}},
			ok:   true,
			want: summary{Op: "text_completion", Provider: "openai", RequestModel: "gpt-3.5-turbo-instruct"},
		},
		{
			name: "semconv current generate_content",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "generate_content"},
				{"gen_ai.provider.name", "gcp.gemini"},
				{"gen_ai.request.model", "gemini-2.5-flash"},
				{"gen_ai.usage.input_tokens", 7},
			}},
			ok:   true,
			want: summary{Op: "generate_content", Provider: "gcp.gemini", RequestModel: "gemini-2.5-flash", In: 7, HasIn: true},
		},
		{
			name: "operation name compared without case",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "Chat"}}},
			ok:   true,
			want: summary{Op: "Chat"},
		},
		{
			name: "semconv current with gen_ai.system too: operation decides",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"gen_ai.system", "anthropic"},
			}},
			ok:   true,
			want: summary{Op: "chat", Provider: "anthropic"},
		},

		// --- older semconv: gen_ai.system only ---
		{
			name: "semconv older gen_ai.system only",
			span: spanSpec{service: "bot", attrs: []kv{
				{"gen_ai.system", "openai"},
				{"gen_ai.request.model", "gpt-4"},
				{"gen_ai.response.model", "gpt-4-0613"},
				{"gen_ai.response.id", "chatcmpl-9"},
				{"gen_ai.usage.prompt_tokens", 100},
				{"gen_ai.usage.completion_tokens", 20},
				{"gen_ai.response.finish_reasons", []string{"length"}},
				{"session.id", "sess-1"},
			}},
			ok: true,
			want: summary{
				Provider: "openai", RequestModel: "gpt-4", ResponseModel: "gpt-4-0613", ResponseID: "chatcmpl-9",
				Conversation: "sess-1", Service: "bot", Finish: []string{"length"},
				In: 100, Out: 20, HasIn: true, HasOut: true,
			},
		},

		// --- OpenLLMetry / Traceloop ---
		{
			name: "openllmetry chat",
			span: spanSpec{attrs: []kv{
				{"llm.request.type", "chat"},
				{"llm.vendor", "OpenAI"},
				{"llm.request.model", "gpt-3.5-turbo"},
				{"llm.response.model", "gpt-3.5-turbo-0125"},
				{"llm.usage.prompt_tokens", 15},
				{"llm.usage.completion_tokens", 9},
				{"llm.usage.total_tokens", 24},
				{"llm.completions.0.finish_reason", "stop"},
				{"traceloop.association.properties.conversation_id", "tl-conv"},
			}},
			ok: true,
			want: summary{
				Op: "chat", Provider: "OpenAI", RequestModel: "gpt-3.5-turbo", ResponseModel: "gpt-3.5-turbo-0125",
				Conversation: "tl-conv", Finish: []string{"stop"}, In: 15, Out: 9, HasIn: true, HasOut: true,
			},
		},
		{
			name: "openllmetry completion maps to text_completion",
			span: spanSpec{attrs: []kv{
				{"llm.request.type", "completion"},
				{"llm.vendor", "Anthropic"},
				{"llm.request.model", "claude-2"},
				{"traceloop.association.properties.session_id", "tl-sess"},
			}},
			ok:   true,
			want: summary{Op: "text_completion", Provider: "Anthropic", RequestModel: "claude-2", Conversation: "tl-sess"},
		},
		{
			name: "openllmetry request type compared without case",
			span: spanSpec{attrs: []kv{{"llm.request.type", "CHAT"}}},
			ok:   true,
			want: summary{Op: "chat"},
		},
		{
			name: "openllmetry with New Relic llm.conversation_id",
			span: spanSpec{attrs: []kv{
				{"llm.request.type", "chat"},
				{"llm.conversation_id", "nr-conv"},
			}},
			ok:   true,
			want: summary{Op: "chat", Conversation: "nr-conv"},
		},

		// --- OpenInference ---
		{
			name: "openinference LLM",
			span: spanSpec{service: "rag", attrs: []kv{
				{"openinference.span.kind", "LLM"},
				{"llm.model_name", "gpt-4o-mini"},
				{"llm.provider", "openai"},
				{"llm.system", "openai-sys"},
				{"llm.token_count.prompt", 50},
				{"llm.token_count.completion", 5},
				{"llm.token_count.total", 55},
				{"session.id", "oi-sess"},
			}},
			ok: true,
			want: summary{
				Provider: "openai", RequestModel: "gpt-4o-mini", ResponseModel: "gpt-4o-mini", Conversation: "oi-sess",
				Service: "rag", In: 50, Out: 5, HasIn: true, HasOut: true,
			},
		},
		{
			name: "openinference kind compared without case",
			span: spanSpec{attrs: []kv{{"openinference.span.kind", "llm"}, {"llm.system", "anthropic"}}},
			ok:   true,
			want: summary{Provider: "anthropic"},
		},

		// --- negatives ---
		{name: "embeddings", span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "embeddings"}, {"gen_ai.provider.name", "openai"}}}},
		{name: "execute_tool", span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "execute_tool"}, {"gen_ai.tool.name", "search"}}}},
		{name: "invoke_agent", span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "invoke_agent"}, {"gen_ai.agent.name", "planner"}}}},
		{name: "create_agent", span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "create_agent"}}}},
		{name: "empty operation name", span: spanSpec{attrs: []kv{{"gen_ai.operation.name", ""}}}},
		{name: "embeddings with older gen_ai.system: operation decides", span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "embeddings"}, {"gen_ai.system", "openai"}}}},
		{name: "execute_tool with llm.request.type chat: operation decides", span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "execute_tool"}, {"llm.request.type", "chat"}}}},
		{name: "openllmetry embedding", span: spanSpec{attrs: []kv{{"llm.request.type", "embedding"}, {"llm.vendor", "OpenAI"}}}},
		{name: "openllmetry rerank", span: spanSpec{attrs: []kv{{"llm.request.type", "rerank"}}}},
		{name: "openllmetry embedding with openinference LLM: request type decides", span: spanSpec{attrs: []kv{{"llm.request.type", "embedding"}, {"openinference.span.kind", "LLM"}}}},
		{name: "openinference EMBEDDING", span: spanSpec{attrs: []kv{{"openinference.span.kind", "EMBEDDING"}, {"embedding.model_name", "text-embedding-3-small"}}}},
		{name: "openinference TOOL", span: spanSpec{attrs: []kv{{"openinference.span.kind", "TOOL"}, {"tool.name", "search"}}}},
		{name: "openinference CHAIN", span: spanSpec{attrs: []kv{{"openinference.span.kind", "CHAIN"}, {"llm.model_name", "gpt-4o"}}}},
		{name: "openinference AGENT", span: spanSpec{attrs: []kv{{"openinference.span.kind", "AGENT"}}}},
		{name: "openinference RETRIEVER", span: spanSpec{attrs: []kv{{"openinference.span.kind", "RETRIEVER"}}}},
		{name: "plain HTTP span", span: spanSpec{service: "web", attrs: []kv{
			{"http.request.method", "POST"},
			{"url.full", "https://api.openai.com/v1/chat/completions"},
			{"server.address", "api.openai.com"},
			{"http.response.status_code", 200},
		}}},
		{name: "model and tokens but no marker", span: spanSpec{attrs: []kv{
			{"gen_ai.request.model", "gpt-4o"},
			{"gen_ai.usage.input_tokens", 1},
			{"llm.model_name", "gpt-4o"},
		}}},
		{name: "no attributes", span: spanSpec{}},

		// --- first present wins, whatever the attribute order ---
		{
			name: "input_tokens wins over prompt_tokens",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"gen_ai.usage.prompt_tokens", 1},
				{"gen_ai.usage.input_tokens", 2},
			}},
			ok: true, want: summary{Op: "chat", In: 2, HasIn: true},
		},
		{
			name: "input tokens: each older name in rank order",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"llm.token_count.prompt", 4},
				{"llm.usage.prompt_tokens", 3},
				{"gen_ai.usage.prompt_tokens", 2},
			}},
			ok: true, want: summary{Op: "chat", In: 2, HasIn: true},
		},
		{
			name: "input tokens: openllmetry over openinference",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"llm.token_count.prompt", 4},
				{"llm.usage.prompt_tokens", 3},
			}},
			ok: true, want: summary{Op: "chat", In: 3, HasIn: true},
		},
		{
			name: "output tokens in rank order",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"llm.token_count.completion", 4},
				{"llm.usage.completion_tokens", 3},
				{"gen_ai.usage.completion_tokens", 2},
				{"gen_ai.usage.output_tokens", 1},
			}},
			ok: true, want: summary{Op: "chat", Out: 1, HasOut: true},
		},
		{
			name: "output tokens: openllmetry over openinference",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"llm.token_count.completion", 4},
				{"llm.usage.completion_tokens", 3},
			}},
			ok: true, want: summary{Op: "chat", Out: 3, HasOut: true},
		},
		{
			name: "provider.name wins over gen_ai.system",
			span: spanSpec{attrs: []kv{
				{"gen_ai.system", "az.ai.openai"},
				{"gen_ai.operation.name", "chat"},
				{"gen_ai.provider.name", "azure.ai.openai"},
			}},
			ok: true, want: summary{Op: "chat", Provider: "azure.ai.openai"},
		},
		{
			name: "provider: gen_ai.system over llm.vendor over llm.provider over llm.system",
			span: spanSpec{attrs: []kv{
				{"llm.system", "e"},
				{"llm.provider", "d"},
				{"llm.vendor", "c"},
				{"gen_ai.system", "b"},
			}},
			ok: true, want: summary{Provider: "b"},
		},
		{
			name: "provider: llm.vendor over llm.provider",
			span: spanSpec{attrs: []kv{{"llm.request.type", "chat"}, {"llm.provider", "d"}, {"llm.vendor", "c"}, {"llm.system", "e"}}},
			ok:   true, want: summary{Op: "chat", Provider: "c"},
		},
		{
			name: "provider: llm.provider over llm.system",
			span: spanSpec{attrs: []kv{{"openinference.span.kind", "LLM"}, {"llm.system", "e"}, {"llm.provider", "d"}}},
			ok:   true, want: summary{Provider: "d"},
		},
		{
			name: "request model in rank order",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"llm.model_name", "c"},
				{"llm.request.model", "b"},
				{"gen_ai.request.model", "a"},
			}},
			ok: true, want: summary{Op: "chat", RequestModel: "a", ResponseModel: "c"},
		},
		{
			name: "request model: llm.request.model over llm.model_name",
			span: spanSpec{attrs: []kv{{"llm.request.type", "chat"}, {"llm.model_name", "c"}, {"llm.request.model", "b"}}},
			ok:   true, want: summary{Op: "chat", RequestModel: "b", ResponseModel: "c"},
		},
		{
			name: "response model in rank order",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"llm.model_name", "c"},
				{"llm.response.model", "b"},
				{"gen_ai.response.model", "a"},
			}},
			ok: true, want: summary{Op: "chat", RequestModel: "c", ResponseModel: "a"},
		},
		{
			name: "response model: llm.response.model over llm.model_name",
			span: spanSpec{attrs: []kv{{"llm.request.type", "chat"}, {"llm.model_name", "c"}, {"llm.response.model", "b"}}},
			ok:   true, want: summary{Op: "chat", RequestModel: "c", ResponseModel: "b"},
		},
		{
			name: "conversation in rank order",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"llm.conversation_id", "e"},
				{"traceloop.association.properties.session_id", "d"},
				{"traceloop.association.properties.conversation_id", "c"},
				{"session.id", "b"},
				{"gen_ai.conversation.id", "a"},
			}},
			ok: true, want: summary{Op: "chat", Conversation: "a"},
		},
		{
			name: "conversation: session.id over traceloop properties",
			span: spanSpec{attrs: []kv{
				{"llm.request.type", "chat"},
				{"llm.conversation_id", "e"},
				{"traceloop.association.properties.conversation_id", "c"},
				{"session.id", "b"},
			}},
			ok: true, want: summary{Op: "chat", Conversation: "b"},
		},
		{
			name: "conversation: traceloop conversation over traceloop session over llm.conversation_id",
			span: spanSpec{attrs: []kv{
				{"llm.request.type", "chat"},
				{"llm.conversation_id", "e"},
				{"traceloop.association.properties.session_id", "d"},
				{"traceloop.association.properties.conversation_id", "c"},
			}},
			ok: true, want: summary{Op: "chat", Conversation: "c"},
		},
		{
			name: "finish reasons: semconv slice over legacy attribute",
			span: spanSpec{attrs: []kv{
				{"llm.request.type", "chat"},
				{"llm.completions.0.finish_reason", "length"},
				{"gen_ai.response.finish_reasons", []string{"stop", "tool_calls"}},
			}},
			ok: true, want: summary{Op: "chat", Finish: []string{"stop", "tool_calls"}},
		},
		{
			name: "operation name wins over gen_ai.system, request type and span kind",
			span: spanSpec{attrs: []kv{
				{"openinference.span.kind", "TOOL"},
				{"llm.request.type", "embedding"},
				{"gen_ai.system", "openai"},
				{"gen_ai.operation.name", "text_completion"},
			}},
			ok: true, want: summary{Op: "text_completion", Provider: "openai"},
		},
		{
			name: "gen_ai.system wins over request type and span kind",
			span: spanSpec{attrs: []kv{
				{"openinference.span.kind", "TOOL"},
				{"llm.request.type", "embedding"},
				{"gen_ai.system", "openai"},
			}},
			ok: true, want: summary{Provider: "openai"},
		},
		{
			name: "request type wins over span kind",
			span: spanSpec{attrs: []kv{{"openinference.span.kind", "EMBEDDING"}, {"llm.request.type", "completion"}}},
			ok:   true, want: summary{Op: "text_completion"},
		},

		// --- token counts as int, double, string ---
		{
			name: "tokens as double are truncated toward zero",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.usage.input_tokens", 12.9}, {"gen_ai.usage.output_tokens", 3.0}}},
			ok:   true, want: summary{Op: "chat", In: 12, Out: 3, HasIn: true, HasOut: true},
		},
		{
			name: "tokens as decimal strings, spaces trimmed",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.usage.input_tokens", " 42 "}, {"gen_ai.usage.output_tokens", "7"}}},
			ok:   true, want: summary{Op: "chat", In: 42, Out: 7, HasIn: true, HasOut: true},
		},
		{
			name: "tokens zero are present",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.usage.input_tokens", 0}, {"gen_ai.usage.output_tokens", "0"}}},
			ok:   true, want: summary{Op: "chat", HasIn: true, HasOut: true},
		},
		{
			name: "tokens as non-numeric string and bool are absent",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"gen_ai.usage.input_tokens", "many"},
				{"gen_ai.usage.output_tokens", "0x10"},
				{"llm.usage.total_tokens", true},
			}},
			ok: true, want: summary{Op: "chat"},
		},
		{
			name: "tokens as float strings are truncated like doubles",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.usage.input_tokens", " 48.0 "}, {"gen_ai.usage.output_tokens", "1.5e2"}}},
			ok:   true, want: summary{Op: "chat", In: 48, Out: 150, HasIn: true, HasOut: true},
		},
		{
			name: "negative, NaN, infinite and out-of-range counts are absent",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"gen_ai.usage.input_tokens", math.NaN()},
				{"gen_ai.usage.output_tokens", -3},
			}},
			ok: true, want: summary{Op: "chat"},
		},
		{
			name: "infinite, huge and negative doubles and strings are absent",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"gen_ai.usage.input_tokens", math.Inf(1)},
				{"gen_ai.usage.output_tokens", 1e20},
				{"gen_ai.usage.prompt_tokens", "-1"},
				{"gen_ai.usage.completion_tokens", -0.5},
			}},
			ok: true, want: summary{Op: "chat"},
		},
		{
			name: "tokens as bool or map are absent",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"gen_ai.usage.input_tokens", true},
				{"gen_ai.usage.output_tokens", map[string]any{"n": 1}},
			}},
			ok: true, want: summary{Op: "chat"},
		},
		{
			name: "unreadable higher-ranked count hides a lower-ranked one",
			span: spanSpec{attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"gen_ai.usage.input_tokens", "n/a"},
				{"gen_ai.usage.prompt_tokens", 5},
			}},
			ok: true, want: summary{Op: "chat"},
		},
		{
			name: "large int64 token count",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.usage.input_tokens", int64(math.MaxInt64)}}},
			ok:   true, want: summary{Op: "chat", In: math.MaxInt64, HasIn: true},
		},

		// --- finish reasons ---
		{
			name: "finish reasons slice keeps order and drops empty items",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.response.finish_reasons", []string{"", "stop", "", "length"}}}},
			ok:   true, want: summary{Op: "chat", Finish: []string{"stop", "length"}},
		},
		{
			name: "finish reasons empty slice is none",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.response.finish_reasons", []string{}}}},
			ok:   true, want: summary{Op: "chat"},
		},
		{
			name: "finish reasons as a plain string",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.response.finish_reasons", "stop"}}},
			ok:   true, want: summary{Op: "chat", Finish: []string{"stop"}},
		},
		{
			name: "finish reasons slice of mixed types reads each as a string",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.response.finish_reasons", []any{"stop", int64(3)}}}},
			ok:   true, want: summary{Op: "chat", Finish: []string{"stop", "3"}},
		},
		{
			name: "legacy llm.completions.0.finish_reason",
			span: spanSpec{attrs: []kv{{"llm.request.type", "chat"}, {"llm.completions.0.finish_reason", "content_filter"}}},
			ok:   true, want: summary{Op: "chat", Finish: []string{"content_filter"}},
		},

		// --- error ---
		{
			name: "status error",
			span: spanSpec{status: ptrace.StatusCodeError, attrs: []kv{{"gen_ai.operation.name", "chat"}}},
			ok:   true, want: summary{Op: "chat", Err: true},
		},
		{
			name: "error.type with status unset",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"error.type", "timeout"}}},
			ok:   true, want: summary{Op: "chat", Err: true},
		},
		{
			name: "error.type with status ok",
			span: spanSpec{status: ptrace.StatusCodeOk, attrs: []kv{{"llm.request.type", "chat"}, {"error.type", "429"}}},
			ok:   true, want: summary{Op: "chat", Err: true},
		},
		{
			name: "status ok is no error",
			span: spanSpec{status: ptrace.StatusCodeOk, attrs: []kv{{"gen_ai.operation.name", "chat"}}},
			ok:   true, want: summary{Op: "chat"},
		},

		// --- duration ---
		{
			name: "duration from start to end",
			span: spanSpec{start: 1_000, end: 5_000, attrs: []kv{{"gen_ai.operation.name", "chat"}}},
			ok:   true, want: summary{Op: "chat", End: 5_000, Duration: 4_000},
		},
		{
			name: "no duration without a start",
			span: spanSpec{start: 0, end: 5_000, attrs: []kv{{"gen_ai.operation.name", "chat"}}},
			ok:   true, want: summary{Op: "chat", End: 5_000},
		},
		{
			name: "no duration when end precedes start",
			span: spanSpec{start: 9_000, end: 5_000, attrs: []kv{{"gen_ai.operation.name", "chat"}}},
			ok:   true, want: summary{Op: "chat", End: 5_000},
		},
		{
			name: "no duration when end equals start",
			span: spanSpec{start: 5_000, end: 5_000, attrs: []kv{{"gen_ai.operation.name", "chat"}}},
			ok:   true, want: summary{Op: "chat", End: 5_000},
		},

		// --- service.name ---
		{
			name: "service.name absent",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}}},
			ok:   true, want: summary{Op: "chat"},
		},
		{
			name: "service.name not a string is read as one",
			span: spanSpec{service: 42, attrs: []kv{{"gen_ai.operation.name", "chat"}}},
			ok:   true, want: summary{Op: "chat", Service: "42"},
		},
		{
			name: "service.name on the span is not the service",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"service.name", "span-level"}}},
			ok:   true, want: summary{Op: "chat"},
		},

		// --- truncation at MaxStringBytes ---
		{
			name: "256 bytes exactly is not truncated",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.request.model", strings.Repeat("a", 256)}}},
			ok:   true, want: summary{Op: "chat", RequestModel: strings.Repeat("a", 256)},
		},
		{
			name: "long request model is cut to 256 bytes",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.request.model", long}}},
			ok:   true, want: summary{Op: "chat", RequestModel: long[:256], Truncated: true},
		},
		{
			name: "long openinference model is cut in both request and response model",
			span: spanSpec{attrs: []kv{{"openinference.span.kind", "LLM"}, {"llm.model_name", long}}},
			ok:   true, want: summary{RequestModel: long[:256], ResponseModel: long[:256], Truncated: true},
		},
		{
			name: "two-byte rune across the limit is dropped whole",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.provider.name", strings.Repeat("a", 255) + "é"}}},
			ok:   true, want: summary{Op: "chat", Provider: strings.Repeat("a", 255), Truncated: true},
		},
		{
			name: "three-byte rune across the limit is dropped whole",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.response.model", strings.Repeat("a", 254) + "€x"}}},
			ok:   true, want: summary{Op: "chat", ResponseModel: strings.Repeat("a", 254), Truncated: true},
		},
		{
			name: "four-byte rune ending exactly at the limit is kept",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.response.id", strings.Repeat("a", 252) + "😀" + "tail"}}},
			ok:   true, want: summary{Op: "chat", ResponseID: strings.Repeat("a", 252) + "😀", Truncated: true},
		},
		{
			name: "four-byte rune starting just before the limit is dropped whole",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.conversation.id", strings.Repeat("a", 253) + "😀"}}},
			ok:   true, want: summary{Op: "chat", Conversation: strings.Repeat("a", 253), Truncated: true},
		},
		{
			name: "multi-byte text cut on a rune boundary",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.request.model", strings.Repeat("日本", 100)}}},
			ok:   true, want: summary{Op: "chat", RequestModel: strings.Repeat("日本", 100)[:255], Truncated: true},
		},
		{
			name: "long service.name is cut",
			span: spanSpec{service: long, attrs: []kv{{"gen_ai.operation.name", "chat"}}},
			ok:   true, want: summary{Op: "chat", Service: long[:256], Truncated: true},
		},
		{
			name: "long legacy finish reason is cut",
			span: spanSpec{attrs: []kv{{"llm.request.type", "chat"}, {"llm.completions.0.finish_reason", long}}},
			ok:   true, want: summary{Op: "chat", Finish: []string{long[:256]}, Truncated: true},
		},
		{
			name: "finish reasons joined longer than the limit are cut",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.response.finish_reasons", []string{strings.Repeat("s", 200), strings.Repeat("t", 100)}}}},
			ok:   true, want: summary{Op: "chat", Finish: []string{strings.Repeat("s", 200), strings.Repeat("t", 55)}, Truncated: true},
		},
		{
			name: "long string on a lower-ranked attribute that lost is not truncation",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.request.model", "m"}, {"llm.request.model", long}}},
			ok:   true, want: summary{Op: "chat", RequestModel: "m"},
		},
		{
			name: "long string on an attribute not copied is not truncation",
			span: spanSpec{attrs: []kv{{"gen_ai.operation.name", "chat"}, {"gen_ai.prompt", long}}},
			ok:   true, want: summary{Op: "chat"},
		},
	}
	for i := range cases {
		cases[i] = withTimes(cases[i])
	}
	return cases
}

func TestFromSpan(t *testing.T) {
	for _, tc := range detectCases() {
		t.Run(tc.name, func(t *testing.T) {
			// The attribute order must not matter: run each row both ways.
			for _, reverse := range []bool{false, true} {
				span, res := tc.span.build(t, reverse)
				c, ok := FromSpan(span, res, nil)
				require.Equal(t, tc.ok, ok, "FromSpan ok (reversed=%v)", reverse)
				require.Equal(t, tc.ok, IsCompletion(span), "IsCompletion must agree with FromSpan (reversed=%v)", reverse)
				requireNextMarkedFinds(t, span, tc.ok)
				if !ok {
					require.Equal(t, Completion{}, c)
					continue
				}
				require.Equal(t, testSpanID, c.SpanID)
				require.Equal(t, tc.want, summarize(c), "reversed=%v", reverse)
				requireAppendedFinishReasons(t, &c)
			}
		})
	}
}

// appendedFinishReasons lists what AppendFinishReasons appends; nil for none.
func appendedFinishReasons(c *Completion) []string {
	sl := pcommon.NewSlice()
	c.AppendFinishReasons(sl)
	var rs []string
	for i := range sl.Len() {
		rs = append(rs, sl.At(i).Str())
	}
	return rs
}

// requireAppendedFinishReasons checks AppendFinishReasons appends after
// what the slice held, and HasFinishReasons agrees with it.
func requireAppendedFinishReasons(t *testing.T, c *Completion) {
	t.Helper()
	sl := pcommon.NewSlice()
	sl.AppendEmpty().SetStr("before")
	c.AppendFinishReasons(sl)
	require.Equal(t, "before", sl.At(0).Str())
	require.Equal(t, sl.Len() > 1, c.HasFinishReasons())
}

// requireNextMarkedFinds checks NextMarked, among spans without markers
// (one with a key of a marker's length), stops at span when it is a
// completion, and never stops at a span with no marker.
func requireNextMarkedFinds(t *testing.T, span ptrace.Span, completion bool) {
	t.Helper()
	var m markers
	span.Attributes().Range(m.visit)
	for at := range 3 {
		spans := ptrace.NewSpanSlice()
		for i := range 3 {
			s := spans.AppendEmpty()
			s.Attributes().PutStr("db.query.text", "SELECT 1") // as long as gen_ai.system
			if i == at {
				span.CopyTo(s)
			}
		}
		got := NextMarked(spans, 0)
		switch {
		case m.has != 0:
			require.Equal(t, at, got, "NextMarked must stop at a span with a marker")
		default:
			require.False(t, completion, "a completion without a marker")
			require.Equal(t, spans.Len(), got, "NextMarked stopped at a span with no marker")
		}
		if got < spans.Len() {
			require.Equal(t, spans.Len(), NextMarked(spans, got+1), "NextMarked stopped at a span with no marker")
		}
	}
}

// TestMarkerKeys: NextMarked (isMarker), markers.visit and scan.visit must
// take the same four keys, and no other key of the scan.
func TestMarkerKeys(t *testing.T) {
	v := pcommon.NewValueStr("chat")
	for _, k := range []string{"gen_ai.operation.name", "gen_ai.system", "llm.request.type", "openinference.span.kind"} {
		require.True(t, mayMark(k), k)
		var m markers
		m.visit(k, v)
		require.NotZero(t, m.has, "markers.visit ignores %s", k)
		var s scan
		s.visit(k, v)
		require.Equal(t, m, s.m, "scan.visit and markers.visit disagree on %s", k)
	}
	for _, k := range []string{
		"gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model", "gen_ai.response.id",
		"gen_ai.usage.input_tokens", "gen_ai.conversation.id", "llm.vendor", "session.id", "error.type", "db.query.text",
		// the markers' lengths, and a length past the bit mask's 64
		"http.response.body.size", "gen_ai.operation.nam_", "openinference.span.kin_", "llm.request.typ_",
		"gen_ai.o" + strings.Repeat("x", 13), "openinfe" + strings.Repeat("x", 15), strings.Repeat("k", 85), "",
	} {
		require.False(t, mayMark(k), k)
		var m markers
		m.visit(k, v)
		require.Zero(t, m.has, k)
	}
}

// TestReadStopsAtAnOperationNotACompletion: the operation decides before any
// other marker, so a tool call is not read past it.
func TestReadStopsAtAnOperationNotACompletion(t *testing.T) {
	span := ptrace.NewSpan()
	span.Attributes().PutStr("gen_ai.operation.name", "execute_tool")
	visited := 0
	span.Attributes().PutStr("gen_ai.system", "openai") // a marker that alone would make it a completion
	var s scan
	span.Attributes().Range(func(k string, v pcommon.Value) bool {
		visited++
		return s.visit(k, v)
	})
	require.Equal(t, 1, visited, "the pass went on past a tool call's operation")
	var c Completion
	require.False(t, Read(span, pcommon.NewResource(), nil, &c))
	// The other order: gen_ai.system first, then the operation still decides.
	span = ptrace.NewSpan()
	span.Attributes().PutStr("gen_ai.system", "openai")
	span.Attributes().PutStr("gen_ai.operation.name", "execute_tool")
	require.False(t, Read(span, pcommon.NewResource(), nil, &c))
	require.False(t, IsCompletion(span))
}

// TestOneMemoForManySpans reads every case through one Memo, as a
// collector's batches are, twice over: each completion must read as it does
// alone, whatever the memo held before.
func TestOneMemoForManySpans(t *testing.T) {
	cases := detectCases()
	var memo Memo
	for round := range 2 {
		for _, tc := range cases {
			span, res := tc.span.build(t, round == 1)
			var got Completion
			if !Read(span, res, &memo, &got) {
				continue
			}
			alone, _ := FromSpan(span, res, nil)
			require.Equal(t, summarize(alone), summarize(got), "%s (round %d)", tc.name, round)
			require.Equal(t, alone.labels, got.labels, "%s: one interned combination per set of labels", tc.name)
		}
	}
}

// TestMemoSetSharedByManyCombinations: combinations the memo cannot tell
// apart by its set (same lengths, same sampled bytes) share one set of
// four ways. Four of them must each be found again as themselves; more
// than four must each still intern as themselves, over and over, in any
// order.
func TestMemoSetSharedByManyCombinations(t *testing.T) {
	var combos []labels
	for c := 'a'; c < 'a'+12; c++ {
		// Only the eighth byte differs, which setOf does not read.
		combos = append(combos, labels{operation: "chat", provider: "openai", requestModel: "gpt-4o-" + string(c) + "-2024-08-06", serviceName: "svc"})
	}
	for _, l := range combos[1:] {
		require.Equal(t, combos[0].setOf(), l.setOf(), "the test's combinations must share a set")
	}
	check := func(memo *Memo, l labels, what string) {
		t.Helper()
		h := memo.intern(l)
		require.Equal(t, l, h.Value(), what)
		require.True(t, internLabels(l) == h, "%s: one handle per combination", what)
	}
	var memo Memo
	for round := range 3 {
		for _, l := range combos[:memoWays] {
			check(&memo, l, fmt.Sprintf("a set's own four, round %d", round))
		}
	}
	for round := range 3 {
		for i := range combos {
			check(&memo, combos[(i*5+round)%len(combos)], fmt.Sprintf("twelve in one set, round %d", round))
		}
	}
}

// TestMemoKeepsNothingOfTheSpan: a Memo outlives the batches it reads, so
// the strings it compares with must be its handles' copies, not the span's.
func TestMemoKeepsNothingOfTheSpan(t *testing.T) {
	span, res := spanSpec{service: "svc", attrs: []kv{
		{"gen_ai.operation.name", "chat"},
		{"gen_ai.provider.name", "openai"},
		{"gen_ai.request.model", "gpt-4o"},
		{"gen_ai.response.model", "gpt-4o-2024-08-06"},
		{"gen_ai.response.finish_reasons", "stop"},
	}}.build(t, false)
	var memo Memo
	var c Completion
	require.True(t, Read(span, res, &memo, &c))
	spans := map[*byte]bool{}
	span.Attributes().Range(func(_ string, v pcommon.Value) bool {
		spans[unsafe.StringData(v.Str())] = true
		return true
	})
	sv, _ := res.Attributes().Get("service.name")
	spans[unsafe.StringData(sv.Str())] = true
	kept := 0
	for _, set := range memo.sets {
		for _, slot := range set.ways {
			for _, str := range []string{slot.l.operation, slot.l.provider, slot.l.requestModel, slot.l.responseModel, slot.l.serviceName, slot.l.finishReasons} {
				if str != "" {
					kept++
					require.False(t, spans[unsafe.StringData(str)], "the memo keeps %q of the span", str)
				}
			}
		}
	}
	require.Equal(t, 6, kept, "the memo holds the combination it interned")
}

// TestFromSpanCopiesOut checks the completion keeps nothing of the span: the
// span's strings may be reused by the pipeline once FromSpan returns.
func TestFromSpanCopiesOut(t *testing.T) {
	span, res := spanSpec{service: "svc", attrs: []kv{
		{"gen_ai.operation.name", "chat"},
		{"gen_ai.request.model", "gpt-4o"},
		{"gen_ai.response.id", "resp-1"},
		{"gen_ai.conversation.id", "conv-1"},
	}}.build(t, false)
	c, ok := FromSpan(span, res, nil)
	require.True(t, ok)
	// Strings are immutable: what "copied" means is that none shares the
	// span's bytes, which would keep the whole decoded request alive.
	for key, got := range map[string]string{
		"gen_ai.request.model": c.RequestModel(), "gen_ai.response.id": c.ResponseID, "gen_ai.conversation.id": c.ConversationID,
	} {
		v, _ := span.Attributes().Get(key)
		require.NotSame(t, unsafe.StringData(v.Str()), unsafe.StringData(got), "%s shares the span's bytes", key)
	}
	v, _ := res.Attributes().Get("service.name")
	require.NotSame(t, unsafe.StringData(v.Str()), unsafe.StringData(c.ServiceName()), "service.name shares the resource's bytes")
	span.Attributes().Clear()
	require.Equal(t, "gpt-4o", c.RequestModel())
	require.Equal(t, "resp-1", c.ResponseID)
	require.Equal(t, "conv-1", c.ConversationID)
	require.Equal(t, "svc", c.ServiceName())
}

func TestClamp(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantCut bool
	}{
		{"", "", false},
		{"short", "short", false},
		{strings.Repeat("x", 256), strings.Repeat("x", 256), false},
		{strings.Repeat("x", 257), strings.Repeat("x", 256), true},
		{strings.Repeat("x", 255) + "ß", strings.Repeat("x", 255), true},
		{strings.Repeat("x", 254) + "ß", strings.Repeat("x", 254) + "ß", false},
		{strings.Repeat("x", 254) + "ßy", strings.Repeat("x", 254) + "ß", true},
		// Invalid UTF-8 made only of continuation bytes: nothing safe to keep.
		{strings.Repeat("\x80", 300), "", true},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got, cut := clamp(tc.in)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.wantCut, cut)
			require.LessOrEqual(t, len(got), MaxStringBytes)
			if utf8.ValidString(tc.in) {
				require.True(t, utf8.ValidString(got))
			}
		})
	}
}

func TestCompletionZeroValue(t *testing.T) {
	var c Completion
	require.Empty(t, c.Operation())
	require.Empty(t, c.Provider())
	require.Empty(t, c.RequestModel())
	require.Empty(t, c.ResponseModel())
	require.Empty(t, c.ServiceName())
	require.Nil(t, appendedFinishReasons(&c))
	require.False(t, c.HasFinishReasons())
	requireAppendedFinishReasons(t, &c)
	require.False(t, c.Error())
	require.False(t, c.Truncated())
	_, ok := c.Input()
	require.False(t, ok)
	_, ok = c.Output()
	require.False(t, ok)
}

func TestIsCompletionAllocatesNothing(t *testing.T) {
	tests := []struct {
		name  string
		attrs []kv
		want  bool
	}{
		{
			name: "HTTP client span with 12 attributes",
			want: false,
			attrs: []kv{
				{"http.request.method", "POST"},
				{"http.response.status_code", 200},
				{"url.full", "https://api.example.com/v1/orders?id=42"},
				{"url.scheme", "https"},
				{"server.address", "api.example.com"},
				{"server.port", 443},
				{"network.protocol.version", "1.1"},
				{"user_agent.original", "Go-http-client/1.1"},
				{"http.request.body.size", 512},
				{"http.response.body.size", 2048},
				{"client.address", "10.0.0.7"},
				{"thread.name", "worker-3"},
			},
		},
		{
			name: "embeddings span with 12 attributes",
			want: false,
			attrs: []kv{
				{"gen_ai.operation.name", "embeddings"},
				{"gen_ai.provider.name", "openai"},
				{"gen_ai.request.model", "text-embedding-3-small"},
				{"gen_ai.response.model", "text-embedding-3-small"},
				{"gen_ai.usage.input_tokens", 8},
				{"server.address", "api.openai.com"},
				{"server.port", 443},
				{"gen_ai.request.encoding_formats", []string{"float"}},
				{"gen_ai.embeddings.dimension.count", 1536},
				{"session.id", "s"},
				{"error.type", "timeout"},
				{"thread.name", "worker-3"},
			},
		},
		{
			name: "chat span",
			want: true,
			attrs: []kv{
				{"gen_ai.operation.name", "chat"},
				{"gen_ai.provider.name", "openai"},
				{"gen_ai.request.model", "gpt-4o"},
				{"gen_ai.usage.input_tokens", 8},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			span, _ := spanSpec{attrs: tc.attrs}.build(t, false)
			require.Equal(t, tc.want, IsCompletion(span))
			allocs := testing.AllocsPerRun(200, func() {
				_ = IsCompletion(span)
			})
			require.Zero(t, allocs, "IsCompletion must not allocate")
		})
	}
}

// fuzzKeys are the attribute names the detector reads, so the fuzzer reaches
// every field without having to guess the names.
var fuzzKeys = []string{
	"gen_ai.operation.name", "gen_ai.system", "llm.request.type", "openinference.span.kind",
	"gen_ai.provider.name", "llm.vendor", "llm.provider", "llm.system",
	"gen_ai.request.model", "llm.request.model", "llm.model_name", "gen_ai.response.model",
	"llm.response.model", "gen_ai.response.id", "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
	"llm.usage.prompt_tokens", "llm.token_count.prompt", "gen_ai.usage.output_tokens",
	"gen_ai.usage.completion_tokens", "llm.usage.completion_tokens", "llm.token_count.completion",
	"gen_ai.response.finish_reasons", "llm.completions.0.finish_reason", "gen_ai.conversation.id",
	"session.id", "traceloop.association.properties.conversation_id",
	"traceloop.association.properties.session_id", "llm.conversation_id", "error.type",
}

// fuzzMarkers make the span a completion in each generation, so the fuzzer
// spends its time in FromSpan's copying rather than on non-completions.
var fuzzMarkers = []kv{
	{"gen_ai.operation.name", "chat"},
	{"gen_ai.system", "openai"},
	{"llm.request.type", "completion"},
	{"openinference.span.kind", "LLM"},
	{"unrelated", "x"},
}

func FuzzFromSpan(f *testing.F) {
	f.Add("gen_ai.request.model", "gpt-4o", "gen_ai.usage.input_tokens", int64(12), uint8(0), "stop", "svc")
	f.Add("llm.model_name", strings.Repeat("é", 200), "llm.token_count.prompt", int64(-1), uint8(13), "x", strings.Repeat("€", 100))
	f.Add("gen_ai.response.finish_reasons", "stop", "gen_ai.operation.name", int64(3), uint8(22), strings.Repeat("a", 255)+"😀", "")
	f.Add("gen_ai.operation.name", "embeddings", "gen_ai.system", int64(0), uint8(1), "", "checkout")
	f.Add("", "", "", int64(math.MinInt64), uint8(255), "\xff\xfe", "\x80")
	f.Fuzz(func(t *testing.T, k1, v1, k2 string, n int64, pick uint8, v3, svc string) {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		span.SetStartTimestamp(pcommon.Timestamp(uint64(n)))
		span.SetEndTimestamp(pcommon.Timestamp(uint64(n) + uint64(pick)))
		if pick&0x80 != 0 {
			span.Status().SetCode(ptrace.StatusCodeError)
		}
		attrs := span.Attributes()
		m := fuzzMarkers[int(pick)%len(fuzzMarkers)]
		attrs.PutStr(m.k, m.v.(string))
		attrs.PutStr(k1, v1)
		attrs.PutInt(k2, n)
		known := fuzzKeys[int(pick)%len(fuzzKeys)]
		if pick&0x40 != 0 {
			s := attrs.PutEmptySlice(known)
			s.AppendEmpty().SetStr(v1)
			s.AppendEmpty().SetStr(v3)
			s.AppendEmpty().SetInt(n)
		} else {
			attrs.PutStr(known, v3)
		}
		if pick&0x20 != 0 {
			attrs.PutDouble(fuzzKeys[int(pick/3)%len(fuzzKeys)], float64(n)/3)
		}

		c, ok := FromSpan(span, rs.Resource(), nil)
		require.Equal(t, ok, IsCompletion(span), "IsCompletion must agree with FromSpan")
		if !ok {
			return
		}
		validIn := utf8.ValidString(v1) && utf8.ValidString(v3) && utf8.ValidString(svc)
		strs := []string{c.Operation(), c.Provider(), c.RequestModel(), c.ResponseModel(), c.ServiceName(), c.ResponseID, c.ConversationID}
		strs = append(strs, appendedFinishReasons(&c)...)
		for _, s := range strs {
			require.LessOrEqual(t, len(s), MaxStringBytes)
			if validIn {
				require.True(t, utf8.ValidString(s), "invalid UTF-8 %q from valid input", s)
			}
		}
		if c.DurationNano < 0 {
			t.Fatalf("negative duration %d", c.DurationNano)
		}
	})
}
