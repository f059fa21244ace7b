package analyze

import (
	"fmt"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Finding codes the engine emits. They are stable: pipelines filter on them.
const (
	CodeInvalidSelector     = "policy-invalid-selector"
	CodeInvalidPort         = "policy-invalid-port"
	CodeInvalidCIDR         = "policy-invalid-cidr"
	CodeInvalidPeer         = "policy-invalid-peer"
	CodeUnresolvedNamedPort = "policy-named-port-unresolved"
)

// direction is the side of a connection a policy rule governs.
type direction uint8

const (
	ingress direction = iota
	egress
)

func (d direction) String() string {
	if d == ingress {
		return "ingress"
	}
	return "egress"
}

// rule is one compiled ingress or egress rule: the peers it admits and the
// ports it opens. A rule's peers all share its ports, so they are merged.
type rule struct {
	index   int // position in the policy's ingress or egress list
	classes bitset
	ips     model.IPSet
	ipv6    bool // an ipBlock names IPv6 addresses
	// failClosed marks an admin rule with a peer that sets no field or
	// several, which the API reads as matching everything.
	failClosed bool
	atoms      bitset // filled once the external address space is split
	numeric    connID // ports given by number, or all ports
	named      []namedPort
	// resolved caches numeric ∪ named resolved on a class, for rules with
	// named ports.
	resolved map[int]connID
}

// policy is one compiled NetworkPolicy.
type policy struct {
	src      *manifest.NetworkPolicy
	subjects bitset
	// rules per direction; a direction absent from policyTypes has no entry.
	rules map[direction][]*rule
}

// compiler turns NetworkPolicies into selector matches over classes,
// compiling every distinct selector once.
type compiler struct {
	c        *cluster
	sets     *setTable
	findings []model.Finding
	// memo of peer matches keyed by namespace and canonical selector text.
	peerMemo map[string]bitset
}

func (k *compiler) finding(np *manifest.NetworkPolicy, code string, sev model.Severity, format string, args ...any) {
	k.findings = append(k.findings, model.Finding{
		Code:     code,
		Severity: sev,
		Message:  fmt.Sprintf(format, args...),
		Location: np.Source,
		Object:   "NetworkPolicy " + np.Object.Namespace + "/" + np.Object.Name,
	})
}

// selector compiles a label selector; a nil selector is reported as nil. A
// selector that does not compile selects nothing, as the API server would
// have rejected the policy; the finding says so.
func (k *compiler) selector(np *manifest.NetworkPolicy, where string, s *metav1.LabelSelector) (labels.Selector, bool) {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		k.finding(np, CodeInvalidSelector, model.Error,
			"%s: %v; the API server rejects this policy, so it selects nothing here: fix the selector", where, err)
		return labels.Nothing(), false
	}
	return sel, true
}

func (k *compiler) compile(np *manifest.NetworkPolicy) *policy {
	spec := &np.Object.Spec
	ns := k.c.namespace(np.Object.Namespace)
	p := &policy{src: np, subjects: newBitset(len(k.c.classes)), rules: map[direction][]*rule{}}
	sel, _ := k.selector(np, "spec.podSelector", &spec.PodSelector)
	for _, ci := range k.c.byNS[ns] {
		if sel.Matches(k.c.classes[ci].labels) {
			p.subjects.set(ci)
		}
	}
	for _, d := range policyTypes(spec) {
		rules := []*rule{}
		switch d {
		case ingress:
			for i, r := range spec.Ingress {
				rules = append(rules, k.rule(np, ns, d, i, r.From, r.Ports))
			}
		case egress:
			for i, r := range spec.Egress {
				rules = append(rules, k.rule(np, ns, d, i, r.To, r.Ports))
			}
		}
		p.rules[d] = rules
	}
	return p
}

// policyTypes applies the API's defaulting: without policyTypes a policy
// governs ingress always, and egress only when it has egress rules.
// Pinned by TestPolicyTypesDefaulting.
func policyTypes(spec *networkingv1.NetworkPolicySpec) []direction {
	if len(spec.PolicyTypes) == 0 {
		if len(spec.Egress) > 0 {
			return []direction{ingress, egress}
		}
		return []direction{ingress}
	}
	var out []direction
	for _, t := range spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			out = append(out, ingress)
		case networkingv1.PolicyTypeEgress:
			out = append(out, egress)
		}
	}
	return out
}

