package stage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/apply"
	"github.com/tightnet/tightnet/internal/cluster"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
	"github.com/tightnet/tightnet/internal/rollout"
)

type applyFlags struct {
	files           []string
	manifests       []string
	cluster         clusterFlags
	output          outputFlags
	owner           string
	prune           bool
	dryRun          bool
	forceConflicts  bool
	baselines       []string
	skipVerify      bool
	allowViolations bool
}

func applyCommand(g *globals) *cobra.Command {
	var fl applyFlags
	cmd := &cobra.Command{
		Use:   "apply POLICIES... --baseline RULES [--prune]",
		Short: "Apply approved policies to the live cluster: server-side apply, dry run first, verified against the baseline",
		Long: `Bring the live cluster's policies to a proposal (NetworkPolicies and the
admin tiers, as tightnet synthesize writes them).

Every policy is first applied with the server's dry run; if the cluster
refuses any of them, it prints the server's message for each and applies
nothing. The policies as they will be, together with the cluster's
workloads (and, with --manifests, the application's manifests laid over
them, for workloads not deployed yet), are then verified against the
baseline rules (--baseline), and apply refuses when a rule would be
violated or unchecked, unless --allow-violations. Only then is each policy applied (server-side apply,
field manager "tightnet").

Every policy applied is labelled app.kubernetes.io/managed-by=tightnet and
tightnet.dev/owner=OWNER. --prune deletes the policies labelled with the
same owner that the proposal no longer holds, and nothing else: policies
written by people or other tools, or applied under another owner, are never
touched. Give each application its own --owner.

The output lists each policy as created, changed, unchanged or pruned.
Exit status: 0 applied (or, with --dry-run, would apply), 1 refused by the
baseline, 2 refused by the cluster or an error.`,
		Example: `  tightnet apply out/policies.yaml --baseline rules/ --owner shop --prune --dry-run
  tightnet apply out/policies.yaml --baseline rules/ --owner shop --prune --context prod
  tightnet apply policies/ --skip-verify --kubeconfig ~/.kube/staging`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd, g, &fl, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&fl.files, "filename", "f", nil, `a policy file or directory, "-" for standard input (repeatable; adds to the positional paths)`)
	fl.cluster.register(cmd)
	fl.output.register(cmd, []report.Format{report.Text, report.JSON}, report.Text)
	f.StringVar(&fl.owner, "owner", apply.DefaultOwner, "the owner label value: --prune removes only policies applied under the same owner")
	f.BoolVar(&fl.prune, "prune", false, "delete the policies tightnet applied under --owner that the proposal no longer holds")
	f.BoolVar(&fl.dryRun, "dry-run", false, "stop after the server's dry run and the verification: print what would change, write nothing")
	f.BoolVar(&fl.forceConflicts, "force-conflicts", false, "take over fields another field manager owns (as kubectl apply --server-side --force-conflicts)")
	f.StringArrayVar(&fl.baselines, "baseline", nil, "a baseline rules file, or a directory of them (repeatable): the outcome must satisfy them")
	f.StringArrayVar(&fl.manifests, "manifests", nil,
		"the application's manifests as they will be deployed (repeatable): verified laid over the live cluster, so workloads not deployed yet count")
	f.BoolVar(&fl.skipVerify, "skip-verify", false, "apply without baseline verification (when no --baseline is given)")
	f.BoolVar(&fl.allowViolations, "allow-violations", false, "apply even when the outcome violates or cannot check a baseline rule")
	return cmd
}

