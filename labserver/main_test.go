package labserver_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the tests if a goroutine of a served lab outlives Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
