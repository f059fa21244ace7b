// Package diff computes the semantic diff of two configurations' connectivity:
// which edges gain connections, lose them or change, and which peers only
// one side has.
//
// Input: two model.Matrix values, old and new. Output: a Result — the peers
// present on one side only and every edge whose connections differ, with its
// old and new connection sets, classified added, removed or changed — which
// becomes the model.ConnectivityDiff artifact. It depends on model only, and
// must not depend on how the matrices were produced (manifests or artifacts)
// nor format anything for people (that is report's job).
//
// Workloads and the ingress controller are matched by identity. External
// address ranges are not: each side splits the address space as its own
// policies' ipBlocks require, so both splits are refined to a common one and
// compared range by range; adjacent ranges whose differences are identical
// are then merged again, so the diff names the coarsest ranges it can.
//
// The work is done on peer groups, as matrices store them: peers that belong
// to the same group in the old matrix and the same group in the new one
// differ alike, so two 5,000-workload configurations cost one pass over pairs
// of such joint classes, not 25 million edge lookups.
package diff

import (
	"fmt"
	"iter"
	"math/bits"
	"net/netip"
	"runtime"
	"slices"
	"sync"

	"github.com/tightnet/tightnet/internal/model"
)

// Counts sums a diff's changed edges by kind.
type Counts struct{ Added, Removed, Changed int }

// Total is the number of changed edges.
func (c Counts) Total() int { return c.Added + c.Removed + c.Changed }

// Result is the difference between two matrices. It is immutable.
type Result struct {
	old, new side
	sets     []model.ConnectionSet // joint numbering; sets[0] is No Connections

	peers   []model.Peer // the common peer space, sorted
	class   []int32      // peer → joint class
	og, ng  []int32      // joint class → group in old, new; -1 when absent
	or, nr  []int32      // joint class → external peer of old, new it lies in; -1 for other peers
	members [][]int32    // joint class → its peers, ascending
	stride  int          // words per row of changed
	changed []uint64     // bit (a, b): the cell from class a to class b differs

	added, removed []model.Peer
	counts         Counts
}

// side is one matrix with its set numbers mapped into the joint numbering.
type side struct {
	m     model.Matrix
	setOf []uint32
}

// cell is the joint set number from old or new group g to group h; a peer
// absent from the side (group -1) has No Connections.
func (s *side) cell(g, h int32) uint32 {
	if g < 0 || h < 0 {
		return 0
	}
	return s.setOf[s.m.GroupCell(int(g), int(h))]
}

// Matrices compares old with new. It fails only when a matrix lists
// overlapping external ranges, as the engine never does but a hand-written
// ConnectivityMap might.
func Matrices(old, new model.Matrix) (Result, error) {
	r := Result{}
	in := model.NewInterner()
	r.old = side{m: old, setOf: ids(in, old.Sets())}
	r.new = side{m: new, setOf: ids(in, new.Sets())}
	r.sets = in.Sets()

	oldPeers, newPeers := old.Peers(), new.Peers()
	oldExt, err := externals(oldPeers, old, "old")
	if err != nil {
		return Result{}, err
	}
	newExt, err := externals(newPeers, new, "new")
	if err != nil {
		return Result{}, err
	}

	// The common peer space before merging: named peers of either side,
	// then the pieces of the common refinement of both sides' ranges.
	type peer struct {
		p      model.Peer
		og, ng int32 // groups
		or, nr int32 // external peers holding a piece
	}
	var all []peer
	i, j := 0, 0
	ni, nj := len(oldPeers)-len(oldExt.r), len(newPeers)-len(newExt.r)
	for i < ni || j < nj {
		switch c := compareAt(oldPeers, i, ni, newPeers, j, nj); {
		case c < 0:
			all = append(all, peer{oldPeers[i], int32(old.PeerGroup(i)), -1, -1, -1})
			i++
		case c > 0:
			all = append(all, peer{newPeers[j], -1, int32(new.PeerGroup(j)), -1, -1})
			j++
		default:
			all = append(all, peer{oldPeers[i], int32(old.PeerGroup(i)), int32(new.PeerGroup(j)), -1, -1})
			i, j = i+1, j+1
		}
	}
	named := len(all)
	for _, piece := range refine(oldExt, newExt) {
		p := peer{p: model.ExternalPeer(piece), og: -1, ng: -1}
		if p.or = oldExt.index(piece); p.or >= 0 {
			p.og = oldExt.group[p.or]
		}
		if p.nr = newExt.index(piece); p.nr >= 0 {
			p.ng = newExt.group[p.nr]
		}
		all = append(all, p)
	}

	// Joint classes: peers in one old group and one new group. A piece of
	// the refinement is a class of its own, as it lies in one old and one
	// new external peer: two pieces of one range have no connections
	// between them on that side, whatever the range's group allows.
	classOf := map[[4]int32]int32{}
	class := make([]int32, len(all))
	for k, p := range all {
		key := [4]int32{p.og, p.ng, p.or, p.nr}
		c, ok := classOf[key]
		if !ok {
			c = int32(len(r.og))
			classOf[key] = c
			r.og, r.ng = append(r.og, p.og), append(r.ng, p.ng)
			r.or, r.nr = append(r.or, p.or), append(r.nr, p.nr)
		}
		class[k] = c
	}
	r.markChanged()

	// Merge adjacent pieces whose differences are identical.
	keep := make([]peer, 0, len(all))
	keepClass := make([]int32, 0, len(all))
	keep, keepClass = append(keep, all[:named]...), append(keepClass, class[:named]...)
	for k := named; k < len(all); k++ {
		if last := len(keep) - 1; last >= named {
			head := keep[last]
			if head.p.Range.Adjacent(all[k].p.Range) && (head.og < 0) == (all[k].og < 0) && (head.ng < 0) == (all[k].ng < 0) &&
				r.sameDiff(keepClass[last], class[k]) {
				keep[last].p.Range.Last = all[k].p.Range.Last
				continue
			}
		}
		keep, keepClass = append(keep, all[k]), append(keepClass, class[k])
	}

	r.peers = make([]model.Peer, len(keep))
	r.class = keepClass
	r.members = make([][]int32, len(r.og))
	for k, p := range keep {
		r.peers[k] = p.p
		r.members[keepClass[k]] = append(r.members[keepClass[k]], int32(k))
		switch {
		case p.og < 0:
			r.added = append(r.added, p.p)
		case p.ng < 0:
			r.removed = append(r.removed, p.p)
		}
	}
	r.count()
	return r, nil
}

