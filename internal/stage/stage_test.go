package stage_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/stage"
)

var update = flag.Bool("update", false, "rewrite golden files")

type run struct {
	code          int
	stdout, stder string
}

func tightnet(t *testing.T, stdin string, args ...string) run {
	t.Helper()
	var out, errs bytes.Buffer
	code := stage.Run(context.Background(), "", args, stage.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errs})
	return run{code, out.String(), errs.String()}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
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

// TestConnectivityFormats renders the same input in every format, with and
// without a focus, against golden files.
func TestConnectivityFormats(t *testing.T) {
	for _, format := range []string{"txt", "json", "csv", "md", "dot", "mermaid", "rules"} {
		for _, focus := range []string{"", "db/postgres"} {
			name := "connectivity." + format
			args := []string{"connectivity", "testdata/app", "-o", format}
			if focus != "" {
				name = "connectivity-focus." + format
				args = append(args, "--focus-workload", focus)
			}
			t.Run(name, func(t *testing.T) {
				r := tightnet(t, "", args...)
				if r.code != stage.ExitOK {
					t.Fatalf("exit %d: %s", r.code, r.stder)
				}
				golden(t, name, r.stdout)
			})
		}
	}
}

// TestExposure pins the exposure section in text, Markdown and JSON.
func TestExposure(t *testing.T) {
	for _, format := range []string{"txt", "md", "json"} {
		r := tightnet(t, "", "connectivity", "testdata/app", "--exposure", "-o", format)
		if r.code != stage.ExitOK {
			t.Fatalf("exit %d: %s", r.code, r.stder)
		}
		golden(t, "exposure."+format, r.stdout)
	}
	if r := tightnet(t, "", "connectivity", "testdata/app", "--exposure", "-o", "dot"); r.code != stage.ExitError {
		t.Errorf("--exposure -o dot: exit %d, want a usage error", r.code)
	}
}

func TestTextLinesAreTheConventionalNotation(t *testing.T) {
	r := tightnet(t, "", "connectivity", "testdata/app")
	want := "web/frontend[Deployment] => db/postgres[StatefulSet] : TCP 5432\n"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("output lacks %q:\n%s", want, r.stdout)
	}
	if !strings.Contains(r.stder, "policies.yaml:1: warning [policy-named-port-unresolved]") {
		t.Errorf("stderr lacks the unresolved named port finding:\n%s", r.stder)
	}
}

func TestJSONIsADecodableConnectivityMap(t *testing.T) {
	r := tightnet(t, "", "connectivity", "testdata/app", "-o", "json")
	var cm model.ConnectivityMap
	if err := model.Decode([]byte(r.stdout), model.KindConnectivityMap, &cm); err != nil {
		t.Fatal(err)
	}
	txt := tightnet(t, "", "connectivity", "testdata/app").stdout
	var lines []string
	for e, c := range cm.Matrix().All() {
		lines = append(lines, e.String()+" : "+c.String()+"\n")
	}
	if got := strings.Join(lines, ""); got != txt {
		t.Errorf("JSON matrix and text output disagree:\n%s\nvs\n%s", got, txt)
	}
	if len(cm.Findings) != 1 || cm.Findings[0].Code != "policy-named-port-unresolved" {
		t.Errorf("findings = %+v, want the one unresolved named port", cm.Findings)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"clean input", []string{"connectivity", "testdata/app", "-q"}, stage.ExitOK, ""},
		{"warnings pass by default", []string{"connectivity", "testdata/app"}, stage.ExitOK, ""},
		{"warnings fail when asked", []string{"connectivity", "testdata/app", "--fail-on", "warning"}, stage.ExitFindings, ""},
		{"error findings fail", []string{"connectivity", "testdata/broken"}, stage.ExitFindings, "input-malformed"},
		{"never fails on findings", []string{"connectivity", "testdata/broken", "--fail-on", "never"}, stage.ExitOK, "policy-invalid-selector"},
		{"missing path", []string{"connectivity", "testdata/nope"}, stage.ExitError, "testdata/nope"},
		{"no input", []string{"connectivity"}, stage.ExitError, "no input"},
		{"unknown format", []string{"connectivity", "testdata/app", "-o", "yaml"}, stage.ExitError, `unknown output format "yaml"`},
		{"unknown flag", []string{"connectivity", "--frobnicate"}, stage.ExitError, "--help"},
		{"bad fail-on", []string{"connectivity", "testdata/app", "--fail-on", "sometimes"}, stage.ExitError, "--fail-on"},
		{"unknown focus", []string{"connectivity", "testdata/app", "--focus-workload", "web/nope"}, stage.ExitError, "no such workload"},
		{"unknown subcommand", []string{"frobnicate"}, stage.ExitError, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tightnet(t, "", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", r.code, tc.code, r.stder)
			}
			if !strings.Contains(r.stder, tc.msg) {
				t.Errorf("stderr lacks %q:\n%s", tc.msg, r.stder)
			}
		})
	}
}

