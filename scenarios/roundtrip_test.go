package scenarios

import (
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestYAMLRoundTrip: a scenario written back as YAML (as the container
// backend hands it to its nodes) loads as the same scenario.
func TestYAMLRoundTrip(t *testing.T) {
	cat, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range cat {
		b, err := yaml.Marshal(sc)
		if err != nil {
			t.Fatalf("%s: %v", sc.Name, err)
		}
		back, err := Parse("back.yaml", b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", sc.Name, err, b)
		}
		back.File, back.warnings = sc.File, sc.warnings
		if !reflect.DeepEqual(back, sc) {
			t.Errorf("%s: not the same after a round trip through\n%s", sc.Name, b)
		}
	}
}
