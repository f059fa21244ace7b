package action

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/review"
)

// TestEndToEnd runs the action with the real review over the bundled shop
// example, against the fake GitHub API: a pull request opened, then
// synchronised, then the same change from a fork.
func TestEndToEnd(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// The base is the shop before the change: without payment's policy,
	// so the head changes what payment may reach and be reached by.
	base := filepath.Join(t.TempDir(), "base")
	if err := os.CopyFS(base, os.DirFS(filepath.Join(root, "examples", "shop"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(base, "policies", "payment.yaml")); err != nil {
		t.Fatal(err)
	}
	var last review.Result
	reviewer := func(ctx context.Context, opts review.Options) (review.Result, error) {
		res, err := review.Run(ctx, opts)
		last = res
		return res, err
	}

	gh, srv := newFakeGitHub(t)
	cfg := Config{Client: srv.Client(), APIURL: srv.URL, Review: reviewer}
	step := func(event string, failOn string) (*run, error) {
		r := newRun(t, event, map[string]string{
			"paths":    filepath.Join(root, "examples", "shop"),
			"base":     base,
			"baseline": filepath.Join(root, "examples", "baseline-rules"),
			"fail-on":  failOn,
			"sarif":    filepath.Join(t.TempDir(), "tightnet.sarif"),
		})
		r.env["GITHUB_WORKSPACE"] = root
		return r, cfg.Run(t.Context(), r.gha)
	}

	r, err := step("pull_request_opened.json", "never")
	if err != nil {
		t.Fatalf("opened: %v", err)
	}
	n := last.Counts
	if n.Added+n.Removed+n.Changed == 0 {
		t.Fatalf("the review saw no change between the shop and its base without payment's policy: %+v", n)
	}
	t.Logf("review: %s; %d findings", last.Summary, len(last.Findings))
	out := r.outputs(t)
	for k, v := range map[string]int{"added": n.Added, "removed": n.Removed, "changed": n.Changed, "violated": n.Violated, "unchecked": n.Unchecked, "findings": n.Findings} {
		if out[k] != strconv.Itoa(v) {
			t.Errorf("output %s = %q, want %d", k, out[k], v)
		}
	}
	if out["report"] == "" || out["summary"] != last.Summary {
		t.Errorf("outputs %v: want the report path and the summary %q", out, last.Summary)
	}
	if s := r.readSummary(t); !strings.Contains(s, strings.TrimSpace(last.Markdown)) {
		t.Errorf("job summary lacks the report")
	}
	anns := r.annotations()
	if len(anns) > MaxAnnotations || len(anns) != min(len(last.Findings), MaxAnnotations) {
		t.Errorf("%d annotations for %d findings, want at most %d", len(anns), len(last.Findings), MaxAnnotations)
	}
	rank := map[string]int{"::error": 0, "::warning": 1, "::notice": 2}
	prev := 0
	for _, a := range anns {
		level, _, _ := strings.Cut(a, " ")
		if rank[level] < prev {
			t.Errorf("annotation %q after a less severe one", a)
		}
		prev = rank[level]
		if strings.Contains(a, "file=/") {
			t.Errorf("annotation %q names an absolute file; want workspace-relative", a)
		}
	}
	if c := gh.tightnetComments(42); len(c) != 1 {
		t.Fatalf("opened: %d tightnet comments, want 1", len(c))
	}

	if _, err := step("pull_request_synchronize.json", "change"); !errors.Is(err, ErrFailOn) {
		t.Errorf("synchronize with fail-on change: err = %v, want ErrFailOn", err)
	}
	if c := gh.tightnetComments(42); len(c) != 1 {
		t.Errorf("synchronize: %d tightnet comments, want the one updated", len(c))
	}

	gh.readOnly = true
	r, err = step("pull_request_fork.json", "never")
	if err != nil {
		t.Fatalf("fork: %v", err)
	}
	if s := r.readSummary(t); !strings.Contains(s, "comment skipped: the token cannot write to this repository (fork pull request)") {
		t.Errorf("fork: summary does not say the comment was skipped")
	}
	if len(gh.tightnetComments(43)) != 0 {
		t.Errorf("fork: a comment was written")
	}
}
