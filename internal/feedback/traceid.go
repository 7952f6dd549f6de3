package feedback

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// maxIDInput bounds what is quoted back in an error, so a megabyte "trace id"
// does not become a megabyte error attribute.
const maxIDInput = 64

func quote(s string) string {
	if len(s) > maxIDInput {
		return fmt.Sprintf("%q... (%d bytes)", s[:maxIDInput], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// ParseTraceID reads a trace id in any form apps send: 32 hex digits in any
// case, fewer hex digits (left-padded with zeros to 32, as New Relic does for
// ids from older headers), a UUID with dashes, or a whole W3C traceparent
// ("00-<32 hex>-<16 hex>-<2 hex>"). Surrounding white space is ignored. The
// all-zero id is invalid, as in W3C Trace Context.
func ParseTraceID(s string) (pcommon.TraceID, error) {
	var id pcommon.TraceID
	t := strings.TrimSpace(s)
	if t == "" {
		return id, errors.New("trace_id is empty; expected 32 hex digits, a UUID or a traceparent")
	}
	digits := t
	if strings.Contains(t, "-") {
		d, ok := undash(t)
		if !ok {
			return id, fmt.Errorf("trace_id %s has dashes but is neither a UUID (8-4-4-4-12 hex) nor a traceparent (00-<32 hex>-<16 hex>-<2 hex>)", quote(s))
		}
		digits = d
	}
	if len(digits) > 32 {
		return id, fmt.Errorf("trace_id %s is too long: %d hex digits, at most 32", quote(s), len(digits))
	}
	if err := padHex(id[:], digits); err != nil {
		return id, fmt.Errorf("trace_id %s is not hex: %w", quote(s), err)
	}
	if id.IsEmpty() {
		return id, fmt.Errorf("trace_id %s is all zeros, which is not a valid trace id", quote(s))
	}
	return id, nil
}

// ParseSpanID reads a span id: up to 16 hex digits in any case, left-padded.
func ParseSpanID(s string) (pcommon.SpanID, error) {
	var id pcommon.SpanID
	t := strings.TrimSpace(s)
	if t == "" {
		return id, errors.New("span_id is empty; expected 16 hex digits")
	}
	if len(t) > 16 {
		return id, fmt.Errorf("span_id %s is too long: %d characters, at most 16 hex digits", quote(s), len(t))
	}
	if err := padHex(id[:], t); err != nil {
		return id, fmt.Errorf("span_id %s is not hex: %w", quote(s), err)
	}
	if id.IsEmpty() {
		return id, fmt.Errorf("span_id %s is all zeros, which is not a valid span id", quote(s))
	}
	return id, nil
}

// undash turns a UUID or a traceparent into the trace id's hex digits.
func undash(t string) (string, bool) {
	parts := strings.Split(t, "-")
	switch {
	case len(parts) == 5 && len(parts[0]) == 8 && len(parts[1]) == 4 && len(parts[2]) == 4 &&
		len(parts[3]) == 4 && len(parts[4]) == 12:
		return strings.Join(parts, ""), true
	case len(parts) == 4 && len(parts[0]) == 2 && len(parts[1]) == 32 && len(parts[2]) == 16 && len(parts[3]) == 2:
		if strings.EqualFold(parts[0], "ff") {
			return "", false
		}
		for _, p := range []string{parts[0], parts[2], parts[3]} {
			if _, err := hex.DecodeString(p); err != nil {
				return "", false
			}
		}
		return parts[1], true
	}
	return "", false
}

// padHex decodes hex digits right-aligned into dst, zero-filling on the left.
func padHex(dst []byte, digits string) error {
	for i := range dst {
		dst[i] = 0
	}
	if len(digits)%2 == 1 {
		digits = "0" + digits
	}
	n := len(digits) / 2
	_, err := hex.Decode(dst[len(dst)-n:], []byte(digits))
	if err != nil {
		var ie hex.InvalidByteError
		if errors.As(err, &ie) {
			return fmt.Errorf("character %q is not a hex digit", rune(ie))
		}
		return err
	}
	return nil
}
