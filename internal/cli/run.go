package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/egresslab/egresslab/scenarios"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func newRun(getenv func(string) string) *cobra.Command {
	var (
		format   string
		junit    string
		parallel int
		verbose  bool
		backend  string
		image    string
	)
	cmd := &cobra.Command{
		Use:   "run [FILE|DIR|NAME]...",
		Short: "Run scenarios, each in its own lab (no argument: the whole built-in catalog)",
		Long: `Run scenario files, directories of them, or built-in scenarios by name
(see 'egresslab list'), in parallel, each in a lab of its own, and check each
one's expectations. Only regular files of at most 1 MiB are read: a named
pipe, a device or a larger file is invalid input, named.

--backend docker runs each lab on Docker instead (package tclab): the
services, the proxy and the client in containers of the project's image,
on networks of their own, so that the firewall is the network's. --image
names the image (make image); without it, one is built from this program,
which must be a static binary (CGO_ENABLED=0, as make build makes it).
Nothing is pulled; labs and networks are removed at the end, also after an
interrupt.

Exit status: 0 when every expectation holds, 1 when one does not (or a lab
could not be built), 2 for invalid input (arguments, flags, scenario files).
Invalid input stops the run before it starts; with --format json and
--junit the report is written all the same, each invalid input an error
and each valid scenario not run, so that CI shows why nothing ran.

Environment: EGRESSLAB_FORMAT (text, json) and EGRESSLAB_PARALLEL set the
defaults of --format and --parallel; EGRESSLAB_PROGRESS (auto, live, plain)
chooses the progress display (auto: a live line on a terminal, plain lines
otherwise).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("format") {
				if v := getenv("EGRESSLAB_FORMAT"); v != "" {
					format = v
				}
			}
			if format != "text" && format != "json" {
				return usagef("--format: unknown format %q (want text or json)", format)
			}
			if !cmd.Flags().Changed("parallel") {
				if v := getenv("EGRESSLAB_PARALLEL"); v != "" {
					n, err := strconv.Atoi(v)
					if err != nil {
						return usagef("EGRESSLAB_PARALLEL: %q is not a number", v)
					}
					parallel = n
				}
			}
			if parallel < 0 {
				return usagef("--parallel: %d: want 0 (automatic) or more", parallel)
			}
			switch backend {
			case backendInProcess:
				if image != "" {
					return usagef("--image: only with --backend docker")
				}
			case backendDocker:
				if parallel == 0 {
					parallel = dockerParallel
				}
			default:
				return usagef("--backend: unknown backend %q (want %s or %s)", backend, backendInProcess, backendDocker)
			}
			progress := getenv("EGRESSLAB_PROGRESS")
			switch progress {
			case "", "auto":
				progress = "plain"
				if isTerminal(cmd.OutOrStdout()) {
					progress = "live"
				}
			case "live", "plain":
			default:
				return usagef("EGRESSLAB_PROGRESS: unknown value %q (want auto, live or plain)", progress)
			}
			list, inputErr := scenarios.Resolve(args)
			// Warnings (likely slips that are still valid) go to stderr,
			// before anything runs, and fail nothing.
			for _, sc := range list {
				for _, w := range scenarios.Warnings(sc) {
					fmt.Fprintln(cmd.ErrOrStderr(), w)
				}
			}
			// The report file is opened before anything runs: a path that
			// cannot be written is invalid input, found at once.
			var junitFile *os.File
			if junit != "" {
				var err error
				if junitFile, err = os.Create(junit); err != nil {
					return usageError{errors.Join(inputErr, fmt.Errorf("--junit: %w", err))}
				}
				defer junitFile.Close()
			}
			out := cmd.OutOrStdout()
			if inputErr != nil {
				// Nothing runs; a report for machines still says why, each
				// invalid input an error, each valid scenario not run.
				reports := scenarios.InputReports(list, inputErr)
				sum := scenarios.Summarize(reports, 0)
				if format == "json" {
					if err := scenarios.WriteJSON(out, reports, sum); err != nil {
						return err
					}
				}
				if err := writeJUnit(junitFile, reports, sum); err != nil {
					return err
				}
				return usageError{inputErr}
			}
			var onDone func(*scenarios.Report)
			if format == "text" {
				onDone = progressPrinter(out, progress, len(list))
			}
			var be scenarios.Backend
			if backend == backendDocker {
				b, cleanup, err := dockerBackend(cmd.Context(), image, getenv, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				defer cleanup()
				be = b
			}
			start := time.Now()
			reports := scenarios.RunAll(cmd.Context(), list, scenarios.Options{Parallel: parallel, OnDone: onDone, Backend: be})
			sum := scenarios.Summarize(reports, time.Since(start))
			if format == "json" {
				if err := scenarios.WriteJSON(out, reports, sum); err != nil {
					return err
				}
			} else if err := scenarios.WriteText(out, reports, sum, verbose); err != nil {
				return err
			}
			if err := writeJUnit(junitFile, reports, sum); err != nil {
				return err
			}
			if !sum.OK() {
				return errFailed
			}
			return nil
		},
	}
	cmd.ValidArgsFunction = completeCatalog(cobra.ShellCompDirectiveDefault) // and files
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&junit, "junit", "", "also write a JUnit XML report to `FILE`")
	cmd.Flags().IntVar(&parallel, "parallel", 0, "how many scenarios run at once (0: four per CPU)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the details of passing scenarios too")
	cmd.Flags().StringVar(&backend, "backend", backendInProcess, "where the labs run: in-process, or docker (containers on networks of their own)")
	cmd.Flags().StringVar(&image, "image", "", "--backend docker: the project's image (default: built from this program)")
	return cmd
}

// completeCatalog completes the names of built-in scenarios for the
// shell, with directive (files too, or not).
func completeCatalog(directive cobra.ShellCompDirective) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cat, err := scenarios.Catalog()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		for _, sc := range cat {
			if strings.HasPrefix(sc.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(sc.Name, firstSentence(sc.Description)))
			}
		}
		return out, directive
	}
}

// writeJUnit writes the JUnit report to f, if any, and closes it.
func writeJUnit(f *os.File, reports []*scenarios.Report, sum scenarios.Summary) error {
	if f == nil {
		return nil
	}
	if err := scenarios.WriteJUnit(f, reports, sum); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}

// progressPrinter shows each finished scenario: as plain lines, or as one
// line rewritten in place on a terminal (failures stay on lines of their
// own).
func progressPrinter(w io.Writer, mode string, total int) func(*scenarios.Report) {
	var mu sync.Mutex
	done, failed := 0, 0
	return func(r *scenarios.Report) {
		mu.Lock()
		defer mu.Unlock()
		done++
		if !r.Passed && r.NotRun == "" && r.Unsupported == "" {
			failed++
		}
		if mode == "plain" {
			fmt.Fprintf(w, "[%d/%d] %s\n", done, total, r.Line())
			return
		}
		if !r.Passed {
			fmt.Fprintf(w, "\r\033[K%s\n", r.Line())
		}
		fmt.Fprintf(w, "\r\033[K[%d/%d] %d failed, last: %s", done, total, failed, r.Name)
		if done == total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}

func newList() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usagef("--format: unknown format %q (want text or json)", format)
			}
			cat, err := scenarios.Catalog()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				type item struct {
					Name        string `json:"name"`
					Description string `json:"description"`
					Reference   string `json:"reference"`
					Outcome     string `json:"outcome"`
					Cause       string `json:"cause,omitempty"`
				}
				items := make([]item, 0, len(cat))
				for _, sc := range cat {
					items = append(items, item{sc.Name, strings.TrimSpace(sc.Description), sc.Reference, string(sc.Expect.Outcome), string(sc.Expect.Cause)})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			width := 0
			for _, sc := range cat {
				width = max(width, len(sc.Name))
			}
			for _, sc := range cat {
				expect := string(sc.Expect.Outcome)
				if sc.Expect.Cause != "" {
					expect += ", " + string(sc.Expect.Cause)
				}
				fmt.Fprintf(out, "%-*s  %-45s  %s\n", width, sc.Name, expect, firstSentence(sc.Description))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func newShow() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Print a built-in scenario's file, to start a scenario of your own from",
		Long: `Print a built-in scenario's YAML file as it is built in (see 'egresslab list'),
to start a scenario of your own from:

  egresslab show cdn-blocked > my-scenario.yaml

Exit status: 0, or 2 when NAME is no built-in scenario.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.ExactArgs(1)(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		},
		ValidArgsFunction: completeCatalog(cobra.ShellCompDirectiveNoFileComp),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := scenarios.CatalogFile(args[0])
			if err != nil {
				return usageError{scenarios.UnknownNameError(args[0])}
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func newValidate() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check scenario files without running them",
		Long: `Check scenario files (or the *.yaml and *.yml files of directories)
strictly: unknown fields, wrong types and bad values are reported with file,
line and field; so is a name that an earlier file has. Warnings (a proxy
rule's host that names none of the lab's hosts) are printed too, "file:line:
warning: field: message", and do not make a file invalid. Only regular files of at most 1 MiB are read: a named pipe,
a device or a larger file is refused, naming it, without reading it.

Exit status: 0 when every file is valid, 1 when one is not, 2 for usage
errors (no file given).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("validate: name at least one scenario file")
			}
			var files []string
			for _, a := range args {
				if info, err := os.Stat(a); err == nil && info.IsDir() {
					found := scenarios.FilesIn(a)
					if len(found) == 0 {
						return usagef("%s: no *.yaml or *.yml scenario files", a)
					}
					files = append(files, found...)
					continue
				}
				files = append(files, a)
			}
			bad := false
			seen := map[string]bool{}
			names := map[string]string{} // a scenario's name: its first file
			for _, a := range files {
				if seen[filepath.Clean(a)] {
					continue
				}
				seen[filepath.Clean(a)] = true
				sc, err := scenarios.Load(a)
				if err == nil {
					if other, ok := names[sc.Name]; ok {
						err = &scenarios.DuplicateNameError{Name: sc.Name, File: a, Other: other}
					} else {
						names[sc.Name] = a
					}
				}
				if err != nil {
					bad = true
					fmt.Fprintln(cmd.OutOrStdout(), err)
					continue
				}
				for _, w := range scenarios.Warnings(sc) {
					fmt.Fprintln(cmd.OutOrStdout(), w)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", a)
			}
			if bad {
				return errFailed
			}
			return nil
		},
	}
}

func newSchema() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files (for editors)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := scenarios.Schema()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
}
