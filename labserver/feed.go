package labserver

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"

	"github.com/egresslab/egresslab/proxy"
)

// Record is one proxy decision in the served lab's journal: the proxy's
// entry, numbered across scenario switches, with the scenario it was made
// under.
type Record struct {
	// Seq numbers the decisions from 1, across scenario switches.
	Seq      int64  `json:"seq"`
	Scenario string `json:"scenario"`
	proxy.Entry
}

// DefaultJournalLimit is how many decisions the server keeps in memory.
const DefaultJournalLimit = 10000

// subscriberBuffer is how many decisions a stream may fall behind before
// it is ended (the client reconnects from the last one it saw).
const subscriberBuffer = 256

// writerQueue bounds the decisions waiting for the journal writer. A
// writer that stops reading (a paused `serve --journal - | less`) never
// holds up the proxy or the API: past this many, lines are dropped and
// counted (WriterDropped in the state), and the in-memory journal keeps
// them.
const writerQueue = 10000

// feed is the served lab's journal: a bounded window in memory, every
// decision to a writer, and live subscribers.
type feed struct {
	mu      sync.Mutex
	recs    []Record // a ring: the oldest at start once full
	start   int
	limit   int
	seq     int64
	dropped int64
	subs    map[chan Record]struct{}
	closed  bool

	// lines go to the journal writer from a goroutine of their own, so
	// that a slow writer never runs under mu; writerDropped counts lines
	// a full queue refused.
	lines         chan []byte
	writerDone    chan struct{}
	writerDropped int64
}

func newFeed(limit int, w io.Writer) *feed {
	if limit <= 0 {
		limit = DefaultJournalLimit
	}
	f := &feed{limit: limit, subs: map[chan Record]struct{}{}}
	if w != nil {
		f.lines, f.writerDone = make(chan []byte, writerQueue), make(chan struct{})
		go func() {
			defer close(f.writerDone)
			for b := range f.lines {
				_, _ = w.Write(b)
			}
		}()
	}
	return f
}

func (f *feed) add(scenario string, e proxy.Entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	r := Record{Seq: f.seq, Scenario: scenario, Entry: e}
	if len(f.recs) < f.limit {
		f.recs = append(f.recs, r)
	} else {
		f.recs[f.start] = r
		f.start = (f.start + 1) % f.limit
		f.dropped++
	}
	if f.lines != nil && !f.closed {
		b, _ := json.Marshal(r) // a Record always marshals
		select {
		case f.lines <- append(b, '\n'):
		default:
			f.writerDropped++
		}
	}
	for ch := range f.subs {
		select {
		case ch <- r:
		default: // too far behind: end its stream
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// matches reports whether r is about host (a part of its target), or
// host is empty.
func matches(r Record, host string) bool {
	return host == "" || strings.Contains(strings.ToLower(r.Target), strings.ToLower(host))
}

// since returns the decisions after seq that match host, the next seq to
// ask for, and how many old ones fell out of the window.
func (f *feed) since(seq int64, host string) ([]Record, int64, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []Record{}
	f.each(seq, func(r Record) {
		if matches(r, host) {
			out = append(out, r)
		}
	})
	return out, f.seq, f.dropped
}

// page returns at most n kept decisions after seq that match host, and
// the seq of the last one looked at (to ask from next time); done is true
// when none is left after them.
func (f *feed) page(seq int64, host string, n int) (recs []Record, last int64, done bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	last, done = seq, true
	f.each(seq, func(r Record) {
		if !done {
			return
		}
		if len(recs) == n {
			done = false
			return
		}
		last = r.Seq
		if matches(r, host) {
			recs = append(recs, r)
		}
	})
	return recs, last, done
}

// subscribe returns the (few) decisions after seq and a channel of those
// to come (closed when the stream falls too far behind or the feed
// closes); cancel ends the subscription.
func (f *feed) subscribe(seq int64) ([]Record, <-chan Record, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var backlog []Record
	f.each(seq, func(r Record) { backlog = append(backlog, r) })
	ch := make(chan Record, subscriberBuffer)
	if f.closed {
		close(ch)
		return backlog, ch, func() {}
	}
	f.subs[ch] = struct{}{}
	return backlog, ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[ch]; ok {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// each calls fn with the kept decisions after seq, oldest first; f.mu is
// held.
func (f *feed) each(seq int64, fn func(Record)) {
	n := len(f.recs)
	// The window holds consecutive numbers: skip straight to seq+1.
	first := 0
	if n > 0 {
		oldest := f.recs[f.start%n].Seq
		first = int(max(0, min(int64(n), seq-oldest+1)))
	}
	for i := first; i < n; i++ {
		fn(f.recs[(f.start+i)%n])
	}
}

// close ends the streams, then lets the writer finish the lines queued,
// until ctx is done (a writer nobody reads must not hold a shutdown).
func (f *feed) close(ctx context.Context) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	for ch := range f.subs {
		delete(f.subs, ch)
		close(ch)
	}
	if f.lines != nil {
		close(f.lines)
	}
	f.mu.Unlock()
	if f.writerDone != nil {
		select {
		case <-f.writerDone:
		case <-ctx.Done():
		}
	}
}
