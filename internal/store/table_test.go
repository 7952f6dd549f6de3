package store

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTableAgainstMap runs random adds and removes on a table and on a map
// and compares them, with hashes whose tags are drawn from a few values, so
// that probes collide, wrap around the end and are moved back, and hashes
// that share a tag and differ in their low bits.
func TestTableAgainstMap(t *testing.T) {
	type held struct {
		h   uint64
		val int32
	}
	tags := [...]uint64{0, 1, 2, 1 << 30, 1<<31 - 1, 1 << 31, 1<<32 - 3, 1<<32 - 2, 1<<32 - 1}
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 1))
		tb := newTable(0)
		model := map[held]int{}
		count := 0
		for step := range 3000 {
			h := tags[r.IntN(len(tags))]<<32 | uint64(r.IntN(3))
			val := int32(r.IntN(8))
			switch op := r.IntN(10); {
			case op < 4:
				tb.add(h, val)
				model[held{h, val}]++
				count++
			case op < 8:
				removed := tb.remove(h, val)
				// remove compares the tag, not the whole hash: any hash with
				// h's tag and val will do.
				want := false
				for k, n := range model {
					if n > 0 && tagOf(k.h) == tagOf(h) && k.val == val {
						want = true
						if removed {
							model[k]--
							count--
						}
						break
					}
				}
				require.Equal(t, want, removed, "seed %d step %d: remove(%x, %d)", seed, step, h, val)
			default:
				for v := range int32(8) {
					_, ok := tb.find(h, func(x int32) bool { return x == v })
					want := false
					for k, n := range model {
						want = want || (n > 0 && tagOf(k.h) == tagOf(h) && k.val == v)
					}
					require.Equal(t, want, ok, "seed %d step %d: find(%x, %d)", seed, step, h, v)
				}
			}
			require.Equal(t, count, tb.len())
			if step%25 != 0 {
				continue
			}
			n := 0
			for i := range tb.slots {
				if _, _, ok := tb.at(i); ok {
					n++
				}
			}
			require.Equal(t, count, n)
			// Every index held is reachable from its home slot.
			for k, c := range model {
				if c > 0 {
					_, ok := tb.find(k.h, func(x int32) bool { return x == k.val })
					require.True(t, ok, "seed %d step %d: (%x, %d) unreachable", seed, step, k.h, k.val)
				}
			}
		}
	}
}

func TestTableSetKeepsOneIndexPerHash(t *testing.T) {
	tb := newTable(0)
	is := func(v int32) func(int32) bool { return func(cur int32) bool { return cur == v } }
	any := func(int32) bool { return true }
	tb.set(5<<32, 1, any, nil)
	tb.set(5<<32, 2, any, nil)
	v, ok := tb.find(5<<32, any)
	require.True(t, ok)
	require.Equal(t, int32(2), v)
	require.Equal(t, 1, tb.len())
	tb.set(5<<32, 3, any, is(2))
	v, _ = tb.find(5<<32, any)
	require.Equal(t, int32(2), v, "keep said keep")
	// Same tag, another hash: same says so, and it is held beside.
	tb.set(5<<32|7, 4, is(4), nil)
	require.Equal(t, 2, tb.len())
	v, ok = tb.find(5<<32|7, is(4))
	require.True(t, ok)
	require.Equal(t, int32(4), v)
	// A hash whose high bits are 0 has tag 1.
	tb.set(3, 7, is(7), nil)
	v, ok = tb.find(3, is(7))
	require.True(t, ok)
	require.Equal(t, int32(7), v)
	require.False(t, tb.remove(5<<32, 9), "the index must match")
	require.True(t, tb.remove(5<<32, 2))
	_, ok = tb.find(5<<32, is(2))
	require.False(t, ok)
}

func TestTableGrowsToItsBoundAtHalfLoad(t *testing.T) {
	tb := newTable(3125)
	for i := range 3125 {
		tb.add(uint64(i)*0x9e3779b97f4a7c15, int32(i))
		require.True(t, fits(tb.len(), len(tb.slots)))
	}
	require.Equal(t, 6250, len(tb.slots), "sized for the bound at half load")
	for i := range 10_000 {
		tb.add(uint64(i+3125)*0x9e3779b97f4a7c15, int32(i+3125))
	}
	for i := range 13_125 {
		v, ok := tb.find(uint64(i)*0x9e3779b97f4a7c15, func(x int32) bool { return x == int32(i) })
		require.True(t, ok)
		require.Equal(t, int32(i), v)
	}
}

// A table holding its bound stays at the size made for it when a held
// hash's index changes: set grows only to insert.
func TestTableSetAtItsBoundDoesNotGrow(t *testing.T) {
	tb := newTable(100)
	for i := range 100 {
		tb.set(uint64(i+1)<<32, int32(i), func(int32) bool { return false }, nil)
	}
	size := len(tb.slots)
	require.Equal(t, 200, size)
	for i := range 100 {
		tb.set(uint64(i+1)<<32, int32(i+100), func(cur int32) bool { return cur == int32(i) }, nil)
	}
	require.Equal(t, size, len(tb.slots))
	require.Equal(t, 100, tb.len())
}

// BenchmarkTableChurn is the index's workload in a full cache: every
// operation removes the oldest of n hashes and inserts a new one, n = a
// cache part's share of 100,000 traces (3,125) and a whole 100,000 in one
// part. "map" is the Go map it replaces. Hashes are random, as xxhash's.
func BenchmarkTableChurn(b *testing.B) {
	for _, n := range []int{3125, 100_000} {
		hashes := make([]uint64, n)
		r := rand.New(rand.NewPCG(1, 2))
		b.Run("table/"+strconv.Itoa(n), func(b *testing.B) {
			tb := newTable(n)
			for i := range hashes {
				hashes[i] = r.Uint64()
				tb.add(hashes[i], int32(i))
			}
			b.ResetTimer()
			for i := range b.N {
				at := i % n
				tb.remove(hashes[at], int32(at))
				hashes[at] = r.Uint64()
				if _, ok := tb.find(hashes[at], func(v int32) bool { return hashes[v] == hashes[at] }); ok {
					b.Fatal("new hash found")
				}
				tb.add(hashes[at], int32(at))
			}
		})
		b.Run("map/"+strconv.Itoa(n), func(b *testing.B) {
			m := map[uint64]int32{}
			for i := range hashes {
				hashes[i] = r.Uint64()
				m[hashes[i]] = int32(i)
			}
			b.ResetTimer()
			for i := range b.N {
				at := i % n
				if m[hashes[at]] == int32(at) {
					delete(m, hashes[at])
				}
				hashes[at] = r.Uint64()
				if _, ok := m[hashes[at]]; ok {
					b.Fatal("new hash found")
				}
				m[hashes[at]] = int32(at)
			}
		})
	}
}
