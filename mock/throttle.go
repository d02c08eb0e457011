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
// reset that goes through, counted when the password is set (reset). Five
// counted events in a rolling hour are allowed; the sixth attempt is
// refused, is not counted, and starts the block.
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

// Block reasons when a wrong phone code tipped the block.
const (
	wrongSMSReason   = "User entered too many invalid SMS verification codes and is blocked for 24 hours"
	wrongVoiceReason = "User entered too many invalid voice call verification codes and is blocked for 24 hours"
)

// Block describes a user's block.
type Block struct {
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

type throttle struct {
	mu      sync.Mutex
	events  map[string]map[bucket][]time.Time // upn -> bucket -> times, oldest first
	blocked map[string]Block
	swept   time.Time // when every user's old events were last dropped
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

// hit is one attempt in bucket b at now. While the user is blocked it is
// refused with the block. Otherwise, when the bucket already holds
// ThrottleLimit events of the last ThrottleWindow, it is refused and blocks
// the user for BlockDuration with reason (the bucket's own reason when
// empty); else it is counted and allowed.
//
// hit drops the user's events older than the window, and once per window
// every user's.
func (t *throttle) hit(upn string, b bucket, now time.Time, reason string) (Block, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.swept) >= ThrottleWindow || now.Before(t.swept) {
		t.sweepLocked(now)
	}
	if blk, ok := t.blocked[upn]; ok {
		if now.Before(blk.Until) {
			return blk, true
		}
		delete(t.blocked, upn)
	}
	byBucket := t.events[upn]
	if byBucket == nil {
		byBucket = map[bucket][]time.Time{}
		t.events[upn] = byBucket
	}
	pruneUser(byBucket, now)
	if len(byBucket[b]) >= ThrottleLimit {
		if reason == "" {
			reason = blockReasons[b]
		}
		blk := Block{Until: now.Add(BlockDuration), Reason: reason}
		t.blocked[upn] = blk
		delete(byBucket, b)
		if len(byBucket) == 0 {
			delete(t.events, upn)
		}
		return blk, true
	}
	byBucket[b] = append(byBucket[b], now)
	return Block{}, false
}

// pruneUser drops events older than the window before now, and the
// buckets left empty.
func pruneUser(byBucket map[bucket][]time.Time, now time.Time) {
	for b, times := range byBucket {
		recent := times[:0]
		for _, at := range times {
			if now.Sub(at) < ThrottleWindow {
				recent = append(recent, at)
			}
		}
		if len(recent) == 0 {
			delete(byBucket, b)
		} else {
			byBucket[b] = recent
		}
	}
}

// sweepLocked drops every user's old events and ended blocks.
func (t *throttle) sweepLocked(now time.Time) {
	for upn, byBucket := range t.events {
		pruneUser(byBucket, now)
		if len(byBucket) == 0 {
			delete(t.events, upn)
		}
	}
	for upn, blk := range t.blocked {
		if !now.Before(blk.Until) {
			delete(t.blocked, upn)
		}
	}
	t.swept = now
}

// unblock lifts a user's block and forgets their events.
func (t *throttle) unblock(upn string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.blocked, upn)
	delete(t.events, upn)
}

// size returns how many users have events and how many are blocked.
func (t *throttle) size() (users, blocked int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.events), len(t.blocked)
}
