package store

import "go.opentelemetry.io/collector/pdata/pcommon"

// PendingRecord is a feedback record waiting for its completion. Data is the
// record, with its resource and scope, encoded as OTLP protobuf: a few hundred
// bytes instead of a pdata tree, and the same bytes a storage extension keeps.
type PendingRecord struct {
	// Key is what the record waits for; KeyName the attribute it came
	// from (for an app key, the configured name, which maps it back to
	// Key.App after a restart); KeyValue the value, for ByResponse and
	// ByConversation; At the feedback's time.
	Key     JoinKey
	KeyName string
	// Scope is what FeedbackID is unique within (DedupeScope); zero in
	// what an earlier release stored, where the key's own scope is meant.
	Scope    pcommon.TraceID
	KeyValue string
	At       int64
	// TraceID is the trace it names, for ByTrace; zero otherwise.
	TraceID    pcommon.TraceID
	FeedbackID string
	Selector   Selector
	Arrived    int64
	Deadline   int64
	Data       []byte
	// Seq is the record's key in a storage extension, 0 when it has none;
	// Stored is set once the write is done; Gone once the record left (its
	// key is then deleted). The three belong to the caller's storage glue
	// and its lock.
	Seq    uint64
	Stored bool
	Gone   bool
	link[PendingRecord]
}

func (r *PendingRecord) links() *link[PendingRecord] { return &r.link }

// Pending holds feedback by join key until its completion comes or its
// deadline passes. Deadlines are arrival plus one TTL, so the arrival-ordered
// list is also deadline-ordered and expiry touches only what expires.
// Not safe for concurrent use.
type Pending struct {
	max   int
	byKey map[JoinKey][]*PendingRecord
	order list[PendingRecord, *PendingRecord] // front: the earliest deadline
	n     int
	kinds [ByConversation + 1]int // records held by each kind of key
}

// NewPending returns an empty store that holds at most max records.
func NewPending(maxRecords int) *Pending {
	return &Pending{max: maxRecords, byKey: make(map[JoinKey][]*PendingRecord)}
}

// Len is the number of records held.
func (p *Pending) Len() int { return p.n }

// Waits reports whether any record waits for a key of kind k.
func (p *Pending) Waits(k KeyKind) bool { return p.kinds[k] > 0 }

// Full reports whether another record would exceed the bound.
func (p *Pending) Full() bool { return p.n >= p.max }

// Add parks r. It returns false, and keeps nothing, when the store is full.
// Records restored from storage may carry an earlier deadline than those
// already held; they are placed in deadline order.
func (p *Pending) Add(r *PendingRecord) bool {
	if p.Full() {
		return false
	}
	p.byKey[r.Key] = append(p.byKey[r.Key], r)
	at := p.order.back()
	for at != nil && at.Deadline > r.Deadline {
		at = prev[PendingRecord](at)
	}
	p.order.insertAfter(at, r)
	p.n++
	p.kinds[r.Key.Kind]++
	return true
}

// For returns the records waiting for key, oldest first. The slice belongs
// to the store: remove records only after reading it.
func (p *Pending) For(key JoinKey) []*PendingRecord {
	return p.byKey[key]
}

// Remove takes r out of the store.
func (p *Pending) Remove(r *PendingRecord) {
	rs := p.byKey[r.Key]
	for i := range rs {
		if rs[i] == r {
			rs = append(rs[:i], rs[i+1:]...)
			break
		}
	}
	if len(rs) == 0 {
		delete(p.byKey, r.Key)
	} else {
		p.byKey[r.Key] = rs
	}
	p.order.remove(r)
	p.n--
	p.kinds[r.Key.Kind]--
}

// Expire removes and returns the records whose deadline is at or before now.
func (p *Pending) Expire(now int64) []*PendingRecord {
	var out []*PendingRecord
	for r := p.order.front(); r != nil && r.Deadline <= now; r = p.order.front() {
		p.Remove(r)
		out = append(out, r)
	}
	return out
}

// Drain removes and returns every record, oldest first.
func (p *Pending) Drain() []*PendingRecord {
	out := make([]*PendingRecord, 0, p.n)
	for r := p.order.front(); r != nil; r = p.order.front() {
		p.Remove(r)
		out = append(out, r)
	}
	return out
}

// DedupeScope is what r's feedback id is unique within (JoinKey.DedupeScope).
func (r *PendingRecord) DedupeScope() pcommon.TraceID {
	if !r.Scope.IsEmpty() {
		return r.Scope
	}
	return r.Key.DedupeScope(r.KeyName)
}

// Query is what r looks for in the cache.
func (r *PendingRecord) Query() Query {
	return Query{Key: r.Key, Value: r.KeyValue, Selector: r.Selector, At: r.At}
}
