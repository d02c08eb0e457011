package scenarios

import (
	"path/filepath"
	"strings"

	"github.com/egresslab/egresslab/internal/yamlfile"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/squidconf"
)

// ProxyFromSquid reads the squid.conf at path and returns the lab proxy
// it describes: its http_access lines as rules (each with its line), the
// schemes of its auth_param lines, and the directives it did not import
// (warnings; strict makes them errors). The proxy has no users: a
// scenario names the accounts under lab.proxy.auth.users.
func ProxyFromSquid(path string, strict bool) (*Proxy, []squidconf.Directive, error) {
	cfg, err := squidconf.Read(path)
	if err != nil {
		return nil, nil, err
	}
	pol, err := squidconf.Translate(cfg, strict)
	if err != nil {
		return nil, nil, err
	}
	px := &Proxy{Rules: pol.Rules}
	if len(pol.Schemes) > 0 {
		px.Auth = &proxy.Auth{Schemes: pol.Schemes, Realm: pol.Realm}
	}
	return px, pol.NotImported, nil
}

// loadSquidConf replaces lab.proxy.squidConf by the policy it names,
// read relative to the scenario file. The rules and default come only
// from the squid.conf; auth.users and the proxy's address stay the
// scenario's.
func (s *Scenario) loadSquidConf(file string) ([]*yamlfile.FieldError, *yamlfile.FieldError) {
	px := s.Lab.Proxy
	if px == nil || px.SquidConf == "" {
		return nil, nil
	}
	const field = "lab.proxy.squidConf"
	switch {
	case len(px.Rules) > 0:
		return nil, yamlfile.Field(field, "the rules come from %s: leave lab.proxy.rules out", px.SquidConf)
	case px.Default != "":
		return nil, yamlfile.Field(field, "the default comes from %s (the opposite of its last http_access line): leave lab.proxy.default out", px.SquidConf)
	case px.Auth != nil && len(px.Auth.Schemes) > 0:
		return nil, yamlfile.Field(field, "the schemes come from %s's auth_param lines: leave lab.proxy.auth.schemes out", px.SquidConf)
	case strings.HasPrefix(file, "catalog:"):
		return nil, yamlfile.Field(field, "a built-in scenario cannot name a file")
	}
	path := px.SquidConf
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(file), path)
	}
	got, notImported, err := ProxyFromSquid(path, false)
	if err != nil {
		return nil, yamlfile.Field(field, "%v", err)
	}
	px.Rules = got.Rules
	if got.Auth != nil {
		if px.Auth == nil {
			px.Auth = &proxy.Auth{}
		}
		px.Auth.Schemes, px.Auth.Realm = got.Auth.Schemes, got.Auth.Realm
	}
	px.squidSource, px.SquidConf = px.SquidConf, ""
	var warnings []*yamlfile.FieldError
	for _, d := range notImported {
		warnings = append(warnings, yamlfile.Field(field, "%s: not imported", d))
	}
	return warnings, nil
}
