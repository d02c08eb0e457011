package fault

import "io"

// SetCopyFunc replaces the io.Copy that Relay calls and returns a function
// that restores it. Tests that use it must not run in parallel.
func SetCopyFunc(f func(dst io.Writer, src io.Reader) (int64, error)) (restore func()) {
	old := copyFunc
	copyFunc = f
	return func() { copyFunc = old }
}
