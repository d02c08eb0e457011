package yamlfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFileSize is the most ReadFile reads: 1 MiB, far more than any
// scenario or lab file needs.
const MaxFileSize = 1 << 20

// ReadFile reads a regular file of at most [MaxFileSize] bytes: ReadFileLimit
// with that limit.
func ReadFile(path string) ([]byte, error) { return ReadFileLimit(path, MaxFileSize) }

// ReadFileLimit reads a regular file of at most limit bytes. Anything
// else is refused with an error naming the file and saying why, before it
// is read: a named pipe (which would block until a writer comes), a device
// such as /dev/zero (which never ends), a socket, a directory. The file is
// checked before it is opened and again once open (opened without
// blocking), so a file swapped for a pipe in between is refused too.
func ReadFileLimit(path string, limit int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, info, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regular(path, info, limit); err != nil {
		return nil, err
	}
	// Read one byte more than the limit: a file that grew since Stat is
	// refused as well.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(path, int64(len(data)), limit)
	}
	return data, nil
}

func regular(path string, info fs.FileInfo, limit int64) error {
	m := info.Mode()
	if !m.IsRegular() {
		return fmt.Errorf("%s: not a regular file (%s): only regular files are read", path, kind(m))
	}
	if info.Size() > limit {
		return tooLarge(path, info.Size(), limit)
	}
	return nil
}

func tooLarge(path string, size, limit int64) error {
	if limit%(1<<20) == 0 {
		return fmt.Errorf("%s: %d bytes or more, over the limit of %d MiB (%d bytes)", path, size, limit>>20, limit)
	}
	return fmt.Errorf("%s: %d bytes or more, over the limit of %d bytes", path, size, limit)
}

// kind names a file mode that is not a regular file's.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "mode " + m.String()
}
