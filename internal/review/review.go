// Package review runs tightnet's whole flow for a pull request in one
// process: extract → synthesize → connectivity of the proposal and of the
// base → semantic diff → verify → report, writing every output into one
// directory.
//
// Input: the head configuration's paths, optionally the base's (a checkout
// of the base branch, or what is deployed) and baseline rule files. Output:
// a Result with the report and counts, and files in OutDir. It orchestrates
// the stage packages and is called by the CLI and the GitHub Action.
package review

import (
	"context"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Options say what to review.
type Options struct {
	// Head and Base are manifest paths (directories, files, charts,
	// kustomizations). Base may be empty: everything is then new.
	Head, Base []string
	// LiveBase, when set, is the live cluster as the base, in place of
	// Base; the head is then laid over it (manifest.Overlay), so the
	// review shows what the change does to the running cluster and
	// verifies the cluster as it will be.
	LiveBase *manifest.Objects
	// Baseline are baseline rule files; none means no verification.
	Baseline []string
	// OutDir receives every output file; it is created if needed.
	OutDir string
	// Mode is "review" (default): the change's effect on connectivity,
	// or "synthesize": propose policies for head and review those.
	Mode string
}

// Counts summarise a review for pipelines.
type Counts struct {
	Added, Removed, Changed int // connections, base → head
	Violated, Unchecked     int // baseline rules
	Findings                int // findings of every stage
	Policies                int // proposed policies (mode synthesize)
}

// Result is what a review found and where it wrote it.
type Result struct {
	// Summary is the one-line summary, e.g. "3 connections added, 1
	// removed, 2 baseline rules violated".
	Summary string
	// Markdown is the report for a PR comment or job summary, already
	// trimmed under GitHub's 65,536-character comment limit.
	Markdown string
	Counts   Counts
	// Findings are every stage's findings with locations, most severe
	// first, for annotations.
	Findings []model.Finding
	// Files maps an output's role ("report.md", "report.html",
	// "report.txt", "review.json", "policies.yaml", "verification.sarif",
	// ...) to the path written.
	Files map[string]string
}

// Run performs a review. Its error is for inputs that cannot be read or
// outputs that cannot be written; problems in the inputs are findings.
func Run(ctx context.Context, opts Options) (Result, error) {
	return run(ctx, opts)
}
