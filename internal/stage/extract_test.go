package stage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/stage"
)

// extractGolden compares with testdata/extract/golden/<name>.
func extractGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "extract", "golden", name)
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

// TestExtractFormats: the Topology as JSON (the default) and text, with
// observed traffic merged; the unmatched flow is a warning, so the run
// succeeds.
func TestExtractFormats(t *testing.T) {
	for _, format := range []string{"json", "txt"} {
		r := tightnet(t, "", "extract", "testdata/extract/app", "--traffic", "testdata/extract/flows.csv", "-o", format)
		if r.code != stage.ExitOK {
			t.Fatalf("-o %s: exit %d: %s", format, r.code, r.stder)
		}
		extractGolden(t, "topology."+format, r.stdout)
	}
	r := tightnet(t, "", "extract", "testdata/extract/app", "-o", "txt")
	if !strings.Contains(r.stdout, "web/frontend[Deployment] => web/catalog[Deployment] : TCP 8000\n") {
		t.Errorf("text output lacks the connection:\n%s", r.stdout)
	}
	if r := tightnet(t, "", "extract", "testdata/extract/app"); !strings.HasPrefix(r.stdout, "{") {
		t.Errorf("default output is not the JSON artifact:\n%s", r.stdout)
	} else if _, err := extract.Decode([]byte(r.stdout)); err != nil {
		t.Errorf("default output does not decode: %v", err)
	}
}

func TestExtractExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"clean", []string{"testdata/extract/app"}, stage.ExitOK},
		{"warnings fail on warning", []string{"testdata/extract/app", "--traffic", "testdata/extract/flows.csv", "--fail-on", "warning"}, stage.ExitFindings},
		{"malformed traffic record", []string{"testdata/extract/app", "--traffic", "testdata/extract/broken.csv"}, stage.ExitFindings},
		{"malformed traffic, never fail", []string{"testdata/extract/app", "--traffic", "testdata/extract/broken.csv", "--fail-on", "never"}, stage.ExitOK},
		{"malformed manifest", []string{"testdata/broken"}, stage.ExitFindings},
		{"missing traffic file", []string{"testdata/extract/app", "--traffic", "testdata/extract/nope.csv"}, stage.ExitError},
		{"missing input", []string{"testdata/extract/nope"}, stage.ExitError},
		{"no input", nil, stage.ExitError},
		{"bad format", []string{"testdata/extract/app", "-o", "csv"}, stage.ExitError},
		{"bad cluster domain", []string{"testdata/extract/app", "--cluster-domain", ""}, stage.ExitError},
		{"bad monitoring namespace", []string{"testdata/extract/app", "--monitoring-namespace", "a/b"}, stage.ExitError},
		{"stdin twice", []string{"-", "--traffic", "-"}, stage.ExitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tightnet(t, "", append([]string{"extract", "-q"}, tc.args...)...)
			if r.code != tc.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.want, r.stder)
			}
		})
	}
}

// TestExtractOutAndResults: --out writes the artifact atomically, findings
// go to standard error, and the result files hold the counts.
func TestExtractOutAndResults(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "topology.json")
	results := filepath.Join(dir, "results")
	r := tightnet(t, "", "extract", "testdata/extract/app", "--traffic", "testdata/extract/flows.csv",
		"--out", out, "--results-dir", results)
	if r.code != stage.ExitOK || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stder)
	}
	if !strings.Contains(r.stder, "warning [traffic-unmatched]") {
		t.Errorf("stderr lacks the unmatched flow:\n%s", r.stder)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := extract.Decode(data); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"workloads": "2", "connections": "2", "exposures": "1", "external": "0", "findings": "1", "output": out} {
		got, err := os.ReadFile(filepath.Join(results, name))
		if err != nil || string(got) != want {
			t.Errorf("result %s = %q (%v), want %q", name, got, err, want)
		}
	}
}

// TestExtractTrafficFromStdin: --traffic - reads standard input.
func TestExtractTrafficFromStdin(t *testing.T) {
	r := tightnet(t, "src,dst,port\nweb/catalog,web/frontend,8080\n", "extract", "testdata/extract/app", "--traffic", "-", "-o", "txt")
	if r.code != stage.ExitOK || !strings.Contains(r.stdout, "<stdin>:2: observed flow web/catalog => web/frontend TCP 8080") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stder)
	}
}
