package stage

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/synth"
)

// Finding codes of baseline rules applied to a proposal.
const (
	CodeBaselineRemoved = "synth-baseline-removed"
	CodeBaselineAdded   = "synth-baseline-added"
)

// applyBaseline applies baseline rules to the requirements, in order: a
// deny rule removes the connections it describes from every requirement
// it covers (an external range is cut where the rule's CIDR cuts it), and
// each removal is reported; an allow rule adds a requirement for every
// pair of workloads (and external range) it describes. Pinned by
// TestSynthesizeBaseline.
func applyBaseline(objs *manifest.Objects, reqs []synth.Requirement, rules []baseline.Rule) ([]synth.Requirement, []model.Finding) {
	nsLabels := map[string]map[string]string{}
	for _, ns := range objs.Namespaces {
		nsLabels[ns.Name] = ns.Labels
	}
	labelsOf := func(ns string) map[string]string {
		if l, ok := nsLabels[ns]; ok {
			return l
		}
		return map[string]string{manifest.NamespaceNameLabel: ns}
	}
	workloads := map[model.Peer]*manifest.Workload{}
	for i := range objs.Workloads {
		workloads[objs.Workloads[i].Peer()] = &objs.Workloads[i]
	}
	// covers splits what an end selects of a requirement's peer: for an
	// external range the addresses inside and outside the rule's; for
	// others all or nothing.
	covers := func(e baseline.End, p model.Peer, fromNamespace string) (in, out model.IPSet, all bool) {
		switch {
		case e.Kind == baseline.Anything:
			return model.IPSet{}, model.IPSet{}, true
		case fromNamespace != "":
			return model.IPSet{}, model.IPSet{}, e.Kind == baseline.Pods && e.Pods.Empty() && e.MatchesPod(nil, labelsOf(fromNamespace))
		case p.Kind == model.PeerWorkload:
			w := workloads[p]
			return model.IPSet{}, model.IPSet{}, w != nil && e.MatchesPod(w.PodLabels, labelsOf(w.Namespace))
		case p.Kind == model.PeerExternal && e.Kind == baseline.Addresses:
			r := model.RangeSet(p.Range)
			return r.Intersect(e.Addresses), r.Subtract(e.Addresses), false
		}
		return model.IPSet{}, model.IPSet{}, false
	}
	var findings []model.Finding
	for _, rule := range rules {
		if rule.Action == baseline.Allow {
			added := allowed(objs, rule, labelsOf)
			reqs = append(reqs, added...)
			if len(added) > 0 {
				findings = append(findings, model.Finding{Code: CodeBaselineAdded, Severity: model.Info, Location: rule.Source, Object: "baseline rule " + rule.Name,
					Message: fmt.Sprintf("baseline rule %s adds %d connection(s) to the proposal: %s", rule.Name, len(added), rule)})
			}
			continue
		}
		var next []synth.Requirement
		for _, r := range reqs {
			removed := r.Conns.Intersect(rule.Conns)
			srcIn, srcOut, srcAll := covers(rule.From, r.Src, r.FromNamespace)
			dstIn, dstOut, dstAll := covers(rule.To, r.Dst, "")
			srcHit, dstHit := srcAll || !srcIn.IsEmpty(), dstAll || !dstIn.IsEmpty()
			if removed.IsEmpty() || !srcHit || !dstHit {
				next = append(next, r)
				continue
			}
			// The part outside the rule's addresses keeps everything.
			for _, rest := range []struct {
				set   model.IPSet
				isSrc bool
			}{{srcOut, true}, {dstOut, false}} {
				for _, rg := range rest.set.Ranges() {
					keep := r
					if rest.isSrc {
						keep.Src = model.ExternalPeer(rg)
					} else {
						keep.Dst = model.ExternalPeer(rg)
					}
					next = append(next, keep)
				}
			}
			inside := r
			inside.Conns = r.Conns.Subtract(rule.Conns)
			for _, pair := range cut(r, srcIn, srcAll, dstIn, dstAll) {
				inside.Src, inside.Dst = pair[0], pair[1]
				if !inside.Conns.IsEmpty() {
					next = append(next, inside)
				}
				findings = append(findings, model.Finding{Code: CodeBaselineRemoved, Severity: model.Warning, Location: rule.Source, Object: "baseline rule " + rule.Name,
					Message: fmt.Sprintf("baseline rule %s denies %s => %s : %s, which the application needs (%s); the proposal leaves it out: fix the application or the rule",
						rule.Name, describe(pair[0], r.FromNamespace), pair[1], removed, strings.Join(firstReasons(r.Reasons, 2), "; "))})
			}
		}
		reqs = next
	}
	return reqs, findings
}

// cut lists the (src, dst) pairs of the part of r inside a rule's ends.
func cut(r synth.Requirement, srcIn model.IPSet, srcAll bool, dstIn model.IPSet, dstAll bool) [][2]model.Peer {
	srcs, dsts := []model.Peer{r.Src}, []model.Peer{r.Dst}
	if !srcAll {
		srcs = nil
		for _, rg := range srcIn.Ranges() {
			srcs = append(srcs, model.ExternalPeer(rg))
		}
		if len(srcs) == 0 {
			srcs = []model.Peer{r.Src}
		}
	}
	if !dstAll {
		dsts = nil
		for _, rg := range dstIn.Ranges() {
			dsts = append(dsts, model.ExternalPeer(rg))
		}
		if len(dsts) == 0 {
			dsts = []model.Peer{r.Dst}
		}
	}
	var out [][2]model.Peer
	for _, s := range srcs {
		for _, d := range dsts {
			out = append(out, [2]model.Peer{s, d})
		}
	}
	return out
}

// allowed lists the requirements an allow rule describes: every workload
// pair its ends select (a workload to itself excepted), and its address
// ranges.
func allowed(objs *manifest.Objects, rule baseline.Rule, labelsOf func(string) map[string]string) []synth.Requirement {
	side := func(e baseline.End) []model.Peer {
		var out []model.Peer
		if e.Kind == baseline.Addresses {
			for _, r := range e.Addresses.Ranges() {
				out = append(out, model.ExternalPeer(r))
			}
			return out
		}
		for _, w := range objs.Workloads {
			if e.MatchesPod(w.PodLabels, labelsOf(w.Namespace)) {
				out = append(out, w.Peer())
			}
		}
		return out
	}
	reason := fmt.Sprintf("%s baseline rule %s allows it", rule.Source, rule.Name)
	var out []synth.Requirement
	for _, s := range side(rule.From) {
		for _, d := range side(rule.To) {
			if s == d || s.Kind == model.PeerExternal && d.Kind == model.PeerExternal {
				continue
			}
			out = append(out, synth.Requirement{Src: s, Dst: d, Conns: rule.Conns, Reasons: []string{reason}})
		}
	}
	return out
}

func describe(p model.Peer, fromNamespace string) string {
	if fromNamespace != "" {
		return "every pod of namespace " + fromNamespace
	}
	return p.String()
}

func firstReasons(rs []string, n int) []string {
	rs = slices.Clone(rs)
	if len(rs) > n {
		rs = append(rs[:n], fmt.Sprintf("and %d more", len(rs)-n))
	}
	if len(rs) == 0 {
		return []string{"no reason recorded"}
	}
	return rs
}
