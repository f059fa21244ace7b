package firewall

import (
	"maps"
	"math/bits"
	"slices"
)

// labelTable is the pods a selector is chosen among: one label set per
// member. Members are indexed 0..n-1.
type labelTable struct {
	labels []map[string]string
	keys   []string // every key some member carries, sorted
	// shared holds the keys on which two workloads take the same value
	// ("tier", "version"): they describe workloads rather than name them,
	// and a selector on them is chosen only when it is shorter by more than
	// sharedPenalty.
	shared map[string]bool
}

const sharedPenalty = 3

func newLabelTable(labels []map[string]string, shared map[string]bool) *labelTable {
	seen := map[string]bool{}
	for _, l := range labels {
		for k := range l {
			seen[k] = true
		}
	}
	return &labelTable{labels: labels, keys: slices.Sorted(maps.Keys(seen)), shared: shared}
}

// sharedKeys lists the keys on which two members of the tables take the
// same value.
func sharedKeys(tables []*labelTable) map[string]bool {
	out := map[string]bool{}
	seen := map[[2]string]bool{}
	for _, t := range tables {
		for _, l := range t.labels {
			for k, v := range l {
				if seen[[2]string{k, v}] {
					out[k] = true
				}
				seen[[2]string{k, v}] = true
			}
		}
	}
	return out
}

// closed reports whether some selector matches every member of req and no
// member outside allowed. The most specific selector satisfied by req
// requires, for each key, one of the values req's members take there
// (absence counting as a value); it matches a member exactly when, on every
// key, the member takes one of those values. req is expressible exactly when
// that selector stays inside allowed.
func (t *labelTable) closed(req []int, allowed bitset) bool {
	type value struct {
		v       string
		present bool
	}
	taken := make([]map[value]bool, len(t.keys))
	for ki, k := range t.keys {
		taken[ki] = map[value]bool{}
		for _, i := range req {
			v, ok := t.labels[i][k]
			taken[ki][value{v, ok}] = true
		}
	}
outer:
	for w, l := range t.labels {
		if allowed.has(w) {
			continue
		}
		for ki, k := range t.keys {
			v, ok := l[k]
			if !taken[ki][value{v, ok}] {
				continue outer
			}
		}
		return false
	}
	return true
}

// candidate is a requirement every member of req satisfies, with the
// members outside allowed it rules out and what it costs a reader.
type candidate struct {
	req  Requirement
	cost int
	out  bitset // over the outside members
}

// cost is what a requirement costs a reader. At equal numbers of
// requirements, costs favour a single value ("app=web") over presence
// ("app"), the values allowed over the values excluded unless the allowed
// ones are several more (a reviewer reads "app in (a,b,c)" at once, while
// "app notin (d)" makes them think of every other value), and keys that
// name workloads over keys that describe them.
func (t *labelTable) cost(r Requirement) int {
	c := 5
	switch r.Op {
	case In:
		c = 2 * len(r.Values)
	case NotIn:
		c = 2*len(r.Values) + 4
	case Exists:
		c = 3
	}
	if t.shared[r.Key] {
		c += sharedPenalty
	}
	return c
}

// selector finds a smallest selector matching every member of req and no
// member outside allowed (members of allowed outside req are don't-cares):
// fewest requirements, then lowest cost. ok is false when no selector
// exists.
func (t *labelTable) selector(req []int, allowed bitset) (Selector, bool) {
	var outside []int
	for w := range t.labels {
		if !allowed.has(w) {
			outside = append(outside, w)
		}
	}
	if len(outside) == 0 {
		return Selector{}, true
	}
	cands := t.candidates(req, outside)
	chosen, ok := cover(cands, len(outside))
	if !ok {
		return nil, false
	}
	sel := make(Selector, len(chosen))
	for i, c := range chosen {
		sel[i] = cands[c].req
	}
	slices.SortFunc(sel, Requirement.Compare)
	return sel, true
}

