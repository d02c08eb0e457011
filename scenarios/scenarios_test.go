package scenarios_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/scenarios"
)

// TestCatalogPasses runs every built-in scenario, each in its own lab.
func TestCatalogPasses(t *testing.T) {
	t.Parallel()
	cat, err := scenarios.Catalog()
	require.NoError(t, err)
	reports := scenarios.RunAll(context.Background(), cat, scenarios.Options{})
	require.Len(t, reports, len(cat))
	for _, r := range reports {
		var b strings.Builder
		require.NoError(t, scenarios.WriteText(&b, []*scenarios.Report{r}, scenarios.Summarize([]*scenarios.Report{r}, 0), false))
		assert.True(t, r.Passed, "%s", b.String())
	}
}

// TestCatalogCovers: the catalog reproduces every documented cause and
// proves every documented remedy; each file validates against the
// published schema.
func TestCatalogCovers(t *testing.T) {
	t.Parallel()
	cat, err := scenarios.Catalog()
	require.NoError(t, err)
	causes := map[client.Cause]bool{}
	names := map[string]bool{}
	for _, sc := range cat {
		causes[sc.Expect.Cause] = true
		names[sc.Name] = true
		data, err := scenarios.CatalogFile(sc.Name)
		require.NoError(t, err)
		assert.NoError(t, scenarios.ValidateSchema(sc.File, data))
		assert.NotEmpty(t, sc.Reference, sc.Name)
	}
	for _, c := range []client.Cause{
		client.CauseProxyAuthRequired, client.CauseDirectEgressBlocked, client.CauseProxyDenied,
		client.CauseConnectionReset, client.CauseInterrupted, client.CauseCertUntrusted, client.CauseRevocationOffline,
		client.CauseTLSVersion, client.CauseCertExpired, client.CauseCertNotYetValid, client.CauseCertHostname,
		client.CauseCertRevoked, client.CauseTimeout, client.CauseProxyError, client.CauseMalformedResponse,
		client.CauseProxyUnreachable, client.CauseServiceError,
		client.CauseProxyDNSFailure, client.CauseProxyConnectFailed, client.CauseProxyTimeout, client.CauseInspection,
		client.CauseTenantDisabled, client.CauseWritebackDisabled, client.CauseNoPolicy, client.CauseUserNotLicensed,
		client.CauseNotInGroup, client.CauseNotRegistered, client.CauseOnPremAdminAction, client.CauseOnPremConnectivity,
		client.CauseThrottled, client.CauseWeakPassword, client.CauseUserNotFound, client.CauseTLSHandshake,
	} {
		assert.True(t, causes[c], "no catalog scenario for cause %s", c)
	}
	// Each remedy and control succeeds, and says how.
	for n, how := range map[string]func(*scenarios.Scenario) bool{
		"remedy-per-machine-proxy-auth-exemption": func(s *scenarios.Scenario) bool { return s.Expect.ProxySource == "per-machine" },
		"remedy-default-profile-template":         func(s *scenarios.Scenario) bool { return s.Expect.ProxySource == "default-profile" },
		"remedy-inspection-exclusions":            func(s *scenarios.Scenario) bool { return len(s.Expect.Proxy) > 0 },
		"remedy-default-secure-protocols":         func(s *scenarios.Scenario) bool { return s.Expect.TLSVersion == "TLS 1.2" },
		"remedy-firewall-allow-list":              func(s *scenarios.Scenario) bool { return s.Expect.ProxySource == "none" },
		"ocsp-blocked-soft-fail":                  func(s *scenarios.Scenario) bool { return s.Expect.Warnings != nil && *s.Expect.Warnings == 4 }, // each host's certificate and its issuing CA's
		"ocsp-blocked-crl-allowed":                func(s *scenarios.Scenario) bool { return s.Expect.RevocationSource == client.SourceCRL },
		"happy-one-gate":                          func(s *scenarios.Scenario) bool { return len(s.Expect.Methods) == 1 },
		"happy-two-gates":                         func(s *scenarios.Scenario) bool { return len(s.Expect.Methods) == 2 },
		"signed-in-user-ntlm":                     func(s *scenarios.Scenario) bool { return s.Expect.ProxyAuth != "" },
		"cipher-suites-rsa-only-vs-rsa":           func(s *scenarios.Scenario) bool { return s.Expect.TLSVersion == "TLS 1.2" },
	} {
		var sc *scenarios.Scenario
		for _, c := range cat {
			if c.Name == n {
				sc = c
			}
		}
		if assert.NotNil(t, sc, "no catalog scenario %s", n) {
			assert.Equal(t, client.OutcomeSuccess, sc.Expect.Outcome, n)
			assert.True(t, how(sc), "%s does not say how it succeeds", n)
		}
	}
	for _, n := range []string{"proxy-auth-basic-defaultuser1", "proxy-auth-ntlm-defaultuser1", "sms-throttled",
		"security-questions-throttled", "windows7-authenticator-only", "app-only", "user-disabled", "service-stall",
		"cipher-suites-rsa-only-vs-ecdsa", "crl-behind-proxy-auth", "cert-revoked-in-crl", "cert-revoked-intermediate"} {
		assert.True(t, names[n], "no catalog scenario %s", n)
	}
}

const good = `name: example
description: an example
reference: test
client:
  os: windows10
  account: defaultuser1
  userId: adele@contoso.com
  newPassword: Vq7#Lmz2!Rtx
expect:
  outcome: success
`

