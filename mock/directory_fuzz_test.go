package mock_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/egresslab/egresslab/internal/yamlfile"
	"github.com/egresslab/egresslab/mock"
)

// FuzzParseDirectory checks the directory parser on arbitrary files:
// ParseDirectory never panics; its errors name the file; and what it
// accepts validates (after its defaults are applied) and round-trips:
// marshalled to JSON or to YAML and parsed again, it is accepted and
// comes back the same (compared as YAML, which like the directory makes
// no difference between a missing list and an empty one). Run it with
// go test -run '^$' -fuzz FuzzParseDirectory ./mock.
func FuzzParseDirectory(f *testing.F) {
	for _, p := range []string{"testdata/directory.yaml", "../harness/directory.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "tenants: []\nusers: []\n", `{"tenants":[{"id":"c","domains":["C.com"],"sspr":"all","gates":1}],"users":[{"upn":" A@c.com "}]}`,
		"tenants:\n- id: t\n  domains: [x.com, X.COM]\n  sspr: off\nusers:\n- upn: a@X.com\n- upn: A@x.com\n",
		"users:\n- upn: a@b\n  tenant: nope\n", "tenants: {}\n", "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	const file = "fuzz/directory.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := mock.ParseDirectory(file, data)
		if err != nil {
			if d != nil {
				t.Fatalf("error %v, and a directory", err)
			}
			if !strings.HasPrefix(err.Error(), file+":") {
				t.Fatalf("error %q does not name the file", err)
			}
			var ye *yamlfile.Error
			if !errors.As(err, &ye) {
				t.Fatalf("error %v (%T) is not located", err, err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted, but does not validate with its defaults: %v", err)
		}
		j, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("accepted, but does not marshal: %v", err)
		}
		want, err := yaml.Marshal(d)
		if err != nil {
			t.Fatalf("accepted, but does not marshal to YAML: %v", err)
		}
		for form, b := range map[string][]byte{"JSON": j, "YAML": want} {
			again, err := mock.ParseDirectory(file, b)
			if err != nil {
				t.Fatalf("accepted, but its %s form is refused: %v\n%s", form, err, b)
			}
			got, err := yaml.Marshal(again)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("%s round trip changed the directory:\n%s\nthen\n%s", form, want, got)
			}
		}
	})
}