func (k *compiler) rule(np *manifest.NetworkPolicy, ns int, d direction, index int, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) *rule {
	where := fmt.Sprintf("spec.%s[%d]", d, index)
	r := &rule{index: index, classes: newBitset(len(k.c.classes))}
	if len(peers) == 0 {
		// An empty or absent from/to admits every peer: all pods in all
		// namespaces and every address. Pinned by TestEmptyPeersAdmitEverything.
		for i := range k.c.classes {
			r.classes.set(i)
		}
		r.ips = model.AllIPs()
	}
	for i, peer := range peers {
		k.peer(np, ns, fmt.Sprintf("%s.%s[%d]", where, peerField(d), i), peer, r)
	}
	k.ports(np, where, ports, r)
	return r
}

func peerField(d direction) string {
	if d == ingress {
		return "from"
	}
	return "to"
}

// peer adds what one NetworkPolicyPeer admits to r.
//   - podSelector alone: pods of the policy's namespace.
//   - namespaceSelector alone: every pod of the matching namespaces.
//   - both in one peer: pods matching podSelector in matching namespaces (AND).
//   - ipBlock: external addresses in cidr and outside except; never pods,
//     whose addresses a static analysis cannot know.
//
// Pinned by TestPodSelectorAlone, TestNamespaceSelectorAlone,
// TestNamespaceAndPodSelectorInOnePeer and TestIPBlockExcept.
func (k *compiler) peer(np *manifest.NetworkPolicy, ns int, where string, peer networkingv1.NetworkPolicyPeer, r *rule) {
	hasSel := peer.PodSelector != nil || peer.NamespaceSelector != nil
	switch {
	case peer.IPBlock != nil && hasSel:
		k.finding(np, CodeInvalidPeer, model.Error,
			"%s: ipBlock cannot be combined with podSelector or namespaceSelector; the API server rejects this, so the peer admits nothing here: split it into two peers", where)
		return
	case peer.IPBlock != nil:
		block := k.ipBlock(np, where, peer.IPBlock)
		r.ips = r.ips.Union(block)
		r.ipv6 = r.ipv6 || block.Overlaps(model.AllIPv6())
		return
	case !hasSel:
		k.finding(np, CodeInvalidPeer, model.Error,
			"%s: peer sets none of podSelector, namespaceSelector or ipBlock; the API server rejects this, so it admits nothing here", where)
		return
	}
	key := k.peerKey(ns, peer)
	if m, ok := k.peerMemo[key]; ok {
		r.classes.or(m)
		return
	}
	m := newBitset(len(k.c.classes))
	podSel := labels.Everything()
	if peer.PodSelector != nil {
		podSel, _ = k.selector(np, where+".podSelector", peer.PodSelector)
	}
	var namespaces []int
	if peer.NamespaceSelector == nil {
		namespaces = []int{ns}
	} else {
		nsSel, _ := k.selector(np, where+".namespaceSelector", peer.NamespaceSelector)
		for i, l := range k.c.nsLabels {
			if nsSel.Matches(l) {
				namespaces = append(namespaces, i)
			}
		}
	}
	for _, n := range namespaces {
		for _, ci := range k.c.byNS[n] {
			if podSel.Matches(k.c.classes[ci].labels) {
				m.set(ci)
			}
		}
	}
	if peer.NamespaceSelector != nil && selectsAll(peer.NamespaceSelector) && (peer.PodSelector == nil || selectsAll(peer.PodSelector)) {
		m.set(k.c.anyPod)
	}
	k.peerMemo[key] = m
	r.classes.or(m)
}

// peerKey identifies what a selector peer matches: its namespace (when it
// has no namespaceSelector) and its selectors' canonical text. Invalid
// selectors get no memo entry sharing, since their text is not canonical.
func (k *compiler) peerKey(ns int, peer networkingv1.NetworkPolicyPeer) string {
	text := func(s *metav1.LabelSelector) string {
		if s == nil {
			return "<nil>"
		}
		sel, err := metav1.LabelSelectorAsSelector(s)
		if err != nil {
			return fmt.Sprintf("<invalid %p>", s)
		}
		return "{" + sel.String() + "}"
	}
	key := text(peer.NamespaceSelector) + "\x00" + text(peer.PodSelector)
	if peer.NamespaceSelector == nil {
		key = strconv.Itoa(ns) + "\x00" + key
	}
	return key
}

