//go:build docker

package tclab_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/tclab"
)

// TestDockerDefaultLab: the default scenario's lab on Docker, its client
// on the workstation: the reset succeeds, through the proxy, with the
// proxy's journal and the service's audit log read through the nodes'
// admin APIs.
func TestDockerDefaultLab(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := tclab.Run(ctx, image)
	tclab.CleanupLab(t, l)
	require.NoError(t, err)
	res, err := l.RunClient(ctx)
	require.NoError(t, err)
	assert.Equal(t, client.OutcomeSuccess, res.Outcome, "%+v", res)
	es, err := l.SettledJournal(ctx, 2*time.Second)
	require.NoError(t, err)
	assert.NotEmpty(t, es)
	audit, err := l.Audit(ctx, l.Scenario.Client.UserID)
	require.NoError(t, err)
	assert.NotEmpty(t, audit)
}
