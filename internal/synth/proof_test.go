package synth_test

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/synth"
)

// TestProofOnRandomTopologies is the synthesizer's contract, checked with
// the connectivity engine on random clusters and random requirements:
// connectivity(synthesized) ⊇ required (nothing needed is blocked), and
// connectivity(synthesized) − required − allowances = ∅ (least privilege),
// where the allowances are DNS and workloads whose labels cannot be told
// apart (reported as findings).
func TestProofOnRandomTopologies(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 25
	}
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 0x5a))
		objs := clustergen.Random(rng, clustergen.RandomSize{Namespaces: 1 + rng.IntN(3), Workloads: 2 + rng.IntN(7)})
		objs.Policies = nil
		reqs := randomRequirements(rng, objs)
		opts := synth.DefaultOptions()
		proposal := synth.Policies(objs, reqs, opts)
		prove(t, seed, objs, reqs, proposal, opts)
	}
}

func randomRequirements(rng *rand.Rand, objs *manifest.Objects) []synth.Requirement {
	ports := []int{53, 80, 443, 5432, 8080, 8081, 9090}
	conns := func() model.ConnectionSet {
		var c model.ConnectionSet
		for range 1 + rng.IntN(3) {
			proto := model.Protocols()[rng.IntN(3)]
			p := ports[rng.IntN(len(ports))]
			if rng.IntN(4) == 0 {
				c = c.Union(model.Connections(proto, model.PortRange(p, p+rng.IntN(20))))
			} else {
				c = c.Union(model.Connections(proto, model.Ports(p)))
			}
		}
		if rng.IntN(15) == 0 {
			c = model.AllConnections()
		}
		return c
	}
	ranges := []string{"0.0.0.0/0", "203.0.113.0/24", "10.0.0.0/8", "2001:db8::/32", "198.51.100.7/32"}
	var out []synth.Requirement
	w := objs.Workloads
	for range rng.IntN(3 * len(w)) {
		a, b := w[rng.IntN(len(w))].Peer(), w[rng.IntN(len(w))].Peer()
		if a == b {
			continue
		}
		out = append(out, synth.Requirement{Src: a, Dst: b, Conns: conns(), Reasons: []string{"random"}})
	}
	for range rng.IntN(4) {
		p := netip.MustParsePrefix(ranges[rng.IntN(len(ranges))])
		r := model.PrefixSet(p).Ranges()[0]
		wl := w[rng.IntN(len(w))].Peer()
		if rng.IntN(2) == 0 {
			out = append(out, synth.Requirement{Src: model.ExternalPeer(r), Dst: wl, Conns: conns()})
		} else {
			out = append(out, synth.Requirement{Src: wl, Dst: model.ExternalPeer(r), Conns: conns()})
		}
	}
	if rng.IntN(2) == 0 {
		out = append(out, synth.Requirement{Src: model.IngressController(), Dst: w[rng.IntN(len(w))].Peer(), Conns: conns()})
	}
	if rng.IntN(2) == 0 {
		ns := objs.Namespaces[rng.IntN(len(objs.Namespaces))].Name
		out = append(out, synth.Requirement{FromNamespace: ns, Dst: w[rng.IntN(len(w))].Peer(), Conns: conns()})
	}
	return out
}

// prove runs the engine over the proposal and checks both directions of the
// contract.
func prove(t *testing.T, seed uint64, objs *manifest.Objects, reqs []synth.Requirement, p synth.Proposal, opts synth.Options) {
	t.Helper()
	withPolicies := *objs
	withPolicies.Policies = nil
	for _, pol := range p.Policies {
		withPolicies.Policies = append(withPolicies.Policies, manifest.NetworkPolicy{Object: pol.Object})
	}
	ic := analyze.WithIngressController(analyze.IngressController{Namespace: opts.IngressController.Namespace, PodLabels: opts.IngressController.PodLabels})
	res, err := analyze.Connectivity(context.Background(), &withPolicies, ic)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		t.Fatalf("seed %d: the engine reports a finding on synthesized policies: %s", seed, f)
	}
	twins := map[model.Peer]bool{}
	for _, f := range p.Findings {
		if f.Code == synth.CodeIndistinguishable {
			for i := range objs.Workloads {
				if w := &objs.Workloads[i]; strings.Contains(f.Message, w.Peer().String()) {
					twins[w.Peer()] = true
				}
			}
		}
	}
	// required(src, dst) for a pair of matrix peers: the union of the
	// requirements whose ends contain them.
	contains := func(req, peer model.Peer) bool {
		if req.Kind == model.PeerExternal && peer.Kind == model.PeerExternal {
			return model.RangeSet(peer.Range).Subset(model.RangeSet(req.Range))
		}
		return req == peer
	}
	required := func(src, dst model.Peer) model.ConnectionSet {
		var c model.ConnectionSet
		for _, r := range reqs {
			from := contains(r.Src, src)
			if r.FromNamespace != "" {
				from = src.Kind == model.PeerWorkload && src.Namespace == r.FromNamespace
			}
			if from && contains(r.Dst, dst) {
				c = c.Union(r.Conns)
			}
		}
		return c
	}
	peers := res.Matrix.Peers()
	for _, src := range peers {
		for _, dst := range peers {
			if src == dst || src.Kind == model.PeerExternal && dst.Kind == model.PeerExternal {
				continue
			}
			got, want := res.Matrix.Get(model.Edge{Src: src, Dst: dst}), required(src, dst)
			if !want.Subset(got) {
				t.Fatalf("seed %d: %s => %s needs %s but the policies allow %s\n%s", seed, src, dst, want, got, dump(p))
			}
			if twins[src] || twins[dst] {
				continue
			}
			if extra := got.Subtract(want); !extra.IsEmpty() {
				t.Fatalf("seed %d: %s => %s allows %s beyond what is needed (%s)\n%s", seed, src, dst, extra, want, dump(p))
			}
		}
	}
	// The ingress controller is no matrix peer without routes: ask Explain.
	for i := range objs.Workloads {
		w := objs.Workloads[i].Peer()
		ex, err := analyze.Explain(context.Background(), &withPolicies, model.IngressControllerName, w.Namespace+"/"+w.Name+"["+w.WorkloadKind+"]", ic)
		if err != nil {
			t.Fatal(err)
		}
		want := required(model.IngressController(), w)
		if !want.Subset(ex.Conns) || !twins[w] && !ex.Conns.Subset(want) {
			t.Fatalf("seed %d: {ingress-controller} => %s allows %s, needs exactly %s\n%s", seed, w, ex.Conns, want, dump(p))
		}
	}
	if !slices.IsSortedFunc(p.Findings, model.CompareFindings) {
		t.Errorf("seed %d: findings are not sorted", seed)
	}
}

func dump(p synth.Proposal) string {
	var b strings.Builder
	synth.WriteYAML(&b, p)
	return b.String()
}
