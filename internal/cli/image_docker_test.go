//go:build docker

package cli

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
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
	testtool.NeedDocker(t)
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

// TestDockerRunBackend runs scenarios on the container backend as a user
// does: a static build of the program (make build), run --backend docker,
// which builds the image from itself, runs each lab on Docker, and
// removes what it made.
func TestDockerRunBackend(t *testing.T) {
	testtool.NeedDocker(t)
	bin := filepath.Join(t.TempDir(), "egresslab")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "../../cmd/egresslab")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	cmd := exec.Command(bin, "run", "--backend", "docker", "cdn-blocked", "portal-port-blocked")
	cmd.Env = append(os.Environ(), "EGRESSLAB_PROGRESS=plain")
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, want := range []string{"built the labs' image egresslab:tclab-", " from " + bin, "PASS  cdn-blocked", "PASS  portal-port-blocked"} {
		assert.Contains(t, string(out), want)
	}
	_, rest, _ := strings.Cut(string(out), "built the labs' image ")
	tag, _, _ := strings.Cut(rest, " ")
	out, err = exec.Command("docker", "image", "inspect", tag).CombinedOutput()
	assert.Error(t, err, "the image %s it built is removed: %s", tag, out)
}

// TestDockerRunMissingImage: --image naming an image the engine does not
// have is invalid input, said before anything runs (nothing is pulled).
func TestDockerRunMissingImage(t *testing.T) {
	testtool.NeedDocker(t)
	var out, errb testtool.Buffer
	code := Main([]string{"run", "--backend", "docker", "--image", "egresslab:no-such-image-here", "cdn-blocked"}, func(string) string { return "" }, &out, &errb)
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errb.String(), "--image: image egresslab:no-such-image-here is not on this Docker engine (nothing is pulled")
	assert.NotContains(t, out.String(), "cdn-blocked", "nothing ran")
}
