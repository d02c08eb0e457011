package mock

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFifo checks the queue against a plain slice over random pushes and
// pops, and that its slice stays within twice its peak length.
func TestFifo(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	var q fifo[int]
	var want []int
	peak := 0
	for i := range 100_000 {
		if len(want) == 0 || r.IntN(100) < 52 {
			q.push(i)
			want = append(want, i)
		} else {
			if got := q.pop(); got != want[0] {
				t.Fatalf("pop %d: got %d, want %d", i, got, want[0])
			}
			want = want[1:]
		}
		peak = max(peak, len(want))
		if q.len() != len(want) || (len(want) > 0 && q.front() != want[0]) {
			t.Fatalf("step %d: len %d front %v, want %d %v", i, q.len(), q.all(), len(want), want)
		}
		if len(q.items) > 2*peak+1 {
			t.Fatalf("step %d: slice of %d for a peak of %d", i, len(q.items), peak)
		}
	}
	if !slices.Equal(q.all(), want) {
		t.Fatal("queues differ at the end")
	}
}

// TestList checks removal from the front, the back, the middle, and of an
// element already removed.
func TestList(t *testing.T) {
	t.Parallel()
	var l list[int]
	var es []*elem[int]
	for i := range 5 {
		es = append(es, l.pushBack(i))
	}
	values := func() (out []int) {
		for e := l.front(); e != nil; e = e.next {
			out = append(out, e.v)
		}
		return out
	}
	es[2].remove()
	es[0].remove()
	es[4].remove()
	es[4].remove()
	if got := values(); !slices.Equal(got, []int{1, 3}) || l.len() != 2 {
		t.Fatalf("got %v (len %d), want [1 3]", got, l.len())
	}
	l.pushBack(5)
	es[1].remove()
	es[3].remove()
	if got := values(); !slices.Equal(got, []int{5}) || l.len() != 1 || l.tail != l.head {
		t.Fatalf("got %v (len %d), want [5]", got, l.len())
	}
}
