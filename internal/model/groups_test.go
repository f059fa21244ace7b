package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGroupAccessors: the grouped form read through the accessors gives
// back every edge Get answers, for grouped and edge-by-edge matrices.
func TestGroupAccessors(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	sets := []ConnectionSet{NoConnections(), AllConnections(), mustConns(t, "TCP 80"), mustConns(t, "UDP 53")}
	for n := range 100 {
		npeers, ngroups := r.IntN(7), 1+r.IntN(3)
		peers := make([]Peer, npeers)
		groupOf := make([]int, npeers)
		for i := range peers {
			peers[i] = WorkloadPeer("ns", fmt.Sprintf("w%d", r.IntN(100)*10+i), "Pod")
			groupOf[i] = r.IntN(ngroups)
		}
		cells := make([]uint32, ngroups*ngroups)
		for i := range cells {
			cells[i] = uint32(r.IntN(len(sets)))
		}
		grouped, err := GroupedMatrix(peers, groupOf, sets, cells)
		if err != nil {
			t.Fatal(err)
		}
		b := NewMatrixBuilder()
		for e, c := range grouped.All() {
			b.Add(e, c)
		}
		for _, p := range peers {
			b.AddPeer(p)
		}
		for _, m := range []Matrix{grouped, b.Matrix()} {
			ps, got := m.Peers(), m.Sets()
			if !got[0].IsEmpty() {
				t.Fatalf("case %d: Sets()[0] = %v, want No Connections", n, got[0])
			}
			for i, src := range ps {
				for j, dst := range ps {
					if i == j {
						continue
					}
					c := got[m.GroupCell(m.PeerGroup(i), m.PeerGroup(j))]
					if want := m.Get(Edge{src, dst}); !c.Equal(want) {
						t.Fatalf("case %d: group cell of %v => %v = %v, Get says %v", n, src, dst, c, want)
					}
				}
				if g := m.PeerGroup(i); g < 0 || g >= m.NumGroups() {
					t.Fatalf("case %d: PeerGroup(%d) = %d outside [0,%d)", n, i, g, m.NumGroups())
				}
			}
			got[0] = AllConnections()
			if !m.Sets()[0].IsEmpty() {
				t.Fatal("Sets() shares its slice with the matrix")
			}
		}
	}
	if m := (Matrix{}); m.NumGroups() != 0 || len(m.Sets()) != 0 || len(m.Peers()) != 0 {
		t.Errorf("zero matrix has groups or sets")
	}
}
