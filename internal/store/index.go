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
// stored.convNext from the head the conv map holds. Conversations are
// bounded by MaxConversations; when it is reached, one indexed conversation
// is dropped, picked by map iteration (that is, at random): keeping them in
// order would cost another 16 bytes and a map entry per conversation, for a
// bound that the cache's own bounds make rare.
type indexes struct {
	opts     IndexOptions
	nKeys    int
	response map[uint64]int32
	appKey   []map[uint64]int32
	appHash  []uint64 // nKeys per completion, by index in comps; 0: none
	conv     map[uint64]int32
}

func newIndexes(opts IndexOptions) indexes {
	ix := indexes{opts: opts, nKeys: opts.AppKeys}
	if opts.ByResponse {
		ix.response = map[uint64]int32{}
	}
	for range opts.AppKeys {
		ix.appKey = append(ix.appKey, map[uint64]int32{})
	}
	if opts.ByConversation {
		ix.conv = map[uint64]int32{}
	}
	return ix
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
	s := &c.comps[i]
	s.convNext = unchained
	if ix.response != nil && s.resp.n != 0 {
		c.pointLatest(ix.response, c.idHash(i, &c.comps[i].resp, 0), i)
	}
	if ix.nKeys > 0 {
		own := ix.appKeysOf(i)
		copy(own, appKeys)
		for k, h := range own {
			if h != 0 {
				c.pointLatest(ix.appKey[k], h, i)
			}
		}
	}
	if ix.conv != nil && s.conv.n != 0 {
		h := c.idHash(i, &c.comps[i].conv, 1)
		head, ok := ix.conv[h]
		if !ok {
			c.makeRoomForConversation()
			head = none
		}
		s.convNext, s.convPrev = head, none
		if head != none {
			c.comps[head].convPrev = i
		}
		ix.conv[h] = i
	}
}

// pointLatest makes m[h] point to i unless it points to a completion that
// ended later.
func (c *Cache) pointLatest(m map[uint64]int32, h uint64, i int32) {
	if cur, ok := m[h]; ok && cur != i && c.comps[cur].comp.EndUnixNano > c.comps[i].comp.EndUnixNano {
		return
	}
	m[h] = i
}

// unindex removes comps[i] from every index that points to it.
func (c *Cache) unindex(i int32) {
	ix := &c.idx
	s := &c.comps[i]
	if ix.response != nil && s.resp.n != 0 {
		h := c.idHash(i, &c.comps[i].resp, 0)
		if ix.response[h] == i {
			delete(ix.response, h)
		}
	}
	if ix.nKeys > 0 {
		own := ix.appKeysOf(i)
		for k, h := range own {
			if h != 0 && ix.appKey[k][h] == i {
				delete(ix.appKey[k], h)
			}
			own[k] = 0
		}
	}
	if s.convNext != unchained {
		c.unchain(c.idHash(i, &c.comps[i].conv, 1), i)
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
		c.idx.conv[h] = next
	default:
		delete(c.idx.conv, h)
	}
	s.convNext, s.convPrev = unchained, unchained
}

// makeRoomForConversation un-indexes conversations while the bound is
// reached; their completions stay cached, found by other keys.
func (c *Cache) makeRoomForConversation() {
	ix := &c.idx
	for h, head := range ix.conv {
		if len(ix.conv) < ix.opts.MaxConversations {
			return
		}
		n := 0
		for j := head; j != none; {
			next := c.comps[j].convNext
			c.comps[j].convNext, c.comps[j].convPrev = unchained, unchained
			j = next
			n++
		}
		delete(ix.conv, h)
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
		i, ok := c.idx.response[q.Key.Hash]
		if !ok || c.responseID(i) != q.Value {
			return Match{}, false
		}
		return c.match(i), true
	case ByAppKey:
		if int(q.Key.App) >= c.idx.nKeys {
			return Match{}, false
		}
		i, ok := c.idx.appKey[q.Key.App][q.Key.Hash]
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
	head, ok := c.idx.conv[q.Key.Hash]
	if !ok {
		return Match{}, false
	}
	best := none
	var stats ConversationStats
	for j := head; j != none; j = c.comps[j].convNext {
		s := &c.comps[j]
		if s.comp.EndUnixNano > q.At || c.conversationID(j) != q.Value {
			continue
		}
		stats.Completions++
		stats.InputTokens += s.comp.InputTokens
		stats.OutputTokens += s.comp.OutputTokens
		if best == none || s.comp.EndUnixNano > c.comps[best].comp.EndUnixNano {
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
