package proxy_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them:
// everything the proxy starts must end with Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
