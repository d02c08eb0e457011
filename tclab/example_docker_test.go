//go:build docker

package tclab_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/egresslab/egresslab/labserver"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/tclab"
)

// A scenario's lab on Docker: the temporary account meets an
// authenticating proxy, and a container of one's own on the workstation
// network goes through the same proxy. (In a test, call
// tclab.CleanupLab(t, lab) right after Run instead of the deferred
// Terminate.)
func ExampleRun() {
	ctx := context.Background()
	// The image from the module's source: go build, FROM scratch, nothing
	// pulled. A test package builds it once, in TestMain.
	image, err := tclab.BuildImage(ctx, "", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tclab.RemoveImage(ctx, image)

	sc, err := labserver.Builtin("proxy-auth-ntlm-defaultuser1")
	if err != nil {
		fmt.Println(err)
		return
	}
	lab, err := tclab.Run(ctx, image, tclab.WithScenario(sc))
	defer lab.Terminate(ctx) // also when Run failed half way
	if err != nil {
		fmt.Println(err)
		return
	}

	// The scenario's client: egresslab client, on the workstation.
	res, err := lab.RunClient(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Outcome, res.Cause)

	// One's own container (here the image's small curl) on the
	// workstation network, with the lab's DNS and files under /lab.
	run, err := lab.RunWorkstation(ctx, image, []string{"fetch", "--proxy", "http://" + lab.ProxyName,
		"--cacert", tclab.NodeDir + "/ca/root.pem", "https://" + mock.PortalHost + "/"})
	if err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.Write(run.Stderr)
	// It prints (not checked here: an example cannot skip without Docker;
	// TestDockerExample runs it and checks):
	//   something-went-wrong proxy-auth-required
	//   egresslab: proxy answered CONNECT with 407 Proxy Authentication Required (ERR_CACHE_ACCESS_DENIED)
}

// TestDockerExample runs ExampleRun and checks what it prints.
func TestDockerExample(t *testing.T) {
	needDocker(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	ExampleRun()
	os.Stdout = stdout
	w.Close()
	got := string(<-done)
	want := "something-went-wrong proxy-auth-required\n" +
		"egresslab: proxy answered CONNECT with 407 Proxy Authentication Required (ERR_CACHE_ACCESS_DENIED)\n"
	if got != want {
		t.Errorf("ExampleRun printed\n%s\nwant\n%s", got, want)
	}
}
