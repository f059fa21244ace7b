package firewall

import (
	"iter"
	"slices"

	"github.com/tightnet/tightnet/internal/model"
)

// Rules condenses m into rules, sorted, that Expand turns back into m.
//
// For each set of connections it collects, per destination and source
// namespace, the sources that reach that destination with exactly those
// connections; destinations with the same sources in a namespace share a
// rule. Each side of a rule is then said in as few selectors as stay exact
// (every pod of a namespace is "*", otherwise a smallest conjunction of label
// requirements, otherwise several, otherwise the workloads by name), and
// namespaces that need the same selector share one. Rules that differ on one
// side only are merged while the merge is shorter. The same runs with
// sources and destinations swapped, and the shorter result wins.
//
// An edge from a workload to itself is a free choice: a matrix never lists
// it, so a rule may cover it, but only where that saves rules (every pod of a
// namespace to every other is one rule, not one per pod): otherwise a rule
// would seem to say something about the workload's replicas.
func Rules(m model.Matrix, inv Inventory) []Rule {
	u := newUniverse(m.Peers(), inv)
	conns := &interner{byHash: map[uint64][]int{}}
	best := u.merge(u.rectangles(u.edges(m, conns), conns, false))
	if rev := u.merge(u.rectangles(u.edges(m, conns), conns, true)); len(rev) < len(best) {
		best = rev
	}
	slices.SortFunc(best, Rule.Compare)
	return slices.CompactFunc(best, func(a, b Rule) bool { return a.Compare(b) == 0 })
}

// universe indexes the peers of a matrix: peers are numbered in order and
// fall into groups, one per namespace holding workloads (in name order),
// then one for external ranges and one for the ingress controller.
type universe struct {
	peers      []model.Peer
	inv        Inventory
	namespaces []string
	group      []int         // peer → group
	local      []int         // peer → position within its group
	members    [][]int       // group → its peers, in order
	tables     []*labelTable // namespace group → its workloads' pod labels, in member order
	shared     map[string]bool
}

func newUniverse(peers []model.Peer, inv Inventory) *universe {
	u := &universe{peers: peers, inv: inv, group: make([]int, len(peers)), local: make([]int, len(peers))}
	nsIndex := map[string]int{}
	for _, p := range peers {
		if p.Kind == model.PeerWorkload {
			if _, ok := nsIndex[p.Namespace]; !ok {
				nsIndex[p.Namespace] = len(u.namespaces)
				u.namespaces = append(u.namespaces, p.Namespace)
			}
		}
	}
	slices.Sort(u.namespaces)
	for i, ns := range u.namespaces {
		nsIndex[ns] = i
	}
	u.members = make([][]int, len(u.namespaces)+2)
	for i, p := range peers {
		g := u.externals()
		switch p.Kind {
		case model.PeerWorkload:
			g = nsIndex[p.Namespace]
		case model.PeerIngressController:
			g = u.ingress()
		}
		u.group[i], u.local[i] = g, len(u.members[g])
		u.members[g] = append(u.members[g], i)
	}
	u.tables = make([]*labelTable, len(u.namespaces))
	for g := range u.namespaces {
		labels := make([]map[string]string, len(u.members[g]))
		for j, p := range u.members[g] {
			labels[j] = inv.PodLabels[peers[p]]
		}
		u.tables[g] = newLabelTable(labels, nil)
	}
	u.shared = sharedKeys(u.tables)
	for _, t := range u.tables {
		t.shared = u.shared
	}
	return u
}

func (u *universe) externals() int { return len(u.namespaces) }
func (u *universe) ingress() int   { return len(u.namespaces) + 1 }

func (u *universe) isWorkload(p int) bool { return u.group[p] < u.externals() }

// interner numbers distinct connection sets.
type interner struct {
	sets   []model.ConnectionSet
	byHash map[uint64][]int
}

func (in *interner) id(c model.ConnectionSet) int {
	h := c.Hash()
	for _, i := range in.byHash[h] {
		if in.sets[i].Equal(c) {
			return i
		}
	}
	in.sets = append(in.sets, c)
	in.byHash[h] = append(in.byHash[h], len(in.sets)-1)
	return len(in.sets) - 1
}

