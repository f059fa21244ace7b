package verify_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/analyze/reference"
	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/verify"
)

var propertyCases = flag.Int("property.cases", 40, "random clusters TestWitnessesAgreeWithReference checks")

// TestWitnessesAgreeWithReference draws random clusters (clustergen.Random,
// half of them with the admin tiers) and random baseline rules, verifies the
// rules against the engine's matrix, and compares every verdict and every
// witness with a brute force over the reference evaluator: for every pair
// of distinct workloads, and every workload with every interesting address
// either way, for every protocol and every port where behaviour may change,
// the witnesses covering the pair must hold exactly the connections the
// reference allows that a deny rule covers, or that an allow rule requires
// and the reference does not allow. No witness may be false, none missed,
// and no two may cover the same pair.
func TestWitnessesAgreeWithReference(t *testing.T) {
	n := *propertyCases
	if testing.Short() {
		n = 12
	}
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 0xba5e))
		size := clustergen.RandomSize{Namespaces: 1 + rng.IntN(3), Workloads: 2 + rng.IntN(5), Policies: rng.IntN(6)}
		if seed%2 == 1 {
			size.AdminPolicies, size.BaselinePolicies = rng.IntN(3), rng.IntN(2)
		}
		objs := clustergen.Random(rng, size)
		res, err := analyze.Connectivity(context.Background(), objs)
		if err != nil {
			t.Fatal(err)
		}
		rules := randomRules(t, rng, 10)
		v := verify.Check(res.Matrix, inventoryOf(objs), rules)
		o := newOracle(objs, rules)
		for i, r := range rules {
			if msg := o.compare(res.Matrix, r, v.Rules[i]); msg != "" {
				var yaml strings.Builder
				if err := clustergen.WriteYAML(&yaml, objs); err != nil {
					t.Fatal(err)
				}
				t.Fatalf("seed %d, rule %s: %s\ncluster:\n%s", seed, r, msg, yaml.String())
			}
		}
	}
}

func inventoryOf(objs *manifest.Objects) verify.Inventory {
	inv := verify.Inventory{PodLabels: map[model.Peer]map[string]string{}, NamespaceLabels: map[string]map[string]string{}}
	for _, w := range objs.Workloads {
		inv.PodLabels[w.Peer()] = w.PodLabels
	}
	for _, ns := range objs.Namespaces {
		inv.NamespaceLabels[ns.Name] = ns.Labels
	}
	return inv
}

// The pools random rules draw from, over clustergen.Random's labels and
// address blocks, so that rules select some workloads and cut ranges.
var (
	podSelectors = []string{"app=web", "app in (web,api)", "tier!=frontend", "!role", "role", "app notin (db)",
		"tier=backend, role=a", "app=nothing"}
	namespaceSelectors = []string{"env=prod", "team in (red)", "!team", "kubernetes.io/metadata.name=alpha",
		"env!=dev", "kubernetes.io/metadata.name in (beta, gamma)"}
	ruleCIDRs = []string{"0.0.0.0/0", "10.0.0.0/8", "10.1.2.0/24", "10.1.2.3/32", "172.16.0.0/12", "192.168.1.0/24",
		"11.0.0.0/8", "10.1.0.0/17", "2001:db8::/32", "::/0"}
	rulePorts = []int{1, 53, 80, 443, 5432, 8080, 8081, 8085, 8090, 9000, 65535}
)

func randomRules(t *testing.T, rng *rand.Rand, n int) []baseline.Rule {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "- name: r%d\n  action: %s\n", i, []string{"allow", "deny"}[rng.IntN(2)])
		fromCIDR := side(rng, &b, "from", "from_ns", false)
		side(rng, &b, "to", "to_ns", fromCIDR)
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&b, "  protocol: %s\n", []string{"TCP", "UDP", "SCTP"}[rng.IntN(3)])
		}
		lo, hi := rulePorts[rng.IntN(len(rulePorts))], rulePorts[rng.IntN(len(rulePorts))]
		lo, hi = min(lo, hi), max(lo, hi)
		switch rng.IntN(4) {
		case 0:
			fmt.Fprintf(&b, "  port_min: %d\n  port_max: %d\n", lo, hi)
		case 1:
			fmt.Fprintf(&b, "  port_min: %d\n  port_max: %d\n", lo, lo)
		case 2:
			fmt.Fprintf(&b, "  port_min: %d\n", lo)
		}
	}
	rules, err := baseline.Parse("random.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return rules
}

