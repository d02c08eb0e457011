package testtool

import (
	"os"
	"os/exec"
	"sync"
	"testing"
)

// dockerMissing runs `docker info` once: "" when a Docker engine
// answers, else why not.
var dockerMissing = sync.OnceValue(func() string {
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		return "Docker is not available (docker info: " + err.Error() + ": " + string(out) + ")"
	}
	return ""
})

// DockerMissing says why Docker cannot be used, "" when it can.
func DockerMissing() string { return dockerMissing() }

// NeedDocker skips a test without a Docker engine, saying so, and fails
// it on CI (CI=true), where Docker must be there.
func NeedDocker(t testing.TB) {
	t.Helper()
	why := DockerMissing()
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(why + ": CI=true needs it")
	}
	t.Skip(why)
}