// TestParseErrors: unknown fields, wrong types and bad values are errors
// that name the file, the line and the field, and the schema refuses the
// structural ones too.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		yaml   string
		want   string
		schema bool // the schema refuses it too
	}{
		"unknown top-level field": {good + "extra: 1\n", "s.yaml:11: extra: unknown field", true},
		"unknown client field":    {strings.Replace(good, "  os: windows10\n", "  os: windows10\n  colour: blue\n", 1), "s.yaml:6: client.colour: unknown field", true},
		"unknown proxy field":     {good + "lab:\n  proxy:\n    rulez: []\n", "s.yaml:13: lab.proxy.rulez: unknown field; did you mean rules?", true},
		"wrong type":              {strings.Replace(good, "  os: windows10\n", "  os: [windows10]\n", 1), "s.yaml:5: client.os: a list is not a string", true},
		"misspelt client field":   {strings.Replace(good, "account:", "acount:", 1), "client.acount: unknown field; did you mean account?", true},
		"number for a duration":   {strings.Replace(good, "  newPassword", "  timeouts:\n    connect: 5\n  newPassword", 1), "s.yaml:9: client.timeouts.connect: 5 is not a duration (want e.g. 2s)", false},
		"unknown tag":             {strings.Replace(good, "name: example", "name: !!python/object:os.system example", 1), "s.yaml:1: name: unknown tag !!python/object:os.system", false},
		// The list item's second key is indented one space short: the
		// decoder blames the line after expect, not the offending one.
		"expect.proxy item indented wrongly": {strings.Replace(good, "outcome: success\n", "outcome: success\n  proxy:\n    - target: a.example:443\n      action: deny\n     rule: x\n", 1),
			"s.yaml:14:6: did not find expected '-' indicator", false},
		"misspelt expect.host": {strings.Replace(good, "outcome: success", "outcome: blocked\n  host: passwordreset.microsoftonline.co", 1),
			`s.yaml:11: expect.host: unknown host "passwordreset.microsoftonline.co": want one of passwordreset.microsoftonline.com, ajax.aspnetcdn.com, ocsp.digicert.com, crl3.digicert.com, crl4.digicert.com, proxy.corp.example (did you mean "passwordreset.microsoftonline.com"?)`, false},
		"misspelt unresolvable host": {good + "lab:\n  proxy:\n    unresolvable: [ajax.aspnetcnd.com]\n",
			`s.yaml:13: lab.proxy.unresolvable[0]: unknown host "ajax.aspnetcnd.com": want one of passwordreset.microsoftonline.com, ajax.aspnetcdn.com, ocsp.digicert.com, crl3.digicert.com, crl4.digicert.com (did you mean "ajax.aspnetcdn.com"?)`, false},
		"misspelt journal target": {strings.Replace(good, "outcome: success", "outcome: success\n  proxy:\n    - {target: \"osp.digicert.com:80\", status: 403}", 1) + "lab:\n  proxy: {}\n",
			`s.yaml:12: expect.proxy[0].target: "osp.digicert.com:80": unknown host "osp.digicert.com": want one of passwordreset.microsoftonline.com, ajax.aspnetcdn.com, ocsp.digicert.com, crl3.digicert.com, crl4.digicert.com (did you mean "ocsp.digicert.com"?)`, false},
		"bad OS":      {strings.Replace(good, "windows10", "windows95", 1), `s.yaml:5: client.os: unknown OS "windows95"`, true},
		"bad outcome": {strings.Replace(good, "outcome: success", "outcome: fine", 1), `s.yaml:10: expect.outcome: "fine"`, true},
		"bad cause":   {strings.Replace(good, "outcome: success", "outcome: blocked\n  cause: gremlins", 1), `s.yaml:11: expect.cause: unknown cause "gremlins": want one of SSPR_0009, SSPR_0010,`, true},
		// An enumeration's error lists its values and suggests the nearest.
		"misspelt cause": {strings.Replace(good, "outcome: success", "outcome: blocked\n  cause: timout", 1),
			`s.yaml:11: expect.cause: unknown cause "timout": want one of SSPR_0009, SSPR_0010, `, true}, // ...every cause, then the suggestion:
		"misspelt cause, suggestion": {strings.Replace(good, "outcome: success", "outcome: blocked\n  cause: timout", 1),
			`weak-password (did you mean "timeout"?)`, true},
		"misspelt outcome":                   {strings.Replace(good, "outcome: success", "outcome: sucess", 1), `s.yaml:10: expect.outcome: "sucess": want one of success, something-went-wrong, contact-admin, not-enabled, could-not-verify, blocked, weak-password (did you mean "success"?)`, true},
		"misspelt step":                      {strings.Replace(good, "outcome: success", "outcome: blocked\n  step: capcha", 1), `s.yaml:11: expect.step: "capcha": want one of page, cdn, revocation, captcha, begin, verify, password, done (did you mean "captcha"?)`, true},
		"misspelt proxy source":              {strings.Replace(good, "outcome: success", "outcome: success\n  proxySource: per-machin", 1), `s.yaml:11: expect.proxySource: "per-machin": want one of per-machine, per-user, default-profile, winhttp, none (did you mean "per-machine"?)`, true},
		"misspelt proxy auth":                {strings.Replace(good, "outcome: success", "outcome: success\n  proxyAuth: ntml", 1), `s.yaml:11: expect.proxyAuth: "ntml": want one of negotiate, ntlm, basic, none (did you mean "ntlm"?)`, true},
		"misspelt TLS version":               {strings.Replace(good, "outcome: success", "outcome: success\n  tlsVersion: TLS1.2", 1), `s.yaml:11: expect.tlsVersion: "TLS1.2": want one of TLS 1.0, TLS 1.1, TLS 1.2, TLS 1.3 (did you mean "TLS 1.2"?)`, true},
		"misspelt revocation source":         {strings.Replace(good, "outcome: success", "outcome: success\n  revocationSource: crls", 1), `s.yaml:11: expect.revocationSource: "crls": want one of ocsp, crl, none (did you mean "crl"?)`, true},
		"misspelt OS":                        {strings.Replace(good, "windows10", "windows-10", 1), `s.yaml:5: client.os: unknown OS "windows-10": want one of windows7, windows8.1, windows10, windows11 (did you mean "windows10"?)`, true},
		"misspelt account":                   {strings.Replace(good, "account: defaultuser1", "account: defaultuser", 1), `client.account: unknown account "defaultuser": want one of user, defaultuser1 (did you mean "defaultuser1"?)`, true},
		"misspelt certificate":               {good + "lab:\n  hosts:\n    ajax.aspnetcdn.com: {certificate: expird}\n", `s.yaml:13: unknown certificate fault "expird": want one of none, expired, not-yet-valid, wrong-host, self-signed, untrusted-root, revoked, revoked-intermediate (did you mean "expired"?)`, true},
		"misspelt rule action":               {good + "lab:\n  proxy:\n    rules:\n      - {action: alow}\n", `s.yaml:14: lab.proxy.rules[0].action: unknown action "alow": want one of allow, deny, authenticate, fault, intercept (did you mean "allow"?)`, true},
		"misspelt service step":              {good + "lab:\n  service:\n    faults:\n      bgein: {status: 503}\n", `s.yaml:14: lab.service.faults.bgein: unknown step "bgein": want one of page, captcha, begin, send, verify, password (did you mean "begin"?)`, false},
		"success with a cause":               {strings.Replace(good, "outcome: success", "outcome: success\n  cause: timeout", 1), "s.yaml:11: expect.cause: a success has no cause", false},
		"no name":                            {strings.Replace(good, "name: example\n", "", 1), "s.yaml:1: name: required", true},
		"bad name":                           {strings.Replace(good, "name: example", "name: Example One", 1), `s.yaml:1: name: "Example One"`, true},
		"own host without a response":        {good + "lab:\n  hosts:\n    example.com: {certificate: expired}\n", `s.yaml:13: lab.hosts["example.com"].response: required for a host of one's own`, false},
		"misspelt lab host":                  {good + "lab:\n  hosts:\n    ajax.aspnetcdn.co: {certificate: expired}\n", `required for a host of one's own (or did you mean the lab's "ajax.aspnetcdn.com"?)`, false},
		"own host not a name":                {good + "lab:\n  hosts:\n    Bad_Host: {response: {body: x}}\n", `lab.hosts["Bad_Host"]: "Bad_Host": want a host name in lower case`, false},
		"own plain host with TLS":            {good + "lab:\n  hosts:\n    status.example: {plain: true, certificate: expired, response: {body: x}}\n", `lab.hosts["status.example"].plain: a plain-HTTP host has no tls, certificate or keyType`, false},
		"own host bad status":                {good + "lab:\n  hosts:\n    api.example: {response: {status: 700}}\n", `lab.hosts["api.example"].response.status: 700: want 100 to 599`, false},
		"own host named like the proxy":      {good + "lab:\n  hosts:\n    proxy.corp.example: {response: {body: x}}\n  proxy: {default: allow}\n", `lab.hosts["proxy.corp.example"]: proxy.corp.example is the proxy's name (lab.proxy.address)`, false},
		"response on a lab host":             {good + "lab:\n  hosts:\n    ajax.aspnetcdn.com: {response: {body: x}}\n", `lab.hosts["ajax.aspnetcdn.com"]: the lab's own host: response, port and plain are for hosts of one's own`, false},
		"bad certificate fault":              {good + "lab:\n  hosts:\n    ajax.aspnetcdn.com: {certificate: rusty}\n", `s.yaml:13`, true},
		"bad TLS range, second host":         {good + "lab:\n  hosts:\n    passwordreset.microsoftonline.com: {certificate: expired}\n    ajax.aspnetcdn.com: {tls: {min: \"1.3\", max: \"1.0\"}}\n", `s.yaml:14: lab.hosts["ajax.aspnetcdn.com"].tls: TLS range: min 1.3 is above max 1.0`, false},
		"firewall naming no lab host":        {good + "lab:\n  firewall: {allow: [\"example.com:443\"]}\n", `s.yaml:12: lab.firewall.allow[0]: "example.com:443" names no host of the lab`, false},
		"proxy taking a lab host's name":     {good + "lab:\n  proxy: {address: \"ajax.aspnetcdn.com:443\"}\n", `s.yaml:12: lab.proxy.address: "ajax.aspnetcdn.com:443" is one of the lab's hosts`, false},
		"default authenticate without users": {good + "lab:\n  proxy: {default: authenticate}\n", "s.yaml:12: lab.proxy.default: authenticates, but lab.proxy.auth has no users", false},
		"default intercept":                  {good + "lab:\n  proxy: {default: intercept}\n", `s.yaml:12: lab.proxy.default: "intercept": want one of allow, deny, authenticate`, true},
		"redacted answer":                    {good + "directory:\n  tenants: [{id: t, domains: [t.example], sspr: all, gates: 1}]\n  users: [{upn: u@t.example, methods: {securityQuestions: [{question: q, answer: \"(redacted)\"}]}}]\n", "s.yaml:13: directory.users[0].methods.securityQuestions[0].answer", false},
		"unknown client type":                {strings.Replace(good, "  newPassword", "  clientType: toaster\n  newPassword", 1), `s.yaml:8: client.clientType: unknown client type "toaster": want one of windows-logon, windows7-addin, browser`, false},
		"success not at done":                {strings.Replace(good, "outcome: success", "outcome: success\n  step: page", 1), "s.yaml:11: expect.step: a success ends at step done", false},
		"runs out of range":                  {strings.Replace(good, "  newPassword", "  runs: 50\n  newPassword", 1), "s.yaml:8: client.runs: 50: want 1 to 20", true},
		"client without os":                  {strings.Replace(good, "  os: windows10\n", "", 1), "client.os: unknown OS", true},
		"bad rule":                           {good + "lab:\n  proxy:\n    rules:\n      - {action: teleport}\n", "s.yaml:14: lab.proxy.rules[0]", true},
		"auth without users":                 {good + "lab:\n  proxy:\n    rules:\n      - {action: authenticate}\n", "s.yaml:14: lab.proxy.rules[0].action: authenticates, but lab.proxy.auth has no users", false},
		"bad unresolvable name":              {good + "lab:\n  proxy:\n    unresolvable: [\"host:443\"]\n", `s.yaml:13: lab.proxy.unresolvable[0]: "host:443": want a host name`, false},
		"bad firewall entry":                 {good + "lab:\n  firewall: {allow: [portal]}\n", `s.yaml:12: lab.firewall.allow[0]: "portal": want host:port`, false},
		"bad service fault":                  {good + "lab:\n  service:\n    faults:\n      begin: {status: 200}\n", "s.yaml:14: lab.service.faults.begin: want status 500-599 or stall: true", false},
		"bad directory":                      {good + "directory:\n  tenants: [{id: t, domains: [t.example], sspr: sometimes}]\n  users: []\n", "s.yaml:12: directory.tenants[0].sspr", false},
		"bad proxy server":                   {strings.Replace(good, "  newPassword", "  proxy:\n    perUser: {server: \"http://proxy:port:x\"}\n  newPassword", 1), "s.yaml:9: client.proxy.perUser.server", false},
		"two documents":                      {good + "---\nname: b\n", "more than one YAML document", false},
		"trust interception without a proxy": {strings.Replace(good, "  newPassword", "  trustInterception: true\n  newPassword", 1), "client.trustInterception: the lab has no proxy", false},
		"bad TLS version of an intercept rule": {good + "lab:\n  proxy:\n    rules:\n      - {action: intercept, tls: {min: \"1.5\"}}\n",
			`s.yaml:14: lab.proxy.rules[0].tls.min: unknown TLS version "1.5" (want 1.0, 1.1, 1.2 or 1.3)`, true},
		"TLS version at its own line": {good + "lab:\n  proxy:\n    rules:\n      - name: old appliance\n        action: intercept\n        upstreamTLS:\n          min: \"1.0\"\n          max: \"TLS 1.4\"\n",
			`s.yaml:18: lab.proxy.rules[0].upstreamTLS.max: unknown TLS version "TLS 1.4"`, true},
		"unknown cipher suite": {good + "lab:\n  proxy:\n    rules:\n      - {action: intercept, upstreamTLS: {cipherSuites: [RC4-MD5]}}\n",
			`s.yaml:14: lab.proxy.rules[0].upstreamTLS.cipherSuites[0]: unknown cipher suite "RC4-MD5"`, true},
		"TLS 1.3 cipher suite": {good + "lab:\n  proxy:\n    rules:\n      - {action: intercept, tls: {cipherSuites: [TLS_AES_128_GCM_SHA256]}}\n",
			"lab.proxy.rules[0].tls.cipherSuites[0]: TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite", true},
		"TLS min above max": {good + "lab:\n  proxy:\n    rules:\n      - {action: intercept, tls: {min: \"1.3\", max: \"1.2\"}}\n",
			"lab.proxy.rules[0].tls.min: 1.3 is above max 1.2", false},
		"TLS policy of an allow rule": {good + "lab:\n  proxy:\n    rules:\n      - {action: allow, upstreamTLS: {min: \"1.2\"}}\n",
			"s.yaml:14: lab.proxy.rules[0].upstreamTLS: only intercept rules speak TLS themselves", false},
		"misspelt key type": {good + "lab:\n  hosts:\n    passwordreset.microsoftonline.com: {keyType: rsa-2084}\n",
			`s.yaml:13: lab.hosts["passwordreset.microsoftonline.com"].keyType: unknown key type "rsa-2084": want one of ecdsa-p256, rsa-2048 (did you mean "rsa-2048"?)`, true},
		"key type by its short form": {good + "lab:\n  hosts:\n    ajax.aspnetcdn.com: {keyType: rsa}\n",
			`s.yaml:13: lab.hosts["ajax.aspnetcdn.com"].keyType: unknown key type "rsa": want one of ecdsa-p256, rsa-2048`, true},
		"key type of no host of the lab": {good + "lab:\n  hosts:\n    ocsp.digicert.com: {keyType: rsa-2048}\n",
			`s.yaml:13: lab.hosts["ocsp.digicert.com"]: ocsp.digicert.com is one of the lab's plain-HTTP hosts`, true},
		"firewall allows no host of the lab": {good + "lab:\n  firewall:\n    allow: [evil.example:443]\n",
			`names no host of the lab`, false}, // the schema takes any host:port: one of one's own hosts
		"bad TLS version of a host": {good + "lab:\n  hosts:\n    ajax.aspnetcdn.com: {tls: {min: \"1.4\"}}\n",
			`unknown TLS version "1.4"`, true},
		"bad TLS version of the client": {strings.Replace(good, "  newPassword", "  tls: {max: \"1.4\"}\n  newPassword", 1),
			`client.tls`, true},
		"misspelt client cipher suite": {strings.Replace(good, "  newPassword", "  tls: {cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265]}\n  newPassword", 1),
			`s.yaml:8: client.tls.cipherSuites[0]: unknown cipher suite "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265": want one of TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, `, true},
		"misspelt client cipher suite, suggestion": {strings.Replace(good, "  newPassword", "  tls: {cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265]}\n  newPassword", 1),
			`TLS_RSA_WITH_AES_128_CBC_SHA (did you mean "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"?)`, true},
		"OpenSSL's name for a client cipher suite": {strings.Replace(good, "  newPassword", "  tls:\n    cipherSuites:\n      - TLS_RSA_WITH_AES_128_CBC_SHA\n      - ECDHE-RSA-AES128-GCM-SHA256\n  newPassword", 1),
			`s.yaml:11: client.tls.cipherSuites[1]: unknown cipher suite "ECDHE-RSA-AES128-GCM-SHA256"`, true},
		"TLS 1.3 suite for the client": {strings.Replace(good, "  newPassword", "  tls: {max: \"1.2\", cipherSuites: [TLS_AES_128_GCM_SHA256]}\n  newPassword", 1),
			`s.yaml:8: client.tls.cipherSuites[0]: "TLS_AES_128_GCM_SHA256" is a TLS 1.3 suite`, true},
		"client cipher suites with TLS 1.3": {strings.Replace(strings.Replace(good, "windows10", "windows11", 1), "  newPassword", "  tls: {cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]}\n  newPassword", 1),
			`s.yaml:8: client.tls.cipherSuites: set, but the client offers TLS 1.3`, false},
		"unknown TLS policy field": {good + "lab:\n  proxy:\n    rules:\n      - {action: intercept, tls: {minimum: \"1.2\"}}\n",
			"s.yaml:14: lab.proxy.rules[0].tls.minimum: unknown field", true},
		"bad user agent regex": {good + "lab:\n  proxy:\n    rules:\n      - name: revocation\n        action: allow\n        userAgents: [\"^Microsoft-CryptoAPI/\", \"(\"]\n",
			`s.yaml:16: lab.proxy.rules[0].userAgents[1]: bad regular expression "(": error parsing regexp: missing closing ): ` + "`(`", false},
		"bad header regex": {good + "lab:\n  proxy:\n    rules:\n      - action: allow\n        headers:\n          X-Client: [\"a)\"]\n",
			`s.yaml:16: lab.proxy.rules[0].headers["X-Client"][0]: bad regular expression "a)"`, false},
		"bad port range": {good + "lab:\n  proxy:\n    rules:\n      - action: deny\n        not:\n          portRanges: [\"65535-1025\"]\n",
			`s.yaml:16: lab.proxy.rules[0].not.portRanges[0]: "65535-1025": the range ends before it begins`, false},
		"port range of words": {good + "lab:\n  proxy:\n    rules:\n      - {action: deny, portRanges: [high]}\n",
			`s.yaml:14: lab.proxy.rules[0].portRanges[0]: "high": want a port range such as 1025-65535`, true},
		"range among ports": {good + "lab:\n  proxy:\n    rules:\n      - {action: deny, ports: [\"1025-65535\"]}\n",
			`s.yaml:14: lab.proxy.rules[0].ports[0]`, true},
		"bad src": {good + "lab:\n  proxy:\n    rules:\n      - action: deny\n        src:\n          - 10.0.0.0/8\n          - 10.1.0.0/33\n",
			`s.yaml:17: lab.proxy.rules[0].src[1]: bad CIDR prefix "10.1.0.0/33"`, false},
		"negated address": {good + "lab:\n  proxy:\n    rules:\n      - {action: deny, not: {hosts: [10.0.0.0/8]}}\n",
			`s.yaml:14: lab.proxy.rules[0].not.hosts[0]: "10.0.0.0/8" is an address pattern, which cannot be negated`, false},
		"unknown field under not": {good + "lab:\n  proxy:\n    rules:\n      - {action: deny, not: {port: [443]}}\n",
			"s.yaml:14: lab.proxy.rules[0].not.port: unknown field; did you mean ports?", true},
		"address in an and term": {good + "lab:\n  proxy:\n    rules:\n      - action: deny\n        and:\n          - {ports: [443]}\n          - {hosts: [192.0.2.0/24]}\n",
			`s.yaml:17: lab.proxy.rules[0].and[1].hosts[0]: "192.0.2.0/24" is an address pattern, which an and term cannot take`, false},
		"not nested": {good + "lab:\n  proxy:\n    rules:\n      - action: deny\n        not:\n          not: {ports: [443]}\n",
			"s.yaml:16: lab.proxy.rules[0].not.not: unknown field", true},
		"bad surrogate TTL": {good + "lab:\n  proxy:\n    auth:\n      users: [{name: a, password: b}]\n      surrogateTTL: 15 minutes\n",
			// A value's own UnmarshalText error is located by its line only.
			`s.yaml:15: duration "15 minutes": want a number with a unit, such as 150ms or 2s`, true},
		"kerberos-only without negotiate": {good + "lab:\n  proxy:\n    auth:\n      schemes: [ntlm]\n      kerberosOnly: true\n      users: [{name: a, password: b}]\n",
			"lab.proxy.auth: kerberosOnly: needs negotiate among the schemes", false},
		"before without surrogates": {strings.Replace(good, "  newPassword", "  before: {credentials: {username: a, password: b}}\n  newPassword", 1) + "lab:\n  proxy:\n    auth:\n      users: [{name: a, password: b}]\n",
			"s.yaml:8: client.before: only lab.proxy.auth.surrogateTTL lets an earlier session change the flow: set it", false},
		"client address not loopback": {strings.Replace(good, "  newPassword", "  address: 10.0.0.5\n  newPassword", 1) + "lab:\n  proxy: {}\n",
			"s.yaml:8: client.address: 10.0.0.5: want a loopback address, 127.0.0.1 to 127.255.255.254", false},
		"client address not an address": {strings.Replace(good, "  newPassword", "  address: workstation1\n  newPassword", 1) + "lab:\n  proxy: {}\n",
			`s.yaml:8: client.address: "workstation1" is not an IP address`, false},
		"client address without a proxy": {strings.Replace(good, "  newPassword", "  address: 127.0.0.2\n  newPassword", 1),
			"s.yaml:8: client.address: the lab has no proxy to see it", false},
		"before without credentials": {strings.Replace(good, "  newPassword", "  before: {ago: 5m}\n  newPassword", 1),
			"client.before.credentials.username: required", true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := scenarios.Parse("s.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.schema {
				assert.Error(t, scenarios.ValidateSchema("s.yaml", []byte(tc.yaml)), "the schema refuses it too")
			}
		})
	}
	_, err := scenarios.Parse("s.yaml", []byte(good))
	require.NoError(t, err)
	require.NoError(t, scenarios.ValidateSchema("s.yaml", []byte(good)))
}

