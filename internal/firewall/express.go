package firewall

import (
	"maps"
	"slices"
	"strings"

	"github.com/tightnet/tightnet/internal/model"
)

// express says a set of peers (by number) as few endpoints: the external
// ranges as one address set, workloads by namespaces and selectors, and
// what no selector can single out (the ingress controller, workloads with
// the labels of a workload outside the set) as a list. free, unless -1, is
// a workload the endpoints may select or not.
func (u *universe) express(req []int, free int) []Endpoint {
	var out []Endpoint
	var listed []model.Peer
	var addrs model.IPSet
	perNS := map[int][]int{} // namespace group → positions of required workloads
	for _, p := range req {
		switch g := u.group[p]; {
		case g < u.externals():
			perNS[g] = append(perNS[g], u.local[p])
		case g == u.externals():
			addrs = addrs.Union(model.RangeSet(u.peers[p].Range))
		default:
			listed = append(listed, u.peers[p])
		}
	}
	if len(perNS) > 0 {
		pods, unnamed := u.expressPods(perNS, free)
		out = append(out, pods...)
		listed = append(listed, unnamed...)
	}
	if len(listed) > 0 {
		slices.SortFunc(listed, model.Peer.Compare)
		out = append(out, Endpoint{Kind: Peers, List: listed})
	}
	if !addrs.IsEmpty() {
		out = append(out, Endpoint{Kind: Addresses, Addresses: addrs})
	}
	return out
}

// expressFree is express with free used only when that takes fewer
// endpoints: a rule that also covers a workload's edge to itself reads as a
// claim about its replicas, so it is made only where it saves lines.
func (u *universe) expressFree(req []int, free int) []Endpoint {
	out := u.express(req, -1)
	if free >= 0 && len(out) > 1 {
		if with := u.express(req, free); len(with) < len(out) {
			return with
		}
	}
	return out
}

// expressPods says the required workloads of some namespaces as pod
// endpoints: one selector over all of them when it exists, otherwise
// selectors per namespace, with namespaces that need the same selector
// together. Workloads no selector separates from a workload outside the set
// come back to be listed by name.
func (u *universe) expressPods(perNS map[int][]int, free int) ([]Endpoint, []model.Peer) {
	groups := slices.Sorted(maps.Keys(perNS))
	// One selector across the namespaces.
	var joint []map[string]string
	var req []int
	offset := map[int]int{}
	for _, g := range groups {
		offset[g] = len(joint)
		joint = append(joint, u.tables[g].labels...)
		for _, j := range perNS[g] {
			req = append(req, offset[g]+j)
		}
	}
	allowed := newBitset(len(joint))
	for _, i := range req {
		allowed.set(i)
	}
	if free >= 0 {
		if off, ok := offset[u.group[free]]; ok {
			allowed.set(off + u.local[free])
		}
	}
	table := newLabelTable(joint, u.shared)
	if len(groups) == 1 {
		table = u.tables[groups[0]]
	}
	if sel, ok := table.selector(req, allowed); ok {
		return []Endpoint{u.podsEndpoint(groups, sel)}, nil
	}

	// Per namespace, then namespaces with the same selector together.
	var sels []Selector
	nsOf := map[string][]int{}
	var unnamed []model.Peer
	for _, g := range groups {
		local := newBitset(len(u.members[g]))
		for _, j := range perNS[g] {
			local.set(j)
		}
		if free >= 0 && u.group[free] == g {
			local.set(u.local[free])
		}
		found, rest := u.tables[g].decompose(perNS[g], local)
		for _, sel := range found {
			k := sel.String()
			if _, ok := nsOf[k]; !ok {
				sels = append(sels, sel)
			}
			nsOf[k] = append(nsOf[k], g)
		}
		for _, j := range rest {
			unnamed = append(unnamed, u.peers[u.members[g][j]])
		}
	}
	out := make([]Endpoint, len(sels))
	for i, sel := range sels {
		out[i] = u.podsEndpoint(nsOf[sel.String()], sel)
	}
	return out, unnamed
}

