// Package rollout is the last step of the flow: it takes approved policies
// to a live cluster. It reads the policy files, plans their server-side
// apply (the server's dry run, and what --prune would delete), verifies the
// cluster as it will be against the baseline rules, and applies only when
// the verification holds or the caller overrides it.
//
// Input: policy paths, baseline rules and a cluster configuration. Output:
// what was (or would be) created, changed, left unchanged and pruned, and
// the verification of the outcome. The CLI's apply stage and the GitHub
// Action's apply mode both run it; it must not depend on either.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/apply"
	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/cluster"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/review"
	"github.com/tightnet/tightnet/internal/verify"
)

// Options say what to roll out where.
type Options struct {
	// Policies are the policy files or directories to apply; "-" reads
	// Stdin.
	Policies []string
	Stdin    io.Reader
	// Manifests are the application's manifests as they will be deployed
	// (optional): the verification lays them over the live cluster, so
	// workloads not deployed yet count, as when policies go out first.
	Manifests []string
	// Baseline are baseline rule files; none requires SkipVerify.
	Baseline   []string
	SkipVerify bool
	// AllowViolations applies even when the outcome fails the baseline.
	AllowViolations bool
	// DryRun stops after the plan and the verification.
	DryRun  bool
	Cluster cluster.Config
	Apply   apply.Options
	Logger  *slog.Logger
}

// Result is what a rollout did.
type Result struct {
	apply.Result
	// Verification is the outcome's, nil without baseline rules.
	Verification *verify.Verification
	// Refused says the baseline stopped the rollout: nothing was written.
	Refused bool
	// Cluster names the cluster ("cluster:CONTEXT"), Server is its API
	// server's address.
	Cluster, Server string
}

// ErrRefused is returned (wrapped) when the outcome would fail the
// baseline and AllowViolations is off; nothing was written.
var ErrRefused = errors.New("apply refused: the cluster with these policies would fail the baseline; nothing was applied")

// ErrNoBaseline is returned when no baseline rules are given and
// SkipVerify is off.
var ErrNoBaseline = errors.New("baseline rules are required: apply verifies the outcome against them first; skip the verification explicitly to apply unverified")

// Run rolls the policies out. Its error wraps ErrRefused when the baseline
// refused them (the Result then holds the plan and the verification), is
// an *apply.RejectedError when the cluster refused some, and otherwise
// says what could not be done.
func Run(ctx context.Context, opts Options) (Result, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(opts.Baseline) == 0 && !opts.SkipVerify {
		return Result{}, ErrNoBaseline
	}
	var rules []baseline.Rule
	if len(opts.Baseline) > 0 {
		var err error
		if rules, err = baseline.Load(opts.Baseline...); err != nil {
			return Result{}, err
		}
	}
	if len(opts.Policies) == 0 {
		return Result{}, errors.New("no policies given: name the policy files or directories to apply")
	}
	proposal, err := manifest.Read(ctx, opts.Policies, manifest.Options{Stdin: opts.Stdin, Logger: log})
	if err != nil {
		return Result{}, err
	}
	if errs := model.AtLeast(proposal.Findings, model.Error); len(errs) > 0 {
		return Result{}, fmt.Errorf("the policies could not be read: %s [%s] %s, and %d more error(s); nothing was applied",
			errs[0].Location, errs[0].Code, errs[0].Message, len(errs)-1)
	}
	objects, err := apply.Prepare(proposal, opts.Apply.Owner)
	if err != nil {
		return Result{}, err
	}
	client, err := cluster.Connect(opts.Cluster)
	if err != nil {
		return Result{}, err
	}
	plan, err := apply.NewPlan(ctx, client, objects, opts.Apply)
	if err != nil {
		return Result{}, err
	}
	res := Result{Result: plan.Result, Cluster: client.Name, Server: client.REST.Host}

	if len(rules) > 0 {
		live, err := client.Read(ctx, manifest.Options{Logger: log})
		if err != nil {
			return Result{}, err
		}
		if len(opts.Manifests) > 0 {
			app, err := manifest.Read(ctx, opts.Manifests, manifest.Options{Logger: log})
			if err != nil {
				return Result{}, fmt.Errorf("manifests: %w", err)
			}
			if errs := model.AtLeast(app.Findings, model.Error); len(errs) > 0 {
				return Result{}, fmt.Errorf("the manifests could not be read: %s [%s] %s; nothing was applied", errs[0].Location, errs[0].Code, errs[0].Message)
			}
			live = manifest.Overlay(live, app)
		}
		outcome := plan.Outcome(live, proposal)
		conn, err := analyze.Connectivity(ctx, outcome)
		if err != nil {
			return Result{}, err
		}
		v := verify.Check(conn.Matrix, review.Inventory(outcome), rules)
		res.Verification = &v
		if v.Failed() && !opts.AllowViolations {
			res.Refused = true
			return res, ErrRefused
		}
	}
	if opts.DryRun {
		return res, nil
	}
	applied, err := plan.Execute(ctx)
	if err != nil {
		return Result{}, err
	}
	res.Result = applied
	return res, nil
}
