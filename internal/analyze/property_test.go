package analyze_test

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
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

var propertyCases = flag.Int("property.cases", 300, "random clusters the property test checks")

// TestEngineAgreesWithReference generates random clusters exercising every
// NetworkPolicy feature and checks the engine against the naive reference
// evaluator on every workload pair and every external range, for every
// protocol and every port that could behave differently.
func TestEngineAgreesWithReference(t *testing.T) {
	n := *propertyCases
	if testing.Short() {
		n = 30
	}
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 0x7167))
		size := clustergen.RandomSize{Namespaces: 1 + rng.IntN(3), Workloads: 1 + rng.IntN(7), Policies: rng.IntN(7)}
		if seed%2 == 1 { // half the clusters also carry the admin tiers
			size.AdminPolicies, size.BaselinePolicies = rng.IntN(4), rng.IntN(3)
		}
		objs := clustergen.Random(rng, size)
		if msg := disagreement(objs); msg != "" {
			small := minimise(objs)
			var yaml strings.Builder
			if err := clustergen.WriteYAML(&yaml, small); err != nil {
				t.Fatal(err)
			}
			t.Fatalf("seed %d: engine and reference disagree: %s\nminimised cluster (%s):\n%s",
				seed, msg, disagreement(small), yaml.String())
		}
	}
}

// agreeWithReference is the same check for one scenario.
func agreeWithReference(t *testing.T, objs *manifest.Objects, res analyze.Result) {
	t.Helper()
	if msg := compare(objs, res); msg != "" {
		t.Errorf("engine and reference disagree: %s", msg)
	}
}

// disagreement runs the engine and returns the first difference from the
// reference, or "".
func disagreement(objs *manifest.Objects) string {
	res, err := analyze.Connectivity(context.Background(), objs)
	if err != nil {
		return "engine error: " + err.Error()
	}
	return compare(objs, res)
}

func compare(objs *manifest.Objects, res analyze.Result) string {
	ports := clustergen.InterestingPorts(objs)
	var probe model.ConnectionSet
	for _, p := range model.Protocols() {
		probe = probe.Union(model.Connections(p, ports))
	}
	check := func(src, dst model.Peer, s, d reference.Endpoint) string {
		got := res.Matrix.Get(model.Edge{Src: src, Dst: dst}).Intersect(probe)
		want := reference.Conns(objs, s, d, ports)
		if !got.Equal(want) {
			return fmt.Sprintf("%s => %s (as %s => %s): engine %q, reference %q", src, dst, describe(s), describe(d), got, want)
		}
		return ""
	}
	var external []model.Peer
	for _, p := range res.Matrix.Peers() {
		if p.Kind == model.PeerExternal {
			external = append(external, p)
		}
	}
	for i := range objs.Workloads {
		w := &objs.Workloads[i]
		for j := range objs.Workloads {
			if i == j {
				continue
			}
			v := &objs.Workloads[j]
			if msg := check(w.Peer(), v.Peer(), reference.Endpoint{Workload: w}, reference.Endpoint{Workload: v}); msg != "" {
				return msg
			}
		}
		for _, x := range external {
			for _, ip := range sampleAddrs(x.Range) {
				if msg := check(w.Peer(), x, reference.Endpoint{Workload: w}, reference.Endpoint{IP: ip}); msg != "" {
					return msg
				}
				if msg := check(x, w.Peer(), reference.Endpoint{IP: ip}, reference.Endpoint{Workload: w}); msg != "" {
					return msg
				}
			}
		}
	}
	return ""
}

// sampleAddrs picks the ends of a range: by construction every address of an
// external peer behaves alike, so the ends stand for all of it.
func sampleAddrs(r model.IPRange) []netip.Addr {
	if r.First == r.Last {
		return []netip.Addr{r.First}
	}
	return []netip.Addr{r.First, r.Last}
}

func describe(e reference.Endpoint) string {
	if e.Workload != nil {
		return e.Workload.Peer().String()
	}
	return e.IP.String()
}