func TestStdinAndFilenameFlags(t *testing.T) {
	app, err := os.ReadFile("testdata/app/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := tightnet(t, string(app), "connectivity", "-", "-f", "testdata/app/policies.yaml")
	if r.code != stage.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stder)
	}
	want := tightnet(t, "", "connectivity", "testdata/app").stdout
	if r.stdout != want {
		t.Errorf("stdin + -f output differs from the directory's:\n%s\nvs\n%s", r.stdout, want)
	}
}

func TestOutFileAndResults(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "reports", "conn.txt")
	results := filepath.Join(dir, "results")
	r := tightnet(t, "", "connectivity", "testdata/app", "--out", out, "--results-dir", results)
	if r.code != stage.ExitOK || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stder)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := tightnet(t, "", "connectivity", "testdata/app").stdout; string(got) != want {
		t.Errorf("--out file differs from stdout output")
	}
	for name, want := range map[string]string{"connections": "6", "findings": "1", "output": out} {
		b, err := os.ReadFile(filepath.Join(results, name))
		if err != nil || string(b) != want {
			t.Errorf("result %s = %q (%v), want %q", name, b, err, want)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("output directory holds %d entries, want only the output (no temporary files left)", len(entries))
	}
}

// TestFailedRunWritesNothing: when the inputs cannot be read, no output file
// appears and an existing one is left as it was.
func TestFailedRunWritesNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "conn.txt")
	if err := os.WriteFile(out, []byte("previous\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tightnet(t, "", "connectivity", "testdata/nope", "--out", out)
	if r.code != stage.ExitError {
		t.Fatalf("exit %d", r.code)
	}
	if b, _ := os.ReadFile(out); string(b) != "previous\n" {
		t.Errorf("output file changed to %q", b)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"connectivity", "--help"}} {
		r := tightnet(t, "", args...)
		if r.code != stage.ExitOK {
			t.Errorf("%v: exit %d", args, r.code)
		}
		for _, want := range []string{"Usage:", "--results-dir", "--verbose"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: help lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
	if r := tightnet(t, "", "connectivity", "--help"); !strings.Contains(r.stdout, "--focus-workload") || !strings.Contains(r.stdout, "SRC => DST : CONNS") {
		t.Errorf("connectivity help is missing its flags or notation:\n%s", r.stdout)
	}
}

// TestStageImageMatchesSubcommand: the connectivity image's entrypoint takes
// the same flags as the CLI subcommand and prints the same output.
func TestStageImageMatchesSubcommand(t *testing.T) {
	var out, errs bytes.Buffer
	code := stage.Run(context.Background(), "connectivity", []string{"testdata/app", "-o", "csv"},
		stage.Streams{In: strings.NewReader(""), Out: &out, Err: &errs})
	if code != stage.ExitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if want := tightnet(t, "", "connectivity", "testdata/app", "-o", "csv").stdout; out.String() != want {
		t.Errorf("stage image output differs from the subcommand's")
	}
	if code := stage.Run(context.Background(), "nosuchstage", nil, stage.Streams{In: strings.NewReader(""), Out: &out, Err: &errs}); code != stage.ExitError {
		t.Errorf("unknown stage: exit %d", code)
	}
}

// TestExplain pins explanations: a pair with a NetworkPolicy on both sides,
// one connection, from an address, and the whole view with --explain.
func TestExplain(t *testing.T) {
	for name, args := range map[string][]string{
		"explain-pair.txt":         {"explain", "testdata/app", "--src", "web/frontend", "--dst", "db/postgres"},
		"explain-port.txt":         {"explain", "testdata/app", "--src", "web/frontend", "--dst", "db/postgres", "--port", "5432"},
		"explain-address.txt":      {"explain", "testdata/app", "--src", "10.1.2.3", "--dst", "web/frontend"},
		"connectivity-explain.txt": {"connectivity", "testdata/app", "--explain"},
	} {
		t.Run(name, func(t *testing.T) {
			r := tightnet(t, "", args...)
			if r.code != stage.ExitOK {
				t.Fatalf("exit %d: %s", r.code, r.stder)
			}
			golden(t, name, r.stdout)
		})
	}
	for _, args := range [][]string{
		{"explain", "testdata/app", "--src", "web/frontend"},
		{"explain", "testdata/app", "--src", "web/nope", "--dst", "db/postgres"},
		{"explain", "testdata/app", "--src", "web/frontend", "--dst", "db/postgres", "--port", "70000"},
		{"connectivity", "testdata/app", "--explain", "-o", "json"},
	} {
		if r := tightnet(t, "", args...); r.code != stage.ExitError {
			t.Errorf("%v: exit %d, want %d; stderr %s", args, r.code, stage.ExitError, r.stder)
		}
	}
}