// side writes one side of a rule: anything, pods (with or without a
// namespace selector), namespaces only, or a CIDR (not on both sides).
func side(rng *rand.Rand, b *strings.Builder, key, nsKey string, otherCIDR bool) (cidr bool) {
	switch rng.IntN(5) {
	case 0:
	case 1:
		fmt.Fprintf(b, "  %s: %s\n", key, podSelectors[rng.IntN(len(podSelectors))])
	case 2:
		fmt.Fprintf(b, "  %s: %s\n  %s: %s\n", key, podSelectors[rng.IntN(len(podSelectors))], nsKey, namespaceSelectors[rng.IntN(len(namespaceSelectors))])
	case 3:
		fmt.Fprintf(b, "  %s: %s\n", nsKey, namespaceSelectors[rng.IntN(len(namespaceSelectors))])
	case 4:
		if otherCIDR {
			return false
		}
		fmt.Fprintf(b, "  %s: %s\n", key, ruleCIDRs[rng.IntN(len(ruleCIDRs))])
		return true
	}
	return false
}

// oracle answers, by the reference evaluator, what one cluster allows
// between two endpoints on the ports that matter, remembering answers.
type oracle struct {
	objs  *manifest.Objects
	ports model.PortSet
	probe model.ConnectionSet
	memo  map[[2]string]model.ConnectionSet
}

func newOracle(objs *manifest.Objects, rules []baseline.Rule) *oracle {
	ports := clustergen.InterestingPorts(objs)
	for _, r := range rules {
		for _, proto := range model.Protocols() {
			for _, rg := range r.Conns.Ports(proto).Ranges() {
				ports = ports.Union(model.Ports(rg[0]-1, rg[0], rg[1], rg[1]+1))
			}
		}
	}
	var probe model.ConnectionSet
	for _, p := range model.Protocols() {
		probe = probe.Union(model.Connections(p, ports))
	}
	return &oracle{objs: objs, ports: ports, probe: probe, memo: map[[2]string]model.ConnectionSet{}}
}

func (o *oracle) allowed(s, d reference.Endpoint) model.ConnectionSet {
	key := [2]string{s.String(), d.String()}
	c, ok := o.memo[key]
	if !ok {
		c = reference.Conns(o.objs, s, d, o.ports)
		o.memo[key] = c
	}
	return c
}

// contradiction is what of the rule's connections the reference's answer
// contradicts, on the probed ports.
func (o *oracle) contradiction(r baseline.Rule, allowed model.ConnectionSet) model.ConnectionSet {
	covered := r.Conns.Intersect(o.probe)
	if r.Action == baseline.Deny {
		return covered.Intersect(allowed)
	}
	return covered.Subtract(allowed)
}

func namespaceLabels(objs *manifest.Objects, ns string) map[string]string {
	for _, n := range objs.Namespaces {
		if n.Name == ns {
			return n.Labels
		}
	}
	return map[string]string{baseline.NamespaceNameLabel: ns}
}

func selectsPod(objs *manifest.Objects, e baseline.End, w *manifest.Workload) bool {
	return e.MatchesPod(w.PodLabels, namespaceLabels(objs, w.Namespace))
}

func selectsAddress(e baseline.End, a netip.Addr) bool {
	switch e.Kind {
	case baseline.Anything:
		return true
	case baseline.Addresses:
		return e.Addresses.Contains(a)
	}
	return false
}

