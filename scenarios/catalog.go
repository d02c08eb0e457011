package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed catalog/*.yaml
var catalogFS embed.FS

// Catalog returns the built-in scenarios, sorted by name.
func Catalog() ([]*Scenario, error) {
	entries, err := fs.Glob(catalogFS, "catalog/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []*Scenario
	var errs []error
	for _, p := range entries {
		data, err := catalogFS.ReadFile(p)
		if err != nil {
			return nil, err
		}
		sc, err := Parse(p, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if want := strings.TrimSuffix(filepath.Base(p), ".yaml"); sc.Name != want {
			errs = append(errs, fmt.Errorf("%s: name %q differs from the file's name %q", p, sc.Name, want))
			continue
		}
		sc.File = "catalog:" + sc.Name
		out = append(out, sc)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CatalogFile returns the YAML of a built-in scenario.
func CatalogFile(name string) ([]byte, error) {
	return catalogFS.ReadFile("catalog/" + name + ".yaml")
}

// DuplicateNameError is a scenario whose name an earlier one has: reports
// (and JUnit's test cases) tell scenarios apart by name.
type DuplicateNameError struct {
	Name  string
	File  string // the later scenario's file
	Other string // the earlier one's
}

func (e *DuplicateNameError) Error() string {
	return fmt.Sprintf("%s: name %q is also the name of %s: give each scenario a name of its own", e.File, e.Name, e.Other)
}

// CheckNames returns a [*DuplicateNameError] for each scenario of list
// whose name an earlier one has.
func CheckNames(list []*Scenario) []error {
	var errs []error
	first := map[string]string{}
	for _, sc := range list {
		if other, ok := first[sc.Name]; ok {
			errs = append(errs, &DuplicateNameError{Name: sc.Name, File: sc.File, Other: other})
			continue
		}
		first[sc.Name] = sc.File
	}
	return errs
}

// FilesIn returns the scenario files of a directory (*.yaml and *.yml),
// sorted.
func FilesIn(dir string) []string {
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat)) // the pattern is valid
		files = append(files, m...)
	}
	sort.Strings(files)
	return files
}

// Resolve turns command-line arguments into scenarios: a file, a
// directory (its *.yaml and *.yml files), or the name of a built-in
// scenario; no argument means the whole catalog. Every error is reported,
// each naming its file.
func Resolve(args []string) ([]*Scenario, error) {
	cat, err := Catalog()
	if err != nil {
		return nil, fmt.Errorf("built-in catalog: %w", err)
	}
	if len(args) == 0 {
		return cat, nil
	}
	byName := map[string]*Scenario{}
	for _, sc := range cat {
		byName[sc.Name] = sc
	}
	var out []*Scenario
	var errs []error
	seen := map[string]bool{}
	addFile := func(path string) {
		if seen[filepath.Clean(path)] {
			return
		}
		seen[filepath.Clean(path)] = true
		sc, err := Load(path)
		if err != nil {
			errs = append(errs, err)
			return
		}
		out = append(out, sc)
	}
	for _, a := range args {
		info, statErr := os.Stat(a)
		switch {
		case statErr == nil && info.IsDir():
			files := FilesIn(a)
			if len(files) == 0 {
				errs = append(errs, fmt.Errorf("%s: no *.yaml or *.yml scenario files", a))
			}
			for _, f := range files {
				addFile(f)
			}
		case statErr == nil:
			addFile(a)
		case byName[a] != nil:
			if !seen["catalog:"+a] {
				seen["catalog:"+a] = true
				out = append(out, byName[a])
			}
		default:
			errs = append(errs, fmt.Errorf("%s: no such file, directory or built-in scenario (see 'egresslab list')", a))
		}
	}
	errs = append(errs, CheckNames(out)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
