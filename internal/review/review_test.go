package review_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
	"github.com/tightnet/tightnet/internal/review"
)

var update = flag.Bool("update", false, "rewrite golden files")

const example = "../../examples/review"

// golden compares got with testdata/name byte for byte.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/review -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %q\nwant: %q\n(go test ./internal/review -update rewrites it; review the diff)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d", path, len(gl), len(wl))
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// reviewExample reviews the bundled example: head against base, with the
// example's baseline rules.
func reviewExample(t *testing.T, mode string) (review.Result, string) {
	t.Helper()
	dir := t.TempDir()
	res, err := review.Run(context.Background(), review.Options{
		Head: []string{example + "/head"}, Base: []string{example + "/base"},
		Baseline: []string{example + "/baseline.yaml"}, OutDir: dir, Mode: mode,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, dir
}

// The change adds search (api → search, search → db, search's open
// egress) and loosens db's policy to the whole web namespace, so frontend
// reaches the database too: the data team's rule is violated by both.
func TestReviewExample(t *testing.T) {
	res, dir := reviewExample(t, "")
	const summary = "4 connections added, 0 removed, 0 changed, 1 baseline rule violated"
	if res.Summary != summary {
		t.Errorf("summary %q, want %q", res.Summary, summary)
	}
	want := review.Counts{Added: 4, Violated: 1}
	if res.Counts != want {
		t.Errorf("counts %+v, want %+v", res.Counts, want)
	}
	for _, name := range []string{"report.md", "report.txt", "report.html", "review.json", "connectivity-head.json",
		"connectivity-base.json", "diff.json", "verification.json", "verification.sarif"} {
		if res.Files[name] != filepath.Join(dir, name) {
			t.Errorf("Files[%q] = %q, want it in %s", name, res.Files[name], dir)
		}
	}
	if _, ok := res.Files["policies.yaml"]; ok {
		t.Errorf("policies.yaml written in review mode")
	}
	md := read(t, res.Files["report.md"])
	if !strings.HasPrefix(md, "**❌ tightnet review: "+summary+"**\n") {
		t.Errorf("report.md does not start with the summary line:\n%s", md)
	}
	if res.Markdown != md {
		t.Errorf("Markdown differs from report.md though it is far under the limit")
	}
	golden(t, "example.md", md)
	golden(t, "example.txt", read(t, res.Files["report.txt"]))
	golden(t, "example.html", read(t, res.Files["report.html"]))
	golden(t, "example.json", read(t, res.Files["review.json"]))

	// review.json reads back as a Review and re-renders the same reports.
	var r report.Review
	if err := model.Decode([]byte(read(t, res.Files["review.json"])), report.KindReview, &r); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]report.Format{"report.md": report.Markdown, "report.txt": report.Text, "report.html": report.HTML} {
		var b strings.Builder
		if err := report.RenderReview(&b, f, r); err != nil {
			t.Fatal(err)
		}
		if b.String() != read(t, res.Files[name]) {
			t.Errorf("%s re-rendered from review.json differs", name)
		}
	}
}

// Deterministic output: two runs write the same bytes.
func TestReviewDeterministic(t *testing.T) {
	a, _ := reviewExample(t, "")
	b, _ := reviewExample(t, "")
	for name := range a.Files {
		if read(t, a.Files[name]) != read(t, b.Files[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

// Without a base everything the head allows is new.
func TestReviewWithoutBase(t *testing.T) {
	dir := t.TempDir()
	res, err := review.Run(context.Background(), review.Options{Head: []string{example + "/head"}, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var cm model.ConnectivityMap
	if err := model.Decode([]byte(read(t, res.Files["connectivity-head.json"])), model.KindConnectivityMap, &cm); err != nil {
		t.Fatal(err)
	}
	if res.Counts.Added != len(cm.Connections) || res.Counts.Removed != 0 || res.Counts.Changed != 0 {
		t.Errorf("counts %+v, want every one of the head's %d connections added", res.Counts, len(cm.Connections))
	}
	for _, name := range []string{"verification.json", "verification.sarif"} {
		if _, ok := res.Files[name]; ok {
			t.Errorf("%s written without baseline rules", name)
		}
	}
	if strings.Contains(read(t, res.Files["report.md"]), "Baseline rules") {
		t.Errorf("report.md has a baseline section without baseline rules")
	}
}

// Synthesize mode proposes policies for the head and reviews the
// connectivity they give: least privilege closes the open egress the base
// allowed, and search still reads the database (the application needs
// it), which the baseline rule forbids.
func TestReviewSynthesize(t *testing.T) {
	res, _ := reviewExample(t, review.ModeSynthesize)
	if res.Counts.Policies != 6 {
		t.Errorf("%d policies proposed, want 6 (2 default denies, 4 workloads)", res.Counts.Policies)
	}
	if res.Counts.Removed == 0 || res.Counts.Violated != 1 {
		t.Errorf("counts %+v: want open egress removed and the database rule violated", res.Counts)
	}
	yaml := read(t, res.Files["policies.yaml"])
	if !strings.Contains(yaml, "name: tightnet-search") {
		t.Errorf("policies.yaml has no policy for search:\n%s", yaml)
	}
	md := read(t, res.Files["report.md"])
	if !strings.Contains(md, "<details><summary>Proposed policies: 6</summary>") || !strings.Contains(md, "name: tightnet-search") {
		t.Errorf("report.md does not show the proposed policies")
	}
	if !strings.Contains(res.Summary, "6 policies proposed") {
		t.Errorf("summary %q does not count the proposed policies", res.Summary)
	}
}

func TestReviewOptions(t *testing.T) {
	for name, opts := range map[string]review.Options{
		"mode":     {Head: []string{example + "/head"}, OutDir: t.TempDir(), Mode: "apply"},
		"no head":  {OutDir: t.TempDir()},
		"no out":   {Head: []string{example + "/head"}},
		"baseline": {Head: []string{example + "/head"}, OutDir: t.TempDir(), Baseline: []string{example + "/head/app.yaml"}},
	} {
		if _, err := review.Run(context.Background(), opts); !errors.Is(err, review.ErrOptions) {
			t.Errorf("%s: error %v, want ErrOptions", name, err)
		}
	}
	if _, err := review.Run(context.Background(), review.Options{Head: []string{example + "/nonexistent"}, OutDir: t.TempDir()}); err == nil {
		t.Errorf("no error for a head that does not exist")
	}
}
