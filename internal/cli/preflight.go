package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/egresslab/egresslab/preflight"
	"github.com/egresslab/egresslab/scenarios"
	"github.com/egresslab/egresslab/winproxy"
	"github.com/egresslab/egresslab/winreg"
)

// profilePassword is the new password a --profile's user sets: one the
// lab's password policy accepts.
const profilePassword = "Vq7#Lmz2!Rtx"

func newPreflight() *cobra.Command {
	var (
		format, junit, profile, user, defProfile string
		schema                                   bool
	)
	cmd := &cobra.Command{
		Use:   "preflight FILE...",
		Short: "Say which documented condition breaks SSPR at a Windows machine's sign-in screen, from its settings",
		Long: `Read what a help desk can collect from a Windows machine and say which
documented condition stops SSPR at its sign-in screen from working or
appearing, and which proxy each account gets:

  - registry exports (reg export KEY FILE, or Regedit's Export: .reg files,
    UTF-16LE as Windows writes them, or UTF-8), any number, applied in order;
    the Default profile template is read after
      reg load HKU\DefaultProfile C:\Users\Default\NTUSER.DAT
    (--default-profile names the HKU subkey; by default the one that is
    neither .DEFAULT nor a SID);
  - the output of "netsh winhttp show proxy" (English only).

Useful keys: HKLM\SOFTWARE\Policies, HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion,
HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings (and
Policies\System), HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings,
HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL.

--profile FILE writes the client profile the settings imply (a scenario's
client: section: the temporary account on this Windows, with every proxy
source), to reproduce the machine in the lab with 'egresslab run'.

Exit status: 0 when nothing documented blocks SSPR, 1 when something does,
2 for invalid input (a file that is neither, named with its line).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if schema {
				b, err := preflight.Schema()
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			}
			if len(args) == 0 {
				return usagef("preflight needs at least one file (a registry export or netsh output)")
			}
			if format != "text" && format != "json" {
				return usagef("--format: unknown format %q (want text or json)", format)
			}
			in, err := readPreflight(args)
			if err != nil {
				return usageError{err}
			}
			in.DefaultProfile = defProfile
			var junitFile *os.File
			if junit != "" {
				if junitFile, err = os.Create(junit); err != nil {
					return usagef("--junit: %v", err)
				}
				defer junitFile.Close()
			}
			r := preflight.Check(in)
			out := cmd.OutOrStdout()
			if format == "json" {
				err = preflight.WriteJSON(out, r)
			} else {
				err = preflight.WriteText(out, r)
			}
			if err != nil {
				return err
			}
			if junitFile != nil {
				if err := preflight.WriteJUnit(junitFile, r); err != nil {
					return fmt.Errorf("--junit: %w", err)
				}
			}
			if profile != "" {
				c := scenarios.Client{Profile: r.Profile(user, profilePassword)}
				if err := c.Validate(); err != nil {
					return fmt.Errorf("--profile: the settings make a profile the lab's client cannot take: %w", err)
				}
				b, err := yaml.Marshal(c)
				if err != nil {
					return err
				}
				head := "# The client profile egresslab preflight derived from " + strings.Join(args, ", ") + ":\n" +
					"# the temporary account (defaultuser1) on this Windows, with every proxy source found.\n" +
					"# Put it under client: in a scenario file and run it with egresslab run; give the lab's\n" +
					"# proxy the machine's proxy name (lab.proxy.address), so that the profile finds it.\n"
				if err := os.WriteFile(profile, append([]byte(head), b...), 0o644); err != nil {
					return fmt.Errorf("--profile: %w", err)
				}
			}
			if r.Blocked() {
				return errFailed
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "text", "output format: text or json")
	f.StringVar(&junit, "junit", "", "also write a JUnit XML report to `FILE` (a failed case per blocking finding)")
	f.StringVar(&profile, "profile", "", "write the client profile the settings imply to `FILE` (a scenario's client: section)")
	f.StringVar(&user, "user", "adele@contoso.com", "the profile's user (one of the lab's directory)")
	f.StringVar(&defProfile, "default-profile", "", "the HKU subkey the Default profile template was loaded as")
	f.BoolVar(&schema, "schema", false, "print the JSON Schema of --format json's report and exit")
	return cmd
}

// readPreflight reads each file as a registry export or, failing its
// first line, as netsh's output; a file that is neither is an error
// naming it, with both reasons.
func readPreflight(files []string) (preflight.Input, error) {
	var in preflight.Input
	var reg winreg.Registry
	var errs []error
	for _, f := range files {
		data, err := winreg.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ex, regErr := winreg.Parse(f, data)
		if regErr == nil {
			reg.Add(ex)
			continue
		}
		if !strings.Contains(regErr.Error(), "not a registry export") {
			errs = append(errs, regErr)
			continue
		}
		w, netshErr := winproxy.ParseNetsh(f, data)
		if netshErr != nil {
			errs = append(errs, fmt.Errorf("%s: neither a registry export nor netsh output:\n  %v\n  %v", f, regErr, netshErr))
			continue
		}
		if in.Netsh != nil {
			errs = append(errs, fmt.Errorf("%s: a second netsh output (the first: %s)", f, in.NetshSource))
			continue
		}
		in.Netsh, in.NetshSource = &w, f
	}
	in.Registry = &reg
	return in, errors.Join(errs...)
}
