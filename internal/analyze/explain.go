package analyze

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Explanation says why the connections between two peers are what they
// are: per direction, which tier, policy and rule decided each part.
type Explanation struct {
	Src, Dst model.Peer
	// Conns is what src may open to dst: both directions' Allowed.
	Conns model.ConnectionSet
	// Directions holds egress at the source (when it is a pod), then
	// ingress at the destination (when it is a pod).
	Directions []DirectionExplanation
}

// DirectionExplanation is one side's decision.
type DirectionExplanation struct {
	Direction string // "egress" or "ingress"
	Pod       model.Peer
	Other     model.Peer
	Allowed   model.ConnectionSet
	// Steps are in evaluation order; together they cover every connection.
	Steps []Step
}

// Verdicts of a step.
const (
	VerdictAllowed = "allowed"
	VerdictDenied  = "denied"
	VerdictPassed  = "passed"
)

// Step is one decision about part of the connections.
type Step struct {
	Conns    model.ConnectionSet
	Verdict  string
	Tier     string // "Admin", "NetworkPolicy", "Baseline" or "default"
	Policy   string // "NetworkPolicy ns/name", "AdminNetworkPolicy name", ...
	Rule     string // "ingress rule 2 (name)"
	Location model.Location
	Reason   string
}

// ErrNoSuchPeer is wrapped when Explain is asked about a peer the inputs
// do not have.
var ErrNoSuchPeer = fmt.Errorf("no such peer")

// Explain tells, for src and dst (workloads as "namespace/name", external
// addresses as an IP, or "{ingress-controller}"), which policy and rule
// allows or denies each part of the connections between them.
func Explain(ctx context.Context, objs *manifest.Objects, src, dst string, opts ...Option) (Explanation, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	c := newCluster(objs, cfg.ingressController)
	k := &compiler{c: c, sets: newSetTable(), peerMemo: map[string]bitset{}}
	policies := make([]*policy, 0, len(objs.Policies))
	for i := range objs.Policies {
		policies = append(policies, k.compile(&objs.Policies[i]))
	}
	tiered := k.tierPolicies(objs)
	all := allRules(policies, tiered)
	atoms := splitAddresses(all)
	for _, r := range all {
		r.atoms = atomsIn(atoms, r.ips)
	}
	if err := ctx.Err(); err != nil {
		return Explanation{}, err
	}
	x := &explainer{k: k, policies: policies, tiered: tiered, nc: len(c.classes)}
	s, err := x.endpoint(src, atoms)
	if err != nil {
		return Explanation{}, err
	}
	d, err := x.endpoint(dst, atoms)
	if err != nil {
		return Explanation{}, err
	}
	if s.class < 0 && d.class < 0 {
		return Explanation{}, fmt.Errorf("explain %s => %s: both ends are external addresses; give a workload for at least one", src, dst)
	}
	out := Explanation{Src: s.peer, Dst: d.peer, Conns: model.AllConnections()}
	if s.class >= 0 {
		de := x.direction(egress, s, d)
		out.Directions = append(out.Directions, de)
		out.Conns = out.Conns.Intersect(de.Allowed)
	}
	if d.class >= 0 {
		de := x.direction(ingress, d, s)
		out.Directions = append(out.Directions, de)
		out.Conns = out.Conns.Intersect(de.Allowed)
	}
	return out, nil
}

type explainer struct {
	k        *compiler
	policies []*policy
	tiered   []*tierPolicy
	nc       int
}

// end is one end of the explained connection: a class (pods) or an atom
// (addresses), as a row index.
type end struct {
	peer  model.Peer
	class int // -1 for an address
	row   int // index in the row space: class, or nc + atom
}

func (x *explainer) endpoint(name string, atoms []model.IPRange) (end, error) {
	c := x.k.c
	if name == model.IngressControllerName {
		return end{peer: model.IngressController(), class: c.ingressCtl, row: c.ingressCtl}, nil
	}
	if addr, err := netip.ParseAddr(name); err == nil {
		for t, a := range atoms {
			if model.RangeSet(a).Contains(addr) {
				return end{peer: model.ExternalPeer(model.IPRange{First: addr.Unmap(), Last: addr.Unmap()}), class: -1, row: x.nc + t}, nil
			}
		}
		return end{}, fmt.Errorf("explain: address %s: %w: the policies name no range holding it (IPv6 appears only once a policy names an IPv6 block)", name, ErrNoSuchPeer)
	}
	ns, wname, ok := strings.Cut(name, "/")
	if !ok {
		return end{}, fmt.Errorf("explain: peer %q: want namespace/name, an IP address or %s", name, model.IngressControllerName)
	}
	for i, w := range c.objs.Workloads {
		if w.Namespace == ns && (w.Name == wname || w.Peer().String() == name) {
			return end{peer: w.Peer(), class: c.classOf[i], row: c.classOf[i]}, nil
		}
	}
	return end{}, fmt.Errorf("explain: workload %s: %w in the inputs; give namespace/name of a Deployment, StatefulSet, Pod, ...", name, ErrNoSuchPeer)
}

