package stage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
	"github.com/tightnet/tightnet/internal/review"
	"github.com/tightnet/tightnet/internal/verify"
)

type reviewFlags struct {
	files    []string
	base     []string
	baseline []string
	mode     string
	outDir   string
	failOn   string
	cluster  clusterFlags
}

// --fail-on values of review.
const (
	failOnViolation = "violation"
	failOnChange    = "change"
	failOnNever     = "never"
)

func reviewCommand(g *globals) *cobra.Command {
	var fl reviewFlags
	cmd := &cobra.Command{
		Use:   "review HEAD_PATH... --out-dir DIR [--base PATH]... [--baseline RULES]...",
		Short: "Review a change in one run: connectivity of head vs base, semantic diff, baseline verdicts, exposure, report",
		Long: `Review a repository's configuration (HEAD_PATH: manifests, charts,
kustomizations) against its base (--base: a checkout of the base branch, or
what is deployed) in one process: extract, synthesize (--mode synthesize),
connectivity of head and base, semantic diff base → head, verification of
the head against baseline rules, exposure, and a report.

--mode review (default): the head's own policies are reviewed.
--mode synthesize: policies are proposed for the head and the connectivity
they would give is reviewed; policies.yaml holds them.
Without --base everything the head allows is new.

--out-dir receives report.md (PR comment / job summary), report.html (a
self-contained page with a graph), report.txt, review.json (the Review
artifact), connectivity-head.json, connectivity-base.json, diff.json, and
with --baseline verification.json and verification.sarif. The summary line
goes to standard output.

Exit codes: 0 nothing to fail on; 1 per --fail-on: violation (default) a
baseline rule violated or unchecked, change that too or any connection
added, removed or changed, never; 2 usage, input or internal error.`,
		Example: `  tightnet review examples/review/head --base examples/review/base --baseline examples/review/baseline.yaml --out-dir out/review
  tightnet review . --base ../base-checkout --mode synthesize --out-dir out/review --fail-on never`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReview(cmd, g, &fl, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&fl.files, "filename", "f", nil, "a head manifest file or directory (repeatable; adds to the positional paths)")
	fl.cluster.register(cmd)
	f.StringArrayVar(&fl.base, "base", nil, `the base configuration: a checkout of the base branch, or "cluster" for what the live cluster runs (repeatable); none: everything is new`)
	f.StringArrayVar(&fl.baseline, "baseline", nil, "a baseline rules file, or a directory of them (repeatable); none: no verification")
	f.StringVar(&fl.mode, "mode", review.ModeReview, "review: the head's own policies; synthesize: propose policies for the head and review those")
	f.StringVar(&fl.outDir, "out-dir", "", "the directory to write the report and artifacts into (required)")
	f.StringVar(&fl.failOn, "fail-on", failOnViolation, "exit 1 on: violation (a baseline rule violated or unchecked), change (that, or any connection changed), never")
	return cmd
}

func runReview(cmd *cobra.Command, g *globals, fl *reviewFlags, args []string) error {
	if !slices.Contains([]string{failOnViolation, failOnChange, failOnNever}, fl.failOn) {
		return usagef("--fail-on %q: want violation, change or never", fl.failOn)
	}
	if fl.outDir == "" {
		return usagef("--out-dir is required: the directory to write report.md, report.html, review.json and the other outputs into")
	}
	head := append(slices.Clone(args), fl.files...)
	if len(head) == 0 {
		return usagef("no head configuration: give the paths of the manifests to review")
	}
	opts := review.Options{Head: head, Base: fl.base, Baseline: fl.baseline, OutDir: fl.outDir, Mode: fl.mode}
	live, err := isCluster(fl.base)
	if err != nil {
		return err
	}
	if live {
		if opts.LiveBase, err = fl.cluster.read(cmd.Context(), g.logger()); err != nil {
			return fmt.Errorf("base configuration: %w", err)
		}
		opts.Base = nil
	}
	res, err := review.Run(cmd.Context(), opts)
	if errors.Is(err, review.ErrOptions) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Out, "%s\nreport: %s\n", res.Summary, res.Files[review.FileMarkdown])
	if err := report.Findings(g.streams.Err, res.Findings); err != nil {
		return err
	}
	c := res.Counts
	results := map[string]string{
		"summary":   res.Summary,
		"added":     strconv.Itoa(c.Added),
		"removed":   strconv.Itoa(c.Removed),
		"changed":   strconv.Itoa(c.Changed),
		"violated":  strconv.Itoa(c.Violated),
		"unchecked": strconv.Itoa(c.Unchecked),
		"findings":  strconv.Itoa(c.Findings),
		"policies":  strconv.Itoa(c.Policies),
		"out-dir":   fl.outDir,
		"report":    res.Files[review.FileMarkdown],
	}
	if err := writeResults(g.resultsDir, results); err != nil {
		return err
	}
	g.logger().Info("review: "+res.Summary, "added", c.Added, "removed", c.Removed, "changed", c.Changed,
		"violated", c.Violated, "unchecked", c.Unchecked, "findings", c.Findings)
	violation := c.Violated+c.Unchecked > 0
	change := c.Added+c.Removed+c.Changed > 0
	if (fl.failOn == failOnViolation && violation) || (fl.failOn == failOnChange && (violation || change)) {
		return errFindings
	}
	return nil
}

