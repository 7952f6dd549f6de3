package store

// link is embedded in the items of an intrusive list: the list pointers live
// in the item itself rather than in a container/list Element, which saves an
// allocation and an interface box per item (about 70 bytes each) and lets an
// item move or leave in O(1).
type link[T any] struct {
	prev, next *T
}

// linked is what an item of a list provides: access to its embedded link.
type linked[T any] interface {
	*T
	links() *link[T]
}

// list is a doubly linked list of items that embed link. Not safe for
// concurrent use.
type list[T any, P linked[T]] struct {
	head, tail *T
}

func (l *list[T, P]) front() *T { return l.head }
func (l *list[T, P]) back() *T  { return l.tail }

func prev[T any, P linked[T]](e *T) *T { return P(e).links().prev }

// insertAfter puts e after at; a nil at puts e at the front.
func (l *list[T, P]) insertAfter(at, e *T) {
	le := P(e).links()
	if at == nil {
		le.prev, le.next = nil, l.head
	} else {
		le.prev, le.next = at, P(at).links().next
	}
	if le.prev != nil {
		P(le.prev).links().next = e
	} else {
		l.head = e
	}
	if le.next != nil {
		P(le.next).links().prev = e
	} else {
		l.tail = e
	}
}

func (l *list[T, P]) remove(e *T) {
	le := P(e).links()
	if le.prev != nil {
		P(le.prev).links().next = le.next
	} else {
		l.head = le.next
	}
	if le.next != nil {
		P(le.next).links().prev = le.prev
	} else {
		l.tail = le.prev
	}
	le.prev, le.next = nil, nil
}
