package stage_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/stage"
)

const (
	diffOld = "testdata/diff/old"
	diffNew = "testdata/diff/new"
)

// diffGolden compares got with testdata/diff/golden/name; -update rewrites it.
func diffGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "diff", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/stage -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// TestDiffFormats renders the diff of the two shop configurations — a
// connection added, removed and changed, workloads added (one of them with
// no connection at all) and removed, and an address range that only the new
// policies tell apart — in every format.
func TestDiffFormats(t *testing.T) {
	for _, format := range []string{"txt", "json", "csv", "md", "dot", "mermaid"} {
		name := "diff." + format
		t.Run(name, func(t *testing.T) {
			r := tightnet(t, "", "diff", diffOld, diffNew, "-o", format)
			if r.code != stage.ExitOK {
				t.Fatalf("exit %d: %s", r.code, r.stder)
			}
			diffGolden(t, name, r.stdout)
		})
	}
}

// TestDiffRefinesAddressRanges: one side has one external range, the other
// three; the diff compares them on the common split and names only the
// ranges whose connections differ.
func TestDiffRefinesAddressRanges(t *testing.T) {
	r := tightnet(t, "", "diff", "testdata/diff/split-old.json", "testdata/diff/split-new.json")
	if r.code != stage.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stder)
	}
	diffGolden(t, "split.txt", r.stdout)
}

// TestDiffReadsConnectivityMaps: a side given as the ConnectivityMap of the
// same manifests, in a file or on standard input, diffs the same.
func TestDiffReadsConnectivityMaps(t *testing.T) {
	dir := t.TempDir()
	oldMap, newMap := filepath.Join(dir, "old.json"), filepath.Join(dir, "new.json")
	for path, src := range map[string]string{oldMap: diffOld, newMap: diffNew} {
		if r := tightnet(t, "", "connectivity", src, "-o", "json", "--out", path); r.code != stage.ExitOK {
			t.Fatalf("connectivity %s: exit %d: %s", src, r.code, r.stder)
		}
	}
	stdinMap, err := os.ReadFile(oldMap)
	if err != nil {
		t.Fatal(err)
	}
	var manifests []byte
	for _, f := range []string{"app.yaml", "policies.yaml"} {
		b, err := os.ReadFile(filepath.Join(diffOld, f))
		if err != nil {
			t.Fatal(err)
		}
		manifests = append(append(manifests, b...), "\n---\n"...)
	}
	for _, format := range []string{"txt", "json"} {
		want := tightnet(t, "", "diff", diffOld, diffNew, "-o", format).stdout
		for _, tc := range []struct {
			name, stdin, old, new string
		}{
			{"map to map", "", oldMap, newMap},
			{"map to manifests", "", oldMap, diffNew},
			{"manifests to map", "", diffOld, newMap},
			{"map on stdin", string(stdinMap), "-", diffNew},
			{"manifests on stdin", string(manifests), "-", newMap},
		} {
			r := tightnet(t, tc.stdin, "diff", tc.old, tc.new, "-o", format)
			if r.code != stage.ExitOK {
				t.Fatalf("%s: exit %d: %s", tc.name, r.code, r.stder)
			}
			if r.stdout != want {
				t.Errorf("%s, -o %s: output differs from the manifests' diff:\n%s\nvs\n%s", tc.name, format, r.stdout, want)
			}
		}
	}
}

func TestDiffJSONIsADecodableConnectivityDiff(t *testing.T) {
	r := tightnet(t, "", "diff", diffOld, diffNew, "-o", "json")
	var d model.ConnectivityDiff
	if err := model.Decode([]byte(r.stdout), model.KindConnectivityDiff, &d); err != nil {
		t.Fatal(err)
	}
	kinds := map[model.ChangeKind]int{}
	for _, c := range d.Changes {
		if k, ok := model.ChangeOf(c.Old, c.New); !ok || k != c.Kind {
			t.Errorf("change %v is %v, but %v -> %v", c.Edge(), c.Kind, c.Old, c.New)
		}
		kinds[c.Kind]++
	}
	if kinds[model.Added] != 2 || kinds[model.Removed] != 2 || kinds[model.Changed] != 1 || len(d.AddedPeers) != 2 || len(d.RemovedPeers) != 1 {
		t.Errorf("changes %v, added peers %v, removed peers %v", kinds, d.AddedPeers, d.RemovedPeers)
	}
}

func TestDiffOfAConfigurationWithItself(t *testing.T) {
	for _, format := range []string{"txt", "csv", "md"} {
		r := tightnet(t, "", "diff", diffOld, diffOld, "-o", format, "--fail-on-change")
		if r.code != stage.ExitOK {
			t.Fatalf("exit %d: %s", r.code, r.stder)
		}
		want := map[string]string{"txt": "", "csv": "diff-type,src,dst,old,new\n", "md": "**no differences**\n"}[format]
		if r.stdout != want {
			t.Errorf("-o %s: output %q, want %q", format, r.stdout, want)
		}
	}
}

func TestDiffExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"differences pass by default", "", []string{"diff", diffOld, diffNew}, stage.ExitOK, ""},
		{"differences fail when asked", "", []string{"diff", diffOld, diffNew, "--fail-on-change"}, stage.ExitFindings, ""},
		{"no difference passes when asked", "", []string{"diff", diffNew, diffNew, "--fail-on-change"}, stage.ExitOK, ""},
		{"error findings fail", "", []string{"diff", "testdata/broken", diffNew}, stage.ExitFindings, "input-malformed"},
		{"never fails on findings", "", []string{"diff", "testdata/broken", diffNew, "--fail-on", "never"}, stage.ExitOK, "policy-invalid-selector"},
		{"missing old path", "", []string{"diff", "testdata/nope", diffNew}, stage.ExitError, "old configuration: read manifests: stat testdata/nope"},
		{"missing new path", "", []string{"diff", diffOld, "testdata/nope"}, stage.ExitError, "new configuration: read manifests: stat testdata/nope"},
		{"wrong artifact kind", "", []string{"diff", diffOld, "testdata/diff/wrong-kind.json"}, stage.ExitError,
			"new configuration testdata/diff/wrong-kind.json: decode ConnectivityMap: found ConnectivityDiff"},
		{"wrong kind names the way out", "", []string{"diff", "testdata/diff/wrong-kind.json", diffNew}, stage.ExitError, "tightnet connectivity -o json"},
		{"unknown apiVersion", "", []string{"diff", "testdata/diff/future.json", diffNew}, stage.ExitError, `apiVersion "tightnet.dev/v9"`},
		{"wrong kind on stdin", `{"apiVersion": "tightnet.dev/v1alpha1", "kind": "Verification"}`, []string{"diff", "-", diffNew}, stage.ExitError, "found Verification"},
		{"one configuration", "", []string{"diff", diffOld}, stage.ExitError, "two configurations"},
		{"three configurations", "", []string{"diff", diffOld, diffNew, diffNew}, stage.ExitError, "got 3"},
		{"stdin twice", "", []string{"diff", "-", "-"}, stage.ExitError, "standard input"},
		{"unknown format", "", []string{"diff", diffOld, diffNew, "-o", "yaml"}, stage.ExitError, `unknown output format "yaml"`},
		{"bad fail-on", "", []string{"diff", diffOld, diffNew, "--fail-on", "sometimes"}, stage.ExitError, "--fail-on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tightnet(t, tc.stdin, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", r.code, tc.code, r.stder)
			}
			if !strings.Contains(r.stder, tc.msg) {
				t.Errorf("stderr lacks %q:\n%s", tc.msg, r.stder)
			}
		})
	}
}

func TestDiffOutFileAndResults(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "reports", "diff.md")
	results := filepath.Join(dir, "results")
	r := tightnet(t, "", "diff", diffOld, diffNew, "-o", "md", "--out", out, "--results-dir", results)
	if r.code != stage.ExitOK || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stder)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := tightnet(t, "", "diff", diffOld, diffNew, "-o", "md").stdout; string(got) != want {
		t.Errorf("--out file differs from stdout output")
	}
	for name, want := range map[string]string{
		"added": "2", "removed": "2", "changed": "1", "added-peers": "2", "removed-peers": "1", "findings": "0", "output": out,
	} {
		b, err := os.ReadFile(filepath.Join(results, name))
		if err != nil || string(b) != want {
			t.Errorf("result %s = %q (%v), want %q", name, b, err, want)
		}
	}
}

func TestDiffSummaryAtVerbose(t *testing.T) {
	const summary = "2 connections added, 2 removed, 1 changed; 2 peers added, 1 removed"
	if r := tightnet(t, "", "diff", diffOld, diffNew, "-v"); !strings.Contains(r.stder, summary) {
		t.Errorf("-v: stderr lacks the summary %q:\n%s", summary, r.stder)
	}
	if r := tightnet(t, "", "diff", diffOld, diffNew); r.stder != "" {
		t.Errorf("stderr without -v is not empty:\n%s", r.stder)
	}
}

func TestDiffStageImageAndHelp(t *testing.T) {
	var out, errs bytes.Buffer
	code := stage.Run(context.Background(), "diff", []string{diffOld, diffNew, "-o", "csv"},
		stage.Streams{In: strings.NewReader(""), Out: &out, Err: &errs})
	if code != stage.ExitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if want := tightnet(t, "", "diff", diffOld, diffNew, "-o", "csv").stdout; out.String() != want {
		t.Errorf("stage image output differs from the subcommand's")
	}
	r := tightnet(t, "", "diff", "--help")
	for _, want := range []string{"diff OLD NEW", "--fail-on-change", "--results-dir", "diff-type: changed, source: SRC"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, r.stdout)
		}
	}
}
