package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/egresslab/egresslab/internal/enum"
	"github.com/egresslab/egresslab/internal/yamlfile"
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

// InputError is an input that gave no scenario to run: a file that could
// not be read or is invalid, a directory without scenario files, an
// argument that names nothing, a scenario whose name another has. Err names
// Input itself.
type InputError struct {
	Input string // the file, directory or argument
	Err   error
}

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Resolve turns command-line arguments into scenarios: a file, a
// directory (its *.yaml and *.yml files), or the name of a built-in
// scenario; no argument means the whole catalog. Every error is reported,
// each an [*InputError] naming its file, joined; with them come the
// scenarios that did load, which must not run ([InputReports] reports
// them).
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
			errs = append(errs, &InputError{Input: path, Err: err})
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
				errs = append(errs, &InputError{Input: a, Err: fmt.Errorf("%s: no *.yaml or *.yml scenario files", a)})
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
			errs = append(errs, &InputError{Input: a, Err: fmt.Errorf("%s: no such file, directory or built-in scenario (see 'egresslab list')%s", a, didYouMean(a, cat))})
		}
	}
	for _, err := range CheckNames(out) {
		dup := err.(*DuplicateNameError)
		errs = append(errs, &InputError{Input: dup.File, Err: err})
		out = slices.DeleteFunc(out, func(sc *Scenario) bool { return sc.File == dup.File })
	}
	return out, errors.Join(errs...)
}

// didYouMean suggests the built-in scenario whose name is nearest to a,
// if one is near.
func didYouMean(a string, cat []*Scenario) string {
	names := make([]string, len(cat))
	for i, sc := range cat {
		names[i] = sc.Name
	}
	if near, ok := enum.Nearest(a, names); ok {
		return fmt.Sprintf("; did you mean %q?", near)
	}
	return ""
}

// UnknownNameError returns the error for a name that is no built-in
// scenario, suggesting the nearest.
func UnknownNameError(name string) error {
	cat, _ := Catalog() // the catalog is tested to load
	return fmt.Errorf("%s: no built-in scenario of that name (see 'egresslab list')%s", name, didYouMean(name, cat))
}

// InputReports turns what [Resolve] returned into reports, so that a
// report read by a machine (JSON, JUnit) says why nothing ran: an error
// for each input that gave no scenario (named after the input), then each
// scenario that did load, not run.
func InputReports(valid []*Scenario, err error) []*Report {
	var out []*Report
	for _, e := range yamlfile.Flatten(err) {
		r := &Report{Name: "input", Error: e.Error()}
		var ie *InputError
		if errors.As(e, &ie) {
			r.Name = ie.Input
			if info, err := os.Stat(ie.Input); err == nil && !info.IsDir() {
				r.File = ie.Input
			}
		}
		out = append(out, r)
	}
	for _, sc := range valid {
		out = append(out, &Report{Name: sc.Name, File: sc.File, NotRun: "not run: other input is invalid"})
	}
	return out
}
