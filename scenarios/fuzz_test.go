package scenarios_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/egresslab/egresslab/internal/yamlfile"
	"github.com/egresslab/egresslab/scenarios"
)

// fuzzFile is the name the fuzzed scenarios are parsed under: every error
// must name it.
const fuzzFile = "fuzz/scenario.yaml"

// FuzzParse checks the scenario loader on arbitrary files: Parse never
// panics; every error it returns is located in the file it was given
// (each joined error a *yamlfile.Error naming it); and a scenario it
// accepts validates again, and survives a YAML round trip: marshalled and
// parsed again, it is accepted and marshals the same. The seed corpus is
// the catalog. Run it with
// go test -run '^$' -fuzz FuzzParse ./scenarios.
func FuzzParse(f *testing.F) {
	paths, err := filepath.Glob("catalog/*.yaml")
	if err != nil || len(paths) == 0 {
		f.Fatalf("catalog: %v (%d files)", err, len(paths))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "---\n---\n", "name: x\n", "[1, 2]", "name: !!binary aGk=\n", "a: &a [*a]\n", "lab: {hosts: {x: 1}}\n", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := scenarios.Parse(fuzzFile, data)
		if err != nil {
			if sc != nil {
				t.Fatalf("error %v, and a scenario", err)
			}
			checkNamesFile(t, err)
			return
		}
		if sc.File != fuzzFile {
			t.Fatalf("File = %q, want %q", sc.File, fuzzFile)
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("accepted, but does not validate: %v", err)
		}
		out, err := yaml.Marshal(sc)
		if err != nil {
			t.Fatalf("accepted, but does not marshal: %v", err)
		}
		again, err := scenarios.Parse(fuzzFile, out)
		if err != nil {
			t.Fatalf("accepted, but its marshalled form is refused: %v\n%s", err, out)
		}
		out2, err := yaml.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(out2) {
			t.Fatalf("round trip changed the scenario:\n%s\nthen\n%s", out, out2)
		}
	})
}

// checkNamesFile fails unless every error joined in err is a
// *yamlfile.Error naming fuzzFile, whose message starts with the name.
func checkNamesFile(t *testing.T, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			checkNamesFile(t, j.(error))
			continue
		}
		var ye *yamlfile.Error
		if !errors.As(e, &ye) || ye.File != fuzzFile {
			t.Fatalf("error %v (%T) does not name the file", e, e)
		}
		if !strings.HasPrefix(e.Error(), fuzzFile+":") {
			t.Fatalf("error %q does not start with the file's name", e)
		}
	}
}
