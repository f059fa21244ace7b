package firewall_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/firewall"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
)

var propertyCases = flag.Int("property.cases", 500, "random clusters and matrices each property test checks")

func cases() int {
	if testing.Short() {
		return 50
	}
	return *propertyCases
}

func inventoryOf(objs *manifest.Objects) firewall.Inventory {
	inv := firewall.Inventory{PodLabels: map[model.Peer]map[string]string{}}
	for _, w := range objs.Workloads {
		inv.PodLabels[w.Peer()] = w.PodLabels
	}
	return inv
}

// roundTrip expands the rules of m and returns the first edge where the
// expansion differs from m, or "".
func roundTrip(m model.Matrix, inv firewall.Inventory) (string, []firewall.Rule) {
	rules := firewall.Rules(m, inv)
	x := firewall.Expand(rules, inv, m.Peers())
	if !slices.Equal(x.Peers(), m.Peers()) {
		return fmt.Sprintf("expansion has peers %v, matrix %v", x.Peers(), m.Peers()), rules
	}
	for _, src := range m.Peers() {
		for _, dst := range m.Peers() {
			e := model.Edge{Src: src, Dst: dst}
			if got, want := x.Get(e), m.Get(e); !got.Equal(want) {
				return fmt.Sprintf("%s: rules allow %q, matrix %q", e, got, want), rules
			}
		}
	}
	return "", rules
}

func dump(m model.Matrix, inv firewall.Inventory, rules []firewall.Rule) string {
	var b strings.Builder
	b.WriteString("labels:\n")
	for _, p := range m.Peers() {
		if p.Kind == model.PeerWorkload {
			fmt.Fprintf(&b, "  %s %v\n", p, inv.PodLabels[p])
		}
	}
	b.WriteString("matrix:\n")
	for e, c := range m.All() {
		fmt.Fprintf(&b, "  %s : %s\n", e, c)
	}
	b.WriteString("rules:\n")
	for _, r := range rules {
		b.WriteString("  " + report.RuleLine(r) + "\n")
	}
	return b.String()
}

// TestRulesExpandToTheMatrixOfRandomClusters is the exactness property on
// the engine's own output: random clusters exercising every policy feature,
// their connectivity, its rules, and the rules expanded back, edge by edge.
func TestRulesExpandToTheMatrixOfRandomClusters(t *testing.T) {
	shorter := 0
	for seed := range uint64(cases()) {
		rng := rand.New(rand.NewPCG(seed, 0xf12e))
		size := clustergen.RandomSize{Namespaces: 1 + rng.IntN(4), Workloads: 1 + rng.IntN(14), Policies: rng.IntN(9)}
		objs := clustergen.Random(rng, size)
		res, err := analyze.Connectivity(context.Background(), objs)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		inv := inventoryOf(objs)
		msg, rules := roundTrip(res.Matrix, inv)
		if msg != "" {
			t.Fatalf("seed %d: %s\n%s", seed, msg, dump(res.Matrix, inv, rules))
		}
		if n := res.Matrix.Len(); len(rules) > n {
			t.Errorf("seed %d: %d rules for %d edges\n%s", seed, len(rules), n, dump(res.Matrix, inv, rules))
		} else if len(rules) < n {
			shorter++
		}
	}
	if shorter < cases()/2 {
		t.Errorf("rules were shorter than the pair list for only %d of %d clusters", shorter, cases())
	}
}

// TestRulesExpandToRandomMatrices is the same property on arbitrary
// matrices, which no set of policies needs to produce: random labels drawn
// from small pools (so that workloads collide on every label), random
// connection sets from a small pool, random densities, external ranges and
// the ingress controller.
func TestRulesExpandToRandomMatrices(t *testing.T) {
	for seed := range uint64(cases()) {
		rng := rand.New(rand.NewPCG(seed, 0x3a7))
		m, inv := randomMatrix(rng)
		if msg, rules := roundTrip(m, inv); msg != "" {
			t.Fatalf("seed %d: %s\n%s", seed, msg, dump(m, inv, rules))
		}
	}
}

func randomMatrix(rng *rand.Rand) (model.Matrix, firewall.Inventory) {
	keys := []string{"app", "tier", "role", "zone", "team"}[:2+rng.IntN(4)]
	values := []string{"a", "b", "c"}
	conns := []model.ConnectionSet{
		model.AllConnections(),
		model.Connections(model.TCP, model.Ports(80)),
		model.Connections(model.TCP, model.Ports(443)),
		model.Connections(model.UDP, model.Ports(53)).Union(model.Connections(model.TCP, model.Ports(53))),
	}
	inv := firewall.Inventory{PodLabels: map[model.Peer]map[string]string{}}
	var peers []model.Peer
	nns := 1 + rng.IntN(3)
	for i := range 1 + rng.IntN(10) {
		p := model.WorkloadPeer(fmt.Sprintf("ns%d", rng.IntN(nns)), fmt.Sprintf("w%d", i), "Deployment")
		labels := map[string]string{}
		for _, k := range keys {
			if rng.IntN(3) > 0 {
				labels[k] = values[rng.IntN(len(values))]
			}
		}
		inv.PodLabels[p] = labels
		peers = append(peers, p)
	}
	if rng.IntN(2) == 0 {
		peers = append(peers, model.IngressController())
	}
	cuts := []string{"0.0.0.0-9.255.255.255", "10.0.0.0-10.255.255.255", "11.0.0.0-255.255.255.255", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}
	for _, c := range cuts[:rng.IntN(len(cuts)+1)] {
		r, err := model.ParseIPRange(c)
		if err != nil {
			panic(err)
		}
		peers = append(peers, model.ExternalPeer(r))
	}
	density := 1 + rng.IntN(4) // edges kept out of 4
	pool := conns[:1+rng.IntN(len(conns))]
	b := model.NewMatrixBuilder()
	for _, s := range peers {
		b.AddPeer(s)
		for _, d := range peers {
			external := func(p model.Peer) bool { return p.Kind != model.PeerWorkload }
			if s == d || external(s) && external(d) || rng.IntN(4) >= density {
				continue
			}
			b.Add(model.Edge{Src: s, Dst: d}, pool[rng.IntN(len(pool))])
		}
	}
	return b.Matrix(), inv
}

// TestRulesAreDeterministic builds the same rules from the same matrix
// however the inventory's map happens to iterate.
func TestRulesAreDeterministic(t *testing.T) {
	for seed := range uint64(20) {
		m, inv := randomMatrix(rand.New(rand.NewPCG(seed, 1)))
		want := render(firewall.Rules(m, inv))
		for range 5 {
			if got := render(firewall.Rules(m, inv)); got != want {
				t.Fatalf("seed %d: rules differ between runs:\n%s\nvs\n%s", seed, want, got)
			}
		}
	}
}

func render(rules []firewall.Rule) string {
	var b strings.Builder
	if err := report.Firewall(&b, rules); err != nil {
		panic(err)
	}
	return b.String()
}
