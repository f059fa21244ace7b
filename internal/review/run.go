package review

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/diff"
	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
	"github.com/tightnet/tightnet/internal/requirements"
	"github.com/tightnet/tightnet/internal/synth"
	"github.com/tightnet/tightnet/internal/verify"
)

// Modes.
const (
	ModeReview     = "review"
	ModeSynthesize = "synthesize"
)

// ErrOptions marks options a review cannot run with: callers report them
// as usage errors.
var ErrOptions = errors.New("invalid review options")

// Output file names in OutDir.
const (
	FileMarkdown     = "report.md"
	FileText         = "report.txt"
	FileHTML         = "report.html"
	FileReview       = "review.json"
	FileHead         = "connectivity-head.json"
	FileBase         = "connectivity-base.json"
	FileDiff         = "diff.json"
	FileVerification = "verification.json"
	FileSARIF        = "verification.sarif"
	FilePolicies     = "policies.yaml"
)

func run(ctx context.Context, opts Options) (Result, error) {
	if opts.Mode == "" {
		opts.Mode = ModeReview
	}
	switch {
	case opts.Mode != ModeReview && opts.Mode != ModeSynthesize:
		return Result{}, fmt.Errorf("%w: mode %q: want %s or %s", ErrOptions, opts.Mode, ModeReview, ModeSynthesize)
	case len(opts.Head) == 0:
		return Result{}, fmt.Errorf("%w: no head configuration: give the paths of the manifests to review", ErrOptions)
	case opts.OutDir == "":
		return Result{}, fmt.Errorf("%w: no output directory: give the directory to write the report into", ErrOptions)
	}
	var rules []baseline.Rule
	if len(opts.Baseline) > 0 {
		var err error
		if rules, err = baseline.Load(opts.Baseline...); err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrOptions, err)
		}
	}

	head, err := manifest.Read(ctx, opts.Head, manifest.Options{})
	if err != nil {
		return Result{}, fmt.Errorf("head configuration: %w", err)
	}
	topo, err := extract.Topology(ctx, head, extract.Options{})
	if err != nil {
		return Result{}, fmt.Errorf("head configuration: %w", err)
	}
	// topo.Findings carry head's input findings too.
	findings := slices.Clone(topo.Findings)

	var proposal *synth.Proposal
	evaluated := head
	if opts.Mode == ModeSynthesize {
		objs, reqs, reqFindings := requirements.FromTopology(topo)
		p := synth.Policies(objs, reqs, synth.DefaultOptions())
		proposal = &p
		findings = append(findings, reqFindings[len(topo.Findings):]...)
		findings = append(findings, p.Findings...)
		// The head's workloads, Services and routes, with the proposal in
		// place of the NetworkPolicies in force.
		proposed := *head
		proposed.Policies = nil
		for _, pol := range p.Policies {
			proposed.Policies = append(proposed.Policies, manifest.NetworkPolicy{Object: pol.Object})
		}
		evaluated = &proposed
	}
	if opts.LiveBase != nil {
		evaluated = manifest.Overlay(opts.LiveBase, evaluated)
	}
	headRes, err := analyze.Connectivity(ctx, evaluated)
	if err != nil {
		return Result{}, fmt.Errorf("head configuration: %w", err)
	}
	findings = append(findings, headRes.Findings...)

	baseMatrix := model.NewMatrixBuilder().Matrix()
	var baseFindings []model.Finding
	if len(opts.Base) > 0 || opts.LiveBase != nil {
		base := opts.LiveBase
		if base == nil {
			if base, err = manifest.Read(ctx, opts.Base, manifest.Options{}); err != nil {
				return Result{}, fmt.Errorf("base configuration: %w", err)
			}
		}
		baseRes, err := analyze.Connectivity(ctx, base)
		if err != nil {
			return Result{}, fmt.Errorf("base configuration: %w", err)
		}
		baseMatrix = baseRes.Matrix
		baseFindings = sorted(slices.Concat(base.Findings, baseRes.Findings))
	}
	d, err := diff.Matrices(baseMatrix, headRes.Matrix)
	if err != nil {
		return Result{}, err
	}
	findings = sorted(findings)

	var verification *verify.Verification
	if len(opts.Baseline) > 0 {
		var v verify.Verification
		if errs := model.AtLeast(findings, model.Error); len(errs) > 0 {
			v = verify.Unverified(rules, fmt.Sprintf("the head configuration could not be analysed: %d errors, the first at %s [%s]; fix them and review again",
				len(errs), errs[0].Location, errs[0].Code))
		} else {
			v = verify.Check(headRes.Matrix, Inventory(evaluated), rules)
		}
		v = v.WithFindings(findings, nil)
		verification = &v
	}

	counts := d.Counts()
	rv := report.Review{
		APIVersion: model.APIVersion,
		Kind:       report.KindReview,
		Mode:       opts.Mode,
		Counts:     report.ReviewCounts{Added: counts.Added, Removed: counts.Removed, Changed: counts.Changed, Findings: len(findings)},
		Diff:       d.Artifact(),
		Exposure:   headRes.Exposure,
		Findings:   findings,
	}
	if rv.Exposure == nil {
		rv.Exposure = []model.Exposure{}
	}
	if rv.Findings == nil {
		rv.Findings = []model.Finding{}
	}
	if verification != nil {
		rv.Verification = verification
		rv.Counts.Violated, rv.Counts.Unchecked = verification.Summary.Violated, verification.Summary.Unchecked
	}
	var policiesYAML []byte
	if proposal != nil {
		var b bytes.Buffer
		if err := synth.WriteYAML(&b, *proposal); err != nil {
			return Result{}, err
		}
		policiesYAML = b.Bytes()
		rv.Policies = b.String()
		rv.Counts.Policies = len(proposal.Policies)
	}
	rv.Summary = report.ReviewSummary(rv.Counts, verification != nil)

	files := map[string][]byte{}
	for name, f := range map[string]report.Format{FileMarkdown: report.Markdown, FileText: report.Text, FileHTML: report.HTML} {
		var b bytes.Buffer
		if err := report.RenderReview(&b, f, rv); err != nil {
			return Result{}, err
		}
		files[name] = b.Bytes()
	}
	artifacts := map[string]any{
		FileReview: rv,
		FileHead:   model.NewConnectivityMap(headRes.Matrix, headRes.Findings),
		FileBase:   model.NewConnectivityMap(baseMatrix, baseFindings),
		FileDiff:   rv.Diff,
	}
	if verification != nil {
		artifacts[FileVerification] = *verification
		var b bytes.Buffer
		if err := report.Verification(&b, report.SARIF, *verification); err != nil {
			return Result{}, err
		}
		files[FileSARIF] = b.Bytes()
	}
	for name, a := range artifacts {
		b, err := model.Marshal(a)
		if err != nil {
			return Result{}, fmt.Errorf("encode %s: %w", name, err)
		}
		files[name] = b
	}
	if proposal != nil {
		files[FilePolicies] = policiesYAML
	}
	written, err := WriteFiles(opts.OutDir, files)
	if err != nil {
		return Result{}, err
	}
	all := slices.Clone(findings)
	slices.SortStableFunc(all, func(a, b model.Finding) int { return int(b.Severity) - int(a.Severity) })
	return Result{
		Summary:  rv.Summary,
		Markdown: report.TrimmedMarkdown(rv, report.CommentLimit, FileMarkdown),
		Counts: Counts{Added: rv.Counts.Added, Removed: rv.Counts.Removed, Changed: rv.Counts.Changed,
			Violated: rv.Counts.Violated, Unchecked: rv.Counts.Unchecked, Findings: rv.Counts.Findings, Policies: rv.Counts.Policies},
		Findings: all,
		Files:    written,
	}, nil
}

