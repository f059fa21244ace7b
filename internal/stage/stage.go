// Package stage is the one entrypoint runner behind every stage image and
// the all-in-one tightnet CLI: flags, inputs, outputs, result files, logging
// and exit codes.
//
// Input: command-line arguments and standard streams. Output: files or
// stdout, result files for pipelines, an exit code (0 nothing to report,
// 1 findings, 2 usage, input or internal error). Logic lives in the stage
// packages it calls; this package only wires them to the command line.
package stage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
)

// Streams are the standard streams a run uses.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Std is the process's standard streams.
func Std() Streams { return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// errFindings is returned by a command that completed and found something
// the user asked to fail on.
var errFindings = errors.New("findings reported")

// usageError marks errors in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Run executes a stage. name selects the stage for a single-stage image
// ("connectivity"); "" runs the all-in-one CLI with every stage as a
// subcommand. It returns the process exit code.
func Run(ctx context.Context, name string, args []string, s Streams) (code int) {
	// A bug must not crash a pipeline step with a stack trace and no word
	// of what to do: report it as an internal error, exit 2.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(s.Err, "tightnet: internal error: %v\nThis is a bug in tightnet; please report it with the command and inputs that caused it.\n", r)
			code = ExitError
		}
	}()
	g := &globals{streams: s}
	var root *cobra.Command
	if name == "" {
		root = &cobra.Command{
			Use:   "tightnet",
			Short: "Least-privilege Kubernetes NetworkPolicies from an application's configuration",
			Long: `tightnet reads an application's manifests and NetworkPolicies, computes the
connectivity they allow, and reports it for review.

Every stage is a subcommand; each also ships as its own container image
taking the same flags.`,
		}
		for _, sub := range stages() {
			root.AddCommand(sub.command(g))
		}
	} else {
		for _, sub := range stages() {
			if sub.name == name {
				root = sub.command(g)
				root.Use = "tightnet-" + root.Use
			}
		}
		if root == nil {
			fmt.Fprintf(s.Err, "tightnet: no stage named %q\n", name)
			return ExitError
		}
	}
	root.SilenceUsage, root.SilenceErrors = true, true
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	g.register(root)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errFindings):
		return ExitFindings
	}
	fmt.Fprintf(s.Err, "tightnet: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(s.Err, "Run '%s --help' for usage.\n", root.CommandPath())
	}
	return ExitError
}

// stageDef is one stage's subcommand.
type stageDef struct {
	name    string
	command func(*globals) *cobra.Command
}

func stages() []stageDef {
	return []stageDef{
		{"connectivity", connectivityCommand},
		{"explain", explainCommand},
		{"apply", applyCommand},
		{"comment", commentCommand},
		{"diff", diffCommand},
		{"extract", extractCommand},
		{"report", reportCommand},
		{"review", reviewCommand},
		{"synthesize", synthesizeCommand},
		{"verify", verifyCommand},
	}
}

// globals are the flags every stage shares.
type globals struct {
	streams    Streams
	quiet      bool
	verbose    int
	resultsDir string
}

func (g *globals) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.BoolVarP(&g.quiet, "quiet", "q", false, "log only errors")
	f.CountVarP(&g.verbose, "verbose", "v", "log more (-v info, -vv debug)")
	f.StringVar(&g.resultsDir, "results-dir", "", "write small result files (counts, paths) into this directory, one file per result")
}

func (g *globals) logger() *slog.Logger {
	level := slog.LevelWarn
	switch {
	case g.quiet:
		level = slog.LevelError
	case g.verbose == 1:
		level = slog.LevelInfo
	case g.verbose > 1:
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.streams.Err, &slog.HandlerOptions{Level: level}))
}
