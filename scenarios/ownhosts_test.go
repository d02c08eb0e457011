package scenarios_test

import (
	"context"
	"crypto/tls"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/scenarios"
)

// TestOwnHostsInAFile: hosts of one's own with static responses, from a
// scenario file: reached through the proxy (HTTPS, TLS 1.3 only, the
// file's status, headers and body) and directly through the firewall.
func TestOwnHostsInAFile(t *testing.T) {
	t.Parallel()
	sc, err := scenarios.Load("testdata/own-hosts.yaml")
	require.NoError(t, err)
	assert.Empty(t, scenarios.Warnings(sc), "a proxy rule naming a host of one's own is no slip")
	assert.Equal(t, []string{"api.contoso.example:443", "status.contoso.example:8080"}, sc.OwnHostPorts())
	lab, err := scenarios.NewLab(context.Background(), sc)
	//lint:ignore SA5001 NewLab returns the partly built lab with its error: it is closed either way.
	defer lab.Close()
	require.NoError(t, err)

	resp, err := lab.HTTPClient().Get("https://api.contoso.example/anything")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 418, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "1", resp.Header.Get("X-Api"))
	assert.Equal(t, `{"ok":true}`, string(b))
	assert.Equal(t, uint16(tls.VersionTLS13), resp.TLS.Version)

	c, err := lab.Dial(context.Background(), "tcp", "status.contoso.example:8080")
	require.NoError(t, err, "the firewall allows it")
	c.Close()
	_, err = lab.Dial(context.Background(), "tcp", "api.contoso.example:443")
	require.Error(t, err, "the firewall does not allow this one")
}
