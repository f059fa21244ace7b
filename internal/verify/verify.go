// Package verify checks a configuration's connectivity against baseline
// rules: for each rule a verdict — satisfied, violated or unchecked — and
// for each violation its witnesses, the pairs of peers and the connections
// between them that contradict the rule, exactly: no false witness, none
// missed.
//
// Input: a model.Matrix (what the policies allow), an Inventory (the labels
// of workloads and namespaces, which the matrix does not carry, and where
// each workload was read) and []baseline.Rule. Output: a Verification, the
// verify stage's artifact. The check is a subset test (allow) or a
// disjointness test (deny) per pair of peers, on the matrix alone.
//
// Must not depend on manifest, analyze or report: it does not know where
// the matrix came from nor how it is shown. The sanity checks, which need
// the policies themselves, live in verify/sanity.
//
// # What is checked
//
// A rule's sides select peers of the matrix (see package baseline for what
// each key means): workloads by their pod and namespace labels, external
// address ranges by a CIDR, or everything. A pair of selected peers is
// checked when the matrix says something about it: two distinct workloads,
// a workload and an external range (either way), or the ingress controller
// to a workload. Not checked: connections between the replicas of one
// workload (the matrix does not list a peer to itself), between two
// external ranges, and towards the ingress controller. The ingress
// controller is selected by a side that selects everything, and by label
// selectors only when the inventory says where it runs. An external range
// the rule's CIDR cuts is checked, and named in witnesses, as the part
// inside the CIDR; adjacent ranges with the same other end and the same
// witness connections are merged.
//
// # Verdicts
//
//   - deny: violated when some checked pair allows part of the rule's
//     connections; each witness is that part.
//   - allow: violated when some checked pair lacks part of the rule's
//     connections; each witness is the part missing.
//   - unchecked, with a reason: a side needs labels the inventory does not
//     have (a matrix read from a ConnectivityMap knows namespace names
//     only); a CIDR reaches outside the address ranges the matrix covers
//     (IPv6, when no policy names an IPv6 block); or an allow rule selects
//     no checked pair, which for a rule that promises connections is a
//     sign that it names something absent (a renamed workload). The stage
//     also marks every rule unchecked, through Unverified, when reading or
//     evaluating the inputs reported errors: the matrix may then miss
//     objects, and neither verdict could be trusted.
//   - A deny rule that selects no checked pair is satisfied, with a reason
//     saying so: nothing in the configuration can contradict it, as for a
//     rule about kube-system in a repository that deploys nothing there.
package verify

import (
	"fmt"
	"slices"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/model"
)

// Inventory is what the matrix does not say about its workload peers.
type Inventory struct {
	// PodLabels holds the labels of each workload peer's pods; a workload
	// absent from the map has pods without labels.
	PodLabels map[model.Peer]map[string]string
	// NamespaceLabels holds each namespace's labels. Every namespace also
	// carries baseline.NamespaceNameLabel set to its name, whether the map
	// says so or not.
	NamespaceLabels map[string]map[string]string
	// Sources says where each workload was read, for witness locations.
	Sources map[model.Peer]model.Location
	// NamesOnly says that labels are unknown beyond namespace names, as for
	// a matrix read back from a ConnectivityMap: a side that needs other
	// labels (baseline.End.NeedsLabels) leaves its rule unchecked.
	NamesOnly bool
	// IngressController, when known, is where the ingress controller runs:
	// selector sides then select it by these labels. Unknown, it is an
	// arbitrary pod, which only a side selecting everything selects.
	IngressController *Placement
}

// Placement is a namespace and the pod labels of a peer that is not a
// workload of the inputs.
type Placement struct {
	Namespace string
	PodLabels map[string]string
}

// Check verifies every rule against the matrix, in order.
func Check(m model.Matrix, inv Inventory, rules []baseline.Rule) Verification {
	c := newChecker(m, inv)
	results := make([]Result, len(rules))
	for i, r := range rules {
		results[i] = c.check(r)
	}
	return newVerification(results)
}

