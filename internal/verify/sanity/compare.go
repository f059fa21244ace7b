package sanity

import (
	"net/netip"
	"slices"

	"github.com/tightnet/tightnet/internal/model"
)

// sameConnectivity reports whether two matrices allow the same connections
// between the same peers. Workloads and the ingress controller are matched
// by identity; external ranges, which each matrix splits its own way, are
// compared on the common refinement of both splits, and must cover the
// same addresses. The work is per pair of joint classes — peers in the same
// group of both matrices — not per pair of peers.
func sameConnectivity(a, b model.Matrix) bool {
	pa, pb := a.Peers(), b.Peers()
	ia, ib := index(pa), index(pb)
	var ra, rb []model.IPRange
	var sets []model.IPSet
	var ua, ub model.IPSet
	for _, p := range pa {
		if p.Kind == model.PeerExternal {
			ra = append(ra, p.Range)
			sets = append(sets, model.RangeSet(p.Range))
			ua = ua.Union(model.RangeSet(p.Range))
		} else if _, ok := ib[p]; !ok {
			return false
		}
	}
	for _, p := range pb {
		if p.Kind == model.PeerExternal {
			rb = append(rb, p.Range)
			sets = append(sets, model.RangeSet(p.Range))
			ub = ub.Union(model.RangeSet(p.Range))
		} else if _, ok := ia[p]; !ok {
			return false
		}
	}
	if !ua.Equal(ub) {
		return false
	}
	// Each peer of the comparison as a pair of peer indexes, one per matrix.
	var pairs [][2]int
	for i, p := range pa {
		if p.Kind != model.PeerExternal {
			pairs = append(pairs, [2]int{i, ib[p]})
		}
	}
	for _, piece := range model.Boundaries(ua, sets) {
		pairs = append(pairs, [2]int{ia[model.ExternalPeer(containing(ra, piece))], ib[model.ExternalPeer(containing(rb, piece))]})
	}
	// Joint classes: peers in the same group of a and the same group of b.
	type joint struct{ ga, gb int }
	count := map[joint]int{}
	var classes []joint
	for _, pr := range pairs {
		j := joint{a.PeerGroup(pr[0]), b.PeerGroup(pr[1])}
		if count[j] == 0 {
			classes = append(classes, j)
		}
		count[j]++
	}
	setsA, setsB := a.Sets(), b.Sets()
	equal := map[[2]int]bool{}
	for _, x := range classes {
		for _, y := range classes {
			if x == y && count[x] < 2 {
				continue // a lone peer to itself: no connection is listed
			}
			ids := [2]int{a.GroupCell(x.ga, y.ga), b.GroupCell(x.gb, y.gb)}
			same, ok := equal[ids]
			if !ok {
				same = setsA[ids[0]].Equal(setsB[ids[1]])
				equal[ids] = same
			}
			if !same {
				return false
			}
		}
	}
	return true
}

func index(peers []model.Peer) map[model.Peer]int {
	out := make(map[model.Peer]int, len(peers))
	for i, p := range peers {
		out[p] = i
	}
	return out
}

// containing finds the range of sorted, disjoint ranges that holds piece,
// which lies wholly inside one of them.
func containing(ranges []model.IPRange, piece model.IPRange) model.IPRange {
	i, _ := slices.BinarySearchFunc(ranges, piece.First, func(r model.IPRange, a netip.Addr) int {
		if r.Last.Less(a) {
			return -1
		}
		if a.Less(r.First) {
			return 1
		}
		return 0
	})
	return ranges[i]
}
