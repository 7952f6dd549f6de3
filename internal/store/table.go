package store

// table is the cache's hash index: 64-bit hashes to int32 indexes into the
// cache's arrays, in one array of 8-byte slots (the hash's high 32 bits,
// the tag, and the index), open addressing with linear probing and
// backward-shift deletion.
//
// Why not a Go map: a full cache replaces its oldest completion with a new
// one for every completion it takes, which is a delete and an insert in
// each index, on memory the rest of the collector has long pushed out of
// the CPU caches. A Go map's group is a control word and eight slots, three
// cache lines for map[uint64]int32, and deletes leave tombstones that
// lengthen later probes until the map is rebuilt; here eight slots share a
// line, a probe mostly reads one, and a delete moves the slots after it
// back, so probes stay as short as the load alone makes them. At half the
// load of a map it takes no more memory. BenchmarkTableChurn compares the
// two on that workload. Like the map, it holds no pointers.
//
// A tag is not the whole hash: every lookup is told how to check that an
// index it found is the one asked for (the cache compares the trace id, or
// the value's full hash), and probes on past those that are not. A table
// may hold one hash several times (trace ids whose hashes collide):
// callers that keep one value per hash use set, callers that keep several
// use add and tell them apart in find.
type table struct {
	slots []uint64 // tag<<32 | uint32(index); 0 is empty
	n     int
	// bound is how many hashes the table is expected to hold at most (the
	// cache's bound), or 0: growing, it stops at the size that holds bound
	// at the highest load before it grows further.
	bound int
}

const tableMinSlots = 16

// fits reports whether n hashes fit size slots at the highest load, 1/2. A
// table grows by half past it, so its load stays between 1/3 and 1/2, and a
// table sized by its bound is half full at the bound (8 bytes a slot: 16
// bytes a hash; a Go map's is 21 to 42 for a trace id's). With linear
// probing a search for an absent hash, which every insert is, reads about
// (1 + 1/(1-load)²)/2 slots: 2.5 at 1/2, 8.5 at 3/4, where the table is no
// faster than the map.
func fits(n, size int) bool { return 2*n <= size }

// tagOf is the tag a hash is kept under: its high 32 bits, never 0.
func tagOf(h uint64) uint64 {
	if t := h >> 32; t != 0 {
		return t
	}
	return 1
}

func slotTag(s uint64) uint64 { return s >> 32 }

func slotVal(s uint64) int32 { return int32(uint32(s)) }

// newTable returns an empty table; bound is as in table.bound.
func newTable(bound int) table {
	return table{slots: make([]uint64, tableMinSlots), bound: bound}
}

// home is the slot where a tag's probe starts: the tag scaled to the
// table's length (any length, not only powers of two).
func (t *table) home(tag uint64) int { return int(tag * uint64(len(t.slots)) >> 32) }

// next is the slot after i, wrapping around.
func (t *table) next(i int) int {
	if i++; i == len(t.slots) {
		return 0
	}
	return i
}

// find returns the first index held under h's tag for which match is
// true.
func (t *table) find(h uint64, match func(int32) bool) (int32, bool) {
	tag := tagOf(h)
	for i := t.home(tag); ; i = t.next(i) {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if slotTag(s) == tag && match(slotVal(s)) {
			return slotVal(s), true
		}
	}
}

// set makes the index held for h val, for tables with one index per hash:
// same tells whether an index held under h's tag is h's; keep, when not
// nil, whether to keep that index rather than val.
func (t *table) set(h uint64, val int32, same, keep func(cur int32) bool) {
	tag := tagOf(h)
	for i := t.home(tag); t.slots[i] != 0; i = t.next(i) {
		if s := t.slots[i]; slotTag(s) == tag && same(slotVal(s)) {
			if keep == nil || !keep(slotVal(s)) {
				t.slots[i] = tag<<32 | uint64(uint32(val))
			}
			return
		}
	}
	// Not held: an insert, which may need room (growing only for inserts
	// keeps a table holding its bound at the size made for it).
	t.add(h, val)
}

// add holds val under h, next to any other index held under it.
func (t *table) add(h uint64, val int32) {
	t.reserve()
	t.place(tagOf(h)<<32 | uint64(uint32(val)))
	t.n++
}

// place puts slot s in the first empty slot of its probe.
func (t *table) place(s uint64) {
	i := t.home(slotTag(s))
	for t.slots[i] != 0 {
		i = t.next(i)
	}
	t.slots[i] = s
}

// remove deletes val held under h, if it is, and moves back the slots
// after it that its absence leaves unreachable.
func (t *table) remove(h uint64, val int32) bool {
	want := tagOf(h)<<32 | uint64(uint32(val))
	i := t.home(tagOf(h))
	for ; t.slots[i] != want; i = t.next(i) {
		if t.slots[i] == 0 {
			return false
		}
	}
	for j := i; ; {
		j = t.next(j)
		s := t.slots[j]
		if s == 0 {
			break
		}
		// s stays where it is if its home is cyclically in (i, j]: the
		// hole at i is not on its probe path.
		if hm := t.home(slotTag(s)); (i < j && i < hm && hm <= j) || (i > j && (i < hm || hm <= j)) {
			continue
		}
		t.slots[i] = s
		i = j
	}
	t.slots[i] = 0
	t.n--
	return true
}

// reserve makes room for one more hash.
func (t *table) reserve() {
	if fits(t.n+1, len(t.slots)) {
		return
	}
	size := len(t.slots) + len(t.slots)/2
	if full := 2 * t.bound; len(t.slots) < full && size > full {
		size = full
	}
	for !fits(t.n+1, size) {
		size += size / 2
	}
	old := t.slots
	t.slots = make([]uint64, size)
	for _, s := range old {
		if s != 0 {
			t.place(s)
		}
	}
}

// len is the number of hashes held.
func (t *table) len() int { return t.n }

// at returns the slot at i: a hash with the tag held there (the low bits
// are not kept), its index, and whether the slot is held.
func (t *table) at(i int) (h uint64, val int32, ok bool) {
	s := t.slots[i]
	return slotTag(s) << 32, slotVal(s), s != 0
}