// TestMismatchReport: a scenario whose expectation does not hold says what
// it wanted and what it got, with the proxy's decisions, in every format.
func TestMismatchReport(t *testing.T) {
	t.Parallel()
	sc, err := scenarios.Parse("wrong.yaml", []byte(`name: wrong
description: expects success where the proxy denies the CDN
reference: test
lab:
  proxy:
    rules:
      - {name: no cdn, hosts: [ajax.aspnetcdn.com], action: deny}
      - {action: allow}
client:
  os: windows10
  account: defaultuser1
  userId: adele@contoso.com
  newPassword: Vq7#Lmz2!Rtx
  proxy: {perMachine: {server: proxy.corp.example:3128}}
expect:
  outcome: success
  revocationSource: crl
  proxy:
    - {target: "ajax.aspnetcdn.com:80"}
`))
	require.NoError(t, err)
	reports := scenarios.RunAll(context.Background(), []*scenarios.Scenario{sc}, scenarios.Options{Parallel: 1})
	r := reports[0]
	require.False(t, r.Passed)
	require.Len(t, r.Mismatches, 4)
	assert.Equal(t, []scenarios.Mismatch{
		{Field: "outcome", Want: "success", Got: "something-went-wrong"},
		{Field: "cause", Want: "(none)", Got: "proxy-denied"},
		{Field: "revocationSource", Want: "crl", Got: "none"},
		{Field: "proxy[0]", Want: "{target=ajax.aspnetcdn.com:80}", Got: "no such decision among 2"},
	}, r.Mismatches)
	sum := scenarios.Summarize(reports, time.Second)
	assert.False(t, sum.OK())

	var text bytes.Buffer
	require.NoError(t, scenarios.WriteText(&text, reports, sum, false))
	for _, want := range []string{"FAIL  wrong", "outcome: want success, got something-went-wrong", "at step cdn",
		`CONNECT ajax.aspnetcdn.com:443`, `rule="no cdn" action=deny status=403 result=denied`, "remedy: Allow", "1 scenarios: 0 passed, 1 failed, 0 errors"} {
		assert.Contains(t, text.String(), want)
	}

	var js bytes.Buffer
	require.NoError(t, scenarios.WriteJSON(&js, reports, sum))
	var doc struct {
		Summary   struct{ Total, Failed int }
		Scenarios []struct {
			Name       string
			Passed     bool
			Mismatches []scenarios.Mismatch
			Result     struct{ Cause, Step string }
		}
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	assert.Equal(t, 1, doc.Summary.Failed)
	assert.Equal(t, "proxy-denied", doc.Scenarios[0].Result.Cause)
	assert.Equal(t, "cdn", doc.Scenarios[0].Result.Step)

	var ju bytes.Buffer
	require.NoError(t, scenarios.WriteJUnit(&ju, reports, sum))
	var suites struct {
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(ju.Bytes(), &suites))
	assert.Equal(t, 1, suites.Failures)
	require.NotNil(t, suites.Suites[0].Cases[0].Failure)
	assert.Contains(t, suites.Suites[0].Cases[0].Failure.Message, "outcome: want success, got something-went-wrong")
}

// TestRunAllCanceled: scenarios not yet started when the run is cancelled
// are reported as not run.
func TestRunAllCanceled(t *testing.T) {
	t.Parallel()
	cat, err := scenarios.Catalog()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	reports := scenarios.RunAll(ctx, cat[:3], scenarios.Options{Parallel: 1})
	for _, r := range reports {
		assert.False(t, r.Passed)
		assert.Empty(t, r.Error)
		assert.Equal(t, "not run: context canceled", r.NotRun)
	}
	sum := scenarios.Summarize(reports, 0)
	assert.Equal(t, scenarios.Summary{Total: 3, NotRun: 3}, sum)
	assert.False(t, sum.OK(), "a run that did not happen did not pass")
}

// cancelOnStall is a log handler that cancels the run once the lab's
// service holds a request with a stall fault: the scenario is under way.
type cancelOnStall struct{ cancel context.CancelCauseFunc }

func (h cancelOnStall) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelOnStall) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h cancelOnStall) WithGroup(string) slog.Handler            { return h }
func (h cancelOnStall) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if r.Message == "mock: injected fault" && a.Key == "stall" && a.Value.Bool() {
			h.cancel(errors.New("interrupt signal received"))
			return false
		}
		return true
	})
	return nil
}

