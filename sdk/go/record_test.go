package llmfeedback_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	llmfeedback "github.com/llm-feedback/llmfeedbackprocessor/sdk/go"
)

// attrs returns a record's attributes as plain Go values.
func attrs(r sdklog.Record) map[string]any {
	out := map[string]any{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		out[string(kv.Key)] = plain(kv.Value)
		return true
	})
	return out
}

func plain(v attribute.Value) any {
	switch v.Type() {
	case attribute.MAP:
		m := map[string]any{}
		for _, kv := range v.AsMap() {
			m[string(kv.Key)] = plain(kv.Value)
		}
		return m
	case attribute.SLICE:
		var s []any
		for _, e := range v.AsSlice() {
			s = append(s, plain(e))
		}
		return s
	}
	return v.AsInterface()
}

const (
	traceHex = "5b8efff798038103d269b633813fc60c"
	spanHex  = "eee19b7ec3c1b174"
)

type thumb string

type level uint8

func TestRecordRefusesBadArguments(t *testing.T) {
	tests := []struct {
		name    string
		traceID string
		rating  any
		opts    []llmfeedback.Option
		wantErr string
	}{
		{"empty trace id", "", "Good", nil, "trace id is empty"},
		{"blank trace id", "   ", "Good", nil, "trace id is empty"},
		{"not hex", "5b8efff798038103d269b633813fc60g", "Good", nil, `character 'g' is not a hex digit`},
		{"too long", traceHex + "00", "Good", nil, "too long: 34 hex digits"},
		{"all zeros", "00000000000000000000000000000000", "Good", nil, "all zeros"},
		{"zero uuid", "00000000-0000-0000-0000-000000000000", "Good", nil, "all zeros"},
		{"bad dashes", "5b8efff7-9803-8103-d269b633813fc60c", "Good", nil, "neither a UUID"},
		{"traceparent version ff", "ff-" + traceHex + "-" + spanHex + "-01", "Good", nil, "neither a UUID"},
		{"traceparent bad flags", "00-" + traceHex + "-" + spanHex + "-zz", "Good", nil, "neither a UUID"},
		{"nil rating", traceHex, nil, nil, "rating is nil"},
		{"empty rating", traceHex, "", nil, "rating is an empty string"},
		{"blank named rating", traceHex, thumb(" "), nil, "rating is an empty string"},
		{"map rating", traceHex, map[string]any{"score": 1}, nil, "rating is a map[string]interface {}; expected"},
		{"slice rating", traceHex, []int{1}, nil, "rating is a []int; expected"},
		{"struct rating", traceHex, struct{ Score int }{1}, nil, "rating is a struct { Score int }; expected"},
		{"pointer rating", traceHex, new(int), nil, "rating is a *int; expected"},
		{"NaN rating", traceHex, math.NaN(), nil, "rating is NaN; expected a finite number"},
		{"huge uint rating", traceHex, uint64(math.MaxUint64), nil, "does not fit"},
		{"span id not hex", traceHex, "Good", []llmfeedback.Option{llmfeedback.WithSpanID("xyz")}, `span id "xyz" is not hex`},
		{"span id too long", traceHex, "Good", []llmfeedback.Option{llmfeedback.WithSpanID(spanHex + "0")}, "too long: 17 characters"},
		{"span id zeros", traceHex, "Good", []llmfeedback.Option{llmfeedback.WithSpanID("0000")}, "all zeros"},
		{"span id blank", traceHex, "Good", []llmfeedback.Option{llmfeedback.WithSpanID("  ")}, "is blank"},
		{"response id too long", traceHex, "Good", []llmfeedback.Option{llmfeedback.WithResponseID(strings.Repeat("r", 257))}, "response id is 257 bytes long; at most 256"},
		{"feedback id too long", traceHex, "Good", []llmfeedback.Option{llmfeedback.WithFeedbackID(string(make([]byte, 300)))}, "at most 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lp, exp := newProvider(t)
			opts := append([]llmfeedback.Option{llmfeedback.WithLoggerProvider(lp)}, tt.opts...)
			err := llmfeedback.Record(context.Background(), tt.traceID, tt.rating, opts...)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.wantErr)
			assert.ErrorContains(t, err, "llmfeedback: invalid argument: ")
			assert.True(t, errors.Is(err, llmfeedback.ErrInvalidArgument))
			assert.Empty(t, exp.Records(), "nothing is emitted for a refused call")
		})
	}
}

