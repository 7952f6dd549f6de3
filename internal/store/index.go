package store

import "github.com/cespare/xxhash/v2"

// IndexOptions says which keys besides the trace id find a completion.
type IndexOptions struct {
	ByResponse       bool
	ByConversation   bool
	AppKeys          int // how many configured keys
	MaxConversations int
}

// unchained marks a completion not in any conversation's chain.
const unchained int32 = -2

// indexes find completions by response id, app key and conversation. They
// hold only hashes and indexes into Cache.comps, no pointers, so the GC
// does not scan them; an entry is added when its completion is cached and
// removed when it leaves (unindex), so no index outlives its entry.
//
// A response id or app key value seen on several completions finds the one
// that ended last. A conversation's completions are chained through
// stored.convNext from the head the conv table holds. Conversations are
// bounded by MaxConversations; when it is reached, one indexed conversation
// is dropped, the next one held after the last dropped in the table's
// order (that is, at random): keeping them in order would cost another 16
// bytes and an index entry per conversation, for a bound that the cache's
// own bounds make rare.
//
// Each index is a table (table.go) keyed by the value's hash.
//
// The response id and conversation indexes are built on the first lookup
// that needs them (activate), from the completions cached by then, and kept
// from then on: until feedback names a completion by one of those keys, a
// cache whose feedback all names trace ids (as New Relic's API does) pays
// for neither index, which is two thirds of what caching a completion in a
// full cache costs (BenchmarkCacheAddFull). App key indexes, which are
// configured one by one, are kept from the start.
type indexes struct {
	opts     IndexOptions
	nKeys    int
	response *table
	appKey   []table
	appHash  []uint64 // nKeys per completion, by index in comps; 0: none
	conv     *table
	dropAt   int // the conv slot the next conversation dropped is looked for from
}

// newIndexes returns empty indexes, which grow up to sizes for maxTraces
// completions before they grow further.
func newIndexes(opts IndexOptions, maxTraces int) indexes {
	ix := indexes{opts: opts, nKeys: opts.AppKeys}
	for range opts.AppKeys {
		ix.appKey = append(ix.appKey, newTable(maxTraces))
	}
	return ix
}

// activate makes sure the index of kind (ByResponse or ByConversation) is
// built, building it from every completion cached the first time, and
// reports whether the cache indexes kind at all.
func (c *Cache) activate(kind KeyKind) bool {
	ix := &c.idx
	switch {
	case kind == ByResponse && ix.opts.ByResponse:
		if ix.response == nil {
			// Most traces have one completion, most completions a response id.
			t := newTable(c.maxTraces)
			ix.response = &t
			c.eachComp(c.indexResponse)
		}
		return true
	case kind == ByConversation && ix.opts.ByConversation:
		if ix.conv == nil {
			t := newTable(min(c.maxTraces, ix.opts.MaxConversations))
			ix.conv = &t
			c.eachComp(c.indexConversation)
		}
		return true
	}
	return false
}

// eachComp calls f with every cached completion, oldest trace first.
func (c *Cache) eachComp(f func(i int32)) {
	for ei := c.head; ei != none; ei = c.entries[ei].next {
		for i := c.entries[ei].first; i != none; i = c.comps[i].next {
			f(i)
		}
	}
}

// grow makes room for the app keys of one more completion.
func (ix *indexes) grow() {
	for range ix.nKeys {
		ix.appHash = append(ix.appHash, 0)
	}
}

func (ix *indexes) appKeysOf(i int32) []uint64 {
	return ix.appHash[int(i)*ix.nKeys : int(i+1)*ix.nKeys]
}

// index adds comps[i] to every index it has a key for.
func (c *Cache) index(i int32, appKeys []uint64) {
	ix := &c.idx
	c.comps[i].convNext = unchained
	if ix.response != nil {
		c.indexResponse(i)
	}
	if ix.nKeys > 0 {
		own := ix.appKeysOf(i)
		copy(own, appKeys)
		for k, h := range own {
			if h != 0 {
				c.pointLatest(&ix.appKey[k], h, i, func(cur int32) bool { return ix.appKeysOf(cur)[k] == h })
			}
		}
	}
	if ix.conv != nil {
		c.indexConversation(i)
	}
}

// indexResponse adds comps[i] to the response id index, if it has one.
func (c *Cache) indexResponse(i int32) {
	if c.comps[i].resp.n != 0 {
		h := c.responseHash(i)
		c.pointLatest(c.idx.response, h, i, func(cur int32) bool { return c.responseHash(cur) == h })
	}
}

// indexConversation makes comps[i] the head of its conversation's chain, if
// it has one.
func (c *Cache) indexConversation(i int32) {
	ix := &c.idx
	s := &c.comps[i]
	if s.conv.n != 0 {
		h := c.conversationHash(i)
		head, ok := ix.conv.find(h, func(cur int32) bool { return c.conversationHash(cur) == h })
		s.convPrev = none
		if !ok { // a new conversation
			c.makeRoomForConversation()
			s.convNext = none
			ix.conv.add(h, i)
			return
		}
		s.convNext = head
		c.comps[head].convPrev = i
		ix.conv.set(h, i, func(cur int32) bool { return cur == head }, nil)
	}
}