// checker holds a matrix indexed for checking many rules.
type checker struct {
	m        model.Matrix
	inv      Inventory
	peers    []model.Peer
	sets     []model.ConnectionSet
	universe model.IPSet // every address some external peer covers
}

func newChecker(m model.Matrix, inv Inventory) *checker {
	c := &checker{m: m, inv: inv, peers: m.Peers(), sets: m.Sets()}
	for _, p := range c.peers {
		if p.Kind == model.PeerExternal {
			c.universe = c.universe.Union(model.RangeSet(p.Range))
		}
	}
	return c
}

// member is a peer a rule's side selects: index i into the matrix's peers,
// and the peer as witnesses name it (an external range cut to the rule's
// addresses).
type member struct {
	i    int
	peer model.Peer
}

func (c *checker) check(r baseline.Rule) Result {
	out := result(r)
	src, reason := c.members(r.From, "from")
	var dst []member
	if reason == "" {
		dst, reason = c.members(r.To, "to")
	}
	if reason != "" {
		out.Verdict, out.Reason = Unchecked, reason
		return out
	}
	var pairs int
	out.Witnesses, pairs = c.witnesses(r, src, dst)
	switch {
	case len(out.Witnesses) > 0:
		out.Verdict = Violated
	case pairs == 0 && r.Action == baseline.Allow:
		out.Verdict, out.Reason = Unchecked, nothingToCheck(r, src, dst)
	case pairs == 0:
		out.Reason = nothingToCheck(r, src, dst)
	}
	return out
}

// members lists the peers a side selects, or says why it cannot tell
// (the rule is then unchecked).
func (c *checker) members(e baseline.End, key string) ([]member, string) {
	if c.inv.NamesOnly && e.NeedsLabels() {
		return nil, fmt.Sprintf("%s selects pods or namespaces by labels, which a ConnectivityMap does not carry; verify the manifests instead", key)
	}
	if e.Kind == baseline.Addresses {
		if outside := e.Addresses.Subtract(c.universe); !outside.IsEmpty() {
			return nil, fmt.Sprintf("%s reaches addresses the connectivity does not cover (%s); IPv6 addresses are covered once a policy names an IPv6 block",
				key, outside)
		}
	}
	var out []member
	for i, p := range c.peers {
		switch p.Kind {
		case model.PeerWorkload:
			if e.MatchesPod(c.inv.PodLabels[p], c.namespaceLabels(p.Namespace)) {
				out = append(out, member{i, p})
			}
		case model.PeerIngressController:
			ic := c.inv.IngressController
			if e.Kind == baseline.Anything || ic != nil && e.MatchesPod(ic.PodLabels, c.namespaceLabels(ic.Namespace)) {
				out = append(out, member{i, p})
			}
		case model.PeerExternal:
			switch e.Kind {
			case baseline.Anything:
				out = append(out, member{i, p})
			case baseline.Addresses:
				if part := model.RangeSet(p.Range).Intersect(e.Addresses); !part.IsEmpty() {
					// Both are one range of one family: so is their intersection.
					out = append(out, member{i, model.ExternalPeer(part.Ranges()[0])})
				}
			}
		}
	}
	return out, ""
}

func (c *checker) namespaceLabels(ns string) map[string]string {
	given := c.inv.NamespaceLabels[ns]
	if given[baseline.NamespaceNameLabel] == ns {
		return given
	}
	out := make(map[string]string, len(given)+1)
	for k, v := range given {
		out[k] = v
	}
	out[baseline.NamespaceNameLabel] = ns
	return out
}

// checked reports whether the matrix says something about connections
// from s to d.
func checked(s, d model.Peer) bool {
	switch {
	case s == d:
		return false // replicas of one workload: the matrix does not list them
	case s.Kind == model.PeerExternal && d.Kind == model.PeerExternal:
		return false // not a question about the cluster
	case d.Kind == model.PeerIngressController:
		return false // the ingress controller is a source of traffic only
	case s.Kind == model.PeerIngressController && d.Kind != model.PeerWorkload:
		return false
	}
	return true
}

