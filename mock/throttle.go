package mock

import (
	"sync"
	"time"
)

// Throttling as SSPR documents it: validating a phone 5 times in an hour,
// using the security-questions gate 5 times in an hour, or resetting the
// same account 5 times in an hour blocks the user for 24 hours. The lab
// counts: each code sent by SMS or voice call and each wrong SMS or voice
// code (phone); each submission of security answers (questions); each
// completed reset (reset). Five such events in a rolling hour are allowed;
// the attempt that would be the sixth is refused and starts the block.
const (
	ThrottleLimit  = 5
	ThrottleWindow = time.Hour
	BlockDuration  = 24 * time.Hour
)

type bucket string

const (
	bucketPhone     bucket = "phone"
	bucketQuestions bucket = "questions"
	bucketReset     bucket = "reset"
)

var blockReasons = map[bucket]string{
	bucketPhone:     "User attempted to validate a phone too many times and is blocked for 24 hours",
	bucketQuestions: "User attempted to use the security questions gate too many times and is blocked for 24 hours",
	bucketReset:     "User reset their password too many times and is blocked for 24 hours",
}

// wrongSMSReason is the block reason when a wrong phone code tipped it.
const wrongSMSReason = "User entered too many invalid SMS verification codes and is blocked for 24 hours"

// Block describes a user's block.
type Block struct {
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

type throttle struct {
	mu      sync.Mutex
	events  map[string]map[bucket][]time.Time // upn -> bucket -> times
	blocked map[string]Block
}

func newThrottle() *throttle {
	return &throttle{events: map[string]map[bucket][]time.Time{}, blocked: map[string]Block{}}
}

// blockedAt reports the user's block, if one is in force at now.
func (t *throttle) blockedAt(upn string, now time.Time) (Block, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.blocked[upn]
	if ok && !now.Before(b.Until) {
		delete(t.blocked, upn)
		return Block{}, false
	}
	return b, ok
}

// hit records an event in bucket b at now, unless the limit is reached, in
// which case it blocks the user and returns the block.
func (t *throttle) hit(upn string, b bucket, now time.Time, reason string) (Block, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if blk, ok := t.blocked[upn]; ok && now.Before(blk.Until) {
		return blk, true
	}
	byBucket := t.events[upn]
	if byBucket == nil {
		byBucket = map[bucket][]time.Time{}
		t.events[upn] = byBucket
	}
	recent := byBucket[b][:0]
	for _, at := range byBucket[b] {
		if now.Sub(at) < ThrottleWindow {
			recent = append(recent, at)
		}
	}
	if len(recent) >= ThrottleLimit {
		if reason == "" {
			reason = blockReasons[b]
		}
		blk := Block{Until: now.Add(BlockDuration), Reason: reason}
		t.blocked[upn] = blk
		byBucket[b] = nil
		return blk, true
	}
	byBucket[b] = append(recent, now)
	return Block{}, false
}

// full reports whether bucket b already holds the limit's worth of events
// within the window before now.
func (t *throttle) full(upn string, b bucket, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, at := range t.events[upn][b] {
		if now.Sub(at) < ThrottleWindow {
			n++
		}
	}
	return n >= ThrottleLimit
}

// add records an event without checking the limit.
func (t *throttle) add(upn string, b bucket, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.events[upn] == nil {
		t.events[upn] = map[bucket][]time.Time{}
	}
	t.events[upn][b] = append(t.events[upn][b], now)
}

// block blocks the user for BlockDuration from now.
func (t *throttle) block(upn string, b bucket, now time.Time, reason string) Block {
	t.mu.Lock()
	defer t.mu.Unlock()
	if reason == "" {
		reason = blockReasons[b]
	}
	blk := Block{Until: now.Add(BlockDuration), Reason: reason}
	t.blocked[upn] = blk
	return blk
}

// unblock lifts a user's block and forgets their events.
func (t *throttle) unblock(upn string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.blocked, upn)
	delete(t.events, upn)
}