// compare checks one rule's result against the brute force; "" when they
// agree.
func (o *oracle) compare(m model.Matrix, r baseline.Rule, got verify.Result) string {
	var universe model.IPSet
	for _, p := range m.Peers() {
		if p.Kind == model.PeerExternal {
			universe = universe.Union(model.RangeSet(p.Range))
		}
	}
	objs := o.objs
	// Pairs of endpoints the rule selects: workloads pairwise, and each
	// workload with sampled addresses the matrix covers, either way.
	samples := map[netip.Addr]bool{}
	for _, a := range clustergen.InterestingAddresses(objs) {
		samples[a] = true
	}
	for _, e := range []baseline.End{r.From, r.To} {
		for _, rg := range e.Addresses.Ranges() {
			samples[rg.First], samples[rg.Last], samples[rg.First.Prev()], samples[rg.Last.Next()] = true, true, true, true
		}
	}
	for _, w := range got.Witnesses {
		for _, p := range []model.Peer{w.Src, w.Dst} {
			if p.Kind == model.PeerExternal {
				samples[p.Range.First], samples[p.Range.Last] = true, true
			}
		}
	}
	type pair struct {
		src, dst   model.Peer // workload peers, or the sampled address as a one-address range
		s, d       reference.Endpoint
		srcA, dstA netip.Addr
	}
	var pairs []pair
	for i := range objs.Workloads {
		w := &objs.Workloads[i]
		for j := range objs.Workloads {
			v := &objs.Workloads[j]
			if i != j && selectsPod(objs, r.From, w) && selectsPod(objs, r.To, v) {
				pairs = append(pairs, pair{src: w.Peer(), dst: v.Peer(), s: reference.Pod(w), d: reference.Pod(v)})
			}
		}
		for a := range samples {
			if !a.IsValid() || !universe.Contains(a) {
				continue
			}
			if selectsPod(objs, r.From, w) && selectsAddress(r.To, a) {
				pairs = append(pairs, pair{src: w.Peer(), s: reference.Pod(w), d: reference.Address(a), dstA: a})
			}
			if selectsAddress(r.From, a) && selectsPod(objs, r.To, w) {
				pairs = append(pairs, pair{dst: w.Peer(), s: reference.Address(a), d: reference.Pod(w), srcA: a})
			}
		}
	}
	// Unchecked only for the documented reasons.
	outside := false
	for _, e := range []baseline.End{r.From, r.To} {
		if e.Kind == baseline.Addresses && !e.Addresses.Subtract(universe).IsEmpty() {
			outside = true
		}
	}
	switch {
	case outside:
		if got.Verdict != verify.Unchecked {
			return fmt.Sprintf("verdict %v, want unchecked: the rule's addresses reach outside the matrix's", got.Verdict)
		}
		return ""
	case len(pairs) == 0 && r.Action == baseline.Allow:
		if got.Verdict != verify.Unchecked {
			return fmt.Sprintf("verdict %v, want unchecked: an allow rule with nothing to check", got.Verdict)
		}
		return ""
	case got.Verdict == verify.Unchecked:
		return fmt.Sprintf("unchecked (%s), but %d pairs could be checked", got.Reason, len(pairs))
	}
	covers := func(w verify.Witness, p pair) bool {
		match := func(peer, want model.Peer, a netip.Addr) bool {
			if a.IsValid() {
				return peer.Kind == model.PeerExternal && model.RangeSet(peer.Range).Contains(a)
			}
			return peer == want
		}
		return match(w.Src, p.src, p.srcA) && match(w.Dst, p.dst, p.dstA)
	}
	// Every witness lies within what the rule selects: its external ranges
	// inside the rule's addresses (both ends suffice, a CIDR being one
	// range), its workloads selected.
	workload := map[model.Peer]*manifest.Workload{}
	for i := range objs.Workloads {
		workload[objs.Workloads[i].Peer()] = &objs.Workloads[i]
	}
	within := func(e baseline.End, p model.Peer) bool {
		if p.Kind == model.PeerExternal {
			return selectsAddress(e, p.Range.First) && selectsAddress(e, p.Range.Last)
		}
		w := workload[p]
		return w != nil && selectsPod(objs, e, w)
	}
	for _, w := range got.Witnesses {
		if !within(r.From, w.Src) || !within(r.To, w.Dst) {
			return fmt.Sprintf("witness %s => %s : %s reaches beyond what the rule selects", w.Src, w.Dst, w.Conns)
		}
	}
	used := make([]bool, len(got.Witnesses))
	violated := false
	for _, p := range pairs {
		want := o.contradiction(r, o.allowed(p.s, p.d))
		var have model.ConnectionSet
		n := 0
		for i, w := range got.Witnesses {
			if covers(w, p) {
				have, used[i] = w.Conns, true
				n++
			}
		}
		if n > 1 {
			return fmt.Sprintf("%d witnesses cover %s => %s", n, p.s, p.d)
		}
		if !have.Intersect(o.probe).Equal(want) {
			return fmt.Sprintf("%s => %s: witness %q, reference %q", p.s, p.d, have.Intersect(o.probe), want)
		}
		violated = violated || !want.IsEmpty()
	}
	if i := slices.Index(used, false); i >= 0 {
		w := got.Witnesses[i]
		return fmt.Sprintf("witness %s => %s : %s covers no pair the rule selects", w.Src, w.Dst, w.Conns)
	}
	if violated != (got.Verdict == verify.Violated) {
		return fmt.Sprintf("verdict %v, but the reference finds a contradiction: %v", got.Verdict, violated)
	}
	return ""
}