// compareAt orders the next named peers of two sorted lists; an exhausted
// list sorts last.
func compareAt(a []model.Peer, i, ni int, b []model.Peer, j, nj int) int {
	switch {
	case i == ni:
		return 1
	case j == nj:
		return -1
	}
	return a[i].Compare(b[j])
}

// markChanged fills the changed bits for every pair of joint classes. Rows
// are independent, so they are shared out among the processors.
func (r *Result) markChanged() {
	n := len(r.og)
	r.stride = (n + 63) / 64
	r.changed = make([]uint64, n*r.stride)
	rows := func(from, to int) {
		for a := from; a < to; a++ {
			oa, na := r.og[a], r.ng[a]
			row := r.changed[a*r.stride:]
			for b := range n {
				if r.old.cell(oa, r.og[b]) != r.new.cell(na, r.ng[b]) {
					row[b/64] |= 1 << (b % 64)
				}
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), n/256+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { rows(w*n/workers, (w+1)*n/workers) })
	}
	wg.Wait()
	// Pairs of pieces of one external peer: fix up the few cells the
	// group-wide loop above got wrong.
	for a := range int32(n) {
		if r.or[a] < 0 && r.nr[a] < 0 {
			continue
		}
		row := r.changed[int(a)*r.stride:]
		for b := range int32(n) {
			if r.or[b] < 0 && r.nr[b] < 0 {
				continue
			}
			o, nw := r.cells(a, b)
			row[b/64] &^= 1 << (b % 64)
			if o != nw {
				row[b/64] |= 1 << (b % 64)
			}
		}
	}
}

func (r *Result) isChanged(a, b int32) bool {
	return r.changed[int(a)*r.stride+int(b)/64]&(1<<(b%64)) != 0
}

// cells returns the old and new joint set numbers from class a to class b.
func (r *Result) cells(a, b int32) (o, n uint32) {
	o, n = r.old.cell(r.og[a], r.og[b]), r.new.cell(r.ng[a], r.ng[b])
	if r.or[a] >= 0 && r.or[a] == r.or[b] {
		o = 0 // within one old external peer
	}
	if r.nr[a] >= 0 && r.nr[a] == r.nr[b] {
		n = 0
	}
	return o, n
}

// sameDiff reports whether a peer of class a and an adjacent peer of class b
// can become one peer: every other peer's edges to and from them change
// alike, and nothing changes between the two.
func (r *Result) sameDiff(a, b int32) bool {
	if r.isChanged(a, b) || r.isChanged(b, a) {
		return false
	}
	same := func(x1, y1, x2, y2 int32) bool {
		c1, c2 := r.isChanged(x1, y1), r.isChanged(x2, y2)
		if c1 != c2 {
			return false
		}
		if !c1 {
			return true
		}
		o1, n1 := r.cells(x1, y1)
		o2, n2 := r.cells(x2, y2)
		return o1 == o2 && n1 == n2
	}
	for c := range int32(len(r.og)) {
		if !same(a, c, b, c) || !same(c, a, c, b) {
			return false
		}
	}
	return true
}

// count sums the changed edges by kind, pairs of classes times their members.
func (r *Result) count() {
	for a := range int32(len(r.og)) {
		na := len(r.members[a])
		if na == 0 {
			continue
		}
		for b := range r.changedIn(a) {
			pairs := na * len(r.members[b])
			if a == b {
				pairs = na * (na - 1)
			}
			if pairs == 0 {
				continue
			}
			o, n := r.cells(a, b)
			switch {
			case o == 0:
				r.counts.Added += pairs
			case n == 0:
				r.counts.Removed += pairs
			default:
				r.counts.Changed += pairs
			}
		}
	}
}