// pointLatest makes h's index in t i unless it is one that ended later;
// same tells whether an index held under h's tag is h's.
func (c *Cache) pointLatest(t *table, h uint64, i int32, same func(cur int32) bool) {
	end := c.comps[i].sum.EndUnixNano
	t.set(h, i, same, func(cur int32) bool { return cur != i && c.comps[cur].sum.EndUnixNano > end })
}

func (c *Cache) responseHash(i int32) uint64 { return c.idHash(i, &c.comps[i].resp, 0) }

func (c *Cache) conversationHash(i int32) uint64 { return c.idHash(i, &c.comps[i].conv, 1) }

// unindex removes comps[i] from every index that points to it.
func (c *Cache) unindex(i int32) {
	ix := &c.idx
	s := &c.comps[i]
	if ix.response != nil && s.resp.n != 0 {
		ix.response.remove(c.responseHash(i), i)
	}
	if ix.nKeys > 0 {
		own := ix.appKeysOf(i)
		for k, h := range own {
			if h != 0 {
				ix.appKey[k].remove(h, i)
			}
			own[k] = 0
		}
	}
	if s.convNext != unchained {
		c.unchain(c.conversationHash(i), i)
	}
}

// unchain takes i out of its conversation's chain, in O(1): one
// conversation can hold every completion of the cache (a constant
// session.id), and eviction must not walk it.
func (c *Cache) unchain(h uint64, i int32) {
	s := &c.comps[i]
	prev, next := s.convPrev, s.convNext
	if next != none {
		c.comps[next].convPrev = prev
	}
	switch {
	case prev != none:
		c.comps[prev].convNext = next
	case next != none:
		c.idx.conv.set(h, next, func(cur int32) bool { return cur == i }, nil)
	default:
		c.idx.conv.remove(h, i)
	}
	s.convNext, s.convPrev = unchained, unchained
}

// makeRoomForConversation un-indexes conversations while the bound is
// reached; their completions stay cached, found by other keys.
func (c *Cache) makeRoomForConversation() {
	ix := &c.idx
	for ix.conv.len() >= ix.opts.MaxConversations {
		at := ix.dropAt % len(ix.conv.slots)
		h, head, ok := ix.conv.at(at)
		for ; !ok; h, head, ok = ix.conv.at(at) {
			at = ix.conv.next(at)
		}
		ix.dropAt = at + 1
		n := 0
		for j := head; j != none; {
			next := c.comps[j].convNext
			c.comps[j].convNext, c.comps[j].convPrev = unchained, unchained
			j = next
			n++
		}
		ix.conv.remove(h, head)
		c.OnEvict(ReasonMaxConversations, n)
	}
}

// Find returns the completion q names, if it is cached.
func (c *Cache) Find(q Query) (Match, bool) {
	switch q.Key.Kind {
	case ByTrace:
		comp, ok := c.Lookup(q.Key.Trace, q.Selector)
		return Match{Trace: q.Key.Trace, Comp: comp}, ok
	case ByResponse:
		if !c.activate(ByResponse) {
			return Match{}, false
		}
		i, ok := c.idx.response.find(q.Key.Hash, func(i int32) bool { return c.responseID(i) == q.Value })
		if !ok {
			return Match{}, false
		}
		return c.match(i), true
	case ByAppKey:
		if int(q.Key.App) >= c.idx.nKeys {
			return Match{}, false
		}
		i, ok := c.idx.appKey[q.Key.App].find(q.Key.Hash, func(i int32) bool { return c.idx.appKeysOf(i)[q.Key.App] == q.Key.Hash })
		if !ok {
			return Match{}, false
		}
		return c.match(i), true
	case ByConversation:
		return c.findInConversation(q)
	}
	return Match{}, false
}

// findInConversation picks the completion of the conversation that ended
// last at or before q.At: the answer the user was looking at.
func (c *Cache) findInConversation(q Query) (Match, bool) {
	if !c.activate(ByConversation) {
		return Match{}, false
	}
	h := q.Key.Hash
	head, ok := c.idx.conv.find(h, func(cur int32) bool { return c.conversationHash(cur) == h })
	if !ok {
		return Match{}, false
	}
	best := none
	var stats ConversationStats
	for j := head; j != none; j = c.comps[j].convNext {
		s := &c.comps[j]
		if s.sum.EndUnixNano > q.At || c.conversationID(j) != q.Value {
			continue
		}
		stats.Add(ConversationStats{Completions: 1, InputTokens: s.sum.InputTokens, OutputTokens: s.sum.OutputTokens})
		if best == none || s.sum.EndUnixNano > c.comps[best].sum.EndUnixNano {
			best = j
		}
	}
	if best == none {
		return Match{}, false
	}
	m := c.match(best)
	m.Conversation = stats
	return m, true
}

func (c *Cache) match(i int32) Match {
	return Match{Trace: c.entries[c.comps[i].entry].id, Comp: c.unpack(i)}
}

// conversationID reads the inline id without building a string.
func (c *Cache) conversationID(i int32) string {
	s := &c.comps[i]
	if s.conv.n == spilled {
		return c.long[i][1]
	}
	return string(s.conv.b[:s.conv.n])
}

// idHash is HashValue of an inline id of comps[i] (which: 0 the response
// id, 1 the conversation id), hashed where it lies: a string made of the
// bytes to hash them would be allocated, twice per completion cached.
func (c *Cache) idHash(i int32, id *inlineID, which int) uint64 {
	if id.n == spilled {
		return HashValue(c.long[i][which])
	}
	return xxhash.Sum64(id.b[:id.n])
}
