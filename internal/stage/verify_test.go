package stage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/stage"
	"github.com/tightnet/tightnet/internal/verify"
)

const verifyRules = "testdata/verify/rules.yaml"

// TestVerifyFormats renders one verification of testdata/app in every
// format, with and without the sanity checks, against golden files.
func TestVerifyFormats(t *testing.T) {
	for _, format := range []string{"txt", "md", "json", "sarif"} {
		for _, sanity := range []bool{false, true} {
			name := "verify." + format
			args := []string{"verify", "testdata/app", "--baseline", verifyRules, "-o", format}
			if sanity {
				name = "verify-sanity." + format
				args = append(args, "--sanity")
			}
			t.Run(name, func(t *testing.T) {
				r := tightnet(t, "", args...)
				if r.code != stage.ExitFindings {
					t.Fatalf("exit %d, want 1 (rules violated and unchecked): %s", r.code, r.stder)
				}
				golden(t, name, r.stdout)
			})
		}
	}
}

func TestVerifyJSONIsADecodableVerification(t *testing.T) {
	r := tightnet(t, "", "verify", "testdata/app", "--baseline", verifyRules, "-o", "json")
	var v verify.Verification
	if err := model.Decode([]byte(r.stdout), verify.Kind, &v); err != nil {
		t.Fatal(err)
	}
	if v.Summary != (verify.Summary{Satisfied: 2, Violated: 2, Unchecked: 1}) || len(v.Rules) != 5 {
		t.Errorf("summary %+v, %d rules", v.Summary, len(v.Rules))
	}
	if len(v.Findings) != 1 || v.Findings[0].Code != "policy-named-port-unresolved" {
		t.Errorf("findings %+v, want the input's unresolved named port", v.Findings)
	}
	if v.Sanity != nil {
		t.Errorf("sanity findings without --sanity: %+v", v.Sanity)
	}
}

// connectivityMap writes testdata/app's ConnectivityMap to a file.
func connectivityMap(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conn.json")
	if r := tightnet(t, "", "connectivity", "testdata/app", "-o", "json", "--out", path); r.code != stage.ExitOK {
		t.Fatalf("connectivity: exit %d: %s", r.code, r.stder)
	}
	return path
}

// TestVerifyConnectivityMap checks a ConnectivityMap, which carries no
// labels: rules selecting by labels are unchecked, the others checked.
func TestVerifyConnectivityMap(t *testing.T) {
	path := connectivityMap(t)
	r := tightnet(t, "", "verify", path, "--baseline", verifyRules)
	if r.code != stage.ExitFindings {
		t.Fatalf("exit %d: %s", r.code, r.stder)
	}
	golden(t, "verify-connectivity-map.txt", r.stdout)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if stdin := tightnet(t, string(data), "verify", "-", "--baseline", verifyRules); stdin.stdout != r.stdout {
		t.Errorf("a ConnectivityMap on standard input verifies differently:\n%s", stdin.stdout)
	}
}

func TestVerifyManifestsOnStandardInput(t *testing.T) {
	var all strings.Builder
	for _, f := range []string{"testdata/app/app.yaml", "testdata/app/policies.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString(string(b) + "\n---\n")
	}
	r := tightnet(t, all.String(), "verify", "-", "--baseline", verifyRules, "-o", "json")
	var v verify.Verification
	if err := model.Decode([]byte(r.stdout), verify.Kind, &v); err != nil {
		t.Fatalf("%v: %s", err, r.stder)
	}
	if v.Summary != (verify.Summary{Satisfied: 2, Violated: 2, Unchecked: 1}) {
		t.Errorf("summary %+v", v.Summary)
	}
	if loc := v.Rules[1].Witnesses[0].Location; loc.File != "<stdin>" || loc.Line == 0 {
		t.Errorf("witness location %s, want a line of standard input", loc)
	}
}

