package mock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/egresslab/egresslab/mock"
)

func TestClockFreeze(t *testing.T) {
	t.Parallel()
	c := fixedClock()
	at := c.Now()
	c.Freeze() // frozen already: stays where it is
	assert.Equal(t, at, c.Now())
	c.Advance(time.Hour)
	assert.Equal(t, at.Add(time.Hour), c.Now())

	// Freeze and Advance from many goroutines: each Advance counts once,
	// whatever the order (the race detector watches the rest).
	c = &mock.Clock{}
	c.Freeze()
	start := c.Now()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			c.Freeze()
			c.Advance(time.Minute)
		})
	}
	wg.Wait()
	assert.Equal(t, start.Add(50*time.Minute), c.Now())
}
