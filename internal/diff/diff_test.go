package diff_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/diff"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

func conns(t testing.TB, s string) model.ConnectionSet {
	t.Helper()
	c, err := model.ParseConnectionSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ext(t testing.TB, s string) model.Peer {
	t.Helper()
	r, err := model.ParseIPRange(s)
	if err != nil {
		t.Fatal(err)
	}
	return model.ExternalPeer(r)
}

func matrix(t testing.TB, peers []model.Peer, edges map[string]string) model.Matrix {
	t.Helper()
	b := model.NewMatrixBuilder()
	for _, p := range peers {
		b.AddPeer(p)
	}
	for e, c := range edges {
		src, dst, ok := strings.Cut(e, " => ")
		if !ok {
			t.Fatalf("edge %q", e)
		}
		s, err := model.ParsePeer(src)
		if err != nil {
			t.Fatal(err)
		}
		d, err := model.ParsePeer(dst)
		if err != nil {
			t.Fatal(err)
		}
		b.Add(model.Edge{Src: s, Dst: d}, conns(t, c))
	}
	return b.Matrix()
}

// lines renders a diff in the conventional notation, one change a line.
func lines(r diff.Result) string {
	var b strings.Builder
	for c := range r.Changes() {
		fmt.Fprintf(&b, "%s %s : %s -> %s\n", c.Kind, c.Edge(), c.Old, c.New)
	}
	for _, p := range r.AddedPeers() {
		fmt.Fprintf(&b, "added peer %s\n", p)
	}
	for _, p := range r.RemovedPeers() {
		fmt.Fprintf(&b, "removed peer %s\n", p)
	}
	return b.String()
}

// TestClassification: one edge of each kind, a workload on each side only,
// and an unchanged edge that is not reported.
func TestClassification(t *testing.T) {
	fe, db := "shop/frontend[Deployment]", "shop/db[StatefulSet]"
	cart, legacy := "shop/cart[Deployment]", "shop/legacy[Deployment]"
	all := "0.0.0.0-255.255.255.255"
	old := matrix(t, nil, map[string]string{
		fe + " => " + db:                "TCP 5432",
		legacy + " => " + db:            "TCP 5432",
		fe + " => " + all:               "TCP 443",
		"{ingress-controller} => " + fe: "TCP 8080",
	})
	new := matrix(t, nil, map[string]string{
		fe + " => " + db:                "TCP 5432,UDP 53",
		cart + " => " + db:              "TCP 5432",
		fe + " => " + all:               "TCP 443",
		"{ingress-controller} => " + fe: "TCP 8080",
	})
	r := check(t, old, new)
	want := `added shop/cart[Deployment] => shop/db[StatefulSet] : No Connections -> TCP 5432
changed shop/frontend[Deployment] => shop/db[StatefulSet] : TCP 5432 -> TCP 5432,UDP 53
removed shop/legacy[Deployment] => shop/db[StatefulSet] : TCP 5432 -> No Connections
added peer shop/cart[Deployment]
removed peer shop/legacy[Deployment]
`
	if got := lines(r); got != want {
		t.Errorf("diff =\n%s\nwant\n%s", got, want)
	}
	if got := r.Counts(); got != (diff.Counts{Added: 1, Removed: 1, Changed: 1}) || got.Total() != 3 {
		t.Errorf("Counts() = %+v", got)
	}
	if r.Empty() {
		t.Error("Empty() is true")
	}
	art := r.Artifact()
	if art.Kind != model.KindConnectivityDiff || len(art.Changes) != 3 || len(art.AddedPeers) != 1 || len(art.RemovedPeers) != 1 {
		t.Errorf("Artifact() = %+v", art)
	}
}

// TestExternalRefinement: the sides split the address space differently;
// the diff compares range by range on the common refinement and merges
// adjacent ranges whose differences are identical.
func TestExternalRefinement(t *testing.T) {
	w, v := "ns/w[Deployment]", "ns/v[Deployment]"
	whole := "0.0.0.0-255.255.255.255"
	low, high := "0.0.0.0-9.255.255.255", "10.0.0.0-255.255.255.255"
	for _, tt := range []struct {
		name     string
		old, new map[string]string
		oldExt   []string
		newExt   []string
		want     string
	}{
		{
			name:   "one range splits in two, one half changes",
			old:    map[string]string{w + " => " + whole: "TCP 443"},
			oldExt: []string{whole},
			new:    map[string]string{w + " => " + low: "TCP 443", w + " => " + high: "TCP 80,443"},
			newExt: []string{low, high},
			want:   "changed ns/w[Deployment] => 10.0.0.0-255.255.255.255 : TCP 443 -> TCP 80,443\n",
		},
		{
			name:   "a split that changes nothing is no difference",
			old:    map[string]string{w + " => " + whole: "TCP 443", whole + " => " + v: "All Connections"},
			oldExt: []string{whole},
			new:    map[string]string{w + " => " + low: "TCP 443", w + " => " + high: "TCP 443", low + " => " + v: "All Connections", high + " => " + v: "All Connections"},
			newExt: []string{low, high},
			want:   "",
		},
		{
			name:   "the same change on both halves merges into one range",
			old:    map[string]string{w + " => " + low: "TCP 80", w + " => " + high: "TCP 80", v + " => " + low: "All Connections", v + " => " + high: "UDP 53"},
			oldExt: []string{low, high},
			new:    map[string]string{v + " => " + low: "All Connections", v + " => " + high: "UDP 53"},
			newExt: []string{low, high},
			want:   "removed ns/w[Deployment] => 0.0.0.0-255.255.255.255 : TCP 80 -> No Connections\n",
		},
		{
			name:   "different changes keep the halves apart",
			old:    map[string]string{w + " => " + low: "TCP 80", w + " => " + high: "TCP 8080"},
			oldExt: []string{low, high},
			newExt: []string{whole},
			want: "removed ns/w[Deployment] => 0.0.0.0-9.255.255.255 : TCP 80 -> No Connections\n" +
				"removed ns/w[Deployment] => 10.0.0.0-255.255.255.255 : TCP 8080 -> No Connections\n",
		},
		{
			name:   "three-way refinement",
			old:    map[string]string{w + " => 0.0.0.0-127.255.255.255": "TCP 1", w + " => 128.0.0.0-255.255.255.255": "TCP 2"},
			oldExt: []string{"0.0.0.0-127.255.255.255", "128.0.0.0-255.255.255.255"},
			new:    map[string]string{w + " => " + low: "TCP 1", w + " => " + high: "TCP 2"},
			newExt: []string{low, high},
			want:   "changed ns/w[Deployment] => 10.0.0.0-127.255.255.255 : TCP 1 -> TCP 2\n",
		},
		{
			name:   "the IPv6 space appears on one side only",
			old:    map[string]string{w + " => " + whole: "All Connections"},
			oldExt: []string{whole},
			new:    map[string]string{w + " => " + whole: "All Connections", w + " => ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": "All Connections"},
			newExt: []string{whole, "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
			want: "added ns/w[Deployment] => ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff : No Connections -> All Connections\n" +
				"added peer ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			peers := func(names []string) []model.Peer {
				out := []model.Peer{model.WorkloadPeer("ns", "w", "Deployment"), model.WorkloadPeer("ns", "v", "Deployment")}
				for _, n := range names {
					out = append(out, ext(t, n))
				}
				return out
			}
			old, new := matrix(t, peers(tt.oldExt), tt.old), matrix(t, peers(tt.newExt), tt.new)
			if got := lines(check(t, old, new)); got != tt.want {
				t.Errorf("diff =\n%s\nwant\n%s", got, tt.want)
			}
			check(t, new, old)
		})
	}
}