func TestRecordEmits(t *testing.T) {
	completion, err := trace.TraceIDFromHex(traceHex)
	require.NoError(t, err)
	given, err := trace.SpanIDFromHex(spanHex)
	require.NoError(t, err)
	with := func(opts ...llmfeedback.Option) []llmfeedback.Option { return opts }

	tests := []struct {
		name      string
		traceID   string
		rating    any
		opts      []llmfeedback.Option
		wantTrace trace.TraceID
		wantSpan  trace.SpanID // zero: derived
		want      map[string]any
	}{
		{
			name: "string rating only", traceID: traceHex, rating: "Good", wantTrace: completion,
			want: map[string]any{"trace_id": traceHex, "rating": "Good", "ingest_source": "Go"},
		},
		{
			name: "upper case", traceID: "5B8EFFF798038103D269B633813FC60C", rating: 7, wantTrace: completion,
			want: map[string]any{"trace_id": traceHex, "rating": int64(7), "ingest_source": "Go"},
		},
		{
			name: "uuid", traceID: "5b8efff7-9803-8103-d269-b633813fc60c", rating: int64(-1), wantTrace: completion,
			want: map[string]any{"trace_id": traceHex, "rating": int64(-1), "ingest_source": "Go"},
		},
		{
			name: "traceparent", traceID: " 00-" + traceHex + "-" + spanHex + "-01 ", rating: 0.5, wantTrace: completion,
			want: map[string]any{"trace_id": traceHex, "rating": 0.5, "ingest_source": "Go"},
		},
		{
			name: "short id left-padded", traceID: "3ce929d0e0e47360", rating: true,
			wantTrace: trace.TraceID{8: 0x3c, 9: 0xe9, 10: 0x29, 11: 0xd0, 12: 0xe0, 13: 0xe4, 14: 0x73, 15: 0x60},
			want:      map[string]any{"trace_id": "00000000000000003ce929d0e0e47360", "rating": true, "ingest_source": "Go"},
		},
		{
			name: "odd length", traceID: "abc", rating: false,
			wantTrace: trace.TraceID{14: 0x0a, 15: 0xbc},
			want:      map[string]any{"trace_id": "00000000000000000000000000000abc", "rating": false, "ingest_source": "Go"},
		},
		{
			name: "other int kinds and named types", traceID: traceHex, rating: level(9), wantTrace: completion,
			want: map[string]any{"trace_id": traceHex, "rating": int64(9), "ingest_source": "Go"},
		},
		{
			name: "named string", traceID: traceHex, rating: thumb("Bad"), wantTrace: completion,
			want: map[string]any{"trace_id": traceHex, "rating": "Bad", "ingest_source": "Go"},
		},
		{
			name: "float32", traceID: traceHex, rating: float32(0.25), wantTrace: completion,
			want: map[string]any{"trace_id": traceHex, "rating": 0.25, "ingest_source": "Go"},
		},
		{
			name: "every option", traceID: traceHex, rating: "Bad", wantTrace: completion, wantSpan: given,
			opts: with(
				llmfeedback.WithCategory("inaccurate"),
				llmfeedback.WithMessage("Wrong year"),
				llmfeedback.WithSpanID("EEE19B7EC3C1B174"),
				llmfeedback.WithResponseID("chatcmpl-123"),
				llmfeedback.WithFeedbackID(" fb-1 "),
				llmfeedback.WithMetadata(map[string]any{
					"user.tier": "pro",
					"turn":      3,
					"small":     uint16(2),
					"score":     0.5,
					"retry":     false,
					"nothing":   nil,
					"tags":      []string{"a", "b"},
					"nested":    map[string]any{"k": int8(1), "deep": map[string]string{"x": "y"}},
					"mixed":     []any{1, "two", nil},
					"raw":       []byte("hi"),
					"since":     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
					"struct":    struct{ A int }{1},
					"ptr":       ptr(42),
					"int keys":  map[int]string{1: "one"},
				}),
			),
			want: map[string]any{
				"trace_id":           traceHex,
				"rating":             "Bad",
				"category":           "inaccurate",
				"message":            "Wrong year",
				"span_id":            spanHex,
				"gen_ai.response.id": "chatcmpl-123",
				"id":                 "fb-1",
				"ingest_source":      "Go",
				"metadata": map[string]any{
					"user.tier": "pro",
					"turn":      int64(3),
					"small":     int64(2),
					"score":     0.5,
					"retry":     false,
					"tags":      []any{"a", "b"},
					"nested":    map[string]any{"k": int64(1), "deep": map[string]any{"x": "y"}},
					"mixed":     []any{int64(1), "two", nil},
					"raw":       []byte("hi"),
					"since":     "2026-01-02 03:04:05 +0000 UTC",
					"struct":    "{1}",
					"ptr":       int64(42),
					"int keys":  "map[1:one]",
				},
			},
		},
		{
			name: "empty options are left out", traceID: traceHex, rating: "Good", wantTrace: completion,
			opts: with(
				llmfeedback.WithCategory(""), llmfeedback.WithMessage(""), llmfeedback.WithSpanID(""),
				llmfeedback.WithResponseID(""), llmfeedback.WithFeedbackID(""),
				llmfeedback.WithMetadata(map[string]any{}), nil,
			),
			want: map[string]any{"trace_id": traceHex, "rating": "Good", "ingest_source": "Go"},
		},
		{
			name: "short span id left-padded", traceID: traceHex, rating: "Good", wantTrace: completion,
			wantSpan: trace.SpanID{6: 0xab, 7: 0xcd},
			opts:     with(llmfeedback.WithSpanID("abcd")),
			want:     map[string]any{"trace_id": traceHex, "rating": "Good", "span_id": "000000000000abcd", "ingest_source": "Go"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lp, exp := newProvider(t)
			before := time.Now()
			opts := append([]llmfeedback.Option{llmfeedback.WithLoggerProvider(lp)}, tt.opts...)
			require.NoError(t, llmfeedback.Record(context.Background(), tt.traceID, tt.rating, opts...))

			recs := exp.Records()
			require.Len(t, recs, 1)
			r := recs[0]
			assert.Equal(t, "LlmFeedbackMessage", r.EventName())
			assert.Equal(t, llmfeedback.ScopeName, r.InstrumentationScope().Name)
			assert.Equal(t, log.SeverityInfo, r.Severity())
			assert.Equal(t, tt.wantTrace, r.TraceID(), "the record is in the completion's trace")
			assert.True(t, r.SpanID().IsValid(), "the SDK only takes a trace id from a valid span context")
			if tt.wantSpan.IsValid() {
				assert.Equal(t, tt.wantSpan, r.SpanID())
			}
			assert.True(t, r.TraceFlags().IsSampled())
			assert.False(t, r.Timestamp().Before(before))
			assert.Equal(t, r.Timestamp(), r.ObservedTimestamp())
			assert.Equal(t, tt.want, attrs(r))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestDerivedSpanID: without WithSpanID the span id is a pure function of the
// trace id, so two feedbacks on one trace agree and different traces differ.
func TestDerivedSpanID(t *testing.T) {
	lp, exp := newProvider(t)
	ctx := context.Background()
	with := llmfeedback.WithLoggerProvider(lp)
	require.NoError(t, llmfeedback.Record(ctx, traceHex, "Good", with))
	require.NoError(t, llmfeedback.Record(ctx, "00-"+traceHex+"-"+spanHex+"-01", 5, with))
	require.NoError(t, llmfeedback.Record(ctx, "4bf92f3577b34da6a3ce929d0e0e4736", "Bad", with))
	recs := exp.Records()
	require.Len(t, recs, 3)
	assert.Equal(t, recs[0].SpanID(), recs[1].SpanID())
	assert.NotEqual(t, recs[0].SpanID(), recs[2].SpanID())
	assert.Equal(t, "794b5834069860fe", recs[0].SpanID().String(), "SHA-256(\"llm_feedback\" || trace id)[:8]")
	for _, r := range recs {
		_, named := attrs(r)["span_id"]
		assert.False(t, named, "a derived span id is not sent as span_id")
	}
}

// TestRecordIgnoresSpanInContext: feedback is usually recorded while handling
// another request; the record must go to the completion's trace, not that one.
func TestRecordIgnoresSpanInContext(t *testing.T) {
	lp, exp := newProvider(t)
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("test").Start(context.Background(), "POST /feedback")
	defer span.End()
	require.NotEqual(t, traceHex, llmfeedback.CurrentTraceID(ctx))

	require.NoError(t, llmfeedback.Record(ctx, traceHex, "Good", llmfeedback.WithLoggerProvider(lp)))
	recs := exp.Records()
	require.Len(t, recs, 1)
	assert.Equal(t, traceHex, recs[0].TraceID().String())
	assert.NotEqual(t, span.SpanContext().SpanID(), recs[0].SpanID())
}

func TestRecordUsesGlobalProvider(t *testing.T) {
	lp, exp := newProvider(t)
	prev := otel.GetLoggerProvider()
	otel.SetLoggerProvider(lp)
	t.Cleanup(func() { otel.SetLoggerProvider(prev) })

	require.NoError(t, llmfeedback.Record(context.Background(), traceHex, "Good"))
	require.Len(t, exp.Records(), 1)
}

func TestCurrentTraceID(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	spanCtx, span := tp.Tracer("test").Start(context.Background(), "chat gpt-4o")
	defer span.End()
	tid, err := trace.TraceIDFromHex(traceHex)
	require.NoError(t, err)

	tests := []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"no span", context.Background(), ""},
		{"recording span", spanCtx, span.SpanContext().TraceID().String()},
		{"remote span context", trace.ContextWithRemoteSpanContext(context.Background(),
			trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{7: 1}})), traceHex},
		{"trace id without span id", trace.ContextWithSpanContext(context.Background(),
			trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid})), traceHex},
		{"nil context", nil, ""}, //nolint:staticcheck // nil is handled
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := llmfeedback.CurrentTraceID(tt.ctx)
			assert.Equal(t, tt.want, got)
			if got != "" {
				assert.Len(t, got, 32)
			}
		})
	}
}
