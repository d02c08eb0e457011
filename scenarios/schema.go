package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/invopop/jsonschema"
	sjs "github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/internal/schemacompile"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/proxy/fault"
)

//go:generate go test -run ^TestSchemaDocsUpToDate$ -update-docs .

// SchemaID is the schema's $id.
const SchemaID = "https://egresslab.dev/schemas/scenario.json"

// Schema returns the JSON Schema of scenario files, generated from the
// same types the loader decodes into, for editors (yaml-language-server)
// and other tools.
func Schema() ([]byte, error) {
	s := schemaReflector().Reflect(&Scenario{})
	closeVocabularies(s)
	describeRefs(s)
	s.ID = SchemaID
	s.Title = "egresslab scenario"
	s.Description = "A scenario: a lab (hosts, firewall, proxy), a directory, a Windows client profile, and what the run must give."
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// schemaReflector is Schema's reflector. Its descriptions are the Go doc
// comments of the types, from schemaDocs (schema_docs.go, written by go
// generate), since the binary has no source to read them from at run time.
func schemaReflector() *jsonschema.Reflector {
	r := &jsonschema.Reflector{
		CommentMap:                 schemaDocs,
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
		// Types of different packages share names (mock.User and
		// proxy.User): definitions are named with their package.
		Namer: func(t reflect.Type) string {
			pkg := t.PkgPath()
			if i := strings.LastIndex(pkg, "/"); i >= 0 {
				pkg = pkg[i+1:]
			}
			if pkg == "" {
				return t.Name()
			}
			return strings.ToUpper(pkg[:1]) + pkg[1:] + t.Name()
		},
	}
	// A mapped type is not reflected, so its doc comment is looked up
	// here. A field's tags then clear Description, so it is kept in
	// $comment, which describeRefs moves to Description.
	r.Mapper = func(t reflect.Type) *jsonschema.Schema {
		m := mapType(t)
		if m == nil {
			return nil
		}
		m.Comments, m.Description = m.Description, ""
		if m.Comments == "" && r.LookupComment != nil {
			m.Comments = r.LookupComment(t, "")
		}
		if m.Comments == "" {
			m.Comments = r.CommentMap[t.PkgPath()+"."+t.Name()]
		}
		return m
	}
	return r
}

func enumValues[T ~string](vals []T) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

// mapType gives the types that YAML writes as strings their string form,
// and the closed vocabularies their values.
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeOf(time.Duration(0)), reflect.TypeOf(fault.Duration(0)):
		return &jsonschema.Schema{Type: "string", Pattern: `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, Description: "a duration: 150ms, 2s, 1m"}
	case reflect.TypeOf(pki.Fault("")):
		var fs []pki.Fault
		for _, f := range pki.Faults() {
			if f != pki.NoFault {
				fs = append(fs, f)
			}
		}
		return &jsonschema.Schema{Type: "string", Enum: append(enumValues(fs), "none", "")}
	case reflect.TypeOf(proxy.Action("")):
		return &jsonschema.Schema{Type: "string", Enum: enumValues([]proxy.Action{proxy.Allow, proxy.Deny, proxy.Authenticate, proxy.Continue, proxy.Challenge, proxy.Fault, proxy.Intercept})}
	case reflect.TypeOf(client.Outcome("")):
		return &jsonschema.Schema{Type: "string", Enum: enumValues(client.Outcomes())}
	case reflect.TypeOf(client.Cause("")):
		return &jsonschema.Schema{Type: "string", Enum: enumValues(client.Causes())}
	case reflect.TypeOf(client.Step("")):
		return &jsonschema.Schema{Type: "string", Enum: enumValues(steps)}
	case reflect.TypeOf(client.OS("")):
		return &jsonschema.Schema{Type: "string", Enum: enumValues(client.OSes())}
	case reflect.TypeOf(client.Account("")):
		return &jsonschema.Schema{Type: "string", Enum: enumValues([]client.Account{client.AccountUser, client.AccountDefaultUser1})}
	case reflect.TypeOf(client.Revocation("")):
		return &jsonschema.Schema{Type: "string", Enum: enumValues([]client.Revocation{client.RevocationOff, client.RevocationSoftFail, client.RevocationHardFail})}
	}
	return nil
}

// tlsVersionPattern is what proxy.TLSPolicy's Min and Max read: "1.0"
// to "1.3", with an optional "TLS" or "TLSv" prefix.
const tlsVersionPattern = `^ *([Tt][Ll][Ss][Vv]?)? *1[.][0-3] *$`

// rangeVersions are the TLS versions a min or max names.
var rangeVersions = []string{"1.0", "1.1", "1.2", "1.3"}

// tlsVersionSchema is a min or max: one of rangeVersions (which an editor
// offers), or another spelling that the loader reads ("TLS1.2").
func tlsVersionSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Description: `a TLS version: "1.0", "1.1", "1.2" or "1.3" (quoted)`,
		AnyOf: []*jsonschema.Schema{
			{Enum: enumValues(rangeVersions)},
			{Pattern: tlsVersionPattern},
		},
	}
}

// closeVocabularies gives the schema the closed sets of values that the
// loader checks in fields whose Go type is a plain string: the lab's host
// names (lab.hosts' keys, lab.firewall.allow, expect.host), a host's key
// type, the client's cipher suites, and the TLS versions of every min and
// max and the cipher suites of an intercept rule's TLS policies.
func closeVocabularies(s *jsonschema.Schema) {
	prop := func(def, name string) *jsonschema.Schema {
		if d, ok := s.Definitions[def]; ok && d.Properties != nil {
			if v, ok := d.Properties.Get(name); ok {
				return v
			}
		}
		return nil
	}
	if v := prop("ScenariosLab", "hosts"); v != nil {
		// The lab's TLS hosts, or a host of one's own by any name: the
		// enum is what an editor offers.
		v.PropertyNames = &jsonschema.Schema{Type: "string", AnyOf: []*jsonschema.Schema{
			{Enum: enumValues(harness.TLSHosts)},
			{Pattern: hostRe.String(), Not: &jsonschema.Schema{Enum: enumValues(harness.PlainHosts)},
				Description: "a host of one's own (it needs a response)"},
		}}
	}
	if v := prop("HarnessFirewall", "allow"); v != nil && v.Items != nil {
		v.Items.AnyOf = []*jsonschema.Schema{
			{Enum: enumValues(harness.HostPorts())},
			{Pattern: `^[a-z0-9.-]+:[0-9]+$`, Description: "a host of one's own (lab.hosts), host:port"},
		}
	}
	if v := prop("ScenariosExpect", "host"); v != nil {
		// The proxy's name is lab.proxy.address's host, which may be
		// any: the enum is what an editor offers, not all it accepts.
		proxyHost, _, _ := net.SplitHostPort(harness.DefaultProxyAddr)
		v.AnyOf = []*jsonschema.Schema{
			{Enum: enumValues(append(slices.Clone(labHosts), proxyHost))},
			{Description: "the proxy's host name, when lab.proxy.address names another"},
		}
	}
	if v := prop("ScenariosHost", "keyType"); v != nil {
		v.Enum = enumValues(keyTypeNames)
	}
	if v := prop("ClientTLSSettings", "cipherSuites"); v != nil && v.Items != nil {
		v.Items.Enum = enumValues(client.CipherSuiteNames())
	}
	for _, def := range []string{"ScenariosTLSRange", "ClientTLSSettings", "ProxyTLSPolicy"} {
		for _, f := range []string{"min", "max"} {
			if v := prop(def, f); v != nil {
				t := tlsVersionSchema()
				if v.Description != "" {
					t.Description = v.Description
				}
				*v = *t
			}
		}
	}
	if v := prop("ProxyTLSPolicy", "cipherSuites"); v != nil && v.Items != nil {
		v.Items.Enum = enumValues(proxy.CipherSuiteNames())
	}
	for _, def := range []string{"ProxyRule", "ProxyConditions"} {
		if v := prop(def, "portRanges"); v != nil && v.Items != nil {
			v.Items.Pattern = `^ *[0-9]+ *(- *[0-9]+ *)?$`
		}
		if v := prop(def, "ports"); v != nil && v.Items != nil {
			v.Items.Minimum, v.Items.Maximum = json.Number("1"), json.Number("65535")
		}
	}
}

// describeRefs gives a property that has no description of its own (its
// field has no doc comment) the description of the type it refers to, or
// of its items' or values' type, so that an editor's hover help shows it
// on the property itself. A mapped type's description, kept in $comment
// (see schemaReflector), becomes its description.
func describeRefs(s *jsonschema.Schema) {
	defOf := func(p *jsonschema.Schema) string {
		for p != nil {
			if p.Ref != "" {
				if d, ok := s.Definitions[strings.TrimPrefix(p.Ref, "#/$defs/")]; ok {
					return d.Description
				}
				return ""
			}
			switch {
			case p.Items != nil:
				p = p.Items
			case p.AdditionalProperties != nil:
				p = p.AdditionalProperties
			default:
				return ""
			}
		}
		return ""
	}
	fill := func(d *jsonschema.Schema) {
		if d.Properties == nil {
			return
		}
		for pair := d.Properties.Oldest(); pair != nil; pair = pair.Next() {
			p := pair.Value
			for _, m := range []*jsonschema.Schema{p, p.Items, p.AdditionalProperties} {
				if m != nil && m.Comments != "" {
					if m.Description == "" {
						m.Description = m.Comments
					}
					m.Comments = ""
				}
			}
			if p.Description == "" {
				p.Description = defOf(p)
			}
			if p.Description == "" && p.Items != nil {
				p.Description = p.Items.Description
			}
		}
	}
	fill(s)
	for _, d := range s.Definitions {
		fill(d)
	}
}

// compiledSchema is Schema, compiled once.
var compiledSchema = sync.OnceValues(func() (*sjs.Schema, error) {
	raw, err := Schema()
	if err != nil {
		return nil, err
	}
	return schemacompile.Compile(SchemaID, raw)
})

// ValidateSchema checks a scenario file (YAML or JSON) against Schema, as
// an editor would. It is not needed to load a file (Parse is stricter);
// it proves that the published schema and the loader agree.
func ValidateSchema(file string, data []byte) error {
	sch, err := compiledSchema()
	if err != nil {
		return err
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	// Through JSON, so that the validator sees JSON's types.
	j, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	inst, err := sjs.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s: %s", file, strings.TrimSpace(err.Error()))
	}
	return nil
}
