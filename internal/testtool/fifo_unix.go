//go:build unix

package testtool

import (
	"os"
	"syscall"
	"testing"
)

// FIFO makes a named pipe at path for a test of code that must never open
// one. A writer waits on the pipe, so code that does open it reads an
// empty file at once: the test fails on what it reads instead of hanging.
// The writer is let go at cleanup.
func FIFO(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatalf("mkfifo %s: %v", path, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Blocks until a reader opens the pipe.
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
	}()
	t.Cleanup(func() {
		// Opening the reading end without blocking frees the writer, if
		// nothing opened the pipe.
		r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		<-done
		if err == nil {
			r.Close()
		}
	})
}
