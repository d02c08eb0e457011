package labserver

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy"
)

// TestFeedWriterNeverBlocks: a journal writer nobody reads (a paused
// `serve --journal - | less`) never holds up a decision: past the queue,
// lines are counted as dropped, the in-memory journal keeps them, and
// closing does not wait for the writer beyond its context.
func TestFeedWriterNeverBlocks(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe() // never read: every Write blocks
	t.Cleanup(func() { pr.Close() })
	f := newFeed(100, pw)
	for range writerQueue + 10 {
		f.add("s", proxy.Entry{Target: "a.example:443"})
	}
	f.mu.Lock()
	dropped := f.writerDropped
	f.mu.Unlock()
	assert.GreaterOrEqual(t, dropped, int64(9), "the queue holds writerQueue lines, the writer one")
	recs, next, _ := f.since(0, "")
	assert.Len(t, recs, 100, "the window keeps the newest")
	assert.Equal(t, int64(writerQueue+10), next)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.close(ctx) // returns: the writer is still blocked
	require.NoError(t, pr.Close())
}

// TestFeedPage: the kept decisions come a page at a time, filtered by
// host, with where to go on from.
func TestFeedPage(t *testing.T) {
	t.Parallel()
	f := newFeed(10, nil)
	for i := range 15 {
		host := "a.example:443"
		if i%2 == 0 {
			host = "b.example:443"
		}
		f.add("s", proxy.Entry{Target: host})
	}
	recs, last, done := f.page(0, "", 4)
	require.Len(t, recs, 4)
	assert.Equal(t, int64(6), recs[0].Seq, "the window starts at 6")
	assert.Equal(t, int64(9), last)
	assert.False(t, done)
	recs, last, done = f.page(last, "b.example", 10)
	assert.True(t, done)
	assert.Equal(t, int64(15), last)
	for _, r := range recs {
		assert.Equal(t, "b.example:443", r.Target)
	}
	assert.Len(t, recs, 3) // 11, 13, 15
}
