package analyze_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/analyze/reference"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/model"
)

// TestExplainAgreesWithEngineAndReference checks on random clusters (with
// admin tiers) that an explanation's verdict is the engine's and the
// reference's, and that its steps account for every connection of each
// direction exactly once as allowed or denied.
func TestExplainAgreesWithEngineAndReference(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 20
	}
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 0xe4))
		objs := clustergen.Random(rng, clustergen.RandomSize{
			Namespaces: 1 + rng.IntN(3), Workloads: 2 + rng.IntN(5), Policies: rng.IntN(6),
			AdminPolicies: rng.IntN(3), BaselinePolicies: rng.IntN(2),
		})
		res, err := analyze.Connectivity(context.Background(), objs)
		if err != nil {
			t.Fatal(err)
		}
		ports := clustergen.InterestingPorts(objs)
		var probe model.ConnectionSet
		for _, p := range model.Protocols() {
			probe = probe.Union(model.Connections(p, ports))
		}
		for i := range objs.Workloads {
			for j := range objs.Workloads {
				if i == j {
					continue
				}
				w, v := &objs.Workloads[i], &objs.Workloads[j]
				ex, err := analyze.Explain(context.Background(), objs, w.Namespace+"/"+w.Name, v.Namespace+"/"+v.Name)
				if err != nil {
					t.Fatal(err)
				}
				if ex.Src != w.Peer() || ex.Dst != v.Peer() {
					continue // another kind of workload shares the name; the first one was explained
				}
				if got := res.Matrix.Get(model.Edge{Src: w.Peer(), Dst: v.Peer()}); !ex.Conns.Equal(got) {
					t.Fatalf("seed %d: %s => %s: explain says %s, engine %s", seed, w.Peer(), v.Peer(), ex.Conns, got)
				}
				if want := reference.Conns(objs, reference.Endpoint{Workload: w}, reference.Endpoint{Workload: v}, ports); !ex.Conns.Intersect(probe).Equal(want) {
					t.Fatalf("seed %d: %s => %s: explain says %s, reference %s", seed, w.Peer(), v.Peer(), ex.Conns, want)
				}
				for _, d := range ex.Directions {
					checkSteps(t, seed, d)
				}
			}
		}
	}
}

// checkSteps: allowed steps add up to Allowed, and allowed and denied steps
// together cover every connection without overlap between the two.
func checkSteps(t *testing.T, seed uint64, d analyze.DirectionExplanation) {
	t.Helper()
	allowed, denied := model.NoConnections(), model.NoConnections()
	for _, s := range d.Steps {
		switch s.Verdict {
		case analyze.VerdictAllowed:
			allowed = allowed.Union(s.Conns)
		case analyze.VerdictDenied:
			denied = denied.Union(s.Conns)
		}
	}
	if !allowed.Equal(d.Allowed) {
		t.Fatalf("seed %d: %s at %s: allowed steps add up to %s, but Allowed is %s", seed, d.Direction, d.Pod, allowed, d.Allowed)
	}
	if !allowed.Intersect(denied).IsEmpty() || !allowed.Union(denied).IsAll() {
		t.Fatalf("seed %d: %s at %s: steps allow %s and deny %s; want a partition of all connections", seed, d.Direction, d.Pod, allowed, denied)
	}
}

func TestExplainUnknownPeer(t *testing.T) {
	objs := clustergen.Random(rand.New(rand.NewPCG(1, 2)), clustergen.RandomSize{Namespaces: 1, Workloads: 2})
	_, err := analyze.Explain(context.Background(), objs, "nope/nothing", objs.Workloads[0].Namespace+"/"+objs.Workloads[0].Name)
	if !errors.Is(err, analyze.ErrNoSuchPeer) {
		t.Errorf("err = %v, want ErrNoSuchPeer", err)
	}
}
