package stage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/stage"
)

const reviewExample = "../../examples/review"

func TestReviewExitCodes(t *testing.T) {
	args := func(dir string, more ...string) []string {
		return append([]string{"review", reviewExample + "/head", "--base", reviewExample + "/base",
			"--baseline", reviewExample + "/baseline.yaml", "--out-dir", dir}, more...)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"violation fails by default", args(t.TempDir()), stage.ExitFindings},
		{"never", args(t.TempDir(), "--fail-on", "never"), stage.ExitOK},
		{"change", []string{"review", reviewExample + "/head", "--base", reviewExample + "/head", "--out-dir", t.TempDir(), "--fail-on", "change"}, stage.ExitOK},
		{"change with changes", []string{"review", reviewExample + "/head", "--base", reviewExample + "/base", "--out-dir", t.TempDir(), "--fail-on", "change"}, stage.ExitFindings},
		{"no violation without baseline", []string{"review", reviewExample + "/head", "--base", reviewExample + "/base", "--out-dir", t.TempDir()}, stage.ExitOK},
		{"bad fail-on", args(t.TempDir(), "--fail-on", "sometimes"), stage.ExitError},
		{"bad mode", args(t.TempDir(), "--mode", "apply"), stage.ExitError},
		{"no out-dir", []string{"review", reviewExample + "/head"}, stage.ExitError},
		{"no head", []string{"review", "--out-dir", t.TempDir()}, stage.ExitError},
		{"missing head", []string{"review", reviewExample + "/nonexistent", "--out-dir", t.TempDir()}, stage.ExitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tightnet(t, "", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stder)
			}
		})
	}
}

func TestReviewOutputsAndReport(t *testing.T) {
	dir := t.TempDir()
	results := t.TempDir()
	r := tightnet(t, "", "review", reviewExample+"/head", "--base", reviewExample+"/base", "--baseline", reviewExample+"/baseline.yaml",
		"--out-dir", dir, "--results-dir", results, "--mode", "synthesize", "--fail-on", "never")
	if r.code != stage.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stder)
	}
	if !strings.HasPrefix(r.stdout, "2 connections added, 3 removed, 0 changed, 1 baseline rule violated, 6 policies proposed\n") {
		t.Errorf("stdout does not start with the summary: %q", r.stdout)
	}
	for _, name := range []string{"report.md", "report.html", "report.txt", "review.json", "policies.yaml", "diff.json", "verification.sarif"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("output %s: %v", name, err)
		}
	}
	for name, want := range map[string]string{"added": "2", "removed": "3", "violated": "1", "policies": "6"} {
		got, err := os.ReadFile(filepath.Join(results, name))
		if err != nil || string(got) != want {
			t.Errorf("result %s = %q (%v), want %q", name, got, err, want)
		}
	}

	// tightnet report re-renders review.json as review wrote it.
	for format, file := range map[string]string{"md": "report.md", "html": "report.html", "txt": "report.txt", "json": "review.json"} {
		r := tightnet(t, "", "report", filepath.Join(dir, "review.json"), "-o", format)
		want, _ := os.ReadFile(filepath.Join(dir, file))
		if r.code != stage.ExitOK || r.stdout != string(want) {
			t.Errorf("report -o %s: exit %d, output differs from %s: %s", format, r.code, file, r.stder)
		}
	}
	r = tightnet(t, "", "report", filepath.Join(dir, "diff.json"), filepath.Join(dir, "verification.json"), "-o", "md")
	if r.code != stage.ExitOK || !strings.Contains(r.stdout, "**2 connections added, 3 removed, 0 changed; 1 peer added, 0 removed**") ||
		!strings.Contains(r.stdout, "tightnet verify: 1 of 2 baseline rules violated") {
		t.Errorf("report of a diff and a verification: exit %d\n%s%s", r.code, r.stdout, r.stder)
	}
	for _, bad := range [][]string{
		{"report"},
		{"report", filepath.Join(dir, "review.json"), filepath.Join(dir, "review.json"), "-o", "html"},
		{"report", filepath.Join(dir, "connectivity-head.json")},
		{"report", filepath.Join(dir, "diff.json"), "-o", "html"},
		{"report", filepath.Join(dir, "policies.yaml")},
	} {
		if r := tightnet(t, "", bad...); r.code != stage.ExitError {
			t.Errorf("%v: exit %d, want %d", bad, r.code, stage.ExitError)
		}
	}
}
