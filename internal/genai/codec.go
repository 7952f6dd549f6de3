package genai

import (
	"encoding/binary"
	"errors"
)

// errShort is returned for a truncated or corrupt encoding.
var errShort = errors.New("completion encoding is truncated")

// AppendBinary appends c in a compact binary form, for saving the cache to
// a storage extension: varints and length-prefixed strings, about 60 bytes
// plus the strings.
func (c *Completion) AppendBinary(b []byte) []byte {
	b = append(b, c.SpanID[:]...)
	b = binary.AppendVarint(b, c.EndUnixNano)
	b = binary.AppendVarint(b, c.DurationNano)
	b = binary.AppendVarint(b, c.InputTokens)
	b = binary.AppendVarint(b, c.OutputTokens)
	b = append(b, c.flags)
	for _, s := range []string{
		c.Operation(), c.Provider(), c.RequestModel(), c.ResponseModel(), c.ServiceName(),
		c.label().finishReasons, c.ResponseID, c.ConversationID,
	} {
		b = AppendString(b, s)
	}
	return b
}

// DecodeCompletion reads one completion written by AppendBinary and returns
// the rest of b.
func DecodeCompletion(b []byte) (Completion, []byte, error) {
	var c Completion
	if len(b) < len(c.SpanID) {
		return c, nil, errShort
	}
	copy(c.SpanID[:], b)
	b = b[len(c.SpanID):]
	for _, dst := range []*int64{&c.EndUnixNano, &c.DurationNano, &c.InputTokens, &c.OutputTokens} {
		v, n := binary.Varint(b)
		if n <= 0 {
			return c, nil, errShort
		}
		*dst, b = v, b[n:]
	}
	if len(b) < 1 {
		return c, nil, errShort
	}
	c.flags, b = b[0], b[1:]
	var s [8]string
	for i := range s {
		var err error
		if s[i], b, err = ReadString(b); err != nil {
			return c, nil, err
		}
	}
	c.labels = internLabels(labels{
		operation: s[0], provider: s[1], requestModel: s[2], responseModel: s[3], serviceName: s[4], finishReasons: s[5],
	})
	c.ResponseID, c.ConversationID = s[6], s[7]
	return c, b, nil
}

// AppendString appends s with a varint length prefix.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// ReadString reads a string written by AppendString and returns the rest.
func ReadString(b []byte) (string, []byte, error) {
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return "", nil, errShort
	}
	return string(b[n : n+int(l)]), b[n+int(l):], nil
}
