package proxy

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Results recorded in the journal.
const (
	ResultOK            = "ok"             // forwarded, or tunnel ended normally
	ResultDenied        = "denied"         // a deny rule: 403
	ResultAuthRequired  = "auth-required"  // 407
	ResultBadRequest    = "bad-request"    // refused before matching: 400
	ResultUpstreamError = "upstream-error" // the destination could not be reached
	ResultFault         = "fault"          // a fault rule acted
	// ResultOpen marks a tunnel under way: it has been established (200,
	// also by a reset or stall fault) and its entry is completed, in
	// place, when it ends. Only [Journal.Entries] shows it; writers and
	// observers see the final entry alone.
	ResultOpen = "open"
)

// Entry is one decision of the proxy. It never holds a credential.
//
// A relayed tunnel's entry is in the journal from the moment the tunnel
// is established (before the client can read the proxy's 200), with
// Result [ResultOpen], Status 200 and zero Duration and bytes; when the
// tunnel ends the same entry gets its final Result, Duration, BytesUp and
// BytesDown. So does a CONNECT that a reset or
// stall fault accepted (200, then a reset at the client's first bytes,
// or silence): open while the client holds it, then [ResultFault] with
// Status 0, as every fault that answers no HTTP response.
type Entry struct {
	// Time is when the request was read; Duration how long the decision
	// took, for a tunnel its whole life (zero while it is open).
	Time     time.Time     `json:"time"`
	Duration time.Duration `json:"durationNs"`
	Client   string        `json:"client"`
	Method   string        `json:"method"`
	// Target is the normalised host:port; for a refused request, the raw
	// request target.
	Target string `json:"target"`
	// Path is the URL path of a plain-HTTP or intercepted request.
	Path string `json:"path,omitempty"`
	// Rule is the name of the rule that decided ("rule N" when it has
	// none, "default" when none matched); Line the line of the
	// configuration it came from (Rule.Line), 0 for none.
	Rule   string `json:"rule,omitempty"`
	Line   int    `json:"line,omitempty"`
	Action Action `json:"action,omitempty"`
	User   string `json:"user,omitempty"`
	// Surrogate marks a request that passed authentication on an IP
	// surrogate: its client address had authenticated as User within
	// Auth.SurrogateTTL, and it sent no credentials itself.
	Surrogate bool   `json:"surrogate,omitempty"`
	Status    int    `json:"status,omitempty"`
	Fault     string `json:"fault,omitempty"`
	BytesUp   int64  `json:"bytesUp"`
	BytesDown int64  `json:"bytesDown"`
	// Intercepted marks a request read from inside an intercepted tunnel.
	Intercepted bool   `json:"intercepted,omitempty"`
	Result      string `json:"result"`
	Detail      string `json:"detail,omitempty"`
}

// DefaultJournalLimit is how many entries the journal keeps in memory.
const DefaultJournalLimit = 10000

// Journal records every decision: the latest ones in memory (a bounded
// window, so a long run does not grow without end), every one as JSON
// lines to a writer if set, and each to an observer. It is safe for
// concurrent use. A nil *Journal is an empty one: its Entries is empty,
// Dropped zero, and Reset does nothing.
//
// In memory a tunnel is kept from its establishment, as
// [ResultOpen], and its entry is completed in place when it ends, so that
// Entries says what is under way now. The writer and the observer get
// each decision once, final: a tunnel when it ends. A tunnel whose entry
// fell out of the window (or was forgotten by Reset) while it was open is
// kept anew, complete, when it ends.
type Journal struct {
	mu      sync.Mutex
	entries []Entry // ring: the oldest at start once full
	start   int
	limit   int
	dropped int
	// next is the ID of the next entry kept; the kept ones have the IDs
	// next-len(entries) to next-1, oldest first.
	next    uint64
	w       io.Writer
	observe func(Entry)
}

// keep adds e to the window and returns its ID; j.mu is held.
func (j *Journal) keep(e Entry) uint64 {
	limit := j.limit
	if limit <= 0 {
		limit = DefaultJournalLimit
	}
	if len(j.entries) < limit {
		j.entries = append(j.entries, e)
	} else {
		j.entries[j.start] = e
		j.start = (j.start + 1) % limit
		j.dropped++
	}
	id := j.next
	j.next++
	return id
}

// publish writes e to the writer and returns the observer; j.mu is held.
func (j *Journal) publish(e Entry) func(Entry) {
	if j.w != nil {
		b, _ := json.Marshal(e) // Entry always marshals
		_, _ = j.w.Write(append(b, '\n'))
	}
	return j.observe
}

// record keeps, writes and observes a final entry.
func (j *Journal) record(e Entry) {
	j.mu.Lock()
	j.keep(e)
	observe := j.publish(e)
	j.mu.Unlock()
	if observe != nil {
		observe(e)
	}
}

// open keeps the entry of a tunnel under way, in memory only, and returns
// the ID that complete takes.
func (j *Journal) open(e Entry) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.keep(e)
}

// complete replaces the open entry id with its final e (keeping e anew
// when id is no longer in the window), then writes and observes it.
func (j *Journal) complete(id uint64, e Entry) {
	j.mu.Lock()
	n := uint64(len(j.entries))
	if first := j.next - n; id >= first && id < j.next {
		j.entries[(uint64(j.start)+id-first)%n] = e
	} else {
		j.keep(e)
	}
	observe := j.publish(e)
	j.mu.Unlock()
	if observe != nil {
		observe(e)
	}
}

// Entries returns copies of the decisions kept in memory, oldest first
// (in the order they were recorded: a tunnel where it was established),
// each as it stands now: a tunnel under way is [ResultOpen].
func (j *Journal) Entries() []Entry {
	if j == nil {
		return []Entry{}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Entry, 0, len(j.entries))
	out = append(out, j.entries[j.start:]...)
	return append(out, j.entries[:j.start]...)
}

// Dropped returns how many old entries fell out of the in-memory window.
func (j *Journal) Dropped() int {
	if j == nil {
		return 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.dropped
}

// Reset forgets the decisions so far; a tunnel open now is kept again
// when it ends.
func (j *Journal) Reset() {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries, j.start, j.dropped = nil, 0, 0
}
