package sanity

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/model"
)

// matrix builds a matrix from peers and "src|dst|conns" edges.
func matrix(t *testing.T, peers []string, edges ...[3]string) model.Matrix {
	t.Helper()
	b := model.NewMatrixBuilder()
	parse := func(s string) model.Peer {
		p, err := model.ParsePeer(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, p := range peers {
		b.AddPeer(parse(p))
	}
	for _, e := range edges {
		c, err := model.ParseConnectionSet(e[2])
		if err != nil {
			t.Fatal(err)
		}
		b.Add(model.Edge{Src: parse(e[0]), Dst: parse(e[1])}, c)
	}
	return b.Matrix()
}

func TestSameConnectivity(t *testing.T) {
	const web, db = "ns/web[Deployment]", "ns/db[Deployment]"
	whole := []string{web, db, "0.0.0.0-255.255.255.255"}
	split := []string{web, db, "0.0.0.0-9.255.255.255", "10.0.0.0-10.255.255.255", "11.0.0.0-255.255.255.255"}
	base := matrix(t, whole, [3]string{web, db, "TCP 80"}, [3]string{db, "0.0.0.0-255.255.255.255", "TCP 443"})
	for _, tc := range []struct {
		name string
		m    model.Matrix
		same bool
	}{
		{"itself", base, true},
		{"the same, ranges split otherwise", matrix(t, split, [3]string{web, db, "TCP 80"},
			[3]string{db, "0.0.0.0-9.255.255.255", "TCP 443"}, [3]string{db, "10.0.0.0-10.255.255.255", "TCP 443"},
			[3]string{db, "11.0.0.0-255.255.255.255", "TCP 443"}), true},
		{"one range differs", matrix(t, split, [3]string{web, db, "TCP 80"},
			[3]string{db, "0.0.0.0-9.255.255.255", "TCP 443"}, [3]string{db, "11.0.0.0-255.255.255.255", "TCP 443"}), false},
		{"a pod pair differs", matrix(t, whole, [3]string{web, db, "TCP 80,81"}, [3]string{db, "0.0.0.0-255.255.255.255", "TCP 443"}), false},
		{"a workload missing", matrix(t, []string{web, "0.0.0.0-255.255.255.255"}), false},
		{"a workload more", matrix(t, append([]string{"ns/new[Pod]"}, whole...), [3]string{web, db, "TCP 80"},
			[3]string{db, "0.0.0.0-255.255.255.255", "TCP 443"}), false},
		{"IPv6 covered on one side only", matrix(t, append([]string{"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, whole...),
			[3]string{web, db, "TCP 80"}, [3]string{db, "0.0.0.0-255.255.255.255", "TCP 443"}), false},
	} {
		if got := sameConnectivity(base, tc.m); got != tc.same {
			t.Errorf("%s: same %v, want %v", tc.name, got, tc.same)
		}
		if got := sameConnectivity(tc.m, base); got != tc.same {
			t.Errorf("%s, the other way: same %v, want %v", tc.name, got, tc.same)
		}
	}
}

// TestSameConnectivityGroups checks the joint classes: two workloads in one
// group on one side, told apart on the other.
func TestSameConnectivityGroups(t *testing.T) {
	peers := []string{"ns/a[Pod]", "ns/b[Pod]", "ns/c[Pod]"}
	a := matrix(t, peers, [3]string{"ns/a[Pod]", "ns/c[Pod]", "TCP 1"}, [3]string{"ns/b[Pod]", "ns/c[Pod]", "TCP 1"})
	b := matrix(t, peers, [3]string{"ns/a[Pod]", "ns/c[Pod]", "TCP 1"}, [3]string{"ns/b[Pod]", "ns/c[Pod]", "TCP 2"})
	if sameConnectivity(a, b) || sameConnectivity(b, a) {
		t.Error("matrices that differ on one pair compare equal")
	}
	if !sameConnectivity(a, a) {
		t.Error("a matrix differs from itself")
	}
	// a and b share a group in both; only the connections between them,
	// the group's cell with itself, differ.
	grouped := func(self string) model.Matrix {
		c, err := model.ParseConnectionSet(self)
		if err != nil {
			t.Fatal(err)
		}
		one, _ := model.ParseConnectionSet("TCP 9")
		ps := []model.Peer{model.WorkloadPeer("ns", "a", "Pod"), model.WorkloadPeer("ns", "b", "Pod"), model.WorkloadPeer("ns", "c", "Pod")}
		m, err := model.GroupedMatrix(ps, []int{0, 0, 1}, []model.ConnectionSet{model.NoConnections(), c, one}, []uint32{1, 2, 2, 0})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if sameConnectivity(grouped("TCP 1"), grouped("TCP 2")) {
		t.Error("matrices that differ between two peers of one group compare equal")
	}
	if !sameConnectivity(grouped("TCP 1"), grouped("TCP 1")) {
		t.Error("equal grouped matrices differ")
	}
}

// bruteSame is sameConnectivity edge by edge, on the finest split of both
// matrices' address ranges.
func bruteSame(a, b model.Matrix) bool {
	var inner []model.Peer
	var ua, ub model.IPSet
	var sets []model.IPSet
	for _, p := range a.Peers() {
		if p.Kind == model.PeerExternal {
			ua = ua.Union(model.RangeSet(p.Range))
			sets = append(sets, model.RangeSet(p.Range))
		} else {
			if !b.Has(p) {
				return false
			}
			inner = append(inner, p)
		}
	}
	for _, p := range b.Peers() {
		if p.Kind == model.PeerExternal {
			ub = ub.Union(model.RangeSet(p.Range))
			sets = append(sets, model.RangeSet(p.Range))
		} else if !a.Has(p) {
			return false
		}
	}
	if !ua.Equal(ub) {
		return false
	}
	holder := func(m model.Matrix, piece model.IPRange) model.Peer {
		for _, p := range m.Peers() {
			if p.Kind == model.PeerExternal && model.RangeSet(p.Range).Contains(piece.First) {
				return p
			}
		}
		panic("no range holds " + piece.String())
	}
	for _, x := range inner {
		for _, y := range inner {
			if !a.Get(model.Edge{Src: x, Dst: y}).Equal(b.Get(model.Edge{Src: x, Dst: y})) {
				return false
			}
		}
		for _, piece := range model.Boundaries(ua, sets) {
			ea, eb := holder(a, piece), holder(b, piece)
			if !a.Get(model.Edge{Src: x, Dst: ea}).Equal(b.Get(model.Edge{Src: x, Dst: eb})) ||
				!a.Get(model.Edge{Src: ea, Dst: x}).Equal(b.Get(model.Edge{Src: eb, Dst: x})) {
				return false
			}
		}
	}
	return true
}

// TestSameConnectivityAgreesWithBruteForce compares, on random clusters,
// the engine's grouped matrix with the matrix of the cluster without each
// of its policies in turn, and with its own ConnectivityMap read back.
func TestSameConnectivityAgreesWithBruteForce(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 10
	}
	agreedSame, agreedDifferent := 0, 0
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 0x5a11))
		objs := clustergen.Random(rng, clustergen.RandomSize{Namespaces: 1 + rng.IntN(3), Workloads: 1 + rng.IntN(6), Policies: 1 + rng.IntN(5)})
		base, err := analyze.Connectivity(context.Background(), objs)
		if err != nil {
			t.Fatal(err)
		}
		if back := model.NewConnectivityMap(base.Matrix, nil).Matrix(); !sameConnectivity(base.Matrix, back) {
			t.Fatalf("seed %d: a matrix differs from its artifact read back", seed)
		}
		for i := range objs.Policies {
			cp := *objs
			cp.Policies = slices.Delete(slices.Clone(objs.Policies), i, i+1)
			res, err := analyze.Connectivity(context.Background(), &cp)
			if err != nil {
				t.Fatal(err)
			}
			got, want := sameConnectivity(base.Matrix, res.Matrix), bruteSame(base.Matrix, res.Matrix)
			if got != want {
				t.Fatalf("seed %d, without policy %d: sameConnectivity %v, brute force %v", seed, i, got, want)
			}
			if got {
				agreedSame++
			} else {
				agreedDifferent++
			}
		}
	}
	if agreedSame == 0 || agreedDifferent == 0 {
		t.Errorf("the draws never exercise one side: %d same, %d different", agreedSame, agreedDifferent)
	}
}
