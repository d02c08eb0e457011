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

// ReadFile reads a regular file of at most [MaxFileSize] bytes. Anything
// else is refused with an error naming the file and saying why, before it
// is read: a named pipe (which would block until a writer comes), a device
// such as /dev/zero (which never ends), a socket, a directory. The file is
// checked before it is opened and again once open (opened without
// blocking), so a file swapped for a pipe in between is refused too.
func ReadFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, info); err != nil {
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
	if err := regular(path, info); err != nil {
		return nil, err
	}
	// Read one byte more than the limit: a file that grew since Stat is
	// refused as well.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(path, int64(len(data)))
	}
	return data, nil
}

func regular(path string, info fs.FileInfo) error {
	m := info.Mode()
	if !m.IsRegular() {
		return fmt.Errorf("%s: not a regular file (%s): only regular files are read", path, kind(m))
	}
	if info.Size() > MaxFileSize {
		return tooLarge(path, info.Size())
	}
	return nil
}

func tooLarge(path string, size int64) error {
	return fmt.Errorf("%s: %d bytes or more, over the limit of 1 MiB (%d bytes)", path, size, MaxFileSize)
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
