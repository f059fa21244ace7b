package synth_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/synth"
	"github.com/tightnet/tightnet/internal/verify"
)

// TestGuardrailsProofOnRandomClusters is the guardrails' contract, checked
// with the connectivity engine on random clusters (NetworkPolicies and
// Baseline-tier policies included, which the guardrails must override) and
// random rules, for both kinds: for every pair of peers, the first rule in
// file order that describes a connection decides it — a deny rule's
// connections are absent, an allow rule's present — whatever the
// namespaces' policies say. The one exception, connections from external
// addresses into pods, is exactly what the findings report.
func TestGuardrailsProofOnRandomClusters(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 20
	}
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 0x6a7d))
		objs := clustergen.Random(rng, clustergen.RandomSize{Namespaces: 1 + rng.IntN(3), Workloads: 2 + rng.IntN(6),
			Policies: rng.IntN(6), BaselinePolicies: rng.IntN(2)})
		rules := randomRules(t, rng, objs)
		var ic *verify.Placement
		if rng.IntN(2) == 0 {
			ns := objs.Namespaces[rng.IntN(len(objs.Namespaces))].Name
			ic = &verify.Placement{Namespace: ns, PodLabels: map[string]string{"app": "web"}}
		}
		for _, cnp := range []bool{false, true} {
			opts := synth.DefaultGuardrailOptions()
			opts.CNP = cnp
			g, findings := synth.Guardrails(rules, opts)
			proveGuardrails(t, fmt.Sprintf("seed %d, cnp %v", seed, cnp), objs, rules, g, findings, ic)
		}
	}
}

