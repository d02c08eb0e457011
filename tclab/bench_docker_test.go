//go:build docker

package tclab_test

import (
	"context"
	"testing"

	"github.com/testcontainers/testcontainers-go"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/labserver"
	"github.com/egresslab/egresslab/scenarios"
	"github.com/egresslab/egresslab/tclab"
)

// BenchmarkLabStart compares, in one run, a container lab's start (Run
// until every node serves, then Terminate) with the in-process lab's
// (scenarios.NewLab, then Close), for the default scenario; with and
// without a network pool.
func BenchmarkLabStart(b *testing.B) {
	testtool.NeedDocker(b)
	sc, err := labserver.Builtin(labserver.DefaultScenario)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("in-process", func(b *testing.B) {
		for b.Loop() {
			l, err := scenarios.NewLab(ctx, sc)
			if err != nil {
				b.Fatal(err)
			}
			l.Close()
		}
	})
	docker := func(b *testing.B, opts ...testcontainers.ContainerCustomizer) {
		for b.Loop() {
			l, err := tclab.Run(ctx, image, append([]testcontainers.ContainerCustomizer{tclab.WithScenario(sc)}, opts...)...)
			if err != nil {
				_ = l.Terminate(ctx)
				b.Fatal(err)
			}
			if err := l.Terminate(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("docker", func(b *testing.B) { docker(b) })
	b.Run("docker-pooled-networks", func(b *testing.B) {
		pool := tclab.NewNetworkPool()
		defer pool.Close(ctx)
		docker(b, tclab.WithNetworkPool(pool))
	})
}
