package mock

import (
	"sync"
	"time"
)

// Clock is the service's time, which the lab controls: real time shifted by
// an offset, or frozen at a moment. Throttling windows, code and flow
// expiry, and audit times all read it. The zero value is real time. It is
// safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen time.Time // zero: not frozen
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen
	}
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward (or back, for a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		c.frozen = c.frozen.Add(d)
		return
	}
	c.offset += d
}

// Set sets the clock to t; it then runs on from t unless frozen.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		c.frozen = t
		return
	}
	c.offset = time.Until(t)
}

// Freeze stops the clock at its current time; Unfreeze lets it run again
// from there.
func (c *Clock) Freeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen.IsZero() {
		c.frozen = time.Now().Add(c.offset)
	}
}

// Unfreeze lets a frozen clock run again from where it stood.
func (c *Clock) Unfreeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen.IsZero() {
		return
	}
	c.offset = time.Until(c.frozen)
	c.frozen = time.Time{}
}

// Frozen reports whether the clock is frozen.
func (c *Clock) Frozen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.frozen.IsZero()
}