// direction explains one side, following the same precedence as the engine:
// Admin tier rules first match wins, then NetworkPolicies for a pod they
// isolate, else the Baseline tier, else the default.
func (x *explainer) direction(d direction, pod, other end) DirectionExplanation {
	out := DirectionExplanation{Direction: d.String(), Pod: pod.peer, Other: other.peer}
	sets := x.k.sets
	rest := model.AllConnections()
	allowed, passed := model.NoConnections(), model.NoConnections()
	// ports is what rule r opens along this pair; named ports resolve on
	// the destination pod.
	ports := func(r *rule) model.ConnectionSet {
		dstClass := pod.class
		if d == egress {
			if other.class < 0 {
				return sets.Set(r.numeric)
			}
			dstClass = other.class
		}
		return sets.Set(x.k.portsOn(r, dstClass))
	}
	matches := func(r *rule) bool {
		if other.class >= 0 {
			return r.classes.has(other.class)
		}
		return r.atoms.has(other.row - x.nc)
	}
	tierSteps := func(t tier) {
		for _, p := range x.tiered {
			if p.tier != t || !p.subjects.has(pod.class) {
				continue
			}
			for _, r := range p.rules[d] {
				if !matches(&r.rule) {
					continue
				}
				m := ports(&r.rule).Intersect(rest)
				if m.IsEmpty() {
					continue
				}
				rest = rest.Subtract(m)
				step := Step{Conns: m, Tier: t.String(), Policy: p.object(), Rule: fmt.Sprintf("%s rule %d", d, r.index+1), Location: p.source}
				switch r.effective() {
				case allow:
					step.Verdict, step.Reason = VerdictAllowed, "the first matching rule allows it"
					allowed = allowed.Union(m)
				case deny:
					step.Verdict, step.Reason = VerdictDenied, "the first matching rule denies it"
				case pass:
					step.Verdict, step.Reason = VerdictPassed, "the first matching rule passes it to the next tier"
					if t == adminTier {
						passed = passed.Union(m) // decided below the Admin tier
					} else {
						allowed = allowed.Union(m) // past the last tier: the default allows it
						step.Verdict, step.Reason = VerdictAllowed, "the first matching rule passes it past the last tier, so the default allows it"
					}
				}
				out.Steps = append(out.Steps, step)
			}
		}
	}
	tierSteps(adminTier)
	rest = rest.Union(passed)
	var selecting []string
	npAllowed := model.NoConnections()
	for _, p := range x.policies {
		rules, ok := p.rules[d]
		if !ok || !p.subjects.has(pod.class) {
			continue
		}
		selecting = append(selecting, "NetworkPolicy "+p.src.Object.Namespace+"/"+p.src.Object.Name)
		for _, r := range rules {
			if !matches(r) {
				continue
			}
			m := ports(r).Intersect(rest)
			if m.IsEmpty() {
				continue
			}
			npAllowed = npAllowed.Union(m)
			out.Steps = append(out.Steps, Step{
				Conns: m, Verdict: VerdictAllowed, Tier: "NetworkPolicy",
				Policy:   "NetworkPolicy " + p.src.Object.Namespace + "/" + p.src.Object.Name,
				Rule:     fmt.Sprintf("%s rule %d", d, r.index+1),
				Location: p.src.Source,
				Reason:   "the rule admits " + other.peer.String(),
			})
		}
	}
	switch {
	case len(selecting) > 0:
		allowed = allowed.Union(npAllowed)
		if denied := rest.Subtract(npAllowed); !denied.IsEmpty() {
			out.Steps = append(out.Steps, Step{
				Conns: denied, Verdict: VerdictDenied, Tier: "NetworkPolicy",
				Reason: fmt.Sprintf("%s %s %s for %s, and no rule of %s admits %s on these connections",
					strings.Join(selecting, ", "), plural(len(selecting), "selects", "select"), pod.peer, d, plural(len(selecting), "it", "theirs"), other.peer),
			})
		}
	default:
		tierSteps(baselineTier)
		if !rest.IsEmpty() {
			allowed = allowed.Union(rest)
			out.Steps = append(out.Steps, Step{
				Conns: rest, Verdict: VerdictAllowed, Tier: "default",
				Reason: fmt.Sprintf("no NetworkPolicy selects %s for %s and no admin rule decided these connections, so they are allowed by default", pod.peer, d),
			})
		}
	}
	out.Allowed = allowed
	// Order steps as evaluated, which they already are; keep it stable.
	out.Steps = slices.Clip(out.Steps)
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