// minimise drops admin-tier policies, NetworkPolicies, then workloads, as
// long as the engine still disagrees with the reference.
func minimise(objs *manifest.Objects) *manifest.Objects {
	cur := clone(objs)
	for changed := true; changed; {
		changed = false
		for _, drop := range []func(*manifest.Objects) bool{
			func(o *manifest.Objects) bool { return dropLast(&o.AdminPolicies) },
			func(o *manifest.Objects) bool { return dropLast(&o.BaselinePolicies) },
			func(o *manifest.Objects) bool { return dropLast(&o.ClusterPolicies) },
		} {
			for {
				next := clone(cur)
				if !drop(next) || disagreement(next) == "" {
					break
				}
				cur, changed = next, true
			}
		}
		for i := range cur.Policies {
			next := clone(cur)
			next.Policies = slices.Delete(next.Policies, i, i+1)
			if disagreement(next) != "" {
				cur, changed = next, true
				break
			}
		}
		if changed {
			continue
		}
		for i := range cur.Workloads {
			next := clone(cur)
			next.Workloads = slices.Delete(next.Workloads, i, i+1)
			if disagreement(next) != "" {
				cur, changed = next, true
				break
			}
		}
	}
	return cur
}

func clone(o *manifest.Objects) *manifest.Objects {
	return &manifest.Objects{
		Namespaces:       slices.Clone(o.Namespaces),
		Workloads:        slices.Clone(o.Workloads),
		Services:         slices.Clone(o.Services),
		Policies:         slices.Clone(o.Policies),
		AdminPolicies:    slices.Clone(o.AdminPolicies),
		BaselinePolicies: slices.Clone(o.BaselinePolicies),
		ClusterPolicies:  slices.Clone(o.ClusterPolicies),
		Routes:           slices.Clone(o.Routes),
	}
}

// dropLast removes the last element, reporting whether there was one.
func dropLast[T any](s *[]T) bool {
	if len(*s) == 0 {
		return false
	}
	*s = (*s)[:len(*s)-1]
	return true
}

// TestExposureIsSafe: what exposure says the entire cluster may open to a
// workload, any pod anywhere may open — checked against the reference with
// probe pods in a namespace of their own, unlabelled and labelled like the
// cluster's pods; the same for what a workload may open to the cluster.
// (Clusters without admin tiers: guardrails may select a real probe.)
func TestExposureIsSafe(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 20
	}
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 0xe0))
		objs := clustergen.Random(rng, clustergen.RandomSize{Namespaces: 1 + rng.IntN(3), Workloads: 1 + rng.IntN(6), Policies: rng.IntN(7)})
		res, err := analyze.Connectivity(context.Background(), objs)
		if err != nil {
			t.Fatal(err)
		}
		probes := []map[string]string{{}}
		for _, w := range objs.Workloads {
			probes = append(probes, w.PodLabels)
		}
		withProbe := *objs
		withProbe.Namespaces = append(slices.Clone(objs.Namespaces), manifest.Namespace{Name: "zz-probe",
			Labels: map[string]string{manifest.NamespaceNameLabel: "zz-probe"}})
		ports := clustergen.InterestingPorts(objs)
		for _, x := range res.Exposure {
			w := findWorkload(objs, x.Peer)
			for _, lbls := range probes {
				probe := manifest.Workload{Kind: "Pod", Namespace: "zz-probe", Name: "probe", PodLabels: lbls}
				in := reference.Conns(&withProbe, reference.Endpoint{Workload: &probe}, reference.Endpoint{Workload: w}, ports)
				out := reference.Conns(&withProbe, reference.Endpoint{Workload: w}, reference.Endpoint{Workload: &probe}, ports)
				if got := x.FromCluster.Intersect(probeSet(ports)); !got.Subset(in) {
					t.Fatalf("seed %d: exposure says the cluster may open %s to %s, but a probe pod labelled %v may open only %s", seed, got, x.Peer, lbls, in)
				}
				if got := x.ToCluster.Intersect(probeSet(ports)); !got.Subset(out) {
					t.Fatalf("seed %d: exposure says %s may open %s to the cluster, but only %s to a probe pod labelled %v", seed, x.Peer, got, out, lbls)
				}
			}
		}
	}
}

func probeSet(ports model.PortSet) model.ConnectionSet {
	var c model.ConnectionSet
	for _, p := range model.Protocols() {
		c = c.Union(model.Connections(p, ports))
	}
	return c
}

func findWorkload(objs *manifest.Objects, p model.Peer) *manifest.Workload {
	for i := range objs.Workloads {
		if objs.Workloads[i].Peer() == p {
			return &objs.Workloads[i]
		}
	}
	return nil
}
