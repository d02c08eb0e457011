package client_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
)

// assertSuccess checks a result is a success and prints it otherwise.
func assertSuccess(t *testing.T, res *client.Result) {
	t.Helper()
	require.True(t, res.OK(), "want success, got %s", res)
	assert.Equal(t, client.StepDone, res.Step)
	assert.Empty(t, res.Cause)
	assert.Empty(t, res.Remedy)
	assert.NoError(t, res.Err)
}

func TestHappyPathDirect(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	res := l.run(t, profile())
	assertSuccess(t, res)
	assert.Equal(t, "TLS 1.2", res.TLSVersion, "Windows 10 offers TLS 1.2 only")
	assert.Equal(t, client.SourceNone, res.ProxySource)
	assert.Empty(t, res.Proxy)
	assert.Equal(t, []string{"email"}, res.Methods)
	assert.Empty(t, res.Warnings)
	require.NotEmpty(t, res.CorrelationID)
	// The service saw the Windows sign-in screen and a success.
	entries := l.svc.Audit().Entries("adele@contoso.com")
	var reset *mock.AuditEntry
	for i := range entries {
		if entries[i].Activity == mock.ActivityReset {
			reset = &entries[i]
		}
	}
	require.NotNil(t, reset)
	assert.Equal(t, mock.ResultSuccess, reset.Result)
	assert.Equal(t, mock.ClientWindowsLogon, reset.ClientType)
	assert.Equal(t, res.CorrelationID, reset.CorrelationID)
}
