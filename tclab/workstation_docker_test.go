//go:build docker

package tclab_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	sspr "github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/labserver"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/scenarios"
	"github.com/egresslab/egresslab/tclab"
)

// TestDockerWorkstationFetch runs a small curl (the image's fetch) in a
// container of the user's choosing on the workstation network: direct
// access is blocked by the network (no route out: the connection times
// out), access through the lab's proxy works, and the proxy's journal
// says so. The proxy is also reachable from the host, as curl uses it.
func TestDockerWorkstationFetch(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := tclab.Run(ctx, image)
	tclab.CleanupLab(t, l)
	require.NoError(t, err)
	portal := "https://" + mock.PortalHost + "/"
	root := tclab.NodeDir + "/ca/root.pem"

	direct, err := l.RunWorkstation(ctx, image, []string{"fetch", "--cacert", root, "--connect-timeout", "2s", portal})
	require.NoError(t, err)
	assert.Equal(t, 1, direct.ExitCode, "stdout %s stderr %s", direct.Stdout, direct.Stderr)
	assert.Contains(t, string(direct.Stderr), "timed out", "no route: the connection is dropped, not refused")

	proxied, err := l.RunWorkstation(ctx, image, []string{"fetch", "--proxy", "http://" + l.ProxyName, "--cacert", root, "-i", portal})
	require.NoError(t, err)
	assert.Equal(t, 0, proxied.ExitCode, "stderr %s", proxied.Stderr)
	assert.Contains(t, string(proxied.Stdout), "HTTP/1.1 ")

	es, err := l.SettledJournal(ctx, 2*time.Second)
	require.NoError(t, err)
	require.NotEmpty(t, es)
	assert.Equal(t, mock.PortalHost+":443", es[len(es)-1].Target, "the proxied fetch, and nothing of the direct one")

	if _, err := exec.LookPath("curl"); err == nil {
		// The host's curl through the published proxy: the proxy
		// resolves the name, curl resolves nothing.
		out, err := exec.CommandContext(ctx, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20",
			"-x", l.ProxyURL, "--cacert", l.TrustPEM(), portal).CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Equal(t, "302", string(out), "the portal sends / on to its first page")
	}
}

// TestDockerFirewallAllowList: the firewall is which host networks the
// workstation joins. With an allow list naming the CDN and the OCSP
// responder (portal-port-blocked), the workstation reaches them directly
// and not the portal,
// a lab service it is not allowed to reach (nothing outside the lab is
// ever dialled to show it).
func TestDockerFirewallAllowList(t *testing.T) {
	needDocker(t)
	sc, err := labserver.Builtin("portal-port-blocked")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := tclab.Run(ctx, image, tclab.WithScenario(sc))
	tclab.CleanupLab(t, l)
	require.NoError(t, err)
	root := tclab.NodeDir + "/ca/root.pem"
	// Any answer shows that the connection was made; what the hosts
	// answer to "/" does not matter here.
	for url, reach := range map[string]bool{
		"https://" + mock.CDNHost + "/":    true,
		"http://" + mock.OCSPHost + "/":    true,
		"https://" + mock.PortalHost + "/": false,
	} {
		r, err := l.RunWorkstation(ctx, image, []string{"fetch", "--cacert", root, "--connect-timeout", "2s", url})
		require.NoError(t, err)
		assert.Equal(t, reach, !strings.Contains(string(r.Stderr), "timed out"), "%s: exit %d: %s", url, r.ExitCode, r.Stderr)
	}
	// The services node's admin API is no host of the lab: on a host's
	// network it closes the connection (the workstation reaches it on its
	// own network, for the codes).
	r, err := l.RunWorkstation(ctx, image, []string{"fetch", "--connect-timeout", "2s", "http://" + mock.OCSPHost + ":" + l.AdminPort + "/api/v1/state"})
	require.NoError(t, err)
	assert.Equal(t, 1, r.ExitCode, "%s", r.Stdout)
	assert.NotContains(t, string(r.Stderr), "401", "closed, not answered: %s", r.Stderr)
	assert.Empty(t, r.Stdout)
}

// TestDockerNothingLeftAfterFailure: a lab whose set-up fails half way
// (its services node refuses its arguments and exits) leaves no
// container and no network once terminated, counted by the lab's label.
func TestDockerNothingLeftAfterFailure(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := tclab.Run(ctx, image, testcontainers.WithCmdArgs("--no-such-flag"), tclab.WithStartupTimeout(20*time.Second))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "services node")
	assert.Contains(t, err.Error(), "unknown flag: --no-such-flag", "the node's own words")
	assert.Equal(t, 7, countLabObjects(t, ctx, l.ID), "the set-up had made the six networks and the services node")
	require.NoError(t, l.Terminate(ctx))
	assert.Zero(t, countLabObjects(t, ctx, l.ID), "nothing left")
	require.NoError(t, l.Terminate(ctx), "a second Terminate is fine")
}

