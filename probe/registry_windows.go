//go:build windows

package probe

import (
	"errors"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// OpenRegistry returns the live registry of this machine, read-only.
func OpenRegistry() (Registry, error) { return liveRegistry{}, nil }

// liveRegistry reads the registry with RegOpenKeyEx and RegQueryValueEx.
type liveRegistry struct{}

var roots = map[string]registry.Key{
	"HKLM": registry.LOCAL_MACHINE,
	"HKCU": registry.CURRENT_USER,
	"HKU":  registry.USERS,
}

// maxValue bounds a value read (a settings blob is a few hundred bytes).
const maxValue = 64 << 10

func (liveRegistry) Value(key, name string) (any, bool) {
	root, path, ok := strings.Cut(key, `\`)
	rk, known := roots[strings.ToUpper(root)]
	if !ok || !known {
		return nil, false
	}
	k, err := registry.OpenKey(rk, path, registry.QUERY_VALUE)
	if err != nil {
		return nil, false
	}
	defer k.Close()
	n, typ, err := k.GetValue(name, nil)
	if err != nil && !errors.Is(err, registry.ErrShortBuffer) || n > maxValue {
		return nil, false
	}
	switch typ {
	case registry.DWORD:
		v, _, err := k.GetIntegerValue(name)
		if err != nil {
			return nil, false
		}
		return uint32(v), true
	case registry.SZ, registry.EXPAND_SZ:
		v, _, err := k.GetStringValue(name)
		if err != nil {
			return nil, false
		}
		return v, true
	case registry.BINARY:
		v, _, err := k.GetBinaryValue(name)
		if err != nil {
			return nil, false
		}
		return v, true
	}
	return nil, false
}
