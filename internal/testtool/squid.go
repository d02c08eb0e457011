package testtool

import (
	"os"
	"os/exec"
	"sync"
	"testing"
)

// squidPath finds Squid once: on PATH, else where Debian's squid package
// puts it (/usr/sbin, which a non-root PATH often lacks).
var squidPath = sync.OnceValues(func() (string, string) {
	if p, err := exec.LookPath("squid"); err == nil {
		return p, ""
	}
	const debian = "/usr/sbin/squid"
	if fi, err := os.Stat(debian); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return debian, ""
	}
	return "", "Squid is not installed (Debian: apt-get install squid)"
})

// SquidMissing says why Squid cannot be used, "" when it can.
func SquidMissing() string {
	_, why := squidPath()
	return why
}

// NeedSquid returns the path of the squid program. Without it the test is
// skipped, saying so, and failed on CI (CI=true), where .ci/run installs
// it.
func NeedSquid(t testing.TB) string {
	t.Helper()
	p, why := squidPath()
	if why == "" {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(why + ": CI=true needs it")
	}
	t.Skip(why)
	return ""
}
