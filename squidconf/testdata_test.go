package squidconf_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/squidconf"
)

var update = flag.Bool("update", false, "rewrite the testdata/*/summary.golden files")

// configs are the testdata configurations: each directory holds a
// squid.conf that real Squid accepts.
func configs(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob("testdata/*/squid.conf")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(m), 10)
	return m
}

// summary renders what the reader made of a configuration, one element a
// line, with positions relative to dir: the golden files are reviewed
// against the squid.conf beside them.
func summary(cfg *squidconf.Config, dir string) string {
	rel := func(p squidconf.Pos) string {
		if p.File == "" {
			return "predefined"
		}
		r, err := filepath.Rel(dir, p.File)
		if err != nil {
			r = p.File
		}
		return fmt.Sprintf("%s:%d", filepath.ToSlash(r), p.Line)
	}
	var b strings.Builder
	for _, name := range cfg.ACLOrder {
		a := cfg.ACLs[name]
		if a.Predefined && len(a.Lines) == 0 {
			continue
		}
		var lines []string
		for _, l := range a.Lines {
			lines = append(lines, rel(l))
		}
		fmt.Fprintf(&b, "acl %s %s", a.Name, a.Type)
		if len(a.Flags) > 0 {
			fmt.Fprintf(&b, " %s", strings.Join(a.Flags, " "))
		}
		fmt.Fprintf(&b, " (%s)\n", strings.Join(lines, ", "))
		for _, v := range a.Values {
			fmt.Fprintf(&b, "    %s", v.Text)
			if v.IgnoreCase {
				b.WriteString(" [ignore case]")
			}
			if v.Addr != nil {
				fmt.Fprintf(&b, " [%s %s-%s]", v.Addr.Kind, v.Addr.From, v.Addr.To)
			}
			if v.Ports != nil {
				fmt.Fprintf(&b, " [%d-%d]", v.Ports.From, v.Ports.To)
			}
			fmt.Fprintf(&b, " @%s\n", rel(v.Pos))
		}
	}
	for _, l := range cfg.Access {
		var terms []string
		for _, term := range l.Terms {
			terms = append(terms, term.String())
		}
		fmt.Fprintf(&b, "http_access %s %s @%s\n", l.Action, strings.Join(terms, " "), rel(l.Pos))
	}
	for _, s := range cfg.AuthOrder {
		for _, p := range cfg.AuthParams[s].Params {
			fmt.Fprintf(&b, "auth_param %s %s %q @%s\n", s, p.Name, p.Value, rel(p.Pos))
		}
	}
	for _, p := range cfg.HTTPPorts {
		fmt.Fprintf(&b, "http_port %s %d %v @%s\n", p.Host, p.Port, p.Options, rel(p.Pos))
	}
	for _, d := range cfg.NotImported {
		fmt.Fprintf(&b, "not imported %s (%s) @%s\n", d.Text, d.Reason, rel(d.Pos))
	}
	for _, d := range cfg.Warnings {
		fmt.Fprintf(&b, "warning %s (%s) @%s\n", d.Text, d.Reason, rel(d.Pos))
	}
	return b.String()
}

// TestTestdataSummaries reads every testdata configuration, strictly (no
// directive left out), and compares what it made of it with the reviewed
// summary.golden beside it (go test -update rewrites them).
func TestTestdataSummaries(t *testing.T) {
	t.Parallel()
	for _, conf := range configs(t) {
		dir := filepath.Dir(conf)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			cfg, err := squidconf.Read(conf, squidconf.WithStrict())
			require.NoError(t, err)
			assert.Empty(t, cfg.Warnings)
			got := summary(cfg, dir)
			golden := filepath.Join(dir, "summary.golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
}
