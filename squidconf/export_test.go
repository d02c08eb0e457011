package squidconf

import "io/fs"

// WithFS reads every file from fsys instead of the disk: an absolute path
// is taken relative to its root. For tests and fuzzing only.
func WithFS(fsys fs.FS) Option { return func(o *options) { o.fsys = fsys } }
