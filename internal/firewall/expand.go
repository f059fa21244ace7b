package firewall

import "github.com/tightnet/tightnet/internal/model"

// Expand turns rules back into the matrix they describe over peers: every
// rule adds its connections to every edge from a peer its source selects to
// a peer its destination selects. Edges from a peer to itself are left out,
// as a matrix leaves them out. Expand(Rules(m, inv), inv, m.Peers()) equals
// m.
func Expand(rules []Rule, inv Inventory, peers []model.Peer) model.Matrix {
	b := model.NewMatrixBuilder()
	for _, p := range peers {
		b.AddPeer(p)
	}
	for _, r := range rules {
		var srcs, dsts []model.Peer
		for _, p := range peers {
			if r.Src.Matches(p, inv) {
				srcs = append(srcs, p)
			}
			if r.Dst.Matches(p, inv) {
				dsts = append(dsts, p)
			}
		}
		for _, s := range srcs {
			for _, d := range dsts {
				b.Add(model.Edge{Src: s, Dst: d}, r.Conns)
			}
		}
	}
	return b.Matrix()
}
