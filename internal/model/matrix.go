package model

import (
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
)

// Matrix maps edges between its peers to the connections allowed along them.
// Edges not listed carry No Connections; an edge from a peer to itself is
// never listed. A Matrix is immutable once built.
//
// Peers that behave alike share a group, and the matrix stores one cell per
// pair of groups, so a cluster of thousands of workloads that fall into a few
// hundred classes costs a few hundred squared cells, not millions of edges.
type Matrix struct {
	peers   []Peer // sorted
	index   map[Peer]int
	group   []int32 // peer index → group
	ngroups int
	sets    []ConnectionSet // distinct sets; sets[0] is No Connections
	cells   []uint32        // ngroups×ngroups indexes into sets
}

// GroupedMatrix builds a matrix from groups of peers: groupOf[i] is the group
// of peers[i], and sets[cells[g*ngroups+h]] the connections from any peer of
// group g to any peer of group h, where ngroups² = len(cells). sets[0] must be
// No Connections. Peers need not be sorted; they must be distinct.
func GroupedMatrix(peers []Peer, groupOf []int, sets []ConnectionSet, cells []uint32) (Matrix, error) {
	ngroups := int(math.Sqrt(float64(len(cells))))
	switch {
	case len(peers) != len(groupOf):
		return Matrix{}, fmt.Errorf("grouped matrix: %d peers but %d group indexes", len(peers), len(groupOf))
	case ngroups*ngroups != len(cells):
		return Matrix{}, fmt.Errorf("grouped matrix: %d cells is not a square", len(cells))
	case len(sets) == 0 || !sets[0].IsEmpty():
		return Matrix{}, fmt.Errorf("grouped matrix: set 0 must be No Connections")
	}
	for _, id := range cells {
		if int(id) >= len(sets) {
			return Matrix{}, fmt.Errorf("grouped matrix: cell refers to set %d of %d", id, len(sets))
		}
	}
	seen := make(map[Peer]bool, len(peers))
	for i, p := range peers {
		if g := groupOf[i]; g < 0 || g >= ngroups {
			return Matrix{}, fmt.Errorf("grouped matrix: peer %s has group %d outside [0,%d)", p, g, ngroups)
		}
		if seen[p] {
			return Matrix{}, fmt.Errorf("grouped matrix: peer %s listed twice", p)
		}
		seen[p] = true
	}
	return assemble(peers, groupOf, ngroups, sets, cells), nil
}

// assemble sorts the peers; they must be distinct with groups in range.
func assemble(peers []Peer, groupOf []int, ngroups int, sets []ConnectionSet, cells []uint32) Matrix {
	order := make([]int, len(peers))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return peers[a].Compare(peers[b]) })
	m := Matrix{
		peers:   make([]Peer, len(peers)),
		index:   make(map[Peer]int, len(peers)),
		group:   make([]int32, len(peers)),
		ngroups: ngroups,
		sets:    sets,
		cells:   cells,
	}
	for i, o := range order {
		m.peers[i], m.group[i] = peers[o], int32(groupOf[o])
		m.index[peers[o]] = i
	}
	return m
}

// Peers lists every peer, sorted.
func (m Matrix) Peers() []Peer { return slices.Clone(m.peers) }

// Has reports whether p is a peer of the matrix.
func (m Matrix) Has(p Peer) bool {
	_, ok := m.index[p]
	return ok
}

// Get returns the connections along e.
func (m Matrix) Get(e Edge) ConnectionSet {
	i, ok := m.index[e.Src]
	j, ok2 := m.index[e.Dst]
	if !ok || !ok2 || i == j {
		return NoConnections()
	}
	return m.sets[m.cells[int(m.group[i])*m.ngroups+int(m.group[j])]]
}

// All yields every edge with connections, sorted by source then destination.
func (m Matrix) All() iter.Seq2[Edge, ConnectionSet] {
	return func(yield func(Edge, ConnectionSet) bool) {
		for i, src := range m.peers {
			row := int(m.group[i]) * m.ngroups
			for j, dst := range m.peers {
				id := m.cells[row+int(m.group[j])]
				if i == j || id == 0 || m.sets[id].IsEmpty() {
					continue
				}
				if !yield(Edge{src, dst}, m.sets[id]) {
					return
				}
			}
		}
	}
}

// Edges lists the edges with connections, sorted.
func (m Matrix) Edges() []Edge {
	var out []Edge
	for e := range m.All() {
		out = append(out, e)
	}
	return out
}

// Len is the number of edges with connections.
func (m Matrix) Len() int {
	n := 0
	for range m.All() {
		n++
	}
	return n
}

// MatrixBuilder collects a Matrix edge by edge; it suits small matrices such
// as one read back from an artifact. It is not safe for concurrent use.
type MatrixBuilder struct {
	peers map[Peer]bool
	conns map[Edge]ConnectionSet
}

func NewMatrixBuilder() *MatrixBuilder {
	return &MatrixBuilder{peers: map[Peer]bool{}, conns: map[Edge]ConnectionSet{}}
}

// AddPeer records a peer even when no edge touches it.
func (b *MatrixBuilder) AddPeer(p Peer) { b.peers[p] = true }

// Add unions c into the connections of e. An edge from a peer to itself is
// ignored; empty sets record only the peers.
func (b *MatrixBuilder) Add(e Edge, c ConnectionSet) {
	b.peers[e.Src], b.peers[e.Dst] = true, true
	if c.IsEmpty() || e.Src == e.Dst {
		return
	}
	if old, ok := b.conns[e]; ok {
		c = old.Union(c)
	}
	b.conns[e] = c
}

// Matrix returns the built matrix, one group per peer.
func (b *MatrixBuilder) Matrix() Matrix {
	peers := slices.SortedFunc(maps.Keys(b.peers), Peer.Compare)
	groupOf := make([]int, len(peers))
	pos := make(map[Peer]int, len(peers))
	for i, p := range peers {
		groupOf[i], pos[p] = i, i
	}
	n := len(peers)
	in := NewInterner()
	cells := make([]uint32, n*n)
	for e, c := range b.conns {
		cells[pos[e.Src]*n+pos[e.Dst]] = in.ID(c)
	}
	return assemble(peers, groupOf, n, in.Sets(), cells)
}

// Interner numbers distinct connection sets: equal sets get the same
// number, and number 0 is No Connections. Engines fill large arrays with
// these numbers instead of sets. It is not safe for concurrent use.
type Interner struct {
	sets   []ConnectionSet
	byHash map[uint64][]uint32
}

// NewInterner returns an interner holding only No Connections, as 0.
func NewInterner() *Interner {
	in := &Interner{byHash: map[uint64][]uint32{}}
	in.ID(NoConnections())
	return in
}

// ID is c's number, given on first sight.
func (in *Interner) ID(c ConnectionSet) uint32 {
	h := c.Hash()
	for _, id := range in.byHash[h] {
		if in.sets[id].Equal(c) {
			return id
		}
	}
	id := uint32(len(in.sets))
	in.sets = append(in.sets, c)
	in.byHash[h] = append(in.byHash[h], id)
	return id
}

// Set is the set numbered id.
func (in *Interner) Set(id uint32) ConnectionSet { return in.sets[id] }

// Sets lists the sets by number; the caller must not modify it.
func (in *Interner) Sets() []ConnectionSet { return in.sets }
