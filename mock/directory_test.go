package mock_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

func TestLoadDirectory(t *testing.T) {
	t.Parallel()
	d, err := mock.LoadDirectoryFile("testdata/directory.yaml")
	require.NoError(t, err)
	assert.Len(t, d.Tenants, 7)
	var adele *mock.User
	for i := range d.Users {
		if d.Users[i].UPN == "adele@contoso.com" {
			adele = &d.Users[i]
		}
	}
	require.NotNil(t, adele)
	assert.Equal(t, "contoso", adele.Tenant, "the tenant follows from the UPN's domain")
	assert.Equal(t, mock.PasswordCloud, adele.PasswordSource)
	assert.True(t, adele.IsEnabled() && adele.IsLicensed() && adele.IsInEnabledGroup(), "defaults are true")
	assert.Equal(t, []mock.Method{mock.MethodEmail, mock.MethodSMS, mock.MethodVoice}, adele.Registered())

	json := `{"tenants": [{"id": "t", "domains": ["T.example"], "sspr": "all", "gates": 1}],
	          "users": [{"upn": "A@t.example", "methods": {"email": "a@mail.example"}}]}`
	d, err = mock.ParseDirectory("dir.json", []byte(json))
	require.NoError(t, err)
	assert.Equal(t, "a@t.example", d.Users[0].UPN)
	assert.Equal(t, "t", d.Users[0].Tenant)

	// With SSPR off, gates may be left out.
	_, err = mock.ParseDirectory("off.yaml", []byte("tenants:\n  - {id: t, domains: [t.example], sspr: \"off\"}\n"))
	require.NoError(t, err)

	_, err = mock.LoadDirectoryFile(filepath.Join(t.TempDir(), "missing.yaml"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestDirectoryErrors(t *testing.T) {
	t.Parallel()
	const head = "tenants:\n  - id: c\n    domains: [c.example]\n    sspr: all\n    gates: 1\n"
	tests := map[string]struct {
		yaml string
		want []string
	}{
		"unknown field":    {head + "    colour: blue\n", []string{"dir.yaml:6: tenants[0].colour: unknown field"}},
		"wrong type":       {head + "users:\n  - upn: a@c.example\n    licensed: maybe\n", []string{"dir.yaml:8: users[0].licensed: maybe is not true or false"}},
		"bad sspr":         {"tenants:\n  - id: c\n    domains: [c.example]\n    sspr: sometimes\n    gates: 1\n", []string{`dir.yaml:4: tenants[0].sspr: unknown value "sometimes" (want off, selected or all)`}},
		"bad gates":        {"tenants:\n  - id: c\n    domains: [c.example]\n    sspr: all\n    gates: 3\n", []string{"dir.yaml:5: tenants[0].gates: must be 1 or 2, got 3"}},
		"missing gates":    {"tenants:\n  - id: c\n    domains: [c.example]\n    sspr: selected\n    enabledGroup: g\n", []string{`tenants[0].gates: required when sspr is "selected": 1 or 2`}},
		"zero gates":       {"tenants:\n  - id: c\n    domains: [c.example]\n    sspr: all\n    gates: 0\n", []string{`dir.yaml:5: tenants[0].gates: required when sspr is "all": 1 or 2`}},
		"bad method":       {head + "    allowedMethods: [email, fax]\n", []string{`dir.yaml:6: tenants[0].allowedMethods[1]: unknown method "fax"`}},
		"bad writeback":    {head + "    writeback: sometimes\n", []string{`dir.yaml:6: tenants[0].writeback: unknown value "sometimes"`}},
		"duplicate tenant": {head + "  - id: c\n    domains: [d.example]\n    sspr: all\n    gates: 1\n", []string{`dir.yaml:6: tenants[1].id: duplicate tenant "c"`}},
		"missing id":       {"tenants:\n  - domains: [c.example]\n    sspr: all\n    gates: 1\n", []string{"dir.yaml:2: tenants[0].id: required"}},
		"bad upn":          {head + "users:\n  - upn: nobody\n", []string{`dir.yaml:7: users[0].upn: not a user principal name (user@domain): "nobody"`}},
		"duplicate user":   {head + "users:\n  - upn: a@c.example\n  - upn: A@c.example\n", []string{`dir.yaml:8: users[1].upn: duplicate user "a@c.example"`}},
		"unknown tenant":   {head + "users:\n  - upn: a@c.example\n    tenant: zed\n", []string{`dir.yaml:8: users[0].tenant: unknown tenant "zed"`}},
		"orphan domain":    {head + "users:\n  - upn: a@elsewhere.example\n", []string{`users[0].tenant: no tenant owns domain "elsewhere.example"`}},
		"empty answer": {head + "users:\n  - upn: a@c.example\n    methods:\n      securityQuestions:\n        - {question: Pet name, answer: \"\"}\n",
			[]string{"dir.yaml:10: users[0].methods.securityQuestions[0].answer: empty"}},
		"bad password source": {head + "users:\n  - upn: a@c.example\n    passwordSource: ldap\n", []string{`dir.yaml:8: users[0].passwordSource: unknown value "ldap"`}},
		"several at once":     {"tenants:\n  - id: c\n    domains: []\n    sspr: nope\n    gates: 9\n", []string{"dir.yaml:3: tenants[0].domains", "dir.yaml:4: tenants[0].sspr", "dir.yaml:5: tenants[0].gates"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, err := mock.ParseDirectory("dir.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Nil(t, d)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
