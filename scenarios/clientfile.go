package scenarios

import (
	"errors"
	"strings"

	"github.com/egresslab/egresslab/internal/yamlfile"
)

// clientFile is a file that holds a scenario's client section alone: the
// client.Profile fields, trustInterception and runs, at the top level.
type clientFile struct {
	Client `yaml:",inline"`
}

// Validate checks the section as a scenario's Validate does, by running
// it on a scenario that is valid but for the section (with a proxy, which
// trustInterception needs: the file says nothing of the lab), and keeps
// the section's errors, without their "client." prefix.
func (c *clientFile) Validate() error {
	sc := Scenario{Name: "client", Description: "client", Reference: "client",
		Lab: Lab{Proxy: &Proxy{}}, Client: c.Client, Expect: Expect{Outcome: "success"}}
	var out []error
	for _, e := range yamlfile.Flatten(sc.Validate()) {
		var fe *yamlfile.FieldError
		switch {
		case !errors.As(e, &fe):
		case fe.Path == "client":
			out = append(out, fe.Err) // the whole profile: the file's
		case strings.HasPrefix(fe.Path, "client."):
			out = append(out, &yamlfile.FieldError{Path: strings.TrimPrefix(fe.Path, "client."), Err: fe.Err})
		}
	}
	return errors.Join(out...)
}

// LoadClient reads a client profile file: what a scenario's client
// section holds (the client.Profile fields, trustInterception, runs), at
// the top level, decoded as strictly as a scenario (unknown fields and
// invalid values are errors that name the file, the line and the field)
// and read as Load reads (a regular file of at most 1 MiB).
func LoadClient(path string) (*Client, error) {
	data, err := yamlfile.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c clientFile
	if err := yamlfile.Decode(path, data, &c); err != nil {
		return nil, err
	}
	return &c.Client, nil
}