// TestRunInterrupted: a scenario under way when the run is interrupted did
// not finish; it is reported so, in every format, and not as a failure of
// what it expected (service-stall expects a timeout, and would "get"
// canceled). Scenarios after it did not run.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	cat, err := scenarios.Catalog()
	require.NoError(t, err)
	var stall, after *scenarios.Scenario
	for _, sc := range cat {
		switch sc.Name {
		case "service-stall":
			s := *sc
			// Only the interruption ends this stall.
			s.Client.Timeouts.Request = time.Hour
			s.Client.Timeouts.Connect = time.Hour
			stall = &s
		case "happy-one-gate":
			after = sc
		}
	}
	require.NotNil(t, stall)
	require.NotNil(t, after)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	reports := scenarios.RunAll(ctx, []*scenarios.Scenario{stall, after},
		scenarios.Options{Parallel: 1, Logger: slog.New(cancelOnStall{cancel})})

	require.Len(t, reports, 2)
	assert.Equal(t, "did not finish: interrupt signal received", reports[0].NotRun)
	assert.Empty(t, reports[0].Mismatches)
	assert.Empty(t, reports[0].Error)
	assert.Equal(t, "not run: interrupt signal received", reports[1].NotRun)
	sum := scenarios.Summarize(reports, time.Second)
	assert.Equal(t, 2, sum.NotRun)
	assert.Zero(t, sum.Failed)
	assert.False(t, sum.OK())

	var text, js, ju bytes.Buffer
	require.NoError(t, scenarios.WriteText(&text, reports, sum, false))
	assert.Contains(t, text.String(), "SKIP  service-stall (")
	assert.Contains(t, text.String(), "): did not finish: interrupt signal received")
	assert.Contains(t, text.String(), "2 scenarios: 0 passed, 0 failed, 0 errors, 2 not run in 1s")
	assert.NotContains(t, text.String(), "FAIL")
	require.NoError(t, scenarios.WriteJSON(&js, reports, sum))
	assert.Contains(t, js.String(), `"notRun": "did not finish: interrupt signal received"`)
	assert.Contains(t, js.String(), `"notRun": 2`)
	require.NoError(t, scenarios.WriteJUnit(&ju, reports, sum))
	assert.Contains(t, ju.String(), `<testsuites tests="2" failures="0" errors="0" skipped="2"`)
	assert.Contains(t, ju.String(), `<skipped message="did not finish: interrupt signal received"></skipped>`)
	assert.Contains(t, ju.String(), `<skipped message="not run: interrupt signal received"></skipped>`)
	assert.NotContains(t, ju.String(), "<failure")
}

