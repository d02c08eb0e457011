// Package cli is the egresslab command line, kept apart from main so that
// it can be table-tested over arguments and environment.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK     = 0 // every expectation held
	ExitFailed = 1 // the command ran, and something did not hold
	ExitUsage  = 2 // invalid input: arguments, flags, files
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "dev"

// usageError marks invalid input, which exits with ExitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// errFailed marks a command that ran but whose checks did not all hold;
// its report has been printed already.
var errFailed = errors.New("some checks did not hold")

// Main runs the command line with args (without the program name) and
// returns the exit code. getenv is the environment (os.Getenv in main).
func Main(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	root := newRoot(getenv, stdout, stderr)
	root.SetArgs(args)
	// An unknown command is invalid input (exit 2), found before anything
	// runs; cobra would only add its help and completion commands while
	// executing, so add them first for them to be found, and leave the
	// shell's completion requests (__complete) to cobra.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd(args...)
	topic := args
	if len(args) > 0 && args[0] == "help" {
		topic = args[1:]
	}
	if len(args) == 0 || (args[0] != cobra.ShellCompRequestCmd && args[0] != cobra.ShellCompNoDescRequestCmd) {
		if _, _, err := root.Find(topic); err != nil {
			fmt.Fprintf(stderr, "egresslab: %v\nRun 'egresslab --help' for usage.\n", err)
			return ExitUsage
		}
	}
	// An interrupt cancels the scenarios under way; a second one kills.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // after the first signal, the default: a second one kills
	err := root.ExecuteContext(ctx)
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errFailed):
		return ExitFailed
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "egresslab: %v\nRun 'egresslab --help' for usage.\n", err)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "egresslab: %v\n", err)
		return ExitFailed
	}
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError{err}
	}
	return nil
}

func newRoot(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "egresslab",
		Short: "Reproduce and diagnose the network causes of SSPR's \"Something went wrong\"",
		Long: `egresslab reproduces, on loopback and in milliseconds, the network causes of
the Microsoft Entra self-service password reset failure "Something went wrong.
Please try again later." at the Windows sign-in screen, and checks that a
client survives or diagnoses each one.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	// --version has no shorthand: -v is run's --verbose.
	root.Flags().Bool("version", false, "print the version")
	root.AddCommand(newRun(getenv), newList(), newShow(), newValidate(), newSchema(), newTLSMatrix(getenv), newServe(getenv), newClient(getenv), newFetch(), newPreflight(), newProbe(getenv), newImport(stderr), newCheck())
	return root
}
