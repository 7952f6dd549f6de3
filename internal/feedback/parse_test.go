package feedback

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

const (
	validTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	validSpan  = "00f067aa0ba902b7"
)

var (
	recordTrace = pcommon.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	attrTrace   = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
)

type kv struct {
	k string
	v any
}

// absent removes the attribute from the base record.
type absent struct{}

// empty is an attribute with no value (pcommon.ValueTypeEmpty).
type empty struct{}

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
	case []byte:
		m.PutEmptyBytes(k).FromRaw(v)
	case []any:
		require.NoError(tb, m.PutEmptySlice(k).FromRaw(v))
	case map[string]any:
		require.NoError(tb, m.PutEmptyMap(k).FromRaw(v))
	case empty:
		m.PutEmpty(k)
	case absent:
		m.Remove(k)
	default:
		tb.Fatalf("unsupported attribute type %T for %s", v, k)
	}
}

// newRecord builds a log record from a valid feedback (trace_id and rating)
// changed by over, in order.
func newRecord(tb testing.TB, over ...kv) plog.LogRecord {
	tb.Helper()
	lr := plog.NewLogRecord()
	lr.SetEventName("LlmFeedbackMessage")
	lr.SetTimestamp(1_000)
	lr.SetObservedTimestamp(2_000)
	lr.Attributes().PutStr(AttrTraceID, validTrace)
	lr.Attributes().PutStr(AttrRating, "Good")
	for _, a := range over {
		putAttr(tb, lr.Attributes(), a.k, a.v)
	}
	return lr
}

// parseUnchanged parses lr and checks Parse left it as it was.
func parseUnchanged(t *testing.T, lr plog.LogRecord) Feedback {
	t.Helper()
	before := plog.NewLogRecord()
	lr.CopyTo(before)
	f := Parse(lr)
	require.Equal(t, before.Attributes().AsRaw(), lr.Attributes().AsRaw(), "Parse must not change the record")
	require.Equal(t, before.TraceID(), lr.TraceID())
	return f
}