func (k *compiler) ipBlock(np *manifest.NetworkPolicy, where string, b *networkingv1.IPBlock) model.IPSet {
	set, err := model.ParseCIDR(b.CIDR)
	if err != nil {
		k.finding(np, CodeInvalidCIDR, model.Error, "%s.ipBlock.cidr: %v; the block admits nothing here", where, err)
		return model.IPSet{}
	}
	for i, ex := range b.Except {
		hole, err := model.ParseCIDR(ex)
		if err != nil {
			k.finding(np, CodeInvalidCIDR, model.Error, "%s.ipBlock.except[%d]: %v; the block admits nothing here", where, i, err)
			return model.IPSet{}
		}
		set = set.Subtract(hole)
	}
	return set
}

// ports compiles a rule's ports. No ports means all ports of every protocol.
// A named port resolves per destination pod, so it is kept by name.
// Pinned by TestPortsDefaultTCP, TestEndPortRange and TestNamedPortPerDestination.
func (k *compiler) ports(np *manifest.NetworkPolicy, where string, ports []networkingv1.NetworkPolicyPort, r *rule) {
	if len(ports) == 0 {
		r.numeric = allConns
		return
	}
	numeric := model.NoConnections()
	for i, p := range ports {
		at := fmt.Sprintf("%s.ports[%d]", where, i)
		proto := model.TCP
		if p.Protocol != nil {
			var err error
			if proto, err = protocolOf(*p.Protocol); err != nil {
				k.finding(np, CodeInvalidPort, model.Error, "%s: %v; this entry opens nothing", at, err)
				continue
			}
		}
		switch {
		case p.Port == nil:
			if p.EndPort != nil {
				k.finding(np, CodeInvalidPort, model.Error, "%s: endPort needs a numeric port; this entry opens nothing", at)
				continue
			}
			numeric = numeric.Union(model.Connections(proto, model.AllPorts()))
		case p.Port.Type == intstr.String:
			// A string port is a name (the API requires an IANA service
			// name), even when it holds digits; it resolves per destination.
			if p.EndPort != nil {
				k.finding(np, CodeInvalidPort, model.Error, "%s: endPort cannot follow the named port %q; this entry opens nothing: use a numeric port", at, p.Port.StrVal)
				continue
			}
			r.named = append(r.named, namedPort{p.Port.StrVal, proto})
		default:
			lo, hi := int(p.Port.IntVal), int(p.Port.IntVal)
			if p.EndPort != nil {
				hi = int(*p.EndPort)
				if hi < lo {
					k.finding(np, CodeInvalidPort, model.Error, "%s: endPort %d is below port %d; this entry opens nothing", at, hi, lo)
					continue
				}
			}
			numeric = numeric.Union(model.Connections(proto, model.PortRange(lo, hi)))
		}
	}
	r.numeric = k.sets.ID(numeric)
	if len(r.named) > 0 {
		r.resolved = map[int]connID{}
	}
}

// portsOn is what the rule opens towards a pod of class ci: its numeric
// ports plus its named ports as that class declares them.
func (k *compiler) portsOn(r *rule, ci int) connID {
	if len(r.named) == 0 {
		return r.numeric
	}
	if id, ok := r.resolved[ci]; ok {
		return id
	}
	c := k.sets.Set(r.numeric)
	for _, n := range r.named {
		c = c.Union(model.Connections(n.proto, k.c.classes[ci].named[n]))
	}
	id := k.sets.ID(c)
	r.resolved[ci] = id
	return id
}

// resolves reports whether every named port of r exists on class ci.
func (k *compiler) resolves(r *rule, ci int) bool {
	for _, n := range r.named {
		if k.c.classes[ci].named[n].IsEmpty() {
			return false
		}
	}
	return true
}

// selectsAll reports whether a selector matches every label set: {} with no
// requirements. Only such selectors match the arbitrary pod.
func selectsAll(s *metav1.LabelSelector) bool {
	return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}
