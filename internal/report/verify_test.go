package report

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/verify"
)

// The -update flag rewrites golden files; it is registered here unless
// another test file of the package registered it first.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// goldenFile compares got with testdata/name byte for byte.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updating() {
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
		t.Fatalf("%v (run go test ./internal/report -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// sampleVerification has a rule of every verdict, witnesses to workloads,
// addresses and from the ingress controller, a description that needs
// escaping in Markdown, sanity findings with and without a location, and an
// input finding.
func sampleVerification(t *testing.T) verify.Verification {
	t.Helper()
	rules, err := baseline.Parse("rules/corp.yaml", []byte(`
- name: deny-telnet
  description: Telnet sends credentials in clear text.
  action: deny
  protocol: TCP
  port_min: 23
  port_max: 23
- name: db-closed
  description: Nothing may reach <db> | it is being retired.
  action: deny
  to: app=db
- name: web-reaches-db
  action: allow
  from: app=web
  to: app=db
  protocol: TCP
  port_min: 5432
  port_max: 5433
- name: no-kube-system
  action: deny
  to_ns: kubernetes.io/metadata.name=kube-system
- name: payments-reach-provider
  description: Payments must reach the provider.
  action: allow
  from: app=payment
  to: 203.0.113.0/24
  protocol: TCP
  port_min: 443
  port_max: 443
`))
	if err != nil {
		t.Fatal(err)
	}
	web, db := model.WorkloadPeer("shop", "web", "Deployment"), model.WorkloadPeer("shop", "db", "StatefulSet")
	b := model.NewMatrixBuilder()
	add := func(src, dst model.Peer, c string) { b.Add(model.Edge{Src: src, Dst: dst}, conns(t, c)) }
	all, _ := model.ParseIPRange("0.0.0.0-255.255.255.255")
	ext := model.ExternalPeer(all)
	add(web, db, "TCP 5432")
	add(ext, db, "TCP 5432")
	add(model.IngressController(), db, "TCP 5432")
	add(db, web, "TCP 23")
	inv := verify.Inventory{
		PodLabels:       map[model.Peer]map[string]string{web: {"app": "web"}, db: {"app": "db"}},
		NamespaceLabels: map[string]map[string]string{"shop": {}},
		Sources:         map[model.Peer]model.Location{web: {File: "manifests/web.yaml", Line: 1}, db: {File: "manifests/db.yaml", Line: 4}},
	}
	return verify.Check(b.Matrix(), inv, rules).WithFindings(
		[]model.Finding{{Code: "policy-named-port-unresolved", Severity: model.Warning, Message: "named port \"metrics\" not found",
			Location: model.Location{File: "policies/db.yaml", Line: 7}, Object: "NetworkPolicy shop/db"}},
		[]model.Finding{
			{Code: "sanity-redundant-policy", Severity: model.Warning, Message: "removing NetworkPolicy shop/old changes no connection",
				Location: model.Location{File: "policies/old.yaml", Line: 1}, Object: "NetworkPolicy shop/old"},
			{Code: "sanity-incomplete", Severity: model.Info, Message: "redundancy checked for 1 of 2 policies and rules"},
		})
}

func renderVerification(t *testing.T, f Format, v verify.Verification) string {
	t.Helper()
	var b strings.Builder
	if err := Verification(&b, f, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestVerificationGolden(t *testing.T) {
	v := sampleVerification(t)
	for _, f := range []Format{Text, Markdown, SARIF} {
		t.Run(string(f), func(t *testing.T) {
			goldenFile(t, "verify."+string(f), renderVerification(t, f, v))
		})
	}
}

func TestVerificationRejectsOtherFormats(t *testing.T) {
	for _, f := range []Format{JSON, CSV, DOT} {
		if err := Verification(&strings.Builder{}, f, verify.Verification{}); err == nil {
			t.Errorf("%s: no error", f)
		}
	}
}

func TestVerificationSummary(t *testing.T) {
	for _, tc := range []struct {
		s    verify.Summary
		want string
	}{
		{verify.Summary{}, "no baseline rules checked"},
		{verify.Summary{Satisfied: 1}, "the baseline rule is satisfied"},
		{verify.Summary{Satisfied: 2}, "both baseline rules satisfied"},
		{verify.Summary{Satisfied: 9}, "all 9 baseline rules satisfied"},
		{verify.Summary{Satisfied: 6, Violated: 2, Unchecked: 1}, "2 of 9 baseline rules violated, 1 unchecked, 6 satisfied"},
		{verify.Summary{Unchecked: 1}, "0 of 1 baseline rule violated, 1 unchecked, 0 satisfied"},
	} {
		if got := VerificationSummary(verify.Verification{Summary: tc.s}); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}
}

// TestMarkdownShape pins what a PR comment needs: the summary on the first
// line, one line per rule starting with its verdict icon, witnesses folded.
func TestMarkdownShape(t *testing.T) {
	v := sampleVerification(t)
	md := renderVerification(t, Markdown, v)
	lines := strings.Split(md, "\n")
	if !strings.HasPrefix(lines[0], "**❌ tightnet verify: 3 of 5 baseline rules violated, 1 unchecked, 1 satisfied**") {
		t.Errorf("first line %q is not the summary", lines[0])
	}
	var ruleLines []string
	for _, l := range lines {
		if (strings.HasPrefix(l, "- ✅") || strings.HasPrefix(l, "- ❌") || strings.HasPrefix(l, "- ⚠️")) && strings.Contains(l, " **") {
			ruleLines = append(ruleLines, l)
		}
	}
	if len(ruleLines) != len(v.Rules) {
		t.Errorf("%d rule lines for %d rules:\n%s", len(ruleLines), len(v.Rules), md)
	}
	if strings.Count(md, "<details>") != strings.Count(md, "</details>") || strings.Count(md, "<details>") != 4 {
		t.Errorf("want four balanced <details> (three violations, sanity):\n%s", md)
	}
	if strings.Contains(md, "<db>") || !strings.Contains(md, "&lt;db&gt; \\| it") {
		t.Errorf("the description is not escaped:\n%s", md)
	}
	clean := renderVerification(t, Markdown, verify.Verification{Summary: verify.Summary{Satisfied: 3}})
	if clean != "**✅ tightnet verify: all 3 baseline rules satisfied**\n" {
		t.Errorf("all satisfied: %q", clean)
	}
}

// TestSARIFStructure checks the SARIF log against what the SARIF 2.1.0
// schema requires and GitHub code scanning reads: version and $schema, runs
// with tool.driver.name and rules, and results with ruleId (matching
// ruleIndex), level, message.text and at least one location with an
// artifact URI and a start line.
func TestSARIFStructure(t *testing.T) {
	v := sampleVerification(t)
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID               string `json:"id"`
						ShortDescription struct {
							Text string `json:"text"`
						} `json:"shortDescription"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    *string `json:"ruleId"`
				RuleIndex *int    `json:"ruleIndex"`
				Level     string  `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	out := renderVerification(t, SARIF, v)
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif") || len(log.Runs) != 1 {
		t.Fatalf("version %q, $schema %q, %d runs", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "tightnet" {
		t.Errorf("driver name %q", run.Tool.Driver.Name)
	}
	var ids []string
	for _, r := range run.Tool.Driver.Rules {
		if r.ID == "" || r.ShortDescription.Text == "" {
			t.Errorf("rule without id or description: %+v", r)
		}
		ids = append(ids, r.ID)
	}
	for _, r := range v.Rules {
		if !slices.Contains(ids, r.Name) {
			t.Errorf("no SARIF rule for baseline rule %s", r.Name)
		}
	}
	perRule := map[string]int{}
	for _, res := range run.Results {
		if res.RuleID == nil || res.RuleIndex == nil || *res.RuleIndex >= len(ids) || ids[*res.RuleIndex] != *res.RuleID {
			t.Errorf("result with a bad ruleId/ruleIndex: %+v", res)
			continue
		}
		perRule[*res.RuleID]++
		if !slices.Contains([]string{"none", "note", "warning", "error"}, res.Level) || res.Message.Text == "" || len(res.Locations) == 0 {
			t.Errorf("result %s: level %q, message %q, %d locations", *res.RuleID, res.Level, res.Message.Text, len(res.Locations))
		}
		for _, l := range res.Locations {
			if l.PhysicalLocation.ArtifactLocation.URI == "" || l.PhysicalLocation.Region.StartLine < 1 {
				t.Errorf("result %s: location %+v", *res.RuleID, l)
			}
		}
	}
	// A result per witness of a violated rule, one per unchecked rule,
	// none for a satisfied rule; one per finding with a file.
	want := map[string]int{"db-closed": 3, "web-reaches-db": 1, "payments-reach-provider": 1,
		"sanity-redundant-policy": 1, "policy-named-port-unresolved": 1}
	for id, n := range want {
		if perRule[id] != n {
			t.Errorf("%d results for %s, want %d", perRule[id], id, n)
		}
	}
	if perRule["deny-telnet"] != 1 || perRule["no-kube-system"] != 0 || perRule["sanity-incomplete"] != 0 {
		t.Errorf("results per rule: %v", perRule)
	}
}
