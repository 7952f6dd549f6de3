// Package lbkey works around how the contrib load_balancing exporter
// (v0.161.0) keys trace-id routing: it hashes a span's trace id as its 16
// raw bytes, but a log record's as its 32-character hex string. The same
// trace id therefore sends spans and logs to different backends. StandIn
// finds another trace id whose hex string hashes like the raw bytes of the
// real one, so a log record carrying it lands where the trace's spans do.
package lbkey

import (
	"encoding/hex"
	"hash/crc32"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The exporter places a key on its ring by CRC-32 (IEEE) of the key. CRC-32
// is affine over GF(2): flipping input bits flips the checksum by a fixed
// pattern per bit. A stand-in id whose every nibble is 0 or 1 has a hex
// string of '0' and '1' characters, which differ in one bit, so its 32
// nibbles are 32 free bits, and matching a 32-bit checksum is solving a
// 32x32 linear system, done once at init.

var (
	base    = crc32.ChecksumIEEE([]byte("00000000000000000000000000000000"))
	inverse [32]uint32 // inverse[j]: the nibble pattern that flips checksum bit j
)

func init() {
	// column[i] is what setting character i to '1' does to the checksum.
	var rows [32]uint64 // augmented rows: low 32 bits the matrix row, high 32 the identity
	var column [32]uint32
	for i := range 32 {
		s := []byte("00000000000000000000000000000000")
		s[i] = '1'
		column[i] = crc32.ChecksumIEEE(s) ^ base
	}
	for bit := range 32 { // row `bit`: which characters flip checksum bit `bit`
		var r uint64
		for i := range 32 {
			if column[i]>>bit&1 == 1 {
				r |= 1 << i
			}
		}
		rows[bit] = r | 1<<(32+bit)
	}
	for c := range 32 { // Gauss-Jordan elimination over GF(2)
		p := c
		for p < 32 && rows[p]>>c&1 == 0 {
			p++
		}
		if p == 32 {
			panic("lbkey: CRC-32 system is singular") // it is not: checked by the tests
		}
		rows[c], rows[p] = rows[p], rows[c]
		for r := range 32 {
			if r != c && rows[r]>>c&1 == 1 {
				rows[r] ^= rows[c]
			}
		}
	}
	// Now row c says: character c = XOR of the checksum bits in its high half.
	for c := range 32 {
		for bit := range 32 {
			if rows[c]>>(32+bit)&1 == 1 {
				inverse[bit] |= 1 << c
			}
		}
	}
}

// StandIn returns the trace id whose hex string the v0.161 load balancer's
// logs path hashes to the same checksum as id's raw bytes on its traces path.
func StandIn(id pcommon.TraceID) pcommon.TraceID {
	want := crc32.ChecksumIEEE(id[:]) ^ base
	var chars uint32 // bit i set: character i is '1'
	for bit := range 32 {
		if want>>bit&1 == 1 {
			chars ^= inverse[bit]
		}
	}
	return fromChars(chars)
}

// fromChars is the trace id whose hex string has '1' at the characters
// chars sets (bit i, character i) and '0' elsewhere.
func fromChars(chars uint32) pcommon.TraceID {
	var out pcommon.TraceID
	for i := range 32 {
		if chars>>i&1 == 1 {
			out[i/2] |= 1 << (4 * (1 - i%2)) // high nibble for even characters
		}
	}
	return out
}

// RoutingKey returns a trace id made of h, for a record that names no
// trace the load balancer can place it by: every record given the same h
// lands on the same backend. Like a stand-in, its hex string has only '0'
// and '1' characters, which a tracer's random id has with a chance of
// 8^-32, so IsRoutingKey tells it from a real trace id.
func RoutingKey(h uint32) pcommon.TraceID {
	if h == 0 {
		h = 1 // not the empty id, which the load balancer places at random
	}
	return fromChars(h)
}

// IsRoutingKey reports whether id is a RoutingKey or a StandIn: not empty,
// and every hex character '0' or '1'.
func IsRoutingKey(id pcommon.TraceID) bool {
	if id.IsEmpty() {
		return false
	}
	for _, b := range id {
		if b&0xEE != 0 {
			return false
		}
	}
	return true
}

// Key is the routing key the load balancer computes for a log record.
func Key(id pcommon.TraceID) []byte { return []byte(hex.EncodeToString(id[:])) }