// TestRunValidates: a scenario built in Go is checked like a file.
func TestRunValidates(t *testing.T) {
	t.Parallel()
	r := scenarios.Run(context.Background(), &scenarios.Scenario{Name: "empty"}, nil)
	assert.False(t, r.Passed)
	assert.Contains(t, r.Error, "invalid scenario: description: required")
	assert.Nil(t, r.Result)

	// A report without a result reads in every format.
	reports := []*scenarios.Report{r}
	sum := scenarios.Summarize(reports, time.Second)
	assert.Equal(t, 1, sum.Errors)
	var text, js, ju bytes.Buffer
	require.NoError(t, scenarios.WriteText(&text, reports, sum, true))
	assert.Contains(t, text.String(), "ERROR empty")
	require.NoError(t, scenarios.WriteJSON(&js, reports, sum))
	assert.Contains(t, js.String(), `"errors": 1`)
	require.NoError(t, scenarios.WriteJUnit(&ju, reports, sum))
	assert.Contains(t, ju.String(), `<error message="invalid scenario: description: required`)
}

// TestResolve: files, directories and catalog names, and errors for each
// that is none of them.
func TestResolve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(good), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.yml"), []byte(strings.Replace(good, "name: example", "name: example-b", 1)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a scenario"), 0o644))

	all, err := scenarios.Resolve(nil)
	require.NoError(t, err)
	cat, err := scenarios.Catalog()
	require.NoError(t, err)
	assert.Len(t, all, len(cat))

	got, err := scenarios.Resolve([]string{dir, "cdn-blocked", filepath.Join(dir, "a.yaml")})
	require.NoError(t, err)
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"example", "example-b", "cdn-blocked"}, names, "a file named twice runs once")

	// Reports tell scenarios apart by name: two files of one name are
	// refused, naming both, and so is a file named as a built-in one.
	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, "again.yaml"), []byte(good), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(other, "cdn.yaml"), []byte(strings.Replace(good, "name: example", "name: cdn-blocked", 1)), 0o644))
	_, err = scenarios.Resolve([]string{dir, other, "cdn-blocked"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(other, "again.yaml")+`: name "example" is also the name of `+filepath.Join(dir, "a.yaml"))
	assert.Contains(t, err.Error(), `catalog:cdn-blocked: name "cdn-blocked" is also the name of `+filepath.Join(other, "cdn.yaml"))
	var dup *scenarios.DuplicateNameError
	require.ErrorAs(t, err, &dup)

	// The scenarios that did load come with the errors, the duplicates
	// left out; a report of them all says why nothing ran.
	valid, err := scenarios.Resolve([]string{dir, other, "no-such-thing"})
	require.Error(t, err)
	names = nil
	for _, s := range valid {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"example", "example-b", "cdn-blocked"}, names)
	reports := scenarios.InputReports(valid, err)
	require.Len(t, reports, 5)
	assert.Equal(t, "no-such-thing", reports[0].Name)
	assert.Equal(t, filepath.Join(other, "again.yaml"), reports[1].Name)
	assert.Equal(t, filepath.Join(other, "again.yaml"), reports[1].File)
	assert.Contains(t, reports[1].Error, `name "example" is also the name of`)
	for _, r := range reports[2:] {
		assert.Equal(t, "not run: other input is invalid", r.NotRun)
	}
	assert.Equal(t, scenarios.Summary{Total: 5, Errors: 2, NotRun: 3}, scenarios.Summarize(reports, 0))

	_, err = scenarios.Resolve([]string{"no-such-thing", t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no-such-thing: no such file, directory or built-in scenario")
	assert.Contains(t, err.Error(), "no *.yaml or *.yml scenario files")
}

func TestSchema(t *testing.T) {
	t.Parallel()
	raw, err := scenarios.Schema()
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, scenarios.SchemaID, doc["$id"])
	for _, want := range []string{`"proxy-auth-required"`, `"defaultuser1"`, `"windows8.1"`, `"intercept"`, `"trustInterception"`, `"additionalProperties": false`,
		`"upstreamTLS"`, `"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"`, `"keyType"`, `"rsa-2048"`, `"cipherSuites"`} {
		assert.Contains(t, string(raw), want)
	}
	// Every cause the client gives is in the schema's vocabulary.
	defs := doc["$defs"].(map[string]any)
	expect := defs["ScenariosExpect"].(map[string]any)["properties"].(map[string]any)
	var enum []string
	for _, v := range expect["cause"].(map[string]any)["enum"].([]any) {
		enum = append(enum, v.(string))
	}
	for _, c := range client.Causes() {
		assert.True(t, slices.Contains(enum, string(c)), "cause %s", c)
	}
}