// randomRules draws 1-6 rules over the cluster's labels: ends of every
// kind, selectors with every operator, CIDRs of both families, any ports.
func randomRules(t *testing.T, rng *rand.Rand, objs *manifest.Objects) []baseline.Rule {
	podSelectors := []string{"app=web", "app!=db", "app in (api,web)", "tier=backend", "role", "!role", "app=api,tier notin (frontend)"}
	nsSelectors := []string{"env=prod", "team!=red", "env", baseline.NamespaceNameLabel + "=" + objs.Namespaces[0].Name,
		baseline.NamespaceNameLabel + " in (" + objs.Namespaces[rng.IntN(len(objs.Namespaces))].Name + ",zeta)"}
	cidrs := []string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/24", "203.0.113.7", "::/0", "2001:db8::/32"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	// end writes one side's keys, and says whether it is a CIDR.
	end := func(key string, cidrAllowed bool) (string, bool) {
		switch n := rng.IntN(6); {
		case n == 0:
			return "", false
		case n == 1 && cidrAllowed:
			return "  " + key + ": " + pick(cidrs) + "\n", true
		case n == 2:
			return "  " + key + "_ns: " + pick(nsSelectors) + "\n", false
		case n == 3:
			return "  " + key + ": " + pick(podSelectors) + "\n  " + key + "_ns: " + pick(nsSelectors) + "\n", false
		}
		return "  " + key + ": " + pick(podSelectors) + "\n", false
	}
	var b strings.Builder
	for i := range 1 + rng.IntN(6) {
		fmt.Fprintf(&b, "- name: rule-%d\n  action: %s\n", i, []string{"allow", "deny"}[rng.IntN(2)])
		from, cidr := end("from", true)
		to, _ := end("to", !cidr)
		b.WriteString(from + to)
		if rng.IntN(4) > 0 {
			fmt.Fprintf(&b, "  protocol: %s\n", pick([]string{"TCP", "UDP", "SCTP"}))
		}
		if rng.IntN(3) > 0 {
			lo := []int{1, 23, 53, 80, 443, 8080}[rng.IntN(6)]
			fmt.Fprintf(&b, "  port_min: %d\n  port_max: %d\n", lo, lo+rng.IntN(3)*rng.IntN(100))
		}
	}
	rules, err := baseline.Parse("rules.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return rules
}

// proveGuardrails adds the guardrails to the cluster, runs the engine and
// checks every pair against the rules, first match first.
func proveGuardrails(t *testing.T, name string, objs *manifest.Objects, rules []baseline.Rule, g synth.GuardrailSet, findings []model.Finding, ic *verify.Placement) {
	t.Helper()
	ctx := context.Background()
	guarded := *objs
	guarded.AdminPolicies, guarded.ClusterPolicies = g.AdminPolicies(), g.ClusterPolicies()
	var opts []analyze.Option
	if ic != nil {
		opts = append(opts, analyze.WithIngressController(analyze.IngressController{Namespace: ic.Namespace, PodLabels: ic.PodLabels}))
	}
	res, err := analyze.Connectivity(ctx, &guarded, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if strings.Contains(f.Object, "tightnet-baseline-") {
			t.Fatalf("%s: the engine reports a finding on a guardrail: %s\n%s", name, f, dumpGuardrails(g))
		}
	}
	// The findings name exactly the rules with connections from external
	// addresses into pods, the part no admin policy can enforce.
	reported := map[string]bool{}
	for _, f := range findings {
		reported[strings.TrimPrefix(f.Object, "baseline rule ")] = true
	}
	for _, r := range rules {
		if want := r.From.Kind != baseline.Pods && r.To.Kind != baseline.Addresses; reported[r.Name] != want {
			t.Errorf("%s: rule %s: finding reported %v, want %v (%s)", name, r, reported[r.Name], want, findings)
		}
	}

	nsLabels := map[string]map[string]string{}
	for _, ns := range objs.Namespaces {
		nsLabels[ns.Name] = ns.Labels
	}
	labelsOf := func(ns string) map[string]string {
		out := map[string]string{baseline.NamespaceNameLabel: ns}
		for k, v := range nsLabels[ns] {
			out[k] = v
		}
		return out
	}
	podLabels := map[model.Peer]map[string]string{}
	for _, w := range objs.Workloads {
		podLabels[w.Peer()] = w.PodLabels
	}
	var cidrs []model.IPSet
	for _, r := range rules {
		for _, e := range []baseline.End{r.From, r.To} {
			if e.Kind == baseline.Addresses {
				cidrs = append(cidrs, e.Addresses)
			}
		}
	}
	// selects reports whether a side selects a peer; an external peer is
	// one of the pieces the rules' CIDRs cut, wholly inside or outside each.
	selects := func(e baseline.End, p model.Peer) bool {
		switch p.Kind {
		case model.PeerWorkload:
			return e.MatchesPod(podLabels[p], labelsOf(p.Namespace))
		case model.PeerIngressController:
			return e.Kind == baseline.Anything || ic != nil && e.MatchesPod(ic.PodLabels, labelsOf(ic.Namespace))
		}
		return e.Kind == baseline.Anything || e.Kind == baseline.Addresses && model.RangeSet(p.Range).Subset(e.Addresses)
	}
	check := func(src, dst model.Peer, got model.ConnectionSet) {
		undecided := model.AllConnections()
		for _, r := range rules {
			if !selects(r.From, src) || !selects(r.To, dst) {
				continue
			}
			part := undecided.Intersect(r.Conns)
			undecided = undecided.Subtract(part)
			switch {
			case r.Action == baseline.Deny && !got.Intersect(part).IsEmpty():
				t.Fatalf("%s: %s => %s: rule %s denies %s, but %s is allowed\n%s", name, src, dst, r.Name, part, got.Intersect(part), dumpGuardrails(g))
			case r.Action == baseline.Allow && !part.Subset(got):
				t.Fatalf("%s: %s => %s: rule %s allows %s, but %s is blocked\n%s", name, src, dst, r.Name, part, part.Subtract(got), dumpGuardrails(g))
			}
		}
	}
	pieces := func(p model.Peer) []model.Peer {
		if p.Kind != model.PeerExternal {
			return []model.Peer{p}
		}
		var out []model.Peer
		for _, r := range model.Boundaries(model.RangeSet(p.Range), cidrs) {
			out = append(out, model.ExternalPeer(r))
		}
		return out
	}
	peers := res.Matrix.Peers()
	for _, src := range peers {
		// From an external address: not enforceable (the findings say so);
		// from the ingress controller: asked of Explain below.
		if src.Kind != model.PeerWorkload {
			continue
		}
		for _, dst := range peers {
			if src == dst || dst.Kind == model.PeerIngressController {
				continue
			}
			got := res.Matrix.Get(model.Edge{Src: src, Dst: dst})
			for _, d := range pieces(dst) {
				check(src, d, got)
			}
		}
	}
	// The ingress controller is no matrix peer without routes, and a route
	// limits its cell to the route's ports: ask Explain.
	for _, w := range objs.Workloads {
		ex, err := analyze.Explain(ctx, &guarded, model.IngressControllerName, w.Namespace+"/"+w.Name+"["+w.Kind+"]", opts...)
		if err != nil {
			t.Fatal(err)
		}
		check(model.IngressController(), w.Peer(), ex.Conns)
	}
}

func dumpGuardrails(g synth.GuardrailSet) string {
	var b strings.Builder
	synth.WriteGuardrailsYAML(&b, g)
	return b.String()
}

// shippedRules are the rules of examples/baseline-rules, read as the stage
// reads them but named by their path from the repository root.
func shippedRules(t *testing.T) []baseline.Rule {
	t.Helper()
	files, err := filepath.Glob("../../examples/baseline-rules/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped rules: %v", err)
	}
	var rules []baseline.Rule
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := baseline.Parse(strings.TrimPrefix(f, "../../"), data)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, rs...)
	}
	return rules
}