// podsEndpoint selects sel's pods in the namespace groups, "*" when they
// are every namespace holding workloads and there are several (a lone
// namespace reads better by name).
func (u *universe) podsEndpoint(groups []int, sel Selector) Endpoint {
	if len(groups) == len(u.namespaces) && len(groups) > 1 {
		return Endpoint{Kind: Pods, AllNamespaces: true, Selector: sel}
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = u.namespaces[g]
	}
	slices.Sort(names)
	return Endpoint{Kind: Pods, Namespaces: names, Selector: sel}
}

// decompose says req as a union of selectors, each matching only members
// of allowed, plus the members no selector can match that way (their labels
// equal those of a member outside allowed). Selectors may overlap.
func (t *labelTable) decompose(req []int, allowed bitset) (sels []Selector, rest []int) {
	if sel, ok := t.selector(req, allowed); ok {
		return []Selector{sel}, nil
	}
	uncovered := newBitset(len(t.labels))
	for _, i := range req {
		uncovered.set(i)
	}
	for _, seed := range req {
		if !uncovered.has(seed) {
			continue
		}
		if !t.closed([]int{seed}, allowed) {
			rest = append(rest, seed)
			uncovered.clear(seed)
			continue
		}
		// Grow the seed greedily while one selector still fits.
		set := []int{seed}
		for _, i := range req {
			if i != seed && uncovered.has(i) && t.closed(append(set, i), allowed) {
				set = append(set, i)
			}
		}
		sel, _ := t.selector(set, allowed)
		for _, i := range req {
			if sel.Matches(t.labels[i]) {
				uncovered.clear(i)
			}
		}
		sels = append(sels, sel)
	}
	return sels, rest
}

// merge joins rules that differ on one side only, with the same
// connections, when the union of what their differing sides select can be
// said in fewer endpoints, until no more merges apply.
func (u *universe) merge(rules []Rule) []Rule {
	for {
		n := len(rules)
		rules = u.mergeSide(rules, false)
		rules = u.mergeSide(rules, true)
		if len(rules) == n {
			return rules
		}
	}
}

// mergeSide merges the sources of rules sharing destination and
// connections, or with dst the destinations of rules sharing a source.
func (u *universe) mergeSide(rules []Rule, dst bool) []Rule {
	side := func(r *Rule) (this, other *Endpoint) {
		if dst {
			return &r.Dst, &r.Src
		}
		return &r.Src, &r.Dst
	}
	type keyed struct {
		r     Rule
		conns string
	}
	sorted := make([]keyed, len(rules))
	for i, r := range rules {
		sorted[i] = keyed{r, r.Conns.String()}
	}
	byOther := func(a, b keyed) int {
		_, oa := side(&a.r)
		_, ob := side(&b.r)
		if c := oa.Compare(*ob); c != 0 {
			return c
		}
		return strings.Compare(a.conns, b.conns)
	}
	slices.SortStableFunc(sorted, byOther)
	var out []Rule
	for len(sorted) > 0 {
		n := 1
		for n < len(sorted) && byOther(sorted[0], sorted[n]) == 0 {
			n++
		}
		run := make([]Rule, n)
		for i := range run {
			run[i] = sorted[i].r
		}
		sorted = sorted[n:]
		if n == 1 {
			out = append(out, run...)
			continue
		}
		_, other := side(&run[0])
		free := -1
		if sel := u.matches(*other); len(sel) == 1 && u.isWorkload(sel[0]) {
			free = sel[0]
		}
		var union []int
		for i := range run {
			this, _ := side(&run[i])
			union = append(union, u.matches(*this)...)
		}
		slices.Sort(union)
		union = slices.Compact(union)
		union = slices.DeleteFunc(union, func(p int) bool { return p == free })
		if len(union) == 0 {
			out = append(out, run...)
			continue
		}
		pieces := u.expressFree(union, free)
		if len(pieces) >= n {
			out = append(out, run...)
			continue
		}
		for _, e := range pieces {
			r := run[0]
			this, _ := side(&r)
			*this = e
			out = append(out, r)
		}
	}
	return out
}

// matches lists the peers (by number) an endpoint selects.
func (u *universe) matches(e Endpoint) []int {
	var out []int
	for i, p := range u.peers {
		if e.Matches(p, u.inv) {
			out = append(out, i)
		}
	}
	return out
}