// changedIn yields the classes b whose cell from class a changed.
func (r *Result) changedIn(a int32) iter.Seq[int32] {
	return func(yield func(int32) bool) {
		row := r.changed[int(a)*r.stride : int(a+1)*r.stride]
		for w, word := range row {
			for ; word != 0; word &= word - 1 {
				if !yield(int32(w*64 + bits.TrailingZeros64(word))) {
					return
				}
			}
		}
	}
}

// Changes yields every changed edge, sorted by source then destination.
func (r Result) Changes() iter.Seq[model.Change] {
	return func(yield func(model.Change) bool) {
		var dsts []int32
		for u, src := range r.peers {
			a := r.class[u]
			dsts = dsts[:0]
			for b := range r.changedIn(a) {
				for _, v := range r.members[b] {
					if v != int32(u) {
						dsts = append(dsts, v)
					}
				}
			}
			slices.Sort(dsts)
			for _, v := range dsts {
				o, n := r.cells(a, r.class[v])
				c := model.Change{Src: src, Dst: r.peers[v], Old: r.sets[o], New: r.sets[n]}
				c.Kind, _ = model.ChangeOf(c.Old, c.New)
				if !yield(c) {
					return
				}
			}
		}
	}
}

// Counts sums the changed edges by kind.
func (r Result) Counts() Counts { return r.counts }

// Peers lists the peers the diff speaks of, sorted: every workload and the
// ingress controller of either matrix, and the external ranges of the common
// refinement, merged where their differences are identical, which together
// cover the addresses either matrix covers.
func (r Result) Peers() []model.Peer { return slices.Clone(r.peers) }

// AddedPeers lists the peers only the new matrix has, sorted: workloads, the
// ingress controller, and address ranges the old matrix does not cover.
func (r Result) AddedPeers() []model.Peer { return slices.Clone(r.added) }

// RemovedPeers lists the peers only the old matrix has, sorted.
func (r Result) RemovedPeers() []model.Peer { return slices.Clone(r.removed) }

// Empty reports whether the matrices allow the same connections between the
// same peers.
func (r Result) Empty() bool {
	return r.counts.Total() == 0 && len(r.added) == 0 && len(r.removed) == 0
}

// Artifact is the diff as a ConnectivityDiff artifact.
func (r Result) Artifact() model.ConnectivityDiff {
	return model.NewConnectivityDiff(r.added, r.removed, slices.Collect(r.Changes()))
}

// ranges are one side's external peers: sorted, disjoint address ranges
// with their groups.
type ranges struct {
	r     []model.IPRange
	group []int32
}

// externals collects the external peers of a matrix, which sort after every
// other peer, and checks that they do not overlap.
func externals(peers []model.Peer, m model.Matrix, name string) (ranges, error) {
	var out ranges
	for i, p := range peers {
		if p.Kind != model.PeerExternal {
			continue
		}
		if n := len(out.r); n > 0 && !out.r[n-1].Last.Less(p.Range.First) {
			return ranges{}, fmt.Errorf("diff: the %s matrix's external peers %s and %s overlap; a connectivity map lists disjoint address ranges",
				name, out.r[n-1], p.Range)
		}
		out.r = append(out.r, p.Range)
		out.group = append(out.group, int32(m.PeerGroup(i)))
	}
	return out, nil
}

// index is the range holding piece, or -1 when none does. A piece of the
// common refinement lies wholly inside one range or outside all.
func (rs ranges) index(piece model.IPRange) int32 {
	k, found := slices.BinarySearchFunc(rs.r, piece.First, func(r model.IPRange, a netip.Addr) int {
		return r.First.Compare(a)
	})
	if !found {
		k--
	}
	if k < 0 || rs.r[k].Last.Less(piece.First) {
		return -1
	}
	return int32(k)
}

// refine splits the addresses either side covers into the coarsest ranges
// that lie wholly inside or wholly outside every range of both sides.
func refine(a, b ranges) []model.IPRange {
	if len(a.r) == 0 && len(b.r) == 0 {
		return nil
	}
	var universe model.IPSet
	sets := make([]model.IPSet, 0, len(a.r)+len(b.r))
	for _, r := range slices.Concat(a.r, b.r) {
		s := model.RangeSet(r)
		universe = universe.Union(s)
		sets = append(sets, s)
	}
	out := model.Boundaries(universe, sets)
	slices.SortFunc(out, model.IPRange.Compare)
	return out
}

// ids numbers each of a matrix's sets.
func ids(in *model.Interner, sets []model.ConnectionSet) []uint32 {
	out := make([]uint32, len(sets))
	for i, c := range sets {
		out[i] = in.ID(c)
	}
	return out
}
