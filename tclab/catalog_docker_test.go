//go:build docker

package tclab_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/scenarios"
	"github.com/egresslab/egresslab/tclab"
)

// TestDockerCatalog runs the whole built-in catalog on the container
// backend, with the same expectations as in process.
func TestDockerCatalog(t *testing.T) {
	needDocker(t)
	cat, err := scenarios.Catalog()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	pool := tclab.NewNetworkPool()
	defer func() { require.NoError(t, pool.Close(context.Background())) }()
	reports := scenarios.RunAll(ctx, cat, scenarios.Options{Parallel: 8, Backend: tclab.Backend{Image: image, Networks: pool}})
	t.Logf("%d scenarios on Docker in %s", len(cat), time.Since(start).Round(time.Second))
	slices.SortFunc(reports, func(a, b *scenarios.Report) int { return int(b.Duration - a.Duration) })
	for _, r := range reports[:10] {
		t.Logf("%6.1fs %s", r.Duration.Seconds(), r.Name)
	}
	// The scenarios that need what only the in-process lab has
	// (client.before, client.address) are skipped, saying why; the list
	// is checked so that none is skipped unnoticed.
	var unsupported []string
	for _, r := range reports {
		if r.Unsupported != "" {
			unsupported = append(unsupported, r.Name)
		}
	}
	slices.Sort(unsupported)
	assert.Equal(t, []string{"remedy-src-exempt-workstations", "surrogate-after-signed-in-user", "surrogate-another-workstation", "surrogate-expired-before-sspr"}, unsupported)
	for _, r := range reports {
		if !r.Passed && r.Unsupported == "" {
			var b strings.Builder
			fmt.Fprintf(&b, "%s: %s", r.Name, r.Error)
			for _, m := range r.Mismatches {
				fmt.Fprintf(&b, "\n  %s", m)
			}
			if r.Result != nil {
				fmt.Fprintf(&b, "\n  result: %s %s at %s (%s): %s", r.Result.Outcome, r.Result.Cause, r.Result.Step, r.Result.Host, r.Result.Error)
			}
			t.Error(b.String())
		}
	}
}