func runApply(cmd *cobra.Command, g *globals, fl *applyFlags, args []string) error {
	format, err := fl.output.format([]report.Format{report.Text, report.JSON})
	if err != nil {
		return err
	}
	if len(fl.baselines) == 0 && !fl.skipVerify {
		return usagef("--baseline is required: apply verifies the outcome against the baseline rules first; give --skip-verify to apply unverified")
	}
	paths := append(slices.Clone(args), fl.files...)
	if len(paths) == 0 {
		return usagef("no policies: give the policy files or directories to apply (tightnet synthesize writes policies.yaml)")
	}
	log := g.logger()
	res, err := rollout.Run(cmd.Context(), rollout.Options{
		Policies: paths, Stdin: g.streams.In, Manifests: fl.manifests,
		Baseline: fl.baselines, SkipVerify: fl.skipVerify, AllowViolations: fl.allowViolations,
		DryRun:  fl.dryRun,
		Cluster: cluster.Config{Kubeconfig: fl.cluster.kubeconfig, Context: fl.cluster.context},
		Apply:   apply.Options{Owner: fl.owner, Prune: fl.prune, ForceConflicts: fl.forceConflicts},
		Logger:  log,
	})
	if res.Cluster != "" && !g.quiet {
		// Which cluster, always: a missing kubeconfig falls back to the
		// pod's own cluster, and nobody should learn that afterwards.
		fmt.Fprintf(g.streams.Err, "tightnet: apply: %s at %s\n", res.Cluster, res.Server)
	}
	violated := 0
	if v := res.Verification; v != nil {
		violated = v.Summary.Violated + v.Summary.Unchecked
		log.Info("apply: outcome verified: "+report.VerificationSummary(*v), "violated", v.Summary.Violated, "unchecked", v.Summary.Unchecked)
		if v.Failed() {
			if err := report.Verification(g.streams.Err, report.Text, *v); err != nil {
				return err
			}
			if !res.Refused {
				fmt.Fprintln(g.streams.Err, "tightnet: applying despite the baseline (--allow-violations)")
			}
		}
	}
	if errors.Is(err, rollout.ErrRefused) {
		fmt.Fprintf(g.streams.Err, "tightnet: %v (%s). Fix the policies, or give --allow-violations\n", err, report.VerificationSummary(*res.Verification))
		return errors.Join(errFindings, writeApplyResults(g, res.Result, violated, ""))
	}
	if err != nil {
		return err
	}

	var buf bytes.Buffer
	if format == report.JSON {
		b, err := json.MarshalIndent(struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Cluster    string `json:"cluster"`
			apply.Result
		}{model.APIVersion, apply.KindApplyResult, res.Cluster, res.Result}, "", "  ")
		if err != nil {
			return err
		}
		buf.Write(append(b, '\n'))
	} else {
		writeApplyText(&buf, res.Result)
	}
	if err := fl.output.write(g, buf.Bytes()); err != nil {
		return err
	}
	log.Info("apply: "+applySummary(res.Result), "cluster", res.Cluster)
	return writeApplyResults(g, res.Result, violated, fl.output.path)
}

func writeApplyText(buf *bytes.Buffer, r apply.Result) {
	tw := tabwriter.NewWriter(buf, 0, 0, 1, ' ', 0)
	for _, c := range r.Changes {
		fmt.Fprintf(tw, "%s\t%s\n", c.Action, c.Ref())
	}
	tw.Flush()
	fmt.Fprintf(buf, "apply: %s\n", applySummary(r))
}

func applySummary(r apply.Result) string {
	s := fmt.Sprintf("%d created, %d changed, %d unchanged, %d pruned",
		r.Count(apply.Created), r.Count(apply.Changed), r.Count(apply.Unchanged), r.Count(apply.Pruned))
	if r.DryRun {
		s += " (dry run: nothing was written)"
	}
	return s
}

func writeApplyResults(g *globals, r apply.Result, violated int, output string) error {
	return writeResults(g.resultsDir, map[string]string{
		"created":   strconv.Itoa(r.Count(apply.Created)),
		"changed":   strconv.Itoa(r.Count(apply.Changed)),
		"unchanged": strconv.Itoa(r.Count(apply.Unchanged)),
		"pruned":    strconv.Itoa(r.Count(apply.Pruned)),
		"violated":  strconv.Itoa(violated),
		"output":    output,
	})
}
