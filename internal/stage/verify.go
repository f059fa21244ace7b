package stage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
	"github.com/tightnet/tightnet/internal/review"
	"github.com/tightnet/tightnet/internal/verify"
	"github.com/tightnet/tightnet/internal/verify/sanity"
)

type verifyFlags struct {
	inputs    inputFlags
	output    outputFlags
	ingress   ingressControllerFlags
	baselines []string
	sanity    bool
}

func verifyCommand(g *globals) *cobra.Command {
	var fl verifyFlags
	cmd := &cobra.Command{
		Use:   "verify [PATH...|CONNECTIVITY.json] --baseline RULES.yaml...",
		Short: "Check a configuration's connectivity against baseline rules, and optionally its policies' sanity",
		Long: `Compute the connectivity of the inputs, as the connectivity stage does, and
check it against baseline rules (np-guard's baseline-rules format: YAML lists
of rules with name, description, action allow|deny, from, to, from_ns, to_ns,
protocol, port_min, port_max). An allow rule is violated when a connection it
describes is not permitted, a deny rule when one is; every violation lists
its witnesses, the pairs of peers and the connections that contradict it.
A rule that cannot be checked on these inputs is unchecked, with the reason.

The input is manifests (directories, files, "-" for standard input) or one
ConnectivityMap file written by "tightnet connectivity -o json". A
ConnectivityMap carries no labels: rules that select pods by labels, or
namespaces by labels other than kubernetes.io/metadata.name, are unchecked.

--sanity adds the questions asked of any policy set: redundant policies and
rules, selectors that select nothing, workloads no policy isolates, rules that
allow everything, namespace-wide peers wider than their use.

Exit codes: 0 every rule satisfied; 1 some rule violated or unchecked; 2 usage
or input error (an invalid rules file: the message names the file and rule).`,
		Example: `  tightnet verify examples/shop --baseline examples/baseline-rules
  tightnet verify proposed/ --baseline corp-rules.yaml -o md --out verify.md --sanity
  tightnet verify conn.json --baseline corp-rules.yaml -o sarif --out verify.sarif`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd, g, &fl, args)
		},
	}
	fl.inputs.register(cmd)
	fl.output.register(cmd, report.VerificationFormats(), report.Text)
	fl.ingress.register(cmd)
	cmd.Flags().StringArrayVar(&fl.baselines, "baseline", nil,
		"a baseline rules file, or a directory of .yaml files (repeatable; required unless --sanity)")
	cmd.Flags().BoolVar(&fl.sanity, "sanity", false,
		"also report redundant policies and rules, empty selectors, workloads not isolated, allow-all rules and namespace-wide peers (needs manifests)")
	return cmd
}

func runVerify(cmd *cobra.Command, g *globals, fl *verifyFlags, args []string) error {
	format, err := fl.output.format(report.VerificationFormats())
	if err != nil {
		return err
	}
	if len(fl.baselines) == 0 && !fl.sanity {
		return usagef("--baseline is required: give one or more baseline rule files (or directories of them), or --sanity for the sanity checks alone")
	}
	var rules []baseline.Rule
	if len(fl.baselines) > 0 {
		if rules, err = baseline.Load(fl.baselines...); err != nil {
			return err
		}
	}
	opts, err := fl.ingress.options()
	if err != nil {
		return err
	}
	log := g.logger()
	in, err := readVerifyInput(cmd.Context(), g, fl, args, opts, log)
	if err != nil {
		return err
	}
	var v verify.Verification
	if errs := model.AtLeast(in.findings, model.Error); len(errs) > 0 {
		v = verify.Unverified(rules, fmt.Sprintf("the inputs could not be analysed: %s, the first at %s [%s]; fix them and verify again",
			countNoun(len(errs), "error"), errs[0].Location, errs[0].Code))
	} else {
		v = verify.Check(in.matrix, in.inventory, rules)
	}
	var sanityFindings []model.Finding
	if fl.sanity {
		if in.objs == nil {
			return usagef("--sanity needs manifests, not a ConnectivityMap: the checks read the policies themselves")
		}
		if sanityFindings, err = sanity.Check(cmd.Context(), in.objs, in.result, sanity.Options{Analyze: opts}); err != nil {
			return err
		}
		if sanityFindings == nil {
			sanityFindings = []model.Finding{}
		}
	}
	v = v.WithFindings(in.findings, sanityFindings)

	var buf bytes.Buffer
	if format == report.JSON {
		b, err := model.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode verification: %w", err)
		}
		buf.Write(b)
	} else if err := report.Verification(&buf, format, v); err != nil {
		return err
	}
	if err := fl.output.write(g, buf.Bytes()); err != nil {
		return err
	}
	if (format != report.JSON && format != report.SARIF) || fl.output.path != "" {
		if err := report.Findings(g.streams.Err, v.Findings); err != nil {
			return err
		}
	}
	results := map[string]string{
		"satisfied": strconv.Itoa(v.Summary.Satisfied),
		"violated":  strconv.Itoa(v.Summary.Violated),
		"unchecked": strconv.Itoa(v.Summary.Unchecked),
		"sanity":    strconv.Itoa(len(v.Sanity)),
		"findings":  strconv.Itoa(len(v.Findings)),
		"output":    fl.output.path,
	}
	if err := writeResults(g.resultsDir, results); err != nil {
		return err
	}
	log.Info("verify: "+report.VerificationSummary(v), "rules", len(rules), "violated", v.Summary.Violated,
		"unchecked", v.Summary.Unchecked, "satisfied", v.Summary.Satisfied, "sanity", len(v.Sanity))
	if v.Failed() {
		return errFindings
	}
	return nil
}