// TestSchemaAgreesWithLoader: files the loader accepts, with every section
// (a directory included: mock.User and proxy.User must not be confused),
// pass the schema too.
func TestSchemaAgreesWithLoader(t *testing.T) {
	t.Parallel()
	full := `name: full
description: every section
reference: test
lab:
  hosts:
    passwordreset.microsoftonline.com: {tls: {min: "1.2", max: "1.3"}, certificate: none}
    ajax.aspnetcdn.com: {certificate: expired, keyType: rsa-2048}
  firewall: {direct: false, allow: ["ocsp.digicert.com:80"]}
  proxy:
    address: squid.example:8080
    auth: {schemes: [negotiate, ntlm, basic], domain: LAB, users: [{name: alice, password: x}], surrogateTTL: 15m, kerberosOnly: true}
    rules:
      - {name: r1, hosts: [".example.com"], ports: [443], methods: [CONNECT], schemes: [https], action: fault, fault: {kind: latency, delay: 150ms}}
      - {hosts: ["*"], action: intercept, auth: true, tls: {min: "1.0", max: "1.3", cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA]}, upstreamTLS: {min: "TLS 1.2"}}
      - name: squid line
        line: 42
        methods: [CONNECT]
        hostRegexes: ['^cdn[0-9]+\.']
        ports: [443]
        portRanges: ["1025-65535", "8443"]
        src: [10.0.0.0/8, 192.0.2.7]
        userAgents: ["(?i)^Microsoft-CryptoAPI/"]
        headers: {X-Client: ["^lab$"]}
        and: [{hosts: [a.example], ports: [443]}, {src: [10.1.0.0/16]}]
        not: {hosts: [".contoso.com"], hostRegexes: [x], ports: [8080], portRanges: ["1-1024"], methods: [GET], schemes: [http], src: [10.9.0.0/16], userAgents: [curl], headers: {Via: ["."]}}
        action: deny
    default: deny
  service:
    faults: {begin: {status: 503, times: 1}, verify: {stall: true}}
directory:
  tenants: [{id: t, name: T, domains: [t.example], sspr: all, gates: 1, writeback: on, bannedPasswords: [x]}]
  users:
    - upn: u@t.example
      displayName: U
      licensed: true
      methods:
        email: u@mail.example
        sms: "+1 555"
        securityQuestions: [{question: q, answer: a}]
        appCode: true
client:
  os: windows7
  account: user
  userId: u@t.example
  newPassword: Vq7#Lmz2!Rtx
  proxy:
    perUser: {server: "squid.example:8080", bypass: ["<local>", "*.corp.example"]}
    perMachine: {server: "http=squid.example:8080;https=squid.example:8080"}
    defaultProfile: {server: "http://squid.example:8080"}
    winhttp: {server: ""}
  credentials: {username: alice, domain: LAB, password: x, schemes: [ntlm]}
  tls: {defaultSecureProtocols: 0xA80, min: "1.0", max: "1.2", cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_128_CBC_SHA]}
  revocation: soft-fail
  methods: [email, sms]
  clientType: windows7-addin
  timeouts: {connect: 2s, request: 1m30s}
  trustInterception: true
  runs: 2
  before: {credentials: {username: alice, domain: LAB, password: x, schemes: [ntlm]}, ago: 20m, address: 127.0.0.3}
  address: 127.0.0.2
expect:
  outcome: something-went-wrong
  cause: certificate-expired
  step: cdn
  gate: 1
  host: ajax.aspnetcdn.com
  warnings: 0
  proxySource: per-machine
  proxyAuth: none
  methods: []
  tlsVersion: TLS 1.2
  proxy: [{target: "ajax.aspnetcdn.com:443", method: CONNECT, rule: r1, line: 42, action: intercept, status: 200, result: ok, user: alice, detail: x, surrogate: true}]
  audit: [{activity: a, result: Success, reason: r, clientType: browser}]
`
	_, err := scenarios.Parse("full.yaml", []byte(full))
	require.NoError(t, err)
	assert.NoError(t, scenarios.ValidateSchema("full.yaml", []byte(full)))
}