// edge is an edge of the matrix by peer numbers, with its connections by
// number.
type edge struct{ src, dst, conns int }

// edges yields the edges of m in order. Both the matrix and the universe
// list peers sorted, so a cursor finds each destination; consecutive edges
// mostly carry the same connections, which skips the interner.
func (u *universe) edges(m model.Matrix, conns *interner) iter.Seq[edge] {
	return func(yield func(edge) bool) {
		src, dst := -1, 0
		var last model.ConnectionSet
		lastID := -1
		for e, c := range m.All() {
			if src < 0 || e.Src != u.peers[src] {
				src, dst = slices.Index(u.peers[src+1:], e.Src)+src+1, 0
			}
			for u.peers[dst] != e.Dst {
				dst++
			}
			if lastID < 0 || !c.Equal(last) {
				last, lastID = c, conns.id(c)
			}
			if !yield(edge{src, dst, lastID}) {
				return
			}
		}
	}
}

// rectangles covers the edges with rules, each the product of a set of
// sources and a set of destinations allowed exactly the same connections.
// Sources are collected per destination and source group; destinations with
// equal collections share a rule. With swap, destinations are collected per
// source instead.
func (u *universe) rectangles(edges iter.Seq[edge], conns *interner, swap bool) []Rule {
	// entry is the peers of one group that reach one key peer (or that it
	// reaches, swapped) with one set of connections.
	type entry struct{ conns, key, group int }
	collected := map[entry]bitset{}
	var order []entry
	var last entry
	var s bitset
	for e := range edges {
		a, b := e.src, e.dst
		if swap {
			a, b = b, a
		}
		if k := (entry{e.conns, b, u.group[a]}); s == nil || k != last {
			var ok bool
			if s, ok = collected[k]; !ok {
				s = newBitset(len(u.members[k.group]))
				collected[k] = s
				order = append(order, k)
			}
			last = k
		}
		s.set(u.local[a])
	}

	// A key peer in the collected group may add itself to its collection:
	// the edge to itself is a free choice. It does when more key peers share
	// the enlarged collection than the plain one (all-to-all within a
	// namespace), which saves rules.
	type shape struct {
		conns, group int
		set          string
	}
	count := map[shape]int{}
	withSelf := make([]bitset, len(order))
	for i, k := range order {
		s := collected[k]
		count[shape{k.conns, k.group, s.key()}]++
		if k.group == u.group[k.key] && u.isWorkload(k.key) {
			w := slices.Clone(s)
			w.set(u.local[k.key])
			withSelf[i] = w
			count[shape{k.conns, k.group, w.key()}]++
		}
	}
	type rect struct {
		conns, group int
		set          bitset
		keys         []int
	}
	var rects []*rect
	byShape := map[shape]*rect{}
	for i, k := range order {
		s := collected[k]
		sh := shape{k.conns, k.group, s.key()}
		if w := withSelf[i]; w != nil {
			wsh := shape{k.conns, k.group, w.key()}
			if count[wsh] > count[sh] {
				s, sh = w, wsh
			}
		}
		r, ok := byShape[sh]
		if !ok {
			r = &rect{conns: k.conns, group: k.group, set: s}
			byShape[sh] = r
			rects = append(rects, r)
		}
		r.keys = append(r.keys, k.key)
	}

	var rules []Rule
	for _, r := range rects {
		var as []int
		for _, j := range r.set.members() {
			as = append(as, u.members[r.group][j])
		}
		// The edge from a lone peer on one side to itself is free; one side
		// at a time, so that no other edge comes in.
		aFree, bFree := -1, -1
		if len(r.keys) == 1 && u.isWorkload(r.keys[0]) && !slices.Contains(as, r.keys[0]) {
			aFree = r.keys[0]
		} else if len(as) == 1 && u.isWorkload(as[0]) {
			bFree = as[0]
		}
		bs := u.expressFree(r.keys, bFree)
		for _, a := range u.expressFree(as, aFree) {
			for _, b := range bs {
				src, dst := a, b
				if swap {
					src, dst = b, a
				}
				rules = append(rules, Rule{Src: src, Dst: dst, Conns: conns.sets[r.conns]})
			}
		}
	}
	return rules
}
