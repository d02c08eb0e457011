package testtool

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that the goroutines of a server under test may
// write to while the test reads it: a logger's or a journal's output.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