// TestInterceptionTLSScenarios: an intercept rule's TLS policies in
// scenario files, run: inspection that accepts TLS 1.0 rescues a Windows 7
// client, and an appliance that speaks only TLS 1.0 towards the service
// breaks a Windows 10 client.
func TestInterceptionTLSScenarios(t *testing.T) {
	t.Parallel()
	const lab = `lab:
  firewall: {direct: false}
  proxy:
    rules:
      - name: inspect
        hosts: [passwordreset.microsoftonline.com, ajax.aspnetcdn.com]
        action: intercept
%s      - {name: rest, action: allow}
client:
  os: %s
  account: defaultuser1
  userId: adele@contoso.com
  newPassword: Vq7#Lmz2!Rtx
  proxy: {perMachine: {server: proxy.corp.example:3128}}
  trustInterception: true
`
	tests := map[string]struct {
		policy, os, expect string
	}{
		"inspection rescues windows 7": {"", "windows7", `expect:
  outcome: success
  tlsVersion: TLS 1.0
  proxy:
    - {target: "passwordreset.microsoftonline.com:443", method: GET, rule: inspect, action: intercept, status: 200, result: ok}
`},
		"windows 7 refused by a strict inspection": {"        tls: {min: \"1.2\"}\n", "windows7", `expect:
  outcome: something-went-wrong
  cause: tls-version-unsupported
  step: page
`},
		"old appliance towards the service": {"        upstreamTLS: {max: \"1.0\"}\n", "windows10", `expect:
  outcome: something-went-wrong
  step: page
  proxy:
    - {target: "passwordreset.microsoftonline.com:443", rule: inspect, status: 502, result: upstream-error, detail: "protocol version not supported"}
`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			file := "name: tls-scenario\ndescription: " + name + "\nreference: test\n" + fmt.Sprintf(lab, tc.policy, tc.os) + tc.expect
			sc, err := scenarios.Parse("tls.yaml", []byte(file))
			require.NoError(t, err)
			require.NoError(t, scenarios.ValidateSchema("tls.yaml", []byte(file)))
			r := scenarios.Run(context.Background(), sc, nil)
			var b strings.Builder
			require.NoError(t, scenarios.WriteText(&b, []*scenarios.Report{r}, scenarios.Summarize([]*scenarios.Report{r}, 0), true))
			assert.True(t, r.Passed, "%s", b.String())
		})
	}
}

