// Package schemacompile compiles the project's published JSON Schemas
// (scenario files, probe reports) with github.com/santhosh-tekuri/jsonschema,
// so that tests can check documents against exactly what is published.
package schemacompile

import (
	"bytes"
	"fmt"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"
)

// Compile compiles the schema raw, whose $id is id; errors start with
// "schema: ".
func Compile(id string, raw []byte) (*sjs.Schema, error) {
	doc, err := sjs.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	c := sjs.NewCompiler()
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return sch, nil
}
