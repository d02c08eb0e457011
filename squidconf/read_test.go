package squidconf_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/squidconf"
)

// write writes files (name -> content) into a fresh directory and returns
// its path.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func read(t *testing.T, conf string, opts ...squidconf.Option) (*squidconf.Config, error) {
	t.Helper()
	dir := write(t, map[string]string{"squid.conf": conf})
	return squidconf.Read(filepath.Join(dir, "squid.conf"), opts...)
}

func TestReadAllowList(t *testing.T) {
	t.Parallel()
	cfg, err := read(t, `# an allow-list
acl SSL_ports port 443
acl Safe_ports port 80 443 \
    1025-65535
acl sspr dstdomain .microsoftonline.com passwordreset.microsoftonline.com
acl sspr dstdomain .AspNetCdn.com
http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
http_access allow sspr   # the SSPR hosts
http_access deny all
http_port 3128
cache_mem 64 MB
`)
	require.NoError(t, err)

	safe := cfg.ACLs["Safe_ports"]
	require.NotNil(t, safe)
	assert.Equal(t, "port", safe.Type)
	require.Len(t, safe.Values, 3)
	assert.Equal(t, squidconf.PortRange{From: 1025, To: 65535}, *safe.Values[2].Ports)
	assert.Equal(t, 3, safe.Line.Line)

	sspr := cfg.ACLs["sspr"]
	require.NotNil(t, sspr)
	assert.Equal(t, []string{".microsoftonline.com", "passwordreset.microsoftonline.com", ".aspnetcdn.com"}, texts(sspr.Values))
	assert.Equal(t, []int{5, 6}, lines(sspr.Lines))
	assert.True(t, sspr.Modelled)

	require.Len(t, cfg.Access, 4)
	assert.Equal(t, squidconf.AccessLine{
		Pos:    squidconf.Pos{File: cfg.File, Line: 8},
		Action: "deny",
		Terms:  []squidconf.Term{{Name: "CONNECT"}, {Name: "SSL_ports", Negated: true}},
	}, cfg.Access[1])
	assert.Equal(t, []squidconf.Term{{Name: "sspr"}}, cfg.Access[2].Terms, "a trailing comment is not a term")
	assert.Equal(t, "all", cfg.Access[3].Terms[0].Name)

	require.Len(t, cfg.HTTPPorts, 1)
	assert.Equal(t, 3128, cfg.HTTPPorts[0].Port)

	require.Len(t, cfg.NotImported, 1)
	assert.Equal(t, "cache_mem", cfg.NotImported[0].Name)
	assert.Equal(t, 12, cfg.NotImported[0].Pos.Line)
	assert.Contains(t, cfg.NotImported[0].Reason, "Squid directive")
}

func texts(vs []squidconf.Value) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Text)
	}
	return out
}

func lines(ps []squidconf.Pos) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.Line)
	}
	return out
}

func TestReadPredefined(t *testing.T) {
	t.Parallel()
	cfg, err := read(t, "acl localhost src 10.9.9.9\nhttp_access allow localhost\nhttp_access deny to_localhost\nhttp_access deny manager\nhttp_access deny to_linklocal\n")
	require.NoError(t, err)
	for _, name := range []string{"all", "manager", "localhost", "to_localhost", "to_linklocal", "CONNECT"} {
		require.Contains(t, cfg.ACLs, name)
		assert.True(t, cfg.ACLs[name].Predefined, name)
	}
	lh := cfg.ACLs["localhost"]
	assert.Equal(t, []string{"127.0.0.1/32", "::1", "10.9.9.9"}, texts(lh.Values), "a line adds to a predefined ACL")
	assert.Equal(t, 1, lh.Line.Line)
	assert.Equal(t, squidconf.AddrAll, cfg.ACLs["all"].Values[0].Addr.Kind)
	assert.Empty(t, cfg.ACLs["CONNECT"].Lines)
	assert.Equal(t, []string{"all", "manager", "localhost", "to_localhost", "to_linklocal", "CONNECT"}, cfg.ACLOrder)
}

