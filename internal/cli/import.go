package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/egresslab/egresslab/scenarios"
)

// newImport is `egresslab import squid FILE`.
func newImport(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Bring a real proxy's policy into the lab (import squid squid.conf)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return usagef("import needs a kind: import squid FILE") },
	}
	var strict bool
	squid := &cobra.Command{
		Use:   "squid FILE",
		Short: "Print the scenario's lab.proxy section that a squid.conf describes",
		Long: `Read a squid.conf (with its includes and files of values) and print the
lab.proxy section of a scenario file that runs its policy: its http_access
lines as rules in order, each with its line (the journal names it), Squid's
implicit last rule, and the schemes of its auth_param lines. Paste it under
lab: in a scenario, add the proxy's accounts under auth.users, or write
lab.proxy.squidConf: FILE instead to have it read at each run.

An http_access line that uses an ACL the lab cannot express is an error
naming its file and line: never a silent allow. Every directive that is
not imported (outside access control, or unknown) is listed on stderr as a
warning with its line; --strict makes them errors.

Exit status: 0 printed, 2 for invalid input (the file, a line that cannot
be imported, or with --strict a directive not imported).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("import squid takes one squid.conf, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			px, notImported, err := scenarios.ProxyFromSquid(args[0], strict)
			if err != nil {
				return usagef("%v", err)
			}
			for _, d := range notImported {
				fmt.Fprintf(stderr, "egresslab: warning: %s: not imported\n", d)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "# lab.proxy from %s (egresslab import squid); add the proxy's accounts under auth.users\n", args[0])
			enc := yaml.NewEncoder(w)
			enc.SetIndent(2)
			if err := enc.Encode(struct {
				Proxy *scenarios.Proxy `yaml:"proxy"`
			}{px}); err != nil {
				return err
			}
			return enc.Close()
		},
	}
	squid.Flags().BoolVar(&strict, "strict", false, "make every directive that is not imported an error")
	cmd.AddCommand(squid)
	return cmd
}
