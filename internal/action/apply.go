package action

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/tightnet/tightnet/internal/apply"
	"github.com/tightnet/tightnet/internal/cluster"
	"github.com/tightnet/tightnet/internal/report"
	"github.com/tightnet/tightnet/internal/rollout"
)

// Roller rolls policies out; rollout.Run in production.
type Roller func(context.Context, rollout.Options) (rollout.Result, error)

// runApply is mode apply: the policies under paths are applied to the
// cluster the kubeconfig input (or the runner's KUBECONFIG) names, after
// the server's dry run and a verification of the outcome against the
// baseline, which the action always requires.
func (c Config) runApply(ctx context.Context, gha *githubactions.Action, in inputs) error {
	if len(in.baseline) == 0 {
		return fmt.Errorf("mode apply needs the %q input: the action applies only policies that keep the baseline rules", InputBaseline)
	}
	kubeconfig, cleanup, err := writeKubeconfig(gha, in.kubeconfig)
	if err != nil {
		return err
	}
	defer cleanup()
	roll := c.Rollout
	if roll == nil {
		roll = rollout.Run
	}
	res, err := roll(ctx, rollout.Options{
		Policies:  in.paths,
		Manifests: in.manifests,
		Baseline:  in.baseline,
		DryRun:    in.dryRun,
		Cluster:   cluster.Config{Kubeconfig: kubeconfig, Context: in.context},
		Apply:     apply.Options{Owner: in.owner, Prune: in.prune},
	})
	refused := errors.Is(err, rollout.ErrRefused)
	if err != nil && !refused {
		return fmt.Errorf("apply %s: %w", strings.Join(in.paths, ", "), err)
	}

	summary := applyMarkdown(res)
	if gha.Getenv("GITHUB_STEP_SUMMARY") != "" {
		gha.AddStepSummary(summary)
	} else {
		gha.Infof("%s", summary)
	}
	violated := 0
	if v := res.Verification; v != nil {
		violated = v.Summary.Violated + v.Summary.Unchecked
	}
	if gha.Getenv("GITHUB_OUTPUT") != "" {
		for _, o := range []struct{ k, v string }{
			{"summary", applyLine(res)},
			{"created", strconv.Itoa(res.Count(apply.Created))},
			{"changed", strconv.Itoa(res.Count(apply.Changed))},
			{"unchanged", strconv.Itoa(res.Count(apply.Unchanged))},
			{"pruned", strconv.Itoa(res.Count(apply.Pruned))},
			{"violated", strconv.Itoa(violated)},
		} {
			gha.SetOutput(o.k, o.v)
		}
	}
	if refused {
		return fmt.Errorf("%w: %v", ErrFailOn, err)
	}
	return nil
}

// writeKubeconfig writes the kubeconfig input to a private file in the
// runner's temporary directory; "" (no input) uses the runner's own
// configuration.
func writeKubeconfig(gha *githubactions.Action, content string) (string, func(), error) {
	if strings.TrimSpace(content) == "" {
		return "", func() {}, nil
	}
	f, err := os.CreateTemp(cmp.Or(gha.Getenv("RUNNER_TEMP"), os.TempDir()), "kubeconfig-*")
	if err != nil {
		return "", nil, fmt.Errorf("write the kubeconfig input: %w", err)
	}
	name := f.Name()
	cleanup := func() { os.Remove(name) }
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		cleanup()
		return "", nil, fmt.Errorf("write the kubeconfig input: %w", err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("write the kubeconfig input: %w", err)
	}
	return filepath.Clean(name), cleanup, nil
}

func applyLine(res rollout.Result) string {
	s := fmt.Sprintf("%d created, %d changed, %d unchanged, %d pruned",
		res.Count(apply.Created), res.Count(apply.Changed), res.Count(apply.Unchanged), res.Count(apply.Pruned))
	switch {
	case res.Refused:
		return "refused by the baseline, nothing applied (would be " + s + ")"
	case res.DryRun:
		return s + " (dry run: nothing was written)"
	}
	return s
}

// applyMarkdown is the job summary of mode apply: the verdict, every
// policy's action, and the verification when it failed.
func applyMarkdown(res rollout.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## tightnet apply: %s\n\n**%s**\n\n", cmp.Or(res.Cluster, "cluster"), applyLine(res))
	if len(res.Changes) > 0 {
		b.WriteString("| action | policy |\n|---|---|\n")
		for _, ch := range res.Changes {
			if ch.Action == apply.Unchanged {
				continue
			}
			fmt.Fprintf(&b, "| %s | `%s` |\n", ch.Action, ch.Ref())
		}
		if n := res.Count(apply.Unchanged); n > 0 {
			fmt.Fprintf(&b, "| unchanged | %d policies |\n", n)
		}
		b.WriteString("\n")
	}
	if v := res.Verification; v != nil && v.Failed() {
		var vb strings.Builder
		if err := report.Verification(&vb, report.Markdown, *v); err == nil {
			b.WriteString(vb.String())
		}
	}
	return b.String()
}
