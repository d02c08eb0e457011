package tclab

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Dockerfile is the image's recipe: the static binary alone, FROM
// scratch, with an empty /tmp (serve writes a root there when it has no
// --ca-dir). Nothing is pulled.
const Dockerfile = `FROM scratch
COPY tmp /tmp
COPY egresslab /egresslab
ENTRYPOINT ["/egresslab"]
`

// MainPackage is the command BuildImage compiles when given no binary.
const MainPackage = "github.com/egresslab/egresslab/cmd/egresslab"

// BuildImage builds the project's image and returns its tag. bin is a
// static Linux binary of egresslab (CGO_ENABLED=0; CheckStatic says why
// another will not do); "" compiles MainPackage with the go command, from
// the module's source: in a checkout of egresslab, or in a module that
// requires it and lists the command as a tool (go get -tool
// github.com/egresslab/egresslab/cmd/egresslab), so that go.sum holds
// what the command needs. tag "" makes one up ("egresslab:tclab-RANDOM").
// Remove it with RemoveImage.
func BuildImage(ctx context.Context, bin, tag string) (string, error) {
	dir, err := os.MkdirTemp("", "egresslab-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "egresslab")
	if bin == "" {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, MainPackage)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if b, err := cmd.CombinedOutput(); err != nil {
			hint := ""
			if bytes.Contains(b, []byte("missing go.sum entry")) {
				hint = " (in a module of your own, add the command as a tool: go get -tool " + MainPackage + ")"
			}
			return "", fmt.Errorf("build image: go build %s: %w: %s%s", MainPackage, err, bytes.TrimSpace(b), hint)
		}
	} else {
		if err := CheckStatic(bin); err != nil {
			return "", fmt.Errorf("build image: %w", err)
		}
		if err := copyFile(bin, out); err != nil {
			return "", fmt.Errorf("build image: %w", err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return "", err
	}
	// An empty folder is not sent in a build context: keep one file in it.
	if err := os.WriteFile(filepath.Join(dir, "tmp", ".keep"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(Dockerfile), 0o644); err != nil {
		return "", err
	}
	if tag == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		tag = "egresslab:tclab-" + hex.EncodeToString(b)
	}
	repo, t, _ := strings.Cut(tag, ":")
	if t == "" {
		t = "latest"
	}
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return "", fmt.Errorf("build image: docker: %w", err)
	}
	defer p.Close()
	req := &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{Context: dir, Dockerfile: "Dockerfile",
		Repo: repo, Tag: t, BuildLogWriter: io.Discard}}
	got, err := p.BuildImage(ctx, req)
	if err != nil {
		return "", fmt.Errorf("build image: %w", err)
	}
	return got, nil
}

// RemoveImage removes an image BuildImage made.
func RemoveImage(ctx context.Context, tag string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	return err
}

// CheckStatic says why the file at path cannot run in a FROM scratch
// image: not an ELF executable, not for Linux on this machine's
// architecture class, or dynamically linked (it names an interpreter:
// build with CGO_ENABLED=0).
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not a Linux executable: %w", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s: not an executable (%s)", path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: dynamically linked (it needs an interpreter): build it with CGO_ENABLED=0, or give an image", path)
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return errors.Join(out.Close())
}