func TestParseInvalid(t *testing.T) {
	zeros16 := make([]byte, 16)
	tests := []struct {
		name   string
		over   []kv
		noRec  bool // clear the record's own trace id (it is empty by default)
		recID  pcommon.TraceID
		reason string
		field  string // the attribute key the problem must name
		has    string // an extra substring of the problem
	}{
		// rating
		{name: "missing rating", over: []kv{{AttrRating, absent{}}}, reason: ReasonMissingRating, field: AttrRating, has: "missing"},
		{name: "empty rating", over: []kv{{AttrRating, ""}}, reason: ReasonMissingRating, field: AttrRating, has: "empty"},
		{name: "white space rating", over: []kv{{AttrRating, " \t\n"}}, reason: ReasonMissingRating, field: AttrRating},
		{name: "rating map", over: []kv{{AttrRating, map[string]any{"score": 1}}}, reason: ReasonBadRating, field: AttrRating, has: "map"},
		{name: "rating slice", over: []kv{{AttrRating, []any{"Good"}}}, reason: ReasonBadRating, field: AttrRating, has: "array"},
		{name: "rating bytes", over: []kv{{AttrRating, []byte("Good")}}, reason: ReasonBadRating, field: AttrRating, has: "bytes"},
		{name: "rating with no value is missing", over: []kv{{AttrRating, empty{}}}, reason: ReasonMissingRating, field: AttrRating, has: "missing"},

		// trace_id
		{name: "trace_id int", over: []kv{{AttrTraceID, 12345}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "int"},
		{name: "trace_id double", over: []kv{{AttrTraceID, 1.5}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "double"},
		{name: "trace_id bool", over: []kv{{AttrTraceID, true}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "bool"},
		{name: "trace_id map", over: []kv{{AttrTraceID, map[string]any{"id": validTrace}}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "map"},
		{name: "trace_id slice", over: []kv{{AttrTraceID, []any{validTrace}}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "array"},
		{name: "trace_id with no value is absent", over: []kv{{AttrTraceID, empty{}}}, reason: ReasonNoJoinKey, field: AttrTraceID, has: "no join key"},
		{name: "trace_id empty string", over: []kv{{AttrTraceID, ""}}, reason: ReasonNoJoinKey, field: AttrTraceID, has: "no join key"},
		{name: "trace_id white space", over: []kv{{AttrTraceID, "   "}}, reason: ReasonNoJoinKey, field: AttrTraceID, has: "no join key"},
		{name: "trace_id non-hex", over: []kv{{AttrTraceID, "not-a-trace-id"}}, reason: ReasonBadTraceID, field: AttrTraceID},
		{name: "trace_id non-hex letter", over: []kv{{AttrTraceID, validTrace[:31] + "q"}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "not hex"},
		{name: "trace_id too long", over: []kv{{AttrTraceID, validTrace + "0"}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "too long"},
		{name: "trace_id all zeros", over: []kv{{AttrTraceID, strings.Repeat("0", 32)}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "all zeros"},
		{name: "trace_id all zeros UUID", over: []kv{{AttrTraceID, "00000000-0000-0000-0000-000000000000"}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "all zeros"},
		{name: "trace_id traceparent version ff", over: []kv{{AttrTraceID, "ff-" + validTrace + "-" + validSpan + "-01"}}, reason: ReasonBadTraceID, field: AttrTraceID},
		{name: "trace_id megabyte", over: []kv{{AttrTraceID, strings.Repeat("a", 1<<20)}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "too long"},
		{name: "trace_id bytes of length 8", over: []kv{{AttrTraceID, []byte{1, 2, 3, 4, 5, 6, 7, 8}}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "8 bytes"},
		{name: "trace_id bytes of length 0", over: []kv{{AttrTraceID, []byte{}}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "0 bytes"},
		{name: "trace_id bytes of length 17", over: []kv{{AttrTraceID, make([]byte, 17)}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "17 bytes"},
		{name: "trace_id bytes all zeros", over: []kv{{AttrTraceID, zeros16}}, reason: ReasonBadTraceID, field: AttrTraceID, has: "all zeros"},
		{name: "bad trace_id attribute is not rescued by the record's trace id", over: []kv{{AttrTraceID, "xyz"}}, recID: recordTrace, reason: ReasonBadTraceID, field: AttrTraceID},
		{name: "no trace_id attribute and empty record TraceID", over: []kv{{AttrTraceID, absent{}}}, reason: ReasonNoJoinKey, field: AttrTraceID},

		// span_id
		{name: "span_id int", over: []kv{{AttrSpanID, 42}}, reason: ReasonBadSpanID, field: AttrSpanID, has: "int"},
		{name: "span_id bytes", over: []kv{{AttrSpanID, []byte{1, 2, 3, 4, 5, 6, 7, 8}}}, reason: ReasonBadSpanID, field: AttrSpanID, has: "bytes"},
		{name: "span_id map", over: []kv{{AttrSpanID, map[string]any{}}}, reason: ReasonBadSpanID, field: AttrSpanID, has: "map"},
		{name: "span_id non-hex", over: []kv{{AttrSpanID, "00f067aa0ba902bx"}}, reason: ReasonBadSpanID, field: AttrSpanID, has: "not hex"},
		{name: "span_id too long", over: []kv{{AttrSpanID, validSpan + "00"}}, reason: ReasonBadSpanID, field: AttrSpanID, has: "too long"},
		{name: "span_id all zeros", over: []kv{{AttrSpanID, strings.Repeat("0", 16)}}, reason: ReasonBadSpanID, field: AttrSpanID, has: "all zeros"},

		// metadata, category, message
		{name: "metadata string", over: []kv{{AttrMetadata, `{"k":"v"}`}}, reason: ReasonBadType, field: AttrMetadata, has: "str"},
		{name: "metadata slice", over: []kv{{AttrMetadata, []any{"k", "v"}}}, reason: ReasonBadType, field: AttrMetadata, has: "array"},
		{name: "metadata int", over: []kv{{AttrMetadata, 1}}, reason: ReasonBadType, field: AttrMetadata, has: "int"},
		{name: "category int", over: []kv{{AttrCategory, 3}}, reason: ReasonBadType, field: AttrCategory, has: "int"},
		{name: "category map", over: []kv{{AttrCategory, map[string]any{"a": "b"}}}, reason: ReasonBadType, field: AttrCategory, has: "map"},
		{name: "message map", over: []kv{{AttrMessage, map[string]any{"text": "hi"}}}, reason: ReasonBadType, field: AttrMessage, has: "map"},
		{name: "message bool", over: []kv{{AttrMessage, false}}, reason: ReasonBadType, field: AttrMessage, has: "bool"},

		// id and gen_ai.response.id
		{name: "id map", over: []kv{{AttrID, map[string]any{"uuid": "x"}}}, reason: ReasonBadType, field: AttrID, has: "map"},
		{name: "id double", over: []kv{{AttrID, 1.5}}, reason: ReasonBadType, field: AttrID, has: "double"},
		{name: "id bool", over: []kv{{AttrID, true}}, reason: ReasonBadType, field: AttrID, has: "bool"},
		{name: "id slice", over: []kv{{AttrID, []any{"a"}}}, reason: ReasonBadType, field: AttrID, has: "array"},
		{name: "gen_ai.response.id map", over: []kv{{AttrResponseID, map[string]any{}}}, reason: ReasonBadType, field: AttrResponseID, has: "map"},

		// several problems: the first in reading order is reported
		{name: "bad trace_id and missing rating report the trace_id", over: []kv{{AttrTraceID, 1}, {AttrRating, absent{}}}, reason: ReasonBadTraceID, field: AttrTraceID},
		{name: "missing rating and bad span_id report the rating", over: []kv{{AttrRating, absent{}}, {AttrSpanID, "zz"}}, reason: ReasonMissingRating, field: AttrRating},
		{name: "bad category and bad message report the category", over: []kv{{AttrMessage, 1}, {AttrCategory, 2}}, reason: ReasonBadType, field: AttrCategory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := newRecord(t, tc.over...)
			lr.SetTraceID(tc.recID)
			f := parseUnchanged(t, lr)
			require.False(t, f.Valid())
			require.Equal(t, tc.reason, f.Reason)
			require.Contains(t, f.Problem, tc.field)
			if tc.reason != ReasonNoJoinKey {
				// The problem starts with the key, so "id" is not matched inside "trace_id".
				require.True(t, strings.HasPrefix(f.Problem, tc.field+" "), "problem %q must start with %q", f.Problem, tc.field)
			}
			if tc.has != "" {
				require.Contains(t, f.Problem, tc.has)
			}
			require.Less(t, len(f.Problem), maxErrorBytes)
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		over  []kv
		recID pcommon.TraceID
		ts    pcommon.Timestamp
		obs   pcommon.Timestamp
		want  Feedback
	}{
		{
			name: "minimal",
			ts:   1_000, obs: 2_000,
			want: Feedback{TraceID: attrTrace, Time: 1_000},
		},
		{
			name:  "record TraceID used when the attribute is absent",
			over:  []kv{{AttrTraceID, absent{}}},
			recID: recordTrace, ts: 1_000,
			want: Feedback{TraceID: recordTrace, Time: 1_000},
		},
		{
			name:  "trace_id attribute wins over the record TraceID",
			recID: recordTrace, ts: 1_000,
			want: Feedback{TraceID: attrTrace, Time: 1_000},
		},
		{
			name:  "trace_id bytes of length 16 wins over the record TraceID",
			over:  []kv{{AttrTraceID, attrTrace[:]}},
			recID: recordTrace, ts: 1_000,
			want: Feedback{TraceID: attrTrace, Time: 1_000},
		},
		{
			name: "trace_id as UUID",
			over: []kv{{AttrTraceID, "4BF92F35-77B3-4DA6-A3CE-929D0E0E4736"}},
			ts:   1_000,
			want: Feedback{TraceID: attrTrace, Time: 1_000},
		},
		{
			name: "trace_id as traceparent",
			over: []kv{{AttrTraceID, " 00-" + validTrace + "-" + validSpan + "-01 "}},
			ts:   1_000,
			want: Feedback{TraceID: attrTrace, Time: 1_000},
		},
		{
			name: "short trace_id left-padded",
			over: []kv{{AttrTraceID, "a3ce929d0e0e4736"}},
			ts:   1_000,
			want: Feedback{TraceID: pcommon.TraceID{8: 0xa3, 9: 0xce, 10: 0x92, 11: 0x9d, 12: 0x0e, 13: 0x0e, 14: 0x47, 15: 0x36}, Time: 1_000},
		},
		{name: "rating int", over: []kv{{AttrRating, 1}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
		{name: "rating negative int", over: []kv{{AttrRating, -1}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
		{name: "rating double", over: []kv{{AttrRating, 0.75}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
		{name: "rating bool", over: []kv{{AttrRating, false}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
		{name: "rating string with spaces", over: []kv{{AttrRating, " Bad "}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
		{name: "time from ObservedTimestamp when Timestamp is unset", obs: 2_000, want: Feedback{TraceID: attrTrace, Time: 2_000}},
		{name: "time zero when neither is set", want: Feedback{TraceID: attrTrace}},
		{
			name: "every optional field",
			over: []kv{
				{AttrID, "  fb-1  "},
				{AttrSpanID, strings.ToUpper(validSpan)},
				{AttrResponseID, "chatcmpl-1"},
				{AttrCategory, "informative"},
				{AttrMessage, "great answer"},
				{AttrMetadata, map[string]any{"user": "u1"}},
				{AttrIngestSource, "Python"},
			},
			ts: 1_000,
			want: Feedback{
				TraceID: attrTrace, ID: "fb-1", SpanID: pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
				ResponseID: "chatcmpl-1", Time: 1_000,
			},
		},
		{name: "id int read as a string", over: []kv{{AttrID, 42}}, ts: 1_000, want: Feedback{TraceID: attrTrace, ID: "42", Time: 1_000}},
		{name: "short span_id left-padded", over: []kv{{AttrSpanID, "1"}}, ts: 1_000, want: Feedback{TraceID: attrTrace, SpanID: pcommon.SpanID{7: 1}, Time: 1_000}},
		// An empty value counts as absent.
		{name: "span_id empty string is absent", over: []kv{{AttrSpanID, " "}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
		{name: "span_id with no value is absent", over: []kv{{AttrSpanID, empty{}}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
		{name: "gen_ai.response.id selector as an integer, as a join key", over: []kv{{AttrResponseID, 7}}, ts: 1_000, want: Feedback{TraceID: attrTrace, ResponseID: "7", Time: 1_000}},
		{name: "blank gen_ai.response.id selector is absent", over: []kv{{AttrResponseID, "  "}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
		{name: "id, category and metadata with no value are absent", over: []kv{{AttrID, empty{}}, {AttrCategory, empty{}}, {AttrMetadata, empty{}}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
		{name: "empty category and message are strings", over: []kv{{AttrCategory, ""}, {AttrMessage, ""}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
		{name: "empty metadata map", over: []kv{{AttrMetadata, map[string]any{}}}, ts: 1_000, want: Feedback{TraceID: attrTrace, Time: 1_000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := newRecord(t, tc.over...)
			lr.SetTraceID(tc.recID)
			lr.SetTimestamp(tc.ts)
			lr.SetObservedTimestamp(tc.obs)
			rating, _ := lr.Attributes().Get(AttrRating)
			wantRating := rating.AsRaw()
			f := parseUnchanged(t, lr)
			require.True(t, f.Valid(), "problem: %s", f.Problem)
			require.Empty(t, f.Reason)
			tc.want.Key = JoinKey{Kind: store.ByTrace, Name: AttrTraceID}
			require.Equal(t, tc.want, f)
			got, ok := lr.Attributes().Get(AttrRating)
			require.True(t, ok)
			require.Equal(t, wantRating, got.AsRaw(), "rating is kept as sent")
		})
	}
}

// TestParseCopiesOut checks Feedback keeps no string of the record, which the
// pipeline may reuse once Parse returns.
func TestParseCopiesOut(t *testing.T) {
	lr := newRecord(t, kv{AttrID, "fb-1"}, kv{AttrResponseID, "resp-1"})
	f := Parse(lr)
	lr.Attributes().PutStr(AttrID, "changed")
	lr.Attributes().PutStr(AttrResponseID, "changed")
	lr.Attributes().Clear()
	require.Equal(t, "fb-1", f.ID)
	require.Equal(t, "resp-1", f.ResponseID)
}

func TestMatcher(t *testing.T) {
	defaults := []string{"LlmFeedbackMessage", "gen_ai.evaluation.result"}
	tests := []struct {
		name      string
		names     []string
		eventName string
		attrs     []kv
		want      bool
	}{
		{name: "EventName match", names: defaults, eventName: "LlmFeedbackMessage", want: true},
		{name: "EventName match second name", names: defaults, eventName: "gen_ai.evaluation.result", want: true},
		{name: "EventName is case sensitive", names: defaults, eventName: "llmfeedbackmessage", want: false},
		{
			name: "EventName of another event, a matching attribute", names: defaults, eventName: "user.click",
			attrs: []kv{{"newrelic.event.type", "LlmFeedbackMessage"}},
			want:  true,
		},
		{name: "attribute event.name", names: defaults, attrs: []kv{{"event.name", "LlmFeedbackMessage"}}, want: true},
		{name: "attribute otel.event.name", names: defaults, attrs: []kv{{"otel.event.name", "gen_ai.evaluation.result"}}, want: true},
		{name: "attribute newrelic.event.type", names: defaults, attrs: []kv{{"newrelic.event.type", "LlmFeedbackMessage"}}, want: true},
		{
			name: "one marker attribute with another name, a later one matching", names: defaults,
			attrs: []kv{{"event.name", "other"}, {"newrelic.event.type", "LlmFeedbackMessage"}},
			want:  true,
		},
		{name: "attribute with an unconfigured name", names: defaults, attrs: []kv{{"event.name", "Log"}}, want: false},
		{name: "non-string attribute ignored", names: []string{"1"}, attrs: []kv{{"event.name", 1}}, want: false},
		{name: "slice attribute ignored", names: defaults, attrs: []kv{{"event.name", []any{"LlmFeedbackMessage"}}}, want: false},
		{name: "bytes attribute ignored", names: defaults, attrs: []kv{{"newrelic.event.type", []byte("LlmFeedbackMessage")}}, want: false},
		{name: "other attribute keys ignored", names: defaults, attrs: []kv{{"name", "LlmFeedbackMessage"}, {"event", "LlmFeedbackMessage"}}, want: false},
		{name: "feedback attributes alone are not enough", names: defaults, attrs: []kv{{"rating", "Good"}, {"trace_id", validTrace}}, want: false},
		{name: "custom names: EventName", names: []string{"thumbs", "app.rating"}, eventName: "app.rating", want: true},
		{name: "custom names: attribute", names: []string{"thumbs", "app.rating"}, attrs: []kv{{"event.name", "thumbs"}}, want: true},
		{name: "custom names: default name no longer matches", names: []string{"thumbs"}, eventName: "LlmFeedbackMessage", want: false},
		{name: "no names match nothing", names: nil, eventName: "LlmFeedbackMessage", attrs: []kv{{"event.name", "LlmFeedbackMessage"}}, want: false},
		{name: "empty record", names: defaults, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			lr.SetEventName(tc.eventName)
			for _, a := range tc.attrs {
				putAttr(t, lr.Attributes(), a.k, a.v)
			}
			m := NewMatcher(tc.names)
			require.Equal(t, tc.want, m.Is(lr))
			// AnyIn must agree, wherever the record is among others that
			// are not feedback.
			for at := range 3 {
				lrs := plog.NewLogRecordSlice()
				for i := range 3 {
					other := lrs.AppendEmpty()
					other.Attributes().PutStr("http.route", "/api")
					other.Attributes().PutStr("event.name", "user.click")
					if i == at {
						lr.CopyTo(other)
					}
				}
				require.Equal(t, tc.want, m.AnyIn(lrs), "AnyIn with the record at %d of 3", at)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(validTrace, "Good", int64(0), uint8(0b0101), validSpan)
	f.Add("", "", int64(5), uint8(0b1010), "")
	f.Add("00-"+validTrace+"-"+validSpan+"-01", " ", int64(-1), uint8(0b0111), "0")
	f.Add(strings.Repeat("0", 32), "Bad", int64(10), uint8(0b1101), "zz")
	f.Fuzz(func(t *testing.T, trace, ratingStr string, ratingInt int64, flags uint8, span string) {
		lr := plog.NewLogRecord()
		attrs := lr.Attributes()
		if flags&1 != 0 {
			attrs.PutStr(AttrTraceID, trace)
		}
		if flags&2 != 0 {
			attrs.PutInt(AttrRating, ratingInt)
		} else {
			attrs.PutStr(AttrRating, ratingStr)
		}
		if flags&4 != 0 {
			attrs.PutStr(AttrSpanID, span)
		}
		if flags&8 != 0 {
			lr.SetTraceID(recordTrace)
		}
		fb := Parse(lr)
		if fb.Valid() {
			require.False(t, fb.TraceID.IsEmpty(), "a valid feedback must have a trace id")
			require.Empty(t, fb.Reason)
			if _, err := ParseSpanID(span); flags&4 != 0 && err == nil {
				require.False(t, fb.SpanID.IsEmpty(), "a valid span_id is read")
			} else {
				// absent or empty: no span picked
				require.True(t, fb.SpanID.IsEmpty(), "span_id %q", span)
			}
			return
		}
		require.NotEmpty(t, fb.Reason)
		require.Less(t, len(fb.Problem), 2*maxErrorBytes)
	})
}

// TestParseJoinKey: the first key a record carries decides, in the
// contract's order; an empty value counts as absent.
func TestParseJoinKey(t *testing.T) {
	keys := Keys{ByResponse: true, AppKeys: []string{"app.message_id", "app.turn"}, ByConversation: true}
	tests := []struct {
		name   string
		attrs  map[string]any
		record bool // the record carries its own trace id
		keys   *Keys
		want   JoinKey
		reason string
	}{
		{name: "trace_id first", attrs: map[string]any{"trace_id": validTrace, "gen_ai.response.id": "chatcmpl-1", "app.message_id": "m1", "gen_ai.conversation.id": "c1"}, want: JoinKey{Kind: store.ByTrace, Name: "trace_id"}},
		{name: "response id next", attrs: map[string]any{"gen_ai.response.id": "chatcmpl-1", "app.message_id": "m1"}, record: true, want: JoinKey{Kind: store.ByResponse, Name: "gen_ai.response.id", Value: "chatcmpl-1"}},
		{name: "empty trace_id is absent", attrs: map[string]any{"trace_id": "", "gen_ai.response.id": "chatcmpl-1"}, want: JoinKey{Kind: store.ByResponse, Name: "gen_ai.response.id", Value: "chatcmpl-1"}},
		{name: "configured keys in order", attrs: map[string]any{"app.turn": "t1", "app.message_id": "m1"}, want: JoinKey{Kind: store.ByAppKey, App: 0, Name: "app.message_id", Value: "m1"}},
		{name: "second configured key", attrs: map[string]any{"app.turn": int64(7), "app.message_id": ""}, want: JoinKey{Kind: store.ByAppKey, App: 1, Name: "app.turn", Value: "7"}},
		{name: "conversation", attrs: map[string]any{"gen_ai.conversation.id": "c1"}, record: true, want: JoinKey{Kind: store.ByConversation, Name: "gen_ai.conversation.id", Value: "c1"}},
		{name: "session.id read as the conversation", attrs: map[string]any{"session.id": "s1"}, want: JoinKey{Kind: store.ByConversation, Name: "gen_ai.conversation.id", Value: "s1"}},
		{name: "record trace id last", attrs: map[string]any{"gen_ai.conversation.id": " "}, record: true, want: JoinKey{Kind: store.ByTrace, Name: "trace_id"}},
		{name: "response id off: a selector of the record's trace", attrs: map[string]any{"gen_ai.response.id": "chatcmpl-1"}, record: true, keys: &Keys{}, want: JoinKey{Kind: store.ByTrace, Name: "trace_id"}},
		{name: "conversation off", attrs: map[string]any{"gen_ai.conversation.id": "c1"}, keys: &Keys{}, reason: ReasonNoJoinKey},
		{name: "nothing", attrs: map[string]any{"app.other": "x"}, reason: ReasonNoJoinKey},
		{name: "app key of a bad type", attrs: map[string]any{"app.message_id": map[string]any{"a": 1}}, reason: ReasonBadType},
		{name: "conversation id too long", attrs: map[string]any{"gen_ai.conversation.id": strings.Repeat("c", MaxIDLength+1)}, reason: ReasonBadType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			require.NoError(t, lr.Attributes().FromRaw(tc.attrs))
			lr.Attributes().PutStr(AttrRating, "Good")
			if tc.record {
				lr.SetTraceID(pcommon.TraceID{0: 0xaa, 15: 1})
			}
			k := keys
			if tc.keys != nil {
				k = *tc.keys
			}
			f := k.Parse(lr)
			if tc.reason != "" {
				require.Equal(t, tc.reason, f.Reason, f.Problem)
				if tc.reason == ReasonNoJoinKey {
					for _, name := range k.names() {
						assert.Contains(t, f.Problem, name, "the problem names every key it could have carried")
					}
				}
				return
			}
			require.True(t, f.Valid(), f.Problem)
			require.Equal(t, tc.want, f.Key)
			if tc.want.Kind != store.ByTrace {
				require.True(t, f.TraceID.IsEmpty(), "no trace named")
			}
		})
	}
}

// TestRoutedBy: a record by trace_id that names in llm.feedback.join_key a
// key the parser reads, and carries its value, says which key and value
// the router found its completion by; otherwise RoutedBy is the zero key.
func TestRoutedBy(t *testing.T) {
	keys := Keys{ByResponse: true, ByConversation: true, AppKeys: []string{"app.message_id"}}
	record := func(attrs map[string]any) plog.LogRecord {
		lr := plog.NewLogRecord()
		require.NoError(t, lr.Attributes().FromRaw(attrs))
		return lr
	}
	const trace = "0af7651916cd43dd8448eb211c80319c"
	for _, tc := range []struct {
		name  string
		attrs map[string]any
		want  JoinKey
	}{
		{"response id", map[string]any{"trace_id": trace, "rating": 1, AttrJoinKey: AttrResponseID, AttrResponseID: "resp-a"},
			JoinKey{Kind: store.ByResponse, Name: AttrResponseID, Value: "resp-a"}},
		{"conversation under session.id", map[string]any{"trace_id": trace, "rating": 1, AttrJoinKey: AttrConversationID, AttrSessionID: "s-1"},
			JoinKey{Kind: store.ByConversation, Name: AttrConversationID, Value: "s-1"}},
		{"app key, integer", map[string]any{"trace_id": trace, "rating": 1, AttrJoinKey: "app.message_id", "app.message_id": 42},
			JoinKey{Kind: store.ByAppKey, Name: "app.message_id", Value: "42"}},
		{"a key not read here", map[string]any{"trace_id": trace, "rating": 1, AttrJoinKey: "user_id", "user_id": "u-1"}, JoinKey{}},
		{"its value missing", map[string]any{"trace_id": trace, "rating": 1, AttrJoinKey: AttrResponseID}, JoinKey{}},
		{"its value too long", map[string]any{"trace_id": trace, "rating": 1, AttrJoinKey: AttrResponseID, AttrResponseID: strings.Repeat("r", MaxIDLength+1)}, JoinKey{}},
		{"no trace_id attribute", map[string]any{"rating": 1, AttrJoinKey: AttrResponseID, AttrResponseID: "resp-a"}, JoinKey{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := keys.Parse(record(tc.attrs))
			assert.Equal(t, tc.want, f.RoutedBy)
		})
	}
}