// TestGuardrailsGolden pins the guardrails for the shipped rules in both
// kinds, with their comments and findings.
func TestGuardrailsGolden(t *testing.T) {
	rules := shippedRules(t)
	for _, tc := range []struct {
		golden string
		cnp    bool
	}{{"testdata/guardrails-anp.yaml", false}, {"testdata/guardrails-cnp.yaml", true}} {
		opts := synth.DefaultGuardrailOptions()
		opts.CNP = tc.cnp
		g, findings := synth.Guardrails(rules, opts)
		var b bytes.Buffer
		if err := synth.WriteGuardrailsYAML(&b, g); err != nil {
			t.Fatal(err)
		}
		b.WriteString("# Findings:\n")
		for _, f := range findings {
			fmt.Fprintf(&b, "# %s\n", f)
		}
		if *update {
			if err := os.WriteFile(tc.golden, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(tc.golden)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/synth -update to create it)", err)
		}
		if b.String() != string(want) {
			t.Errorf("guardrails differ from %s (go test ./internal/synth -update rewrites it):\n%s", tc.golden, b.String())
		}
		// The YAML reads back as the objects written.
		objs, err := manifest.Read(context.Background(), []string{tc.golden}, manifest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(objs.AdminPolicies) + len(objs.ClusterPolicies); got != len(g.Policies) || len(objs.Findings) > 0 {
			t.Errorf("%s reads back as %d policies (want %d), findings %v", tc.golden, got, len(g.Policies), objs.Findings)
		}
	}
}

// TestShippedRulesHoldWithGuardrails is the story of the feature: the
// bundled examples violate shipped rules (telnet between namespaces,
// kube-system reachable); with the guardrails added, verify finds every
// rule satisfied, except connections from outside the cluster, which the
// findings named.
func TestShippedRulesHoldWithGuardrails(t *testing.T) {
	rules := shippedRules(t)
	for _, example := range []string{"shop", "multi-namespace"} {
		for _, cnp := range []bool{false, true} {
			dir := "../../examples/" + example
			objs, err := manifest.Read(context.Background(), []string{dir + "/manifests", dir + "/policies"}, manifest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			opts := synth.DefaultGuardrailOptions()
			opts.CNP = cnp
			g, findings := synth.Guardrails(rules, opts)
			partial, skipped := map[string]bool{}, map[string]bool{}
			for _, f := range findings {
				rule := strings.TrimPrefix(f.Object, "baseline rule ")
				partial[rule] = f.Code == synth.CodeGuardrailPartial
				skipped[rule] = f.Code == synth.CodeGuardrailUnenforceable
			}
			before := verification(t, objs, rules)
			objs.AdminPolicies, objs.ClusterPolicies = g.AdminPolicies(), g.ClusterPolicies()
			after := verification(t, objs, rules)
			if example == "multi-namespace" && before.Summary.Violated == 0 {
				t.Fatalf("%s violates no rule without guardrails; the test proves nothing", example)
			}
			for _, r := range after.Rules {
				switch {
				case skipped[r.Name]:
				case r.Verdict == verify.Violated && partial[r.Name]:
					for _, w := range r.Witnesses {
						if w.Src.Kind != model.PeerExternal {
							t.Errorf("%s, cnp %v: %s violated from inside the cluster: %s => %s : %s", example, cnp, r.Name, w.Src, w.Dst, w.Conns)
						}
					}
				case r.Verdict == verify.Violated:
					t.Errorf("%s, cnp %v: %s violated with guardrails: %+v", example, cnp, r.Name, r.Witnesses)
				}
			}
		}
	}
}

func verification(t *testing.T, objs *manifest.Objects, rules []baseline.Rule) verify.Verification {
	t.Helper()
	res, err := analyze.Connectivity(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	inv := verify.Inventory{PodLabels: map[model.Peer]map[string]string{}, NamespaceLabels: map[string]map[string]string{}}
	for _, w := range objs.Workloads {
		inv.PodLabels[w.Peer()] = w.PodLabels
	}
	for _, ns := range objs.Namespaces {
		inv.NamespaceLabels[ns.Name] = ns.Labels
	}
	return verify.Check(res.Matrix, inv, rules)
}

// TestGuardrailMapping pins the shapes the mapping chooses, rule by rule.
func TestGuardrailMapping(t *testing.T) {
	for _, tc := range []struct {
		rule     string
		policies []string // name: subject | enforces...
		finding  string
	}{
		{"action: deny\n  from: app=a\n  to: app=b\n  protocol: TCP",
			[]string{"tightnet-baseline-r: pods app=b | ingress: Deny from pods app=a : TCP 1-65535"}, ""},
		{"action: allow\n  from: app=a\n  to: app=b\n  protocol: UDP\n  port_min: 53\n  port_max: 53",
			[]string{"tightnet-baseline-r-ingress: pods app=b | ingress: Allow from pods app=a : UDP 53",
				"tightnet-baseline-r-egress: pods app=a | egress: Allow to pods app=b : UDP 53"}, ""},
		{"action: allow\n  from_ns: env=prod\n  to_ns: env=prod",
			[]string{"tightnet-baseline-r: every pod in namespaces env=prod | ingress: Allow from every pod in namespaces env=prod : All Connections" +
				" | egress: Allow to every pod in namespaces env=prod : All Connections"}, ""},
		{"action: deny\n  from: app=a\n  to: 10.0.0.0/8",
			[]string{"tightnet-baseline-r: pods app=a | egress: Deny to 10.0.0.0/8 : All Connections"}, ""},
		{"action: deny\n  from: app=a",
			[]string{"tightnet-baseline-r-ingress: every pod | ingress: Deny from pods app=a : All Connections",
				"tightnet-baseline-r-egress: pods app=a | egress: Deny to 0.0.0.0/0, ::/0 : All Connections"}, ""},
		{"action: allow\n  to: app=b",
			[]string{"tightnet-baseline-r-ingress: pods app=b | ingress: Allow from every pod : All Connections",
				"tightnet-baseline-r-egress: every pod | egress: Allow to pods app=b : All Connections"}, synth.CodeGuardrailPartial},
		{"action: deny\n  from: 10.0.0.0/8\n  to: app=b", nil, synth.CodeGuardrailUnenforceable},
		{"action: deny\n  from: 10.0.0.0/8", nil, synth.CodeGuardrailUnenforceable},
	} {
		rules, err := baseline.Parse("rules.yaml", []byte("- name: r\n  "+tc.rule+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		g, findings := synth.Guardrails(rules, synth.DefaultGuardrailOptions())
		var got []string
		for _, p := range g.Policies {
			got = append(got, p.Name()+": "+strings.Join(append([]string{p.Subject}, p.Enforces...), " | "))
		}
		if !slices.Equal(got, tc.policies) {
			t.Errorf("%q:\n got %q\nwant %q", tc.rule, got, tc.policies)
		}
		var codes []string
		for _, f := range findings {
			codes = append(codes, f.Code)
		}
		if want := []string{tc.finding}; tc.finding == "" && len(codes) > 0 || tc.finding != "" && !slices.Equal(codes, want) {
			t.Errorf("%q: findings %v, want %q", tc.rule, findings, tc.finding)
		}
	}
}

// TestGuardrailPriorities: one priority per policy in rule order, from the
// first priority given; rules past 1000 are left out with an error.
func TestGuardrailPriorities(t *testing.T) {
	rules, err := baseline.Parse("rules.yaml", []byte(`
- name: a
  action: allow
  from: app=a
  to: app=b
- name: b
  action: deny
  from: app=a
- name: c
  action: deny
  to: 10.0.0.0/8
`))
	if err != nil {
		t.Fatal(err)
	}
	opts := synth.GuardrailOptions{Priority: 996, CNP: true}
	g, findings := synth.Guardrails(rules, opts)
	var got []string
	for _, p := range g.Policies {
		got = append(got, fmt.Sprintf("%s=%d", p.Name(), p.Cluster.Spec.Priority))
	}
	want := []string{"tightnet-baseline-a-ingress=996", "tightnet-baseline-a-egress=997", "tightnet-baseline-b-ingress=998", "tightnet-baseline-b-egress=999",
		"tightnet-baseline-c=1000"}
	if !slices.Equal(got, want) || len(findings) > 0 {
		t.Errorf("priorities %v, want %v; findings %v", got, want, findings)
	}
	opts.Priority = 997
	g, findings = synth.Guardrails(rules, opts)
	if len(g.Policies) != 4 || len(findings) != 1 || findings[0].Code != synth.CodeGuardrailInvalid || findings[0].Severity != model.Error ||
		findings[0].Object != "baseline rule c" {
		t.Errorf("from 997: %d policies, findings %v; want 4 and an error for rule c", len(g.Policies), findings)
	}
}