// candidates lists, key by key, the requirements every member of req
// satisfies that rule out some outside member.
func (t *labelTable) candidates(req, outside []int) []candidate {
	var out []candidate
	add := func(r Requirement) {
		mask := newBitset(len(outside))
		for j, w := range outside {
			if !r.Matches(t.labels[w]) {
				mask.set(j)
			}
		}
		if !mask.empty() {
			out = append(out, candidate{r, t.cost(r), mask})
		}
	}
	for _, k := range t.keys {
		inReq := map[string]bool{}
		has := 0
		for _, i := range req {
			if v, ok := t.labels[i][k]; ok {
				inReq[v] = true
				has++
			}
		}
		others := map[string]bool{}
		for _, w := range outside {
			if v, ok := t.labels[w][k]; ok && !inReq[v] {
				others[v] = true
			}
		}
		switch {
		case has == len(req):
			add(Requirement{Key: k, Op: In, Values: slices.Sorted(maps.Keys(inReq))})
			add(Requirement{Key: k, Op: Exists})
			if len(others) > 0 {
				add(Requirement{Key: k, Op: NotIn, Values: slices.Sorted(maps.Keys(others))})
			}
		case has == 0:
			add(Requirement{Key: k, Op: DoesNotExist})
		case len(others) > 0:
			add(Requirement{Key: k, Op: NotIn, Values: slices.Sorted(maps.Keys(others))})
		}
	}
	return out
}

// exhaustiveLimit bounds the candidates searched exhaustively for covers of
// three requirements; beyond it (hundreds of label keys) the search is
// greedy.
const exhaustiveLimit = 48

// cover picks candidates that together rule out all n outside members:
// the fewest, then the cheapest, searching every combination of up to
// three, and greedily beyond.
func cover(cands []candidate, n int) ([]int, bool) {
	full := newBitset(n)
	for i := range n {
		full.set(i)
	}
	covers := func(idx ...int) bool {
		u := newBitset(n)
		for _, i := range idx {
			u.or(cands[i].out)
		}
		return u.equal(full)
	}
	distinct := func(idx ...int) bool {
		for a := range idx {
			for b := a + 1; b < len(idx); b++ {
				if cands[idx[a]].req.Key == cands[idx[b]].req.Key {
					return false
				}
			}
		}
		return true
	}
	var best []int
	bestCost := 0
	consider := func(idx ...int) {
		cost := 0
		for _, i := range idx {
			cost += cands[i].cost
		}
		if (best == nil || cost < bestCost) && distinct(idx...) && covers(idx...) {
			best, bestCost = slices.Clone(idx), cost
		}
	}
	for i := range cands {
		consider(i)
	}
	if best == nil {
		for i := range cands {
			for j := i + 1; j < len(cands); j++ {
				consider(i, j)
			}
		}
	}
	if best == nil && len(cands) <= exhaustiveLimit {
		for i := range cands {
			for j := i + 1; j < len(cands); j++ {
				for k := j + 1; k < len(cands); k++ {
					consider(i, j, k)
				}
			}
		}
	}
	if best != nil {
		return best, true
	}
	return greedyCover(cands, full)
}

// greedyCover takes the candidate ruling out most remaining members until
// none remain, then drops any choice the others make redundant.
func greedyCover(cands []candidate, full bitset) ([]int, bool) {
	covered := newBitset(len(full) * 64)
	var chosen []int
	for !covered.equal(full) {
		pick, gain := -1, 0
		for i, c := range cands {
			g := c.out.countAndNot(covered)
			if g > gain || (g == gain && g > 0 && c.cost < cands[pick].cost) {
				pick, gain = i, g
			}
		}
		if pick < 0 {
			return nil, false
		}
		chosen = append(chosen, pick)
		covered.or(cands[pick].out)
	}
	for i := len(chosen) - 1; i >= 0; i-- {
		u := newBitset(len(full) * 64)
		for j, c := range chosen {
			if j != i {
				u.or(cands[c].out)
			}
		}
		if u.equal(full) {
			chosen = slices.Delete(chosen, i, i+1)
		}
	}
	return chosen, true
}

// bitset is a set of small non-negative integers.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int) { b[i/64] |= 1 << (i % 64) }

func (b bitset) clear(i int) { b[i/64] &^= 1 << (i % 64) }

func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) or(c bitset) {
	for i := range b {
		b[i] |= c[i]
	}
}

func (b bitset) equal(c bitset) bool { return slices.Equal(b, c) }

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// countAndNot counts the members of b not in c.
func (b bitset) countAndNot(c bitset) int {
	n := 0
	for i, w := range b {
		n += bits.OnesCount64(w &^ c[i])
	}
	return n
}

// members lists the members in increasing order.
func (b bitset) members() []int {
	var out []int
	for i, w := range b {
		for w != 0 {
			out = append(out, i*64+bits.TrailingZeros64(w))
			w &= w - 1
		}
	}
	return out
}

// key is the set as a comparable value, for map keys.
func (b bitset) key() string {
	buf := make([]byte, 0, 8*len(b))
	for _, w := range b {
		for s := 0; s < 64; s += 8 {
			buf = append(buf, byte(w>>s))
		}
	}
	return string(buf)
}