// BenchmarkCatalog runs the whole built-in catalog, each scenario in its
// own lab, as `egresslab run` does.
func BenchmarkCatalog(b *testing.B) {
	cat, err := scenarios.Catalog()
	require.NoError(b, err)
	for b.Loop() {
		for _, r := range scenarios.RunAll(context.Background(), cat, scenarios.Options{}) {
			if !r.Passed {
				b.Fatalf("%s: %v %s", r.Name, r.Mismatches, r.Error)
			}
		}
	}
}

// TestNewLabErrorsNameEachPartOnce: NewLab's error says what failed once
// per layer ("build the lab: proxy: ...", never "proxy: proxy: ...").
func TestNewLabErrorsNameEachPartOnce(t *testing.T) {
	t.Parallel()
	list, err := scenarios.Resolve([]string{"cdn-blocked"})
	require.NoError(t, err)
	lab, err := scenarios.NewLab(context.Background(), list[0], harness.WithProxy(proxy.WithAddr("10.0.0.1:0")))
	lab.Close()
	assert.EqualError(t, err, `build the lab: proxy: listen address "10.0.0.1:0": not a loopback address`)
}

// TestWarnings: a proxy rule's host that names none of the lab's hosts is
// a warning, located, with the nearest lab host; valid all the same.
// Patterns that match a lab host, any host or addresses warn of nothing.
func TestWarnings(t *testing.T) {
	t.Parallel()
	in := good + "lab:\n  proxy:\n    rules:\n      - hosts: [\"*\", .digicert.com, \"*.microsoftonline.com\", 10.0.0.0/8, 192.0.2.1, ajax.aspnetcdn.com]\n        action: allow\n      - hosts:\n          - example.com\n          - passwordreset.microsoftonline.co\n        action: deny\n"
	sc, err := scenarios.Parse("s.yaml", []byte(in))
	require.NoError(t, err)
	assert.Equal(t, []string{
		`s.yaml:17: warning: lab.proxy.rules[1].hosts[0]: "example.com" matches none of the lab's hosts (passwordreset.microsoftonline.com, ajax.aspnetcdn.com, ocsp.digicert.com, crl3.digicert.com, crl4.digicert.com)`,
		`s.yaml:18: warning: lab.proxy.rules[1].hosts[1]: "passwordreset.microsoftonline.co" matches none of the lab's hosts (passwordreset.microsoftonline.com, ajax.aspnetcdn.com, ocsp.digicert.com, crl3.digicert.com, crl4.digicert.com); did you mean "passwordreset.microsoftonline.com"?`,
	}, scenarios.Warnings(sc))
	sc, err = scenarios.Parse("s.yaml", []byte(good))
	require.NoError(t, err)
	assert.Empty(t, scenarios.Warnings(sc))
}

// TestAutoProxyWarnings: a PAC URL on a host the lab lacks, and automatic
// detection without a DNS suffix, are warnings; a bad proxyEntry is an
// error naming the field.
func TestAutoProxyWarnings(t *testing.T) {
	t.Parallel()
	in := `name: example
description: an example
reference: test
lab:
  hosts:
    pac.corp.example: {plain: true, response: {body: "function FindProxyForURL(u, h) { return 'DIRECT'; }"}}
client:
  os: windows10
  account: defaultuser1
  userId: adele@contoso.com
  newPassword: Vq7#Lmz2!Rtx
  proxy:
    defaultProfile: {autoConfigURL: "http://pac.corp.exmaple/x.pac", autoDetect: true}
    perMachine: {autoConfigURL: "http://pac.corp.example/x.pac"}
expect:
  outcome: success
  proxyEntry: direct
`
	sc, err := scenarios.Parse("s.yaml", []byte(in))
	require.NoError(t, err)
	require.NoError(t, sc.Validate())
	w := scenarios.Warnings(sc)
	require.Len(t, w, 2, "%q", w)
	assert.Contains(t, w[0], `s.yaml:13: warning: client.proxy.defaultProfile.autoConfigURL: "pac.corp.exmaple" is none of the lab's hosts`)
	assert.Contains(t, w[0], `did you mean "pac.corp.example"?`)
	assert.Contains(t, w[1], `client.proxy.defaultProfile.autoDetect: true, but the profile has no dnsSuffix`)

	_, err = scenarios.Parse("s.yaml", []byte(strings.Replace(in, "proxyEntry: direct", "proxyEntry: PROXY a:1; DIRECT", 1)))
	assert.ErrorContains(t, err, `s.yaml:17: expect.proxyEntry: "PROXY a:1; DIRECT": want one entry of a PAC result`)
}