func TestReadAddresses(t *testing.T) {
	t.Parallel()
	cfg, err := read(t, `acl a dst 10.0.0.0/8 192.168.1.5 172.16.0.0/255.240.0.0 10.1.2.3-10.1.2.9 10.0.0.0-10.0.9.0/24 2001:db8::/32 all ipv4 ipv6 login.example.com 1.2.3.4/24
acl s src 192.0.2.0/24
`)
	require.NoError(t, err)
	v := cfg.ACLs["a"].Values
	require.Len(t, v, 11)
	check := func(i int, from, to string) {
		t.Helper()
		require.Equal(t, squidconf.AddrRangeKind, v[i].Addr.Kind, v[i].Text)
		assert.Equal(t, from, v[i].Addr.From.String(), v[i].Text)
		assert.Equal(t, to, v[i].Addr.To.String(), v[i].Text)
	}
	check(0, "10.0.0.0", "10.255.255.255")
	check(1, "192.168.1.5", "192.168.1.5")
	check(2, "172.16.0.0", "172.31.255.255")
	check(3, "10.1.2.3", "10.1.2.9")
	check(4, "10.0.0.0", "10.0.9.255")
	check(5, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
	assert.Equal(t, squidconf.AddrAll, v[6].Addr.Kind)
	assert.Equal(t, squidconf.AddrIPv4, v[7].Addr.Kind)
	assert.Equal(t, squidconf.AddrIPv6, v[8].Addr.Kind)
	assert.Equal(t, squidconf.AddrName, v[9].Addr.Kind)
	check(10, "1.2.3.0", "1.2.3.255")

	assert.True(t, v[0].Addr.Contains(netip.MustParseAddr("10.200.0.1")))
	assert.False(t, v[0].Addr.Contains(netip.MustParseAddr("11.0.0.1")))
	assert.True(t, v[8].Addr.Contains(netip.MustParseAddr("2001:db8::1")))
	assert.False(t, v[8].Addr.Contains(netip.MustParseAddr("::1")))
	assert.False(t, v[7].Addr.Contains(netip.MustParseAddr("::1")))
}

func TestReadRegexFlags(t *testing.T) {
	t.Parallel()
	cfg, err := read(t, `acl capi browser -i ^Microsoft-CryptoAPI/ +i ^Exact
acl re dstdom_regex -n -i \.example\.(com|net)$ foo\ bar
`)
	require.NoError(t, err)
	capi := cfg.ACLs["capi"].Values
	require.Len(t, capi, 2)
	assert.True(t, capi[0].IgnoreCase)
	assert.False(t, capi[1].IgnoreCase)
	re := cfg.ACLs["re"]
	assert.Equal(t, []string{"-n"}, re.Flags)
	assert.Equal(t, []string{`\.example\.(com|net)$`, `foo\ bar`}, texts(re.Values))
	assert.True(t, re.Values[1].IgnoreCase)
}

func TestReadFilesAndIncludes(t *testing.T) {
	t.Parallel()
	dir := write(t, map[string]string{
		"squid.conf": `include conf.d/*.conf
acl sites dstdomain "lists/sites.txt"
acl more dstdomain "` + "lists/more.txt" + `"
http_access allow sites
`,
		"conf.d/10-auth.conf": "auth_param basic program /usr/lib/squid/basic_ncsa_auth /etc/squid/passwd\nauth_param basic realm Corp proxy\n",
		"conf.d/20-acl.conf":  "acl authed proxy_auth REQUIRED\n",
		"lists/sites.txt":     "# SSPR\n.microsoftonline.com\n\n  login.live.com   # comment\nfoo#bar\n",
		"lists/more.txt":      "",
	})
	cfg, err := squidconf.Read(filepath.Join(dir, "squid.conf"))
	require.NoError(t, err)
	sites := cfg.ACLs["sites"]
	assert.Equal(t, []string{".microsoftonline.com", "login.live.com", "foo#bar"}, texts(sites.Values))
	assert.Equal(t, squidconf.Pos{File: filepath.Join(dir, "lists/sites.txt"), Line: 4}, sites.Values[1].Pos)
	assert.Empty(t, cfg.ACLs["more"].Values)
	basic := cfg.AuthParams["basic"]
	require.NotNil(t, basic)
	realm, ok := basic.Param("realm")
	assert.True(t, ok)
	assert.Equal(t, "Corp proxy", realm)
	assert.Equal(t, filepath.Join(dir, "conf.d/10-auth.conf"), basic.Line.File)
	assert.Equal(t, filepath.Join(dir, "conf.d/20-acl.conf"), cfg.ACLs["authed"].Line.File)
}

func TestReadConditionals(t *testing.T) {
	t.Parallel()
	cfg, err := read(t, `if ${process_number} = 0
acl a dstdomain .zero
else
acl a dstdomain .other
endif
if false
acl b dstdomain .never
endif
`)
	require.NoError(t, err)
	assert.Equal(t, []string{".zero"}, texts(cfg.ACLs["a"].Values))
	assert.NotContains(t, cfg.ACLs, "b")
}

func TestReadNotImported(t *testing.T) {
	t.Parallel()
	conf := "http_access allow\nhttp_access permit all\nfrobnicate yes\nacl manager proto cache_object\nvisible_hostname x\nfollow_x_forwarded_for allow all\n"
	cfg, err := read(t, conf)
	require.NoError(t, err)
	require.Len(t, cfg.NotImported, 6)
	assert.Contains(t, cfg.NotImported[5].Reason, "can change what is allowed")
	assert.Contains(t, cfg.NotImported[4].Reason, "does not import")
	assert.Contains(t, cfg.NotImported[0].Reason, "no ACLs")
	assert.Contains(t, cfg.NotImported[1].Reason, "expecting 'allow' or 'deny'")
	assert.Contains(t, cfg.NotImported[2].Reason, "not a directive of Squid")
	assert.Contains(t, cfg.NotImported[3].Reason, "built in")
	assert.Equal(t, 5, cfg.NotImported[4].Pos.Line)
	assert.Empty(t, cfg.Access)

	_, err = read(t, conf, squidconf.WithStrict())
	require.Error(t, err)
	assert.True(t, errors.Is(err, squidconf.ErrNotImported))
	assert.Contains(t, err.Error(), ":1: http_access: ")
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		files map[string]string
		want  string
	}{
		"type clash": {map[string]string{"squid.conf": "acl a dstdomain .x\n\nacl a dst 10.0.0.0/8\n"},
			`squid.conf:3: acl: type: ACL "a" is dstdomain (defined at `},
		"type clash with predefined": {map[string]string{"squid.conf": "acl CONNECT port 443\n"},
			`ACL "CONNECT" is method (predefined by Squid), not port`},
		"unknown type":    {map[string]string{"squid.conf": "acl a domain .x\n"}, `acl: type: invalid ACL type "domain"`},
		"missing type":    {map[string]string{"squid.conf": "acl a\n"}, "missing ACL type"},
		"bad port":        {map[string]string{"squid.conf": "acl p port 80 https\n"}, `squid.conf:1: acl: value "https": not a port`},
		"reversed range":  {map[string]string{"squid.conf": "acl p port 2000-1000\n"}, "ends before it starts"},
		"bad address":     {map[string]string{"squid.conf": "acl d dst 10.0.0.300/8\n"}, `value "10.0.0.300/8"`},
		"bad mask":        {map[string]string{"squid.conf": "acl d dst 10.0.0.0/33\n"}, "mask /33 out of range"},
		"bad regex":       {map[string]string{"squid.conf": "acl r dstdom_regex (unclosed\n"}, "regular expression"},
		"unknown proto":   {map[string]string{"squid.conf": "acl p proto GOPHERS\n"}, "unknown protocol"},
		"dstdomain -i":    {map[string]string{"squid.conf": "acl d dstdomain -i .x\n"}, `unsupported option "-i" for dstdomain`},
		"undefined ACL":   {map[string]string{"squid.conf": "http_access allow nosuch\n"}, `http_access: ACL "nosuch": not defined before this line`},
		"ACL used before": {map[string]string{"squid.conf": "http_access allow late\nacl late dstdomain .x\n"}, `ACL "late": not defined`},
		"proxy_auth without auth_param": {map[string]string{"squid.conf": "acl u proxy_auth REQUIRED\n"},
			"needs an auth_param scheme"},
		"missing file":      {map[string]string{"squid.conf": "acl d dstdomain \"nosuch.txt\"\n"}, `acl: file "nosuch.txt"`},
		"values after file": {map[string]string{"squid.conf": "acl d dstdomain \"l.txt\" .x\n", "l.txt": ".y\n"}, "Squid ignores them"},
		"bad value in file": {map[string]string{"squid.conf": "acl p port \"p.txt\"\n", "p.txt": "80\nhttps\n"}, `p.txt:2: acl: value "https"`},
		"include loop": {map[string]string{"squid.conf": "include a.conf\n", "a.conf": "include b.conf\n", "b.conf": "include a.conf\n"},
			"includes itself"},
		"include no match":  {map[string]string{"squid.conf": "include conf.d/*.conf\n"}, "no file matches"},
		"include command":   {map[string]string{"squid.conf": "include !/bin/echo\n"}, "command"},
		"error in included": {map[string]string{"squid.conf": "\ninclude a.conf\n", "a.conf": "acl a port x\n"}, "a.conf:1: acl: value \"x\": not a port (0-65535) or port range (1025-65535) (included from "},
		"endif without if":  {map[string]string{"squid.conf": "endif\n"}, "'endif' without 'if'"},
		"if without endif":  {map[string]string{"squid.conf": "if true\n"}, "without 'endif'"},
		"bad if":            {map[string]string{"squid.conf": "if x = 1\nendif\n"}, "not an integer"},
		"unknown scheme":    {map[string]string{"squid.conf": "auth_param kerberos program /x\n"}, "unknown authentication scheme"},
		"bad http_port":     {map[string]string{"squid.conf": "http_port 127.0.0.1:99999\n"}, "http_port: port"},
		"long line":         {map[string]string{"squid.conf": "acl a dstdomain " + strings.Repeat("a", 9000) + "\n"}, "line longer than"},
		"too large file": {map[string]string{"squid.conf": "acl d dstdomain \"big.txt\"\n", "big.txt": strings.Repeat(".example.com\n", 100000)},
			"file too large"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := write(t, tc.files)
			_, err := squidconf.Read(filepath.Join(dir, "squid.conf"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var e *squidconf.Error
			require.True(t, errors.As(err, &e), "%T", err)
			assert.NotEmpty(t, e.Pos.File)
		})
	}
}

func TestReadIncludeDepth(t *testing.T) {
	t.Parallel()
	files := map[string]string{"squid.conf": "include d1.conf\n"}
	for i := 1; i <= 20; i++ {
		files["d"+itoa(i)+".conf"] = "include d" + itoa(i+1) + ".conf\n"
	}
	files["d21.conf"] = "acl a dstdomain .x\n"
	dir := write(t, files)
	_, err := squidconf.Read(filepath.Join(dir, "squid.conf"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nested more than 16 deep")
	assert.Equal(t, 16, strings.Count(err.Error(), "included from"))
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestReadQuotedValues(t *testing.T) {
	t.Parallel()
	dir := write(t, map[string]string{
		"squid.conf": `configuration_includes_quoted_values on
acl ua browser x
acl d dstdomain "a b" parameters("l.txt") .c
`,
		"l.txt": ".one .two\n",
	})
	_, err := squidconf.Read(filepath.Join(dir, "squid.conf"))
	require.Error(t, err, "regular expressions are refused with quoted values on")
	assert.Contains(t, err.Error(), "configuration_includes_quoted_values")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "squid.conf"), []byte(`configuration_includes_quoted_values on
acl d dstdomain "a b" parameters("l.txt") .c
`), 0o644))
	cfg, err := squidconf.Read(filepath.Join(dir, "squid.conf"))
	require.NoError(t, err)
	assert.Equal(t, []string{"a b", ".one", ".two", ".c"}, texts(cfg.ACLs["d"].Values))
	assert.True(t, cfg.QuotedValues)
}

func TestReadBytesRefusesFIFO(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := squidconf.ReadBytes(filepath.Join(dir, "squid.conf"), []byte("include /dev/stdin\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")
}

func TestReadIncludeQuoted(t *testing.T) {
	t.Parallel()
	dir := write(t, map[string]string{
		"squid.conf":      "include \"conf dir/a.conf\" b.conf\n",
		"conf dir/a.conf": "acl a dstdomain .a\n",
		"b.conf":          "acl b dstdomain .b\n",
	})
	cfg, err := squidconf.Read(filepath.Join(dir, "squid.conf"))
	require.NoError(t, err)
	assert.Contains(t, cfg.ACLs, "a")
	assert.Contains(t, cfg.ACLs, "b")
}

// TestReadAccessTermsFromFile: Squid reads an http_access line's ACL names
// with the same tokenizer as ACL values, so a quoted file of names works
// there too (src/acl/InnerNode.cc, lineParse).
func TestReadAccessTermsFromFile(t *testing.T) {
	t.Parallel()
	dir := write(t, map[string]string{
		"squid.conf": "acl a dstdomain .a\nacl b dstdomain .b\nhttp_access allow \"names.txt\"\n",
		"names.txt":  "# the names\na\n!b\n",
	})
	cfg, err := squidconf.Read(filepath.Join(dir, "squid.conf"))
	require.NoError(t, err)
	require.Len(t, cfg.Access, 1)
	assert.Equal(t, []squidconf.Term{{Name: "a"}, {Name: "b", Negated: true}}, cfg.Access[0].Terms)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "names.txt"), []byte("a\nc\n"), 0o644))
	_, err = squidconf.Read(filepath.Join(dir, "squid.conf"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "names.txt:2: http_access: ACL \"c\": not defined before this line")
}

func BenchmarkReadDomainFile(b *testing.B) {
	dir := b.TempDir()
	var list strings.Builder
	for i := 0; list.Len() < 900_000; i++ {
		fmt.Fprintf(&list, ".host%d.example%d.com\n", i, i%97)
	}
	require.NoError(b, os.WriteFile(filepath.Join(dir, "domains.txt"), []byte(list.String()), 0o644))
	require.NoError(b, os.WriteFile(filepath.Join(dir, "squid.conf"), []byte("acl big dstdomain \"domains.txt\"\nhttp_access allow big\n"), 0o644))
	b.ResetTimer()
	for b.Loop() {
		if _, err := squidconf.Read(filepath.Join(dir, "squid.conf")); err != nil {
			b.Fatal(err)
		}
	}
}
