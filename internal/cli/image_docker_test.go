//go:build docker

package cli

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
)

// TestDockerImage builds the image as `make image` does (the static
// binary FROM scratch, nothing pulled) and runs serve --help in it, with
// no network.
func TestDockerImage(t *testing.T) {
	testtool.Need(t, "docker")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	image := "egresslab:test-" + hex.EncodeToString(b)
	cmd := exec.Command("make", "-C", "../..", "image", "IMAGE="+image)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })

	out, err = exec.Command("docker", "image", "inspect", "--format", "{{len .RootFS.Layers}} {{.Config.Entrypoint}}", image).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "2 [/egresslab]", strings.TrimSpace(string(out)), "FROM scratch: the tmp folder and the binary, nothing else")

	out, err = exec.Command("docker", "run", "--rm", "--network", "none", image, "serve", "--help").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Serve a scenario's lab")
	assert.Contains(t, string(out), "--proxy-listen")
}
