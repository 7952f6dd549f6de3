package feedback

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// maxErrorBytes is how long a parse error may be whatever the input: errors
// become attributes on the record, so a huge input must not make a huge one.
const maxErrorBytes = 300

func traceID(tb testing.TB, s string) pcommon.TraceID {
	tb.Helper()
	var id pcommon.TraceID
	require.NoError(tb, padHex(id[:], s))
	return id
}

func TestParseTraceID(t *testing.T) {
	const (
		w3c  = "4bf92f3577b34da6a3ce929d0e0e4736"
		uuid = "0af76519-16cd-43dd-8448-eb211c80319c"
	)
	megabyte := 1 << 20
	tests := []struct {
		name string
		in   string
		want string // 32 hex digits of the expected id; empty when an error is expected
		// errHas are substrings the error must contain.
		errHas []string
	}{
		{name: "32 lowercase hex", in: w3c, want: w3c},
		{name: "32 uppercase hex", in: strings.ToUpper(w3c), want: w3c},
		{name: "32 mixed case hex", in: "4bF92f3577B34Da6a3cE929d0E0e4736", want: w3c},
		{name: "leading zeros kept", in: "00000000000000000000000000000001", want: "00000000000000000000000000000001"},
		{name: "all f", in: strings.Repeat("f", 32), want: strings.Repeat("f", 32)},
		{name: "16 hex left-padded", in: "a3ce929d0e0e4736", want: "0000000000000000a3ce929d0e0e4736"},
		{name: "1 hex digit left-padded", in: "7", want: "00000000000000000000000000000007"},
		{name: "odd length left-padded", in: "abc", want: "00000000000000000000000000000abc"},
		{name: "31 hex digits left-padded", in: w3c[1:], want: "0" + w3c[1:]},
		{name: "uppercase short left-padded", in: "ABCDEF", want: "00000000000000000000000000abcdef"},
		{name: "UUID lowercase", in: uuid, want: "0af7651916cd43dd8448eb211c80319c"},
		{name: "UUID uppercase", in: strings.ToUpper(uuid), want: "0af7651916cd43dd8448eb211c80319c"},
		{name: "traceparent", in: "00-" + w3c + "-00f067aa0ba902b7-01", want: w3c},
		{name: "traceparent not sampled", in: "00-" + w3c + "-00f067aa0ba902b7-00", want: w3c},
		{name: "traceparent uppercase", in: strings.ToUpper("00-" + w3c + "-00f067aa0ba902b7-01"), want: w3c},
		{name: "traceparent future version", in: "01-" + w3c + "-00f067aa0ba902b7-01", want: w3c},
		{name: "surrounding spaces", in: "  " + w3c + "  ", want: w3c},
		{name: "surrounding tabs and newlines", in: "\t" + w3c + "\r\n", want: w3c},
		{name: "UUID with surrounding space", in: " " + uuid + "\n", want: "0af7651916cd43dd8448eb211c80319c"},
		{name: "traceparent with surrounding space", in: " 00-" + w3c + "-00f067aa0ba902b7-01 ", want: w3c},
		{name: "short with surrounding space", in: " 1f ", want: "0000000000000000000000000000001f"},

		{name: "empty", in: "", errHas: []string{"trace_id", "empty"}},
		{name: "only white space", in: " \t\n ", errHas: []string{"trace_id", "empty"}},
		{name: "all zeros 32", in: strings.Repeat("0", 32), errHas: []string{"trace_id", "all zeros"}},
		{name: "all zeros short", in: "0", errHas: []string{"trace_id", "all zeros"}},
		{name: "all zeros 16", in: strings.Repeat("0", 16), errHas: []string{"all zeros"}},
		{name: "all zeros UUID", in: "00000000-0000-0000-0000-000000000000", errHas: []string{"trace_id", "all zeros"}},
		{name: "all zeros traceparent", in: "00-" + strings.Repeat("0", 32) + "-00f067aa0ba902b7-01", errHas: []string{"trace_id", "all zeros"}},
		{name: "33 hex digits", in: w3c + "a", errHas: []string{"trace_id", "too long", "33"}},
		{name: "64 hex digits", in: w3c + w3c, errHas: []string{"too long", "64"}},
		{name: "33 zeros is too long, not zero", in: strings.Repeat("0", 33), errHas: []string{"too long"}},
		{name: "non-hex letter", in: w3c[:31] + "g", errHas: []string{"trace_id", "not hex", "'g'"}},
		{name: "0x prefix", in: "0x" + w3c[:30], errHas: []string{"not hex", "'x'"}},
		{name: "word", in: "hello", errHas: []string{"not hex"}},
		{name: "inner space", in: w3c[:16] + " " + w3c[17:], errHas: []string{"not hex"}},
		{name: "non-ASCII", in: "é", errHas: []string{"not hex"}},
		{name: "UUID with non-hex", in: "0af76519-16cd-43dd-8448-eb211c80319z", errHas: []string{"not hex"}},
		{name: "dashes in 8-8-8-8", in: "4bf92f35-77b34da6-a3ce929d-0e0e4736", errHas: []string{"trace_id", "dashes"}},
		{name: "UUID with short last group", in: "0af76519-16cd-43dd-8448-eb211c80319", errHas: []string{"dashes"}},
		{name: "UUID with braces", in: "{" + uuid + "}", errHas: []string{"dashes"}},
		{name: "UUID with trailing dash", in: uuid + "-", errHas: []string{"dashes"}},
		{name: "lone dash", in: "-", errHas: []string{"dashes"}},
		{name: "negative number", in: "-1", errHas: []string{"dashes"}},
		{name: "traceparent without flags", in: "00-" + w3c + "-00f067aa0ba902b7", errHas: []string{"dashes"}},
		{name: "traceparent with extra field", in: "00-" + w3c + "-00f067aa0ba902b7-01-ab", errHas: []string{"dashes"}},
		{name: "traceparent version ff", in: "ff-" + w3c + "-00f067aa0ba902b7-01", errHas: []string{"trace_id", "traceparent"}},
		{name: "traceparent version FF", in: "FF-" + w3c + "-00f067aa0ba902b7-01", errHas: []string{"traceparent"}},
		{name: "traceparent version not hex", in: "zz-" + w3c + "-00f067aa0ba902b7-01", errHas: []string{"traceparent"}},
		{name: "traceparent span id not hex", in: "00-" + w3c + "-00f067aa0ba902bz-01", errHas: []string{"traceparent"}},
		{name: "traceparent flags not hex", in: "00-" + w3c + "-00f067aa0ba902b7-0g", errHas: []string{"traceparent"}},
		{name: "traceparent trace id not hex", in: "00-" + w3c[:31] + "z-00f067aa0ba902b7-01", errHas: []string{"not hex"}},
		{name: "megabyte of hex digits", in: strings.Repeat("a", megabyte), errHas: []string{"trace_id", "too long", "1048576"}},
		{name: "megabyte of letters", in: strings.Repeat("z", megabyte), errHas: []string{"trace_id", "1048576 bytes"}},
		{name: "megabyte of dashes", in: strings.Repeat("-", megabyte), errHas: []string{"trace_id", "dashes"}},
		{name: "megabyte of multi-byte runes", in: strings.Repeat("日", megabyte/3), errHas: []string{"trace_id"}},
		{name: "megabyte UUID-like", in: strings.Repeat("0af76519-", megabyte/9), errHas: []string{"trace_id", "dashes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTraceID(tc.in)
			if tc.want != "" {
				require.NoError(t, err)
				require.Equal(t, traceID(t, tc.want), got)
				require.Equal(t, tc.want, got.String())
				return
			}
			require.Error(t, err)
			msg := err.Error()
			require.Less(t, len(msg), maxErrorBytes, "error too long: %q", msg)
			require.True(t, utf8.ValidString(msg) || !utf8.ValidString(tc.in), "error not valid UTF-8: %q", msg)
			for _, s := range tc.errHas {
				require.Contains(t, msg, s)
			}
		})
	}
}

