package mock

// list is a doubly linked list whose elements know their list, so that an
// element is removed in constant time wherever it is.
type list[T any] struct {
	head, tail *elem[T]
	n          int
}

type elem[T any] struct {
	v          T
	prev, next *elem[T]
	list       *list[T]
}

func (l *list[T]) len() int { return l.n }

// front returns the first element, or nil.
func (l *list[T]) front() *elem[T] { return l.head }

// pushBack appends v and returns its element.
func (l *list[T]) pushBack(v T) *elem[T] {
	e := &elem[T]{v: v, prev: l.tail, list: l}
	if l.tail != nil {
		l.tail.next = e
	} else {
		l.head = e
	}
	l.tail = e
	l.n++
	return e
}

// remove takes e out of its list; it does nothing if e is in none.
func (e *elem[T]) remove() {
	l := e.list
	if l == nil {
		return
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next, e.list = nil, nil, nil
	l.n--
}

// fifo is a queue on a slice: push at the back, pop at the front, both in
// amortised constant time; the slice never holds more than twice the
// queue's peak length.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) len() int { return len(q.items) - q.head }

func (q *fifo[T]) push(v T) { q.items = append(q.items, v) }

// all returns the queued values, oldest first; the caller must not keep
// the slice across changes.
func (q *fifo[T]) all() []T { return q.items[q.head:] }

// front returns the oldest value; the queue must not be empty.
func (q *fifo[T]) front() T { return q.items[q.head] }

// pop removes and returns the oldest value; the queue must not be empty.
func (q *fifo[T]) pop() T {
	v := q.items[q.head]
	var zero T
	q.items[q.head] = zero
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head*2 >= len(q.items):
		// Move the rest to the front once half the slice is spent: each
		// value is moved at most once per pop of another.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v
}