func TestOverlappingRangesAreRejected(t *testing.T) {
	bad := matrix(t, []model.Peer{ext(t, "0.0.0.0-255.255.255.255"), ext(t, "10.0.0.0-10.255.255.255")}, nil)
	good := matrix(t, nil, nil)
	for _, pair := range [][2]model.Matrix{{bad, good}, {good, bad}} {
		_, err := diff.Matrices(pair[0], pair[1])
		if err == nil || !strings.Contains(err.Error(), "overlap") {
			t.Errorf("Matrices = %v, want an overlap error", err)
		}
	}
}

func TestEmptyMatrices(t *testing.T) {
	for _, m := range []model.Matrix{{}, model.NewMatrixBuilder().Matrix()} {
		r := check(t, m, m)
		if !r.Empty() || len(r.Peers()) != 0 {
			t.Errorf("diff of empty matrices: %s", lines(r))
		}
	}
}

// TestRandomMatrices checks the diff's properties on random grouped
// matrices: random peers, groups, cells, address splits of IPv4 and IPv6,
// and mutations of one matrix (a changed cell, a peer more or less, a range
// split in two that behaves as before).
func TestRandomMatrices(t *testing.T) {
	n := 500
	if testing.Short() {
		n = 100
	}
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 0xd1ff))
		a := randomSpec(rng)
		var b spec
		if rng.IntN(3) == 0 {
			b = randomSpec(rng)
		} else {
			b = a.mutate(rng)
		}
		ma, mb := a.matrix(t), b.matrix(t)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { properties(t, ma, mb) })
	}
}

