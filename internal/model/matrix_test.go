package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGroupedMatrix compares a grouped matrix with a per-edge reference
// computed straight from the groups and cells, and with the same matrix
// built edge by edge.
func TestGroupedMatrix(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := range 300 {
		npeers, ngroups := r.IntN(8), 1+r.IntN(4)
		peers := make([]Peer, npeers)
		for i := range peers {
			peers[i] = WorkloadPeer("ns", fmt.Sprintf("w%d", i), "Deployment")
		}
		r.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
		groupOf := make([]int, npeers)
		for i := range groupOf {
			groupOf[i] = r.IntN(ngroups)
		}
		sets := []ConnectionSet{NoConnections(), AllConnections(), mustConns(t, "TCP 80"), mustConns(t, "UDP 53,TCP 1-1024"), NoConnections()}
		cells := make([]uint32, ngroups*ngroups)
		for i := range cells {
			cells[i] = uint32(r.IntN(len(sets)))
		}
		m, err := GroupedMatrix(slices.Clone(peers), slices.Clone(groupOf), sets, cells)
		if err != nil {
			t.Fatal(err)
		}

		b := NewMatrixBuilder()
		var want []Edge
		for i, src := range peers {
			b.AddPeer(src)
			for j, dst := range peers {
				c := sets[cells[groupOf[i]*ngroups+groupOf[j]]]
				if i == j {
					c = NoConnections() // a peer's edge to itself is never listed
				}
				if got := m.Get(Edge{src, dst}); !got.Equal(c) {
					t.Fatalf("case %d: Get(%v => %v) = %v, want %v", n, src, dst, got, c)
				}
				if !c.IsEmpty() {
					want = append(want, Edge{src, dst})
				}
				b.Add(Edge{src, dst}, c)
			}
		}
		slices.SortFunc(want, Edge.Compare)
		if got := m.Edges(); !slices.Equal(got, want) {
			t.Fatalf("case %d: Edges() = %v\nwant %v", n, got, want)
		}
		if m.Len() != len(want) {
			t.Fatalf("case %d: Len() = %d, want %d", n, m.Len(), len(want))
		}
		if !equalMatrices(m, b.Matrix()) {
			t.Fatalf("case %d: grouped and edge-by-edge matrices differ", n)
		}
		if !slices.IsSortedFunc(m.Peers(), Peer.Compare) || len(m.Peers()) != npeers {
			t.Fatalf("case %d: Peers() = %v", n, m.Peers())
		}
		for _, p := range peers {
			if !m.Has(p) {
				t.Fatalf("case %d: Has(%v) is false", n, p)
			}
		}
		stranger := WorkloadPeer("other", "x", "Pod")
		if m.Has(stranger) || (npeers > 0 && !m.Get(Edge{stranger, peers[0]}).IsEmpty()) {
			t.Fatalf("case %d: a peer outside the matrix has connections", n)
		}
	}
}

func TestGroupedMatrixRejects(t *testing.T) {
	p, q := WorkloadPeer("a", "p", "Pod"), WorkloadPeer("a", "q", "Pod")
	tcp := mustConns(t, "TCP 80")
	tests := []struct {
		name    string
		peers   []Peer
		groupOf []int
		sets    []ConnectionSet
		cells   []uint32
	}{
		{"group count mismatch", []Peer{p, q}, []int{0}, []ConnectionSet{{}}, []uint32{0}},
		{"cells not square", []Peer{p}, []int{0}, []ConnectionSet{{}}, []uint32{0, 0}},
		{"no sets", []Peer{p}, []int{0}, nil, []uint32{0}},
		{"set 0 not empty", []Peer{p}, []int{0}, []ConnectionSet{tcp}, []uint32{0}},
		{"cell past the sets", []Peer{p}, []int{0}, []ConnectionSet{{}, tcp}, []uint32{2}},
		{"group out of range", []Peer{p}, []int{1}, []ConnectionSet{{}}, []uint32{0}},
		{"negative group", []Peer{p}, []int{-1}, []ConnectionSet{{}}, []uint32{0}},
		{"duplicate peer", []Peer{p, p}, []int{0, 0}, []ConnectionSet{{}}, []uint32{0}},
	}
	for _, tt := range tests {
		if _, err := GroupedMatrix(tt.peers, tt.groupOf, tt.sets, tt.cells); err == nil {
			t.Errorf("%s: GroupedMatrix succeeded", tt.name)
		}
	}
	if m, err := GroupedMatrix(nil, nil, []ConnectionSet{{}}, nil); err != nil || m.Len() != 0 || len(m.Peers()) != 0 {
		t.Errorf("empty grouped matrix = %v, %v", m.Peers(), err)
	}
}

func TestMatrixBuilderIgnoresSelfEdges(t *testing.T) {
	p := WorkloadPeer("a", "p", "Pod")
	b := NewMatrixBuilder()
	b.Add(Edge{p, p}, AllConnections())
	m := b.Matrix()
	if m.Len() != 0 || !m.Get(Edge{p, p}).IsEmpty() || !m.Has(p) {
		t.Errorf("self edge: Len %d, Get %v, Has %v", m.Len(), m.Get(Edge{p, p}), m.Has(p))
	}
}
