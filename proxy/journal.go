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
)

// Entry is one decision of the proxy. It never holds a credential.
type Entry struct {
	Time     time.Time     `json:"time"`
	Duration time.Duration `json:"durationNs"`
	Client   string        `json:"client"`
	Method   string        `json:"method"`
	// Target is the normalised host:port; for a refused request, the raw
	// request target.
	Target string `json:"target"`
	// Path is the URL path of a plain-HTTP or intercepted request.
	Path      string `json:"path,omitempty"`
	Rule      string `json:"rule,omitempty"`
	Action    Action `json:"action,omitempty"`
	User      string `json:"user,omitempty"`
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
type Journal struct {
	mu      sync.Mutex
	entries []Entry // ring: the oldest at start once full
	start   int
	limit   int
	dropped int
	w       io.Writer
	observe func(Entry)
}

func (j *Journal) record(e Entry) {
	j.mu.Lock()
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
	if j.w != nil {
		b, _ := json.Marshal(e) // Entry always marshals
		_, _ = j.w.Write(append(b, '\n'))
	}
	observe := j.observe
	j.mu.Unlock()
	if observe != nil {
		observe(e)
	}
}

// Entries returns the decisions kept in memory, oldest first.
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

// Reset forgets the decisions so far.
func (j *Journal) Reset() {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries, j.start, j.dropped = nil, 0, 0
}