// TestAnalyzedClusters checks the same properties on the connectivity of
// random clusters, against a mutated copy (a policy or workload dropped) or
// another random cluster with many of the same workload names.
func TestAnalyzedClusters(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	for seed := range uint64(n) {
		rng := rand.New(rand.NewPCG(seed, 0xa4a1))
		size := clustergen.RandomSize{Namespaces: 1 + rng.IntN(3), Workloads: 1 + rng.IntN(7), Policies: rng.IntN(7)}
		a := clustergen.Random(rng, size)
		var b *manifest.Objects
		if rng.IntN(3) == 0 {
			b = clustergen.Random(rng, size)
		} else {
			b = mutateObjects(rng, a)
		}
		ma, mb := connectivity(t, a), connectivity(t, b)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { properties(t, ma, mb) })
	}
}

func connectivity(t testing.TB, objs *manifest.Objects) model.Matrix {
	t.Helper()
	res, err := analyze.Connectivity(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	return res.Matrix
}

// mutateObjects drops a random policy, a random workload, or both.
func mutateObjects(rng *rand.Rand, objs *manifest.Objects) *manifest.Objects {
	out := *objs
	drop := func(n int) int { return rng.IntN(n) }
	if len(out.Policies) > 0 && rng.IntN(3) != 0 {
		i := drop(len(out.Policies))
		out.Policies = slices.Delete(slices.Clone(out.Policies), i, i+1)
	}
	if len(out.Workloads) > 0 && rng.IntN(2) == 0 {
		i := drop(len(out.Workloads))
		out.Workloads = slices.Delete(slices.Clone(out.Workloads), i, i+1)
	}
	return &out
}

// properties checks a diff and its mirror: diff(a, a) and diff(b, b) are
// empty, diff(a, b) is exact (check), and diff(b, a) is diff(a, b) with old
// and new swapped.
func properties(t *testing.T, a, b model.Matrix) {
	t.Helper()
	for _, m := range []model.Matrix{a, b} {
		if r := check(t, m, m); !r.Empty() {
			t.Fatalf("diff of a matrix with itself is not empty:\n%s", lines(r))
		}
	}
	ab, ba := check(t, a, b), check(t, b, a)
	if !slices.Equal(ab.Peers(), ba.Peers()) {
		t.Fatalf("the peers of diff(a, b) and diff(b, a) differ:\n%v\n%v", ab.Peers(), ba.Peers())
	}
	if !slices.Equal(ab.AddedPeers(), ba.RemovedPeers()) || !slices.Equal(ab.RemovedPeers(), ba.AddedPeers()) {
		t.Fatalf("added and removed peers do not mirror")
	}
	mirror := map[model.ChangeKind]model.ChangeKind{model.Added: model.Removed, model.Removed: model.Added, model.Changed: model.Changed}
	var want []model.Change
	for c := range ab.Changes() {
		c.Kind, c.Old, c.New = mirror[c.Kind], c.New, c.Old
		want = append(want, c)
	}
	got := slices.Collect(ba.Changes())
	if !slices.EqualFunc(got, want, equalChange) {
		t.Fatalf("diff(b, a) is not diff(a, b) mirrored:\n%s\nvs\n%s", lines(ba), lines(ab))
	}
	cb := ab.Counts()
	if ba.Counts() != (diff.Counts{Added: cb.Removed, Removed: cb.Added, Changed: cb.Changed}) {
		t.Fatalf("counts do not mirror: %+v vs %+v", ab.Counts(), ba.Counts())
	}
}

func equalChange(a, b model.Change) bool {
	return a.Kind == b.Kind && a.Edge() == b.Edge() && a.Old.Equal(b.Old) && a.New.Equal(b.New)
}

// check computes diff.Matrices(old, new) and checks it against a brute-force
// comparison on the finest split of the address space that any of old, new
// and the diff's own ranges requires: for every ordered pair of workloads
// and address pieces, applying the diff to what old allows yields what new
// allows, every change is witnessed by such a pair, kinds and counts are
// exact, and no two adjacent ranges of the diff could have been merged.
func check(t *testing.T, old, new model.Matrix) diff.Result {
	t.Helper()
	r, err := diff.Matrices(old, new)
	if err != nil {
		t.Fatal(err)
	}
	changes := map[model.Edge]model.Change{}
	var prev *model.Change
	var counts diff.Counts
	for c := range r.Changes() {
		if prev != nil && prev.Edge().Compare(c.Edge()) >= 0 {
			t.Fatalf("changes are not sorted and distinct: %v then %v", prev.Edge(), c.Edge())
		}
		if kind, ok := model.ChangeOf(c.Old, c.New); !ok || kind != c.Kind {
			t.Fatalf("change %v: kind %v for %v -> %v", c.Edge(), c.Kind, c.Old, c.New)
		}
		switch c.Kind {
		case model.Added:
			counts.Added++
		case model.Removed:
			counts.Removed++
		case model.Changed:
			counts.Changed++
		}
		changes[c.Edge()] = c
		prev = &c
	}
	if counts != r.Counts() {
		t.Fatalf("Counts() = %+v, the changes count %+v", r.Counts(), counts)
	}

	// The diff's peers: the named peers of both sides, and disjoint ranges.
	peers := r.Peers()
	if !slices.IsSortedFunc(peers, model.Peer.Compare) {
		t.Fatalf("Peers() is not sorted: %v", peers)
	}
	var named, diffRanges []model.Peer
	for _, p := range peers {
		if p.Kind == model.PeerExternal {
			diffRanges = append(diffRanges, p)
		} else {
			named = append(named, p)
		}
	}
	var wantNamed, wantAdded, wantRemoved []model.Peer
	for _, p := range slices.Concat(old.Peers(), new.Peers()) {
		if p.Kind != model.PeerExternal && !slices.Contains(wantNamed, p) {
			wantNamed = append(wantNamed, p)
			switch {
			case !old.Has(p):
				wantAdded = append(wantAdded, p)
			case !new.Has(p):
				wantRemoved = append(wantRemoved, p)
			}
		}
	}
	slices.SortFunc(wantNamed, model.Peer.Compare)
	if !slices.Equal(named, wantNamed) {
		t.Fatalf("named peers %v, want %v", named, wantNamed)
	}

	// The finest split, and what each piece belongs to.
	pieces := split(slices.Concat(old.Peers(), new.Peers(), diffRanges))
	nodes := append(slices.Clone(named), pieces...)
	owner := func(p model.Peer, in []model.Peer) (model.Peer, bool) {
		if p.Kind != model.PeerExternal {
			return p, slices.Contains(in, p)
		}
		for _, q := range in {
			if q.Kind == model.PeerExternal && contains(q.Range, p.Range.First) {
				if !contains(q.Range, p.Range.Last) {
					t.Fatalf("piece %v straddles %v", p, q)
				}
				return q, true
			}
		}
		return model.Peer{}, false
	}
	lookup := func(m model.Matrix, src, dst model.Peer) model.ConnectionSet {
		s, ok1 := owner(src, m.Peers())
		d, ok2 := owner(dst, m.Peers())
		if !ok1 || !ok2 || s == d {
			return model.NoConnections()
		}
		return m.Get(model.Edge{Src: s, Dst: d})
	}
	for _, p := range pieces {
		q, ok := owner(p, diffRanges)
		if !ok {
			t.Fatalf("piece %v is in no range of the diff %v", p, diffRanges)
		}
		_, inOld := owner(p, old.Peers())
		_, inNew := owner(p, new.Peers())
		if slices.Contains(r.AddedPeers(), q) != !inOld || slices.Contains(r.RemovedPeers(), q) != !inNew {
			t.Fatalf("range %v: in old %v, in new %v, but added %v, removed %v", q, inOld, inNew, r.AddedPeers(), r.RemovedPeers())
		}
		if !inOld && !slices.Contains(wantAdded, q) {
			wantAdded = append(wantAdded, q)
		}
		if !inNew && !slices.Contains(wantRemoved, q) {
			wantRemoved = append(wantRemoved, q)
		}
	}
	slices.SortFunc(wantAdded, model.Peer.Compare)
	slices.SortFunc(wantRemoved, model.Peer.Compare)
	if !slices.Equal(r.AddedPeers(), wantAdded) || !slices.Equal(r.RemovedPeers(), wantRemoved) {
		t.Fatalf("added %v removed %v, want %v and %v", r.AddedPeers(), r.RemovedPeers(), wantAdded, wantRemoved)
	}

	// Every pair: old patched by the diff is new.
	witnessed := map[model.Edge]bool{}
	for _, x := range nodes {
		for _, y := range nodes {
			if x == y {
				continue
			}
			o, n := lookup(old, x, y), lookup(new, x, y)
			X, _ := owner(x, peers)
			Y, _ := owner(y, peers)
			if X == Y {
				if !o.Equal(n) {
					t.Fatalf("%v => %v changes from %v to %v inside the diff's one range %v", x, y, o, n, X)
				}
				continue
			}
			e := model.Edge{Src: X, Dst: Y}
			c, ok := changes[e]
			patched := o
			if ok {
				if !c.Old.Equal(o) {
					t.Fatalf("%v => %v (in %v): old allows %v, the diff says %v", x, y, e, o, c.Old)
				}
				patched = c.New
				witnessed[e] = true
			}
			if !patched.Equal(n) {
				t.Fatalf("%v => %v (in %v): old %v patched by the diff is %v, new allows %v", x, y, e, o, patched, n)
			}
		}
	}
	for e := range changes {
		if !witnessed[e] {
			t.Fatalf("change %v is not witnessed by any pair", e)
		}
	}

	// Coarsest: adjacent ranges on the same sides differ somewhere.
	sig := func(src, dst model.Peer) string {
		if c, ok := changes[model.Edge{Src: src, Dst: dst}]; ok {
			return c.Kind.String() + c.Old.String() + "|" + c.New.String()
		}
		return ""
	}
	for k := 1; k < len(diffRanges); k++ {
		p, q := diffRanges[k-1], diffRanges[k]
		if p.Range.Last.Next() != q.Range.First ||
			slices.Contains(r.AddedPeers(), p) != slices.Contains(r.AddedPeers(), q) ||
			slices.Contains(r.RemovedPeers(), p) != slices.Contains(r.RemovedPeers(), q) {
			continue
		}
		differ := sig(p, q) != "" || sig(q, p) != ""
		for _, z := range peers {
			if z != p && z != q && (sig(z, p) != sig(z, q) || sig(p, z) != sig(q, z)) {
				differ = true
			}
		}
		if !differ {
			t.Fatalf("adjacent ranges %v and %v differ alike; they should be one", p, q)
		}
	}
	return r
}

func contains(r model.IPRange, a netip.Addr) bool {
	return !a.Less(r.First) && !r.Last.Less(a)
}

// split cuts the ranges of the external peers among ps into the finest
// pieces every range contains wholly or not at all; it is written apart
// from the refinement the package uses.
func split(ps []model.Peer) []model.Peer {
	var cuts []netip.Addr
	var rs []model.IPRange
	for _, p := range ps {
		if p.Kind != model.PeerExternal {
			continue
		}
		rs = append(rs, p.Range)
		cuts = append(cuts, p.Range.First)
		if next := p.Range.Last.Next(); next.IsValid() {
			cuts = append(cuts, next)
		}
	}
	slices.SortFunc(cuts, netip.Addr.Compare)
	cuts = slices.Compact(cuts)
	var out []model.Peer
	for k, c := range cuts {
		covered := false
		for _, r := range rs {
			covered = covered || contains(r, c)
		}
		if !covered {
			continue
		}
		last := netip.AddrFrom4([4]byte{255, 255, 255, 255})
		if c.Is6() {
			last = netip.AddrFrom16([16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		}
		if k+1 < len(cuts) && cuts[k+1].BitLen() == c.BitLen() {
			last = cuts[k+1].Prev()
		}
		out = append(out, model.ExternalPeer(model.IPRange{First: c, Last: last}))
	}
	return out
}

// spec is a grouped matrix under construction.
type spec struct {
	peers   []model.Peer
	groupOf []int
	ngroups int
	cells   []uint32
}

var (
	specSets = func() []model.ConnectionSet {
		var out []model.ConnectionSet
		for _, s := range []string{"No Connections", "All Connections", "TCP 80", "TCP 80,443", "UDP 53", "No Connections", "TCP 80"} {
			c, _ := model.ParseConnectionSet(s)
			out = append(out, c)
		}
		return out
	}()
	v4Cuts = []string{"10.0.0.0", "10.1.0.0", "11.0.0.0", "192.168.0.0", "192.168.1.0", "200.0.0.0"}
	v6Cuts = []string{"2001:db8::", "fd00::", "fd00:0:0:1::"}
)

// randomSplit cuts a family's space at a random subset of the cut points,
// and sometimes leaves a piece out.
func randomSplit(rng *rand.Rand, first, last netip.Addr, cutPool []string) []model.Peer {
	var cuts []netip.Addr
	for _, c := range cutPool {
		if rng.IntN(2) == 0 {
			cuts = append(cuts, netip.MustParseAddr(c))
		}
	}
	var out []model.Peer
	lo := first
	for _, c := range append(cuts, last.Next()) {
		hi := last
		if c.IsValid() {
			hi = c.Prev()
		}
		if rng.IntN(10) != 0 {
			out = append(out, model.ExternalPeer(model.IPRange{First: lo, Last: hi}))
		}
		lo = c
	}
	return out
}

func randomSpec(rng *rand.Rand) spec {
	var s spec
	for _, ns := range []string{"a", "b"} {
		for _, name := range []string{"x", "y", "z"} {
			if rng.IntN(3) != 0 {
				s.peers = append(s.peers, model.WorkloadPeer(ns, name, "Deployment"))
			}
		}
	}
	if rng.IntN(2) == 0 {
		s.peers = append(s.peers, model.IngressController())
	}
	if rng.IntN(8) != 0 {
		s.peers = append(s.peers, randomSplit(rng, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"), v4Cuts)...)
	}
	if rng.IntN(3) == 0 {
		s.peers = append(s.peers, randomSplit(rng, netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), v6Cuts)...)
	}
	s.ngroups = 1 + rng.IntN(5)
	for range s.peers {
		s.groupOf = append(s.groupOf, rng.IntN(s.ngroups))
	}
	s.cells = make([]uint32, s.ngroups*s.ngroups)
	for i := range s.cells {
		s.cells[i] = uint32(rng.IntN(len(specSets)))
	}
	return s
}

// mutate changes a cell or two, drops or adds a workload, or splits a range
// into two pieces of the same group, which changes nothing.
func (s spec) mutate(rng *rand.Rand) spec {
	out := spec{peers: slices.Clone(s.peers), groupOf: slices.Clone(s.groupOf), ngroups: s.ngroups, cells: slices.Clone(s.cells)}
	for range rng.IntN(3) {
		out.cells[rng.IntN(len(out.cells))] = uint32(rng.IntN(len(specSets)))
	}
	if rng.IntN(3) == 0 && len(out.peers) > 0 {
		i := rng.IntN(len(out.peers))
		out.peers, out.groupOf = slices.Delete(out.peers, i, i+1), slices.Delete(out.groupOf, i, i+1)
	}
	if rng.IntN(3) == 0 {
		p := model.WorkloadPeer("c", fmt.Sprint("new", rng.IntN(3)), "Pod")
		if !slices.Contains(out.peers, p) {
			out.peers, out.groupOf = append(out.peers, p), append(out.groupOf, rng.IntN(out.ngroups))
		}
	}
	for i, p := range out.peers {
		if p.Kind != model.PeerExternal || p.Range.First == p.Range.Last || rng.IntN(3) != 0 {
			continue
		}
		mid := p.Range.First.Next().Next()
		if !contains(p.Range, mid) {
			continue
		}
		out.peers[i].Range.Last = mid.Prev()
		out.peers = append(out.peers, model.ExternalPeer(model.IPRange{First: mid, Last: p.Range.Last}))
		out.groupOf = append(out.groupOf, out.groupOf[i])
		break
	}
	return out
}

func (s spec) matrix(t testing.TB) model.Matrix {
	t.Helper()
	m, err := model.GroupedMatrix(slices.Clone(s.peers), slices.Clone(s.groupOf), specSets, slices.Clone(s.cells))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestManyClasses: with hundreds of classes the changed cells are computed
// in parallel; every pair of workloads still differs exactly as reported.
func TestManyClasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var peers []model.Peer
	for i := range 700 {
		peers = append(peers, model.WorkloadPeer(fmt.Sprint("ns", i%7), fmt.Sprint("w", i), "Deployment"))
	}
	build := func(flip int) model.Matrix {
		b := model.NewMatrixBuilder()
		r := rand.New(rand.NewPCG(5, 6))
		for _, p := range peers {
			b.AddPeer(p)
			for range 3 {
				b.Add(model.Edge{Src: p, Dst: peers[r.IntN(len(peers))]}, specSets[1+r.IntN(len(specSets)-1)])
			}
		}
		for range flip {
			b.Add(model.Edge{Src: peers[rng.IntN(len(peers))], Dst: peers[rng.IntN(len(peers))]}, specSets[1+rng.IntN(len(specSets)-1)])
		}
		return b.Matrix()
	}
	old, new := build(0), build(200)
	r, err := diff.Matrices(old, new)
	if err != nil {
		t.Fatal(err)
	}
	got := map[model.Edge]model.Change{}
	for c := range r.Changes() {
		got[c.Edge()] = c
	}
	want := 0
	for _, src := range peers {
		for _, dst := range peers {
			o, n := old.Get(model.Edge{Src: src, Dst: dst}), new.Get(model.Edge{Src: src, Dst: dst})
			c, ok := got[model.Edge{Src: src, Dst: dst}]
			if o.Equal(n) == ok || ok && (!c.Old.Equal(o) || !c.New.Equal(n)) {
				t.Fatalf("%v => %v: old %v, new %v, diff %+v (reported %v)", src, dst, o, n, c, ok)
			}
			if ok {
				want++
			}
		}
	}
	if want == 0 || want != len(got) || r.Counts().Total() != want {
		t.Errorf("%d changes reported, %d counted, %d differ", len(got), r.Counts().Total(), want)
	}
}