// TestParseErrorBound covers the worst input for the error's length: bytes
// that %q writes as four-character escapes. The message stays bounded.
func TestParseErrorBound(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("\x00", 1<<20),
		strings.Repeat("\xff", 1<<20),
		strings.Repeat("\x00-", 1<<19),
	} {
		_, err := ParseTraceID(in)
		require.Error(t, err)
		require.Less(t, len(err.Error()), 2*maxErrorBytes)
		_, err = ParseSpanID(in)
		require.Error(t, err)
		require.Less(t, len(err.Error()), 2*maxErrorBytes)
	}
}

func TestParseSpanID(t *testing.T) {
	const sid = "00f067aa0ba902b7"
	tests := []struct {
		name   string
		in     string
		want   string
		errHas []string
	}{
		{name: "16 lowercase hex", in: sid, want: sid},
		{name: "16 uppercase hex", in: strings.ToUpper(sid), want: sid},
		{name: "mixed case", in: "00F067aA0bA902B7", want: sid},
		{name: "8 hex left-padded", in: "0ba902b7", want: "000000000ba902b7"},
		{name: "1 hex digit left-padded", in: "1", want: "0000000000000001"},
		{name: "odd length left-padded", in: "abc", want: "0000000000000abc"},
		{name: "surrounding white space", in: "\t " + sid + " \n", want: sid},
		{name: "all f", in: strings.Repeat("F", 16), want: strings.Repeat("f", 16)},

		{name: "empty", in: "", errHas: []string{"span_id", "empty"}},
		{name: "white space", in: "   ", errHas: []string{"span_id", "empty"}},
		{name: "all zeros", in: strings.Repeat("0", 16), errHas: []string{"span_id", "all zeros"}},
		{name: "one zero", in: "0", errHas: []string{"span_id", "all zeros"}},
		{name: "17 hex digits", in: sid + "1", errHas: []string{"span_id", "too long", "17"}},
		{name: "a trace id", in: "4bf92f3577b34da6a3ce929d0e0e4736", errHas: []string{"too long"}},
		{name: "non-hex", in: "00f067aa0ba902bz", errHas: []string{"span_id", "not hex", "'z'"}},
		{name: "dashes", in: "00f067aa-0ba902b", errHas: []string{"span_id", "not hex", "'-'"}},
		{name: "0x prefix", in: "0x1234", errHas: []string{"not hex"}},
		{name: "megabyte", in: strings.Repeat("a", 1<<20), errHas: []string{"span_id", "too long", "1048576"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSpanID(tc.in)
			if tc.want != "" {
				require.NoError(t, err)
				require.Equal(t, tc.want, got.String())
				return
			}
			require.Error(t, err)
			msg := err.Error()
			require.Less(t, len(msg), maxErrorBytes, "error too long: %q", msg)
			for _, s := range tc.errHas {
				require.Contains(t, msg, s)
			}
		})
	}
}

func FuzzParseTraceID(f *testing.F) {
	for _, s := range []string{
		"4bf92f3577b34da6a3ce929d0e0e4736",
		"A3CE929D0E0E4736",
		"0af76519-16cd-43dd-8448-eb211c80319c",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00000000-0000-0000-0000-000000000000",
		" 1 ",
		"",
		"-",
		"\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseTraceID(s)
		if err != nil {
			require.Less(t, len(err.Error()), 2*maxErrorBytes)
		} else {
			require.False(t, id.IsEmpty(), "success must not return the zero id")
			again, err := ParseTraceID(id.String())
			require.NoError(t, err, "re-parsing %q", id.String())
			require.Equal(t, id, again)
		}

		sid, err := ParseSpanID(s)
		if err != nil {
			require.Less(t, len(err.Error()), 2*maxErrorBytes)
		} else {
			require.False(t, sid.IsEmpty())
			again, err := ParseSpanID(sid.String())
			require.NoError(t, err)
			require.Equal(t, sid, again)
		}
	})
}