// verifyInput is what verify checks: manifests and their evaluation, or a
// ConnectivityMap (objs nil, an inventory of names only).
type verifyInput struct {
	objs      *manifest.Objects
	result    analyze.Result
	matrix    model.Matrix
	inventory verify.Inventory
	findings  []model.Finding
}

// readVerifyInput reads manifests and evaluates them, or reads one
// ConnectivityMap file (or standard input holding one).
func readVerifyInput(ctx context.Context, g *globals, fl *verifyFlags, args []string, opts []analyze.Option, log *slog.Logger) (verifyInput, error) {
	paths := append(slices.Clone(args), fl.inputs.files...)
	var artifact []byte
	name := ""
	for _, p := range paths {
		var data []byte
		switch {
		case p == "-":
			b, err := io.ReadAll(g.streams.In)
			if err != nil {
				return verifyInput{}, fmt.Errorf("read standard input: %w", err)
			}
			// Manifests read from standard input below read these bytes again.
			g.streams.In = bytes.NewReader(b)
			data, p = b, manifest.StdinName
		case isJSONObjectFile(p):
			b, err := os.ReadFile(p)
			if err != nil {
				return verifyInput{}, err
			}
			data = b
		}
		if data != nil && isArtifact(data) {
			if len(paths) > 1 {
				return verifyInput{}, usagef("%s is a tightnet artifact: a ConnectivityMap must be the only input; give it alone, or give manifests only", p)
			}
			artifact, name = data, p
		}
	}
	if artifact != nil {
		var cm model.ConnectivityMap
		if err := model.Decode(artifact, model.KindConnectivityMap, &cm); err != nil {
			return verifyInput{}, fmt.Errorf("%s: %w; verify reads manifests, or a ConnectivityMap file written by tightnet connectivity -o json", name, err)
		}
		if len(opts) > 0 {
			return verifyInput{}, usagef("--ingress-controller-namespace applies to manifests; the ConnectivityMap %s was computed already", name)
		}
		log.Info("input read", "path", name, "from", model.KindConnectivityMap, "peers", len(cm.Peers))
		return verifyInput{matrix: cm.Matrix(), inventory: verify.Inventory{NamesOnly: true}, findings: cm.Findings}, nil
	}
	objs, err := fl.inputs.read(ctx, g, args, log)
	if err != nil {
		return verifyInput{}, err
	}
	res, err := analyze.Connectivity(ctx, objs, opts...)
	if err != nil {
		return verifyInput{}, err
	}
	findings := slices.Concat(objs.Findings, res.Findings)
	slices.SortFunc(findings, model.CompareFindings)
	inv := review.Inventory(objs)
	inv.IngressController = fl.ingress.placement()
	return verifyInput{objs: objs, result: res, matrix: res.Matrix, inventory: inv, findings: findings}, nil
}

// placement is where the ingress controller runs, as the flags say (nil
// when they do not); options has checked them.
func (f *ingressControllerFlags) placement() *verify.Placement {
	if f.namespace == "" {
		return nil
	}
	p := &verify.Placement{Namespace: f.namespace, PodLabels: map[string]string{}}
	for kv := range strings.SplitSeq(f.labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			p.PodLabels[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return p
}

func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