type reportFlags struct {
	output outputFlags
}

func reportCommand(g *globals) *cobra.Command {
	var fl reportFlags
	cmd := &cobra.Command{
		Use:   "report ARTIFACT.json...",
		Short: "Render artifacts for people: a Review (review.json) as Markdown, HTML, text or JSON; a ConnectivityDiff or Verification as Markdown or text",
		Long: `Re-render artifacts written by other stages. A Review (review.json, written by
tightnet review) renders as the review report: -o md (default; a PR comment,
in full), html (a self-contained page), txt, or json (the artifact itself).
A ConnectivityDiff (tightnet diff -o json) and a Verification (tightnet
verify -o json) render as md or txt. Several artifacts render one after the
other (md and txt only).`,
		Example: `  tightnet report out/review/review.json -o html --out review.html
  tightnet report diff.json verification.json -o md`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(g, &fl, args)
		},
	}
	fl.output.register(cmd, report.ReviewFormats(), report.Markdown)
	return cmd
}

func runReport(g *globals, fl *reportFlags, args []string) error {
	format, err := fl.output.format(report.ReviewFormats())
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usagef("no artifact: give one or more files written by tightnet review (review.json), diff -o json or verify -o json")
	}
	if len(args) > 1 && (format == report.HTML || format == report.JSON) {
		return usagef("-o %s renders one artifact, got %d: give one, or use -o md or txt", format, len(args))
	}
	var buf bytes.Buffer
	for i, path := range args {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var h struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(data, &h); err != nil {
			return fmt.Errorf("%s: not a JSON artifact: %w; give files written by tightnet review, diff -o json or verify -o json", path, err)
		}
		if i > 0 {
			buf.WriteString("\n")
		}
		if err := renderArtifact(&buf, format, path, h.Kind, data); err != nil {
			return err
		}
	}
	return fl.output.write(g, buf.Bytes())
}

// renderArtifact renders one artifact of the kind named in it.
func renderArtifact(buf *bytes.Buffer, format report.Format, path, kind string, data []byte) error {
	var v any
	var render func() error
	switch kind {
	case report.KindReview:
		var r report.Review
		v, render = &r, func() error { return report.RenderReview(buf, format, r) }
	case model.KindConnectivityDiff:
		var d model.ConnectivityDiff
		v, render = &d, func() error { return report.Diff(buf, format, report.DiffViewOf(d)) }
	case verify.Kind:
		var vr verify.Verification
		v, render = &vr, func() error { return report.Verification(buf, format, vr) }
	default:
		return usagef("%s: kind %q: report renders Review, %s and %s artifacts", path, kind, model.KindConnectivityDiff, verify.Kind)
	}
	if err := model.Decode(data, kind, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if format == report.JSON {
		b, err := model.Marshal(v)
		if err != nil {
			return err
		}
		buf.Write(b)
		return nil
	}
	if kind != report.KindReview && format == report.HTML {
		return usagef("%s: -o html renders a Review artifact; a %s renders as md or txt", path, kind)
	}
	return render()
}
