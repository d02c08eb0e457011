package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/invopop/jsonschema"
	sjs "github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/proxy/fault"
)

// SchemaID is the schema's $id.
const SchemaID = "https://egresslab.dev/schemas/scenario.json"

// Schema returns the JSON Schema of scenario files, generated from the
// same types the loader decodes into, for editors (yaml-language-server)
// and other tools.
func Schema() ([]byte, error) {
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
		Mapper:                     mapType,
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
	s := r.Reflect(&Scenario{})
	closeVocabularies(s)
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
		return &jsonschema.Schema{Type: "string", Enum: enumValues([]proxy.Action{proxy.Allow, proxy.Deny, proxy.Authenticate, proxy.Fault, proxy.Intercept})}
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

// closeVocabularies gives the schema the closed sets of values that the
// loader checks in fields whose Go type is a plain string: a host's key
// type, the client's cipher suites, and the TLS versions and cipher
// suites of an intercept rule's TLS policies.
func closeVocabularies(s *jsonschema.Schema) {
	if h, ok := s.Definitions["ScenariosHost"]; ok && h.Properties != nil {
		if v, ok := h.Properties.Get("keyType"); ok {
			v.Enum = enumValues(keyTypeNames)
		}
	}
	if ts, ok := s.Definitions["ClientTLSSettings"]; ok && ts.Properties != nil {
		if v, ok := ts.Properties.Get("cipherSuites"); ok && v.Items != nil {
			v.Items.Enum = enumValues(client.CipherSuiteNames())
		}
	}
	tp, ok := s.Definitions["ProxyTLSPolicy"]
	if !ok || tp.Properties == nil {
		return
	}
	for _, f := range []string{"min", "max"} {
		if v, ok := tp.Properties.Get(f); ok {
			v.Pattern = tlsVersionPattern
			v.Description = `a TLS version: "1.0", "1.1", "1.2" or "1.3" (quoted)`
		}
	}
	if v, ok := tp.Properties.Get("cipherSuites"); ok && v.Items != nil {
		v.Items.Enum = enumValues(proxy.CipherSuiteNames())
	}
}

// compiledSchema is Schema, compiled once.
var compiledSchema = sync.OnceValues(func() (*sjs.Schema, error) {
	raw, err := Schema()
	if err != nil {
		return nil, err
	}
	doc, err := sjs.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	c := sjs.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return sch, nil
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