func TestVerifyExitCodes(t *testing.T) {
	conn := connectivityMap(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"all satisfied", []string{"verify", "testdata/app", "--baseline", "testdata/verify/satisfied.yaml"}, stage.ExitOK, ""},
		{"violated and unchecked", []string{"verify", "testdata/app", "--baseline", verifyRules}, stage.ExitFindings, ""},
		{"repeated --baseline", []string{"verify", "testdata/app", "--baseline", "testdata/verify/satisfied.yaml", "--baseline", verifyRules}, stage.ExitError, "same name"},
		{"a directory of rules", []string{"verify", "-f", "testdata/app", "--baseline", "testdata/verify"}, stage.ExitError, "bad-port"},
		{"sanity alone", []string{"verify", "testdata/app", "--sanity"}, stage.ExitOK, ""},
		{"inputs with errors", []string{"verify", "testdata/broken", "--baseline", "testdata/verify/satisfied.yaml"}, stage.ExitFindings, "input-malformed"},
		{"invalid rules", []string{"verify", "testdata/app", "--baseline", "testdata/verify/invalid.yaml"}, stage.ExitError, "testdata/verify/invalid.yaml:3: rule 2 (bad-port): port_max"},
		{"missing rules file", []string{"verify", "testdata/app", "--baseline", "testdata/verify/nope.yaml"}, stage.ExitError, "nope.yaml"},
		{"no --baseline", []string{"verify", "testdata/app"}, stage.ExitError, "--baseline is required"},
		{"no input", []string{"verify", "--baseline", verifyRules}, stage.ExitError, "no input"},
		{"sanity on a ConnectivityMap", []string{"verify", conn, "--sanity"}, stage.ExitError, "--sanity needs manifests"},
		{"a ConnectivityMap among manifests", []string{"verify", conn, "testdata/app", "--baseline", verifyRules}, stage.ExitError, "must be the only input"},
		{"ingress controller on a ConnectivityMap", []string{"verify", conn, "--baseline", verifyRules, "--ingress-controller-namespace", "ingress"}, stage.ExitError, "--ingress-controller-namespace"},
		{"another artifact", []string{"verify", "testdata/diff/wrong-kind.json", "--baseline", verifyRules}, stage.ExitError, "ConnectivityMap"},
		{"unknown format", []string{"verify", "testdata/app", "--baseline", verifyRules, "-o", "csv"}, stage.ExitError, `unknown output format "csv"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tightnet(t, "", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", r.code, tc.code, r.stder)
			}
			if !strings.Contains(r.stder+r.stdout, tc.msg) {
				t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", tc.msg, r.stdout, r.stder)
			}
		})
	}
}

// TestVerifyInputErrorsLeaveRulesUnchecked pins that a configuration that
// could not be read whole is not judged: every rule is unchecked, saying why.
func TestVerifyInputErrorsLeaveRulesUnchecked(t *testing.T) {
	r := tightnet(t, "", "verify", "testdata/broken", "--baseline", "testdata/verify/satisfied.yaml", "-o", "json")
	var v verify.Verification
	if err := model.Decode([]byte(r.stdout), verify.Kind, &v); err != nil {
		t.Fatal(err)
	}
	for _, res := range v.Rules {
		if res.Verdict != verify.Unchecked || !strings.Contains(res.Reason, "the inputs could not be analysed: 2 errors") {
			t.Errorf("%s: %v, %q", res.Name, res.Verdict, res.Reason)
		}
	}
}

func TestVerifyOutAndResults(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report", "verify.sarif")
	results := filepath.Join(dir, "results")
	r := tightnet(t, "", "verify", "testdata/app", "--baseline", verifyRules, "--sanity", "-o", "sarif", "--out", out, "--results-dir", results)
	if r.code != stage.ExitFindings || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q: %s", r.code, r.stdout, r.stder)
	}
	if !strings.Contains(r.stder, "policy-named-port-unresolved") {
		t.Errorf("input findings not on standard error: %q", r.stder)
	}
	want := tightnet(t, "", "verify", "testdata/app", "--baseline", verifyRules, "--sanity", "-o", "sarif").stdout
	if got, err := os.ReadFile(out); err != nil || string(got) != want {
		t.Errorf("--out file differs from standard output (%v)", err)
	}
	for name, value := range map[string]string{"satisfied": "2", "violated": "2", "unchecked": "1", "sanity": "1", "findings": "1", "output": out} {
		got, err := os.ReadFile(filepath.Join(results, name))
		if err != nil || string(got) != value {
			t.Errorf("result %s = %q (%v), want %q", name, got, err, value)
		}
	}
}

func TestVerifyStageImage(t *testing.T) {
	var r run
	var out, errs strings.Builder
	r.code = stage.Run(t.Context(), "verify", []string{"testdata/app", "--baseline", "testdata/verify/satisfied.yaml"},
		stage.Streams{In: strings.NewReader(""), Out: &out, Err: &errs})
	if r.code != stage.ExitOK || !strings.Contains(out.String(), "both baseline rules satisfied") {
		t.Errorf("verify image: exit %d\n%s\n%s", r.code, out.String(), errs.String())
	}
}