// countLabObjects counts the containers (running or not) and networks
// of a lab, by its label (other labs may run meanwhile).
func countLabObjects(t *testing.T, ctx context.Context, id string) int {
	t.Helper()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	require.NoError(t, err)
	defer cli.Close()
	f := client.Filters{}.Add("label", tclab.LabLabel+"="+id)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	require.NoError(t, err)
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	require.NoError(t, err)
	return len(cs.Items) + len(ns.Items)
}

// TestDockerOwnHosts: a scenario's hosts of its own get networks of
// their own on Docker too: reached through the proxy, and directly when
// the firewall allows them.
func TestDockerOwnHosts(t *testing.T) {
	needDocker(t)
	// The scenario's own test in process reads the same file.
	sc, err := scenarios.Load("../scenarios/testdata/own-hosts.yaml")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := tclab.Run(ctx, image, tclab.WithScenario(sc))
	tclab.CleanupLab(t, l)
	require.NoError(t, err)
	root := tclab.NodeDir + "/ca/root.pem"
	r, err := l.RunWorkstation(ctx, image, []string{"fetch", "--proxy", "http://" + l.ProxyName, "--cacert", root, "https://api.contoso.example/"})
	require.NoError(t, err)
	assert.Equal(t, 1, r.ExitCode, "the file's 418 is a failure to fetch: %s", r.Stderr)
	assert.Equal(t, `{"ok":true}`, string(r.Stdout), "the body is written all the same")
	r, err = l.RunWorkstation(ctx, image, []string{"fetch", "--connect-timeout", "2s", "http://status.contoso.example:8080/"})
	require.NoError(t, err)
	assert.Equal(t, 0, r.ExitCode, "%s", r.Stderr)
	assert.Equal(t, "up", string(r.Stdout))
	r, err = l.RunWorkstation(ctx, image, []string{"fetch", "--cacert", root, "--connect-timeout", "2s", "https://api.contoso.example/"})
	require.NoError(t, err)
	assert.Contains(t, string(r.Stderr), "timed out", "not allowed directly")
}

// TestDockerNoPull: an image that is not on the engine is refused before
// Docker would look for it in a registry, and nothing is left.
func TestDockerNoPull(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := tclab.Run(ctx, "egresslab:no-such-image-here")
	tclab.CleanupLab(t, l)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "image egresslab:no-such-image-here is not on this Docker engine (nothing is pulled")
	assert.Zero(t, countLabObjects(t, ctx, l.ID))
}

// TestDockerProxyOnAdminPort: a scenario whose proxy listens on the
// nodes' usual admin port moves the admin API out of its way.
func TestDockerProxyOnAdminPort(t *testing.T) {
	needDocker(t)
	sc, err := labserver.Builtin("remedy-per-machine-proxy-auth-exemption")
	require.NoError(t, err)
	moved := *sc
	px := *sc.Lab.Proxy
	px.Address = "proxy.corp.example:8128"
	moved.Lab.Proxy = &px
	moved.Client.Proxy.PerMachine = &sspr.ProxySetting{Server: "proxy.corp.example:8128"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := tclab.Run(ctx, image, tclab.WithScenario(&moved))
	tclab.CleanupLab(t, l)
	require.NoError(t, err)
	assert.Equal(t, "8129", l.AdminPort)
	res, err := l.RunClient(ctx)
	require.NoError(t, err)
	assert.Equal(t, sspr.OutcomeSuccess, res.Outcome, "%+v", res)
}

// TestDockerCancelledSetUp: a set-up whose context ends half way (here
// while its networks are being made, whenever that is) leaves nothing
// once terminated: a network the engine makes after the caller gave up
// is recorded all the same, and the label sweeps the rest.
func TestDockerCancelledSetUp(t *testing.T) {
	needDocker(t)
	for _, after := range []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 300 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), after)
		l, err := tclab.Run(ctx, image)
		cancel()
		if err == nil {
			t.Logf("set-up finished within %s", after)
		}
		bg, stop := context.WithTimeout(context.Background(), time.Minute)
		require.NoError(t, l.Terminate(bg))
		assert.Zero(t, countLabObjects(t, bg, l.ID), "cancelled after %s", after)
		stop()
	}
}