// sorted sorts findings and drops exact repeats (a finding of the inputs
// can reach a review by two stages).
func sorted(fs []model.Finding) []model.Finding {
	slices.SortFunc(fs, model.CompareFindings)
	return slices.Compact(fs)
}

// Inventory is what baseline rules select workloads by: pod and namespace
// labels, and where each workload was read.
func Inventory(objs *manifest.Objects) verify.Inventory {
	inv := verify.Inventory{
		PodLabels:       make(map[model.Peer]map[string]string, len(objs.Workloads)),
		NamespaceLabels: make(map[string]map[string]string, len(objs.Namespaces)),
		Sources:         make(map[model.Peer]model.Location, len(objs.Workloads)),
	}
	for _, w := range objs.Workloads {
		inv.PodLabels[w.Peer()] = w.PodLabels
		inv.Sources[w.Peer()] = w.Source
	}
	for _, ns := range objs.Namespaces {
		inv.NamespaceLabels[ns.Name] = ns.Labels
	}
	return inv
}

// WriteFiles writes files into dir: into a fresh directory beside it first,
// then each renamed into place, so no reader sees a half-written file and
// a failed run leaves dir's files as they were. It returns the paths
// written by name.
func WriteFiles(dir string, files map[string][]byte) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	clean := filepath.Clean(dir)
	tmp, err := os.MkdirTemp(filepath.Dir(clean), "."+strings.TrimPrefix(filepath.Base(clean), ".")+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range files {
			if !yield(name) {
				return
			}
		}
	})
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(tmp, name), files[name], 0o644); err != nil {
			return nil, fmt.Errorf("output directory: %w", err)
		}
	}
	written := make(map[string]string, len(files))
	for _, name := range names {
		dst := filepath.Join(dir, name)
		if err := os.Rename(filepath.Join(tmp, name), dst); err != nil {
			return nil, fmt.Errorf("output directory: %w", err)
		}
		written[name] = dst
	}
	return written, nil
}