// witnesses lists, for every checked pair, the connections that contradict
// the rule, and counts the checked pairs.
func (c *checker) witnesses(r baseline.Rule, src, dst []member) ([]Witness, int) {
	// What contradicts the rule in each distinct set of the matrix, worked
	// out once per set number.
	contradiction := make([]*model.ConnectionSet, len(c.sets))
	var out []Witness
	pairs := 0
	for _, s := range src {
		g := c.m.PeerGroup(s.i)
		for _, d := range dst {
			if s.i == d.i || !checked(c.peers[s.i], c.peers[d.i]) {
				continue
			}
			pairs++
			id := c.m.GroupCell(g, c.m.PeerGroup(d.i))
			if contradiction[id] == nil {
				var w model.ConnectionSet
				if r.Action == baseline.Deny {
					w = c.sets[id].Intersect(r.Conns)
				} else {
					w = r.Conns.Subtract(c.sets[id])
				}
				contradiction[id] = &w
			}
			if w := *contradiction[id]; !w.IsEmpty() {
				out = append(out, Witness{Src: s.peer, Dst: d.peer, Conns: w, Location: c.location(s.peer, d.peer)})
			}
		}
	}
	return mergeRanges(out), pairs
}

// location is where the workload a witness concerns was read.
func (c *checker) location(s, d model.Peer) model.Location {
	if d.Kind == model.PeerWorkload {
		return c.inv.Sources[d]
	}
	return c.inv.Sources[s]
}

// mergeRanges merges witnesses whose external ends are adjacent ranges
// with the same other end and the same connections, and sorts them.
func mergeRanges(ws []Witness) []Witness {
	external := func(w Witness) (ext, other model.Peer, extIsSrc bool) {
		if w.Src.Kind == model.PeerExternal {
			return w.Src, w.Dst, true
		}
		return w.Dst, w.Src, false
	}
	isExternal := func(w Witness) bool {
		return w.Src.Kind == model.PeerExternal || w.Dst.Kind == model.PeerExternal
	}
	var plain, ext []Witness
	for _, w := range ws {
		if isExternal(w) {
			ext = append(ext, w)
		} else {
			plain = append(plain, w)
		}
	}
	slices.SortFunc(ext, func(a, b Witness) int {
		ea, oa, sa := external(a)
		eb, ob, sb := external(b)
		if c := oa.Compare(ob); c != 0 {
			return c
		}
		if sa != sb {
			if sa {
				return -1
			}
			return 1
		}
		return ea.Compare(eb)
	})
	var merged []Witness
	for _, w := range ext {
		if n := len(merged); n > 0 {
			last := &merged[n-1]
			le, lo, ls := external(*last)
			we, wo, ws := external(w)
			if lo == wo && ls == ws && le.Range.Adjacent(we.Range) && last.Conns.Equal(w.Conns) {
				r := model.ExternalPeer(model.IPRange{First: le.Range.First, Last: we.Range.Last})
				if ls {
					last.Src = r
				} else {
					last.Dst = r
				}
				continue
			}
		}
		merged = append(merged, w)
	}
	out := append(plain, merged...)
	slices.SortFunc(out, func(a, b Witness) int {
		return model.Edge{Src: a.Src, Dst: a.Dst}.Compare(model.Edge{Src: b.Src, Dst: b.Dst})
	})
	return out
}

// nothingToCheck says why a rule selects no checked pair.
func nothingToCheck(r baseline.Rule, src, dst []member) string {
	switch {
	case len(src) == 0 && len(dst) == 0:
		return fmt.Sprintf("nothing to check: neither from (%s) nor to (%s) selects a peer of this configuration", r.From, r.To)
	case len(src) == 0:
		return fmt.Sprintf("nothing to check: from (%s) selects no peer of this configuration", r.From)
	case len(dst) == 0:
		return fmt.Sprintf("nothing to check: to (%s) selects no peer of this configuration", r.To)
	}
	return "nothing to check: from and to select no pair of distinct peers whose connections the configuration decides"
}
