package tclab

import (
	"context"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/egresslab/egresslab/scenarios"
)

// Backend runs scenarios on Docker: a lab per scenario from Image, its
// client in a container on the workstation, the lab removed after. It is
// a scenarios.Backend.
type Backend struct {
	// Image is the project's image (BuildImage).
	Image string
	// Options apply to every lab (Run's options, after WithScenario).
	Options []testcontainers.ContainerCustomizer
	// Networks, when set, lends the labs their networks (the caller
	// closes it after the run).
	Networks *NetworkPool
}

// Exercise runs sc's lab on Docker and its client on the workstation.
func (b Backend) Exercise(ctx context.Context, sc *scenarios.Scenario) (*scenarios.Observation, error) {
	opts := []testcontainers.ContainerCustomizer{WithScenario(sc)}
	if b.Networks != nil {
		opts = append(opts, WithNetworkPool(b.Networks))
	}
	l, err := Run(ctx, b.Image, append(opts, b.Options...)...)
	defer func() {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = l.Terminate(tctx)
	}()
	if err != nil {
		return nil, err
	}
	res, err := l.RunClient(ctx)
	if err != nil {
		return nil, err
	}
	obs := &scenarios.Observation{Result: res}
	// The client's container has gone: its tunnels end on their own.
	if obs.Journal, err = l.SettledJournal(ctx, 2*time.Second); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if obs.Audit, err = l.Audit(ctx, sc.Client.UserID); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return obs, nil
}
