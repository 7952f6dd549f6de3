package llmfeedback

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// CurrentTraceID returns the trace id of the span in ctx as 32 lowercase hex
// digits, or "" when ctx carries no span. It is New Relic's current_trace_id():
// call it where the completion is made and keep the id with the answer.
func CurrentTraceID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// maxQuoted bounds what an error quotes back, so a megabyte "trace id" does
// not become a megabyte error message.
const maxQuoted = 64

func quote(s string) string {
	if len(s) > maxQuoted {
		return fmt.Sprintf("%q... (%d bytes)", s[:maxQuoted], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// parseTraceID accepts the forms the collector accepts: 32 hex digits in any
// case, fewer hex digits (left-padded with zeros, as New Relic does for ids
// from older headers), a UUID with dashes, or a whole W3C traceparent. The
// rules are the processor's (internal/feedback/traceid.go), so an id this
// package accepts is never marked invalid there. They are copied rather than
// shared on purpose: that file depends on collector pdata, and apps must not
// pull collector modules; a shared third module would be one more release to
// keep in step for forty lines.
func parseTraceID(s string) (trace.TraceID, error) {
	var id trace.TraceID
	t := strings.TrimSpace(s)
	if t == "" {
		return id, errors.New("trace id is empty; expected 32 hex digits, a UUID or a traceparent")
	}
	digits := t
	if strings.Contains(t, "-") {
		d, ok := undash(t)
		if !ok {
			return id, fmt.Errorf("trace id %s has dashes but is neither a UUID (8-4-4-4-12 hex) nor a traceparent (00-<32 hex>-<16 hex>-<2 hex>)", quote(s))
		}
		digits = d
	}
	if len(digits) > 2*len(id) {
		return id, fmt.Errorf("trace id %s is too long: %d hex digits, at most 32", quote(s), len(digits))
	}
	if err := padHex(id[:], digits); err != nil {
		return id, fmt.Errorf("trace id %s is not hex: %w", quote(s), err)
	}
	if !id.IsValid() {
		return id, fmt.Errorf("trace id %s is all zeros, which is not a valid trace id", quote(s))
	}
	return id, nil
}

// parseSpanID accepts up to 16 hex digits in any case, left-padded.
func parseSpanID(s string) (trace.SpanID, error) {
	var id trace.SpanID
	t := strings.TrimSpace(s)
	if t == "" {
		return id, fmt.Errorf("span id %s is blank; expected 16 hex digits", quote(s))
	}
	if len(t) > 2*len(id) {
		return id, fmt.Errorf("span id %s is too long: %d characters, at most 16 hex digits", quote(s), len(t))
	}
	if err := padHex(id[:], t); err != nil {
		return id, fmt.Errorf("span id %s is not hex: %w", quote(s), err)
	}
	if !id.IsValid() {
		return id, fmt.Errorf("span id %s is all zeros, which is not a valid span id", quote(s))
	}
	return id, nil
}

// derivedSpanID stands in for the span id when the caller names none. A span
// context is valid only with a non-zero span id. The Go SDK v1.47 copies the
// ids even from an invalid one, but a LoggerProvider, processor or bridge that
// checks IsValid would drop them; a valid one is placed in the trace by all.
// It is the first 8 bytes of SHA-256("llm_feedback" || trace id): the same
// for every feedback on a trace, never zero, and never sent as the span_id
// attribute, so the processor does not try to match it to a completion.
func derivedSpanID(tid trace.TraceID) trace.SpanID {
	h := sha256.New()
	h.Write([]byte("llm_feedback"))
	h.Write(tid[:])
	var id trace.SpanID
	copy(id[:], h.Sum(nil))
	if !id.IsValid() {
		id[len(id)-1] = 1
	}
	return id
}

// undash turns a UUID or a traceparent into the trace id's hex digits.
func undash(t string) (string, bool) {
	parts := strings.Split(t, "-")
	switch {
	case len(parts) == 5 && len(parts[0]) == 8 && len(parts[1]) == 4 && len(parts[2]) == 4 &&
		len(parts[3]) == 4 && len(parts[4]) == 12:
		return strings.Join(parts, ""), true
	case len(parts) == 4 && len(parts[0]) == 2 && len(parts[1]) == 32 && len(parts[2]) == 16 && len(parts[3]) == 2:
		// Version ff is forbidden by W3C Trace Context.
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
	clear(dst)
	if len(digits)%2 == 1 {
		digits = "0" + digits
	}
	n := len(digits) / 2
	if _, err := hex.Decode(dst[len(dst)-n:], []byte(digits)); err != nil {
		var ie hex.InvalidByteError
		if errors.As(err, &ie) {
			return fmt.Errorf("character %q is not a hex digit", rune(ie))
		}
		return err
	}
	return nil
}
