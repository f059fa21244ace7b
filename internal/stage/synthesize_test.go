package stage_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/stage"
)

// TestSynthesize pins the proposal for the stage's test app, straight from
// manifests and from a Topology file, and its summary in both modes.
func TestSynthesize(t *testing.T) {
	r := tightnet(t, "", "synthesize", "testdata/app")
	if r.code != stage.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stder)
	}
	golden(t, "synthesize.yaml.golden", r.stdout)

	topo := filepath.Join(t.TempDir(), "topology.json")
	if r := tightnet(t, "", "extract", "testdata/app", "--out", topo); r.code != stage.ExitOK {
		t.Fatalf("extract: exit %d: %s", r.code, r.stder)
	}
	if again := tightnet(t, "", "synthesize", topo); again.stdout != r.stdout {
		t.Errorf("synthesizing from the Topology file differs from synthesizing from manifests:\n%s", again.stdout)
	}

	for mode, want := range map[string]map[string]int{
		"replace": {"new": 4, "obsolete": 2},
		"augment": {"kept": 2, "new": 0},
	} {
		summary := filepath.Join(t.TempDir(), "synthesis.json")
		r := tightnet(t, "", "synthesize", "testdata/app", "--mode", mode, "--summary", summary, "--out", filepath.Join(t.TempDir(), "p.yaml"))
		if r.code != stage.ExitOK {
			t.Fatalf("%s: exit %d: %s", mode, r.code, r.stder)
		}
		data, err := os.ReadFile(summary)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Kind     string
			Policies []struct{ Status string }
		}
		if err := json.Unmarshal(data, &s); err != nil || s.Kind != "Synthesis" {
			t.Fatalf("%s: summary %s: %v", mode, data, err)
		}
		got := map[string]int{}
		for _, p := range s.Policies {
			got[p.Status]++
		}
		for status, n := range want {
			if got[status] != n {
				t.Errorf("%s: %d %s policies, want %d (%v)", mode, got[status], status, n, got)
			}
		}
	}
	if r := tightnet(t, "", "synthesize", "testdata/app", "--mode", "merge"); r.code != stage.ExitError || !strings.Contains(r.stder, "--mode") {
		t.Errorf("bad --mode: exit %d, %s", r.code, r.stder)
	}
}

// TestSynthesizeBaseline: a deny rule removes a needed connection from the
// proposal and says so; an allow rule adds one.
func TestSynthesizeBaseline(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	err := os.WriteFile(rules, []byte(`- name: no-frontend-to-cart
  description: the storefront talks to the cart through the checkout only
  action: deny
  from: app=frontend
  to: app=cart
  protocol: TCP
  port_min: 7000
  port_max: 7000
- name: frontend-mails
  action: allow
  from: app=frontend
  to: app=email
  protocol: TCP
  port_min: 5000
  port_max: 5000
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	r := tightnet(t, "", "synthesize", "../../examples/shop", "--baseline", rules, "-o", "json", "--fail-on", "never")
	if r.code != stage.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stder)
	}
	var s struct {
		Policies []struct {
			Name   string
			Allows []struct{ Direction, Peer, Conns string }
		}
		Findings []struct{ Code string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatal(err)
	}
	allows := map[string]bool{}
	for _, p := range s.Policies {
		for _, a := range p.Allows {
			allows[p.Name+" "+a.Direction+" "+a.Peer+" "+a.Conns] = true
		}
	}
	if allows["tightnet-frontend egress shop/cart[Deployment] TCP 7000"] || allows["tightnet-cart ingress shop/frontend[Deployment] TCP 7000"] {
		t.Errorf("the denied connection is still proposed")
	}
	if !allows["tightnet-frontend egress shop/email[Deployment] TCP 5000"] || !allows["tightnet-email ingress shop/frontend[Deployment] TCP 5000"] {
		t.Errorf("the allowed connection is not proposed: %v", allows)
	}
	codes := map[string]bool{}
	for _, f := range s.Findings {
		codes[f.Code] = true
	}
	if !codes[stage.CodeBaselineRemoved] || !codes[stage.CodeBaselineAdded] {
		t.Errorf("findings %v lack the removal or the addition", s.Findings)
	}
	if r := tightnet(t, "", "synthesize", "../../examples/shop", "--baseline", "testdata/nope.yaml"); r.code != stage.ExitError {
		t.Errorf("missing rules file: exit %d", r.code)
	}
}

// TestSynthesizeOutDir: --out-dir holds the four outputs; a run that fails
// leaves the directory as it was.
func TestSynthesizeOutDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if r := tightnet(t, "", "synthesize", "../../examples/shop", "--out-dir", dir, "--fail-on", "never"); r.code != stage.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stder)
	}
	for _, name := range []string{"policies.yaml", "synthesis.json", "connectivity.txt", "report.md"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	report, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(report), "14 policies proposed for 13 workloads") {
		t.Errorf("report lacks its summary line:\n%s", report)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "policies.yaml"))
	if r := tightnet(t, "", "synthesize", "testdata/nope", "--out-dir", dir); r.code != stage.ExitError {
		t.Fatalf("exit %d", r.code)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "policies.yaml"))
	if string(before) != string(after) {
		t.Error("a failed run changed the output directory")
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("temporary directories left beside the output: %v", entries)
	}
}
