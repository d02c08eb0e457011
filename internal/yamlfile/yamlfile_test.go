package yamlfile_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/egresslab/egresslab/internal/yamlfile"
)

type item struct {
	Name  string `yaml:"name"`
	Count int    `yaml:"count"`
}

type doc struct {
	Title string `yaml:"title"`
	Items []item `yaml:"items"`
}

func (d *doc) Validate() error {
	var errs []error
	if d.Title == "" {
		errs = append(errs, yamlfile.Field("title", "required"))
	}
	for i, it := range d.Items {
		if it.Count < 0 {
			errs = append(errs, yamlfile.Field(fmt.Sprintf("items[%d].count", i), "must not be negative, got %d", it.Count))
		}
	}
	return errors.Join(errs...)
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   string
		want []string // each must appear; "" means success
	}{
		"valid":             {"title: t\nitems:\n  - name: a\n    count: 1\n", nil},
		"valid JSON":        {`{"title": "t", "items": [{"name": "a", "count": 2}]}`, nil},
		"unknown field":     {"title: t\nitems:\n  - name: a\n    colour: red\n", []string{"f.yaml:4: items[0].colour: unknown field"}},
		"misspelt field":    {"title: t\nitems:\n  - name: a\n    cuont: 1\n", []string{"f.yaml:4: items[0].cuont: unknown field; did you mean count?"}},
		"wrong type":        {"title: t\nitems:\n  - name: a\n    count: many\n", []string{"f.yaml:4: items[0].count: many is not an integer"}},
		"list for a string": {"title: t\nitems:\n  - name: [a]\n", []string{"f.yaml:3: items[0].name: a list is not a string"}},
		"unknown tag":       {"title: t\nitems:\n  - name: !!python/object:os.system x\n", []string{"f.yaml:3: items[0].name: unknown tag !!python/object:os.system"}},
		"custom tag":        {"title: !secret t\n", []string{"f.yaml:1: title: unknown tag !secret"}},
		// A list item's mapping indented wrongly: the decoder names the
		// parent's line; the error names the offending token's.
		"list item indented wrongly": {"title: t\nitems:\n  - name: a\n    count: 1\n   name: b\n", []string{"f.yaml:5:4: did not find expected '-' indicator"}},
		"two errors":                 {"title: t\nbogus: 1\nitems:\n  - count: x\n", []string{"f.yaml:2: bogus: unknown field", "f.yaml:4: items[0].count: x is not an integer"}},
		"semantic":                   {"title: t\nitems:\n  - name: a\n  - name: b\n    count: -3\n", []string{"f.yaml:5: items[1].count: must not be negative, got -3"}},
		"missing field":              {"items: []\n", []string{"f.yaml:1: title: required"}},
		"empty":                      {"", []string{"f.yaml: empty document"}},
		"two documents":              {"title: a\n---\ntitle: b\n", []string{"f.yaml:2: more than one YAML document"}},
		"syntax error":               {"title: [unclosed\n", []string{"f.yaml:"}},
		"standard tags":              {"title: !!str t\nitems: !!seq\n  - name: ! a\n    count: !!int 1\n", nil},
		"not a mapping":              {"- 1\n- 2\n", []string{"f.yaml:1: cannot unmarshal !!seq into yamlfile_test.doc"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var d doc
			err := yamlfile.Decode("f.yaml", []byte(tc.in), &d)
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, "t", d.Title)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			var ye *yamlfile.Error
			assert.ErrorAs(t, err, &ye)
		})
	}
}

// colour refuses every value but red, quoting it, as the project's text
// unmarshalers do.
type colour string

func (c *colour) UnmarshalText(b []byte) error {
	if string(b) != "red" {
		return fmt.Errorf("unknown colour %q", b)
	}
	*c = colour(b)
	return nil
}

// TestUnmarshalerErrorsLocated: an error from a value's own unmarshaler
// gets the line of the value it names.
func TestUnmarshalerErrorsLocated(t *testing.T) {
	var v struct {
		Name   string `yaml:"name"`
		Colour colour `yaml:"colour"`
	}
	err := yamlfile.Decode("c.yaml", []byte("name: x\n\ncolour: blue\n"), &v)
	require.Error(t, err)
	assert.Equal(t, `c.yaml:3: unknown colour "blue"`, err.Error())
}

// TestAllErrorsAtOnce: an unknown field does not hide a bad value
// elsewhere in the file.
func TestAllErrorsAtOnce(t *testing.T) {
	var d doc
	err := yamlfile.Decode("d.yaml", []byte("title: t\nitems:\n  - {name: a, count: -1}\n  - {name: b, colour: red}\n"), &d)
	require.Error(t, err)
	assert.Equal(t, "d.yaml:4: items[1].colour: unknown field\nd.yaml:3: items[0].count: must not be negative, got -1", err.Error())
}

// TestLocateQuotedKeys: keys that hold dots (host names) are written
// hosts["a.example"] in paths, and found.
func TestLocateQuotedKeys(t *testing.T) {
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("hosts:\n  a.example:\n    tls: 1\n  b.example:\n    tls: 2\nlist: [x, y]\n"), &root))
	assert.Equal(t, 5, yamlfile.Locate(&root, `hosts["b.example"].tls`))
	assert.Equal(t, 3, yamlfile.Locate(&root, `hosts["a.example"].tls`))
	assert.Equal(t, 6, yamlfile.Locate(&root, `list[1]`))
	assert.Equal(t, 2, yamlfile.Locate(&root, `hosts["c.example"]`), "a missing key is reported on its parent (the mapping's first line)")
	assert.Equal(t, 1, yamlfile.Locate(&root, `hosts["unclosed`))
}

type timeouts struct {
	Connect time.Duration `yaml:"connect"`
}

// TestTypeErrorsNamePath: a value of the wrong type is named by its path
// and the error says what is wanted.
func TestTypeErrorsNamePath(t *testing.T) {
	var v struct {
		Client struct {
			Timeouts timeouts `yaml:"timeouts"`
		} `yaml:"client"`
	}
	err := yamlfile.Decode("t.yaml", []byte("client:\n  timeouts:\n    connect: 5\n"), &v)
	require.Error(t, err)
	assert.Equal(t, "t.yaml:3: client.timeouts.connect: 5 is not a duration (want e.g. 2s)", err.Error())
}

// TestSyntaxErrorInLongFile: the offending token is found in a long file
// too (by a search over prefixes, not a parse per line).
func TestSyntaxErrorInLongFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("title: t\nitems:\n  - name: a\n    count: 1\n   name: b\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "k%d: 1\n", i)
	}
	var d doc
	err := yamlfile.Decode("l.yaml", []byte(b.String()), &d)
	require.Error(t, err)
	assert.Equal(t, "l.yaml:5:4: did not find expected '-' indicator", err.Error())
}
