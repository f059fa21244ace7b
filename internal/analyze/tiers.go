package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Finding codes for the admin tiers.
const (
	CodeAdminInvalid          = "admin-invalid"
	CodeAdminPriorityConflict = "admin-priority-conflict"
	CodeAdminUnsupportedPeer  = "admin-unsupported-peer"
)

// tier is a level of cluster-wide policy around the NetworkPolicy tier.
type tier uint8

const (
	adminTier tier = iota
	baselineTier
)

func (t tier) String() string {
	if t == adminTier {
		return "Admin"
	}
	return "Baseline"
}

// action is what a tier rule does with the connections it matches.
type action uint8

const (
	allow action = iota
	deny
	pass
)

// tierPolicy is an AdminNetworkPolicy, BaselineAdminNetworkPolicy or
// ClusterNetworkPolicy compiled to one shape: a tier, a place in the tier's
// order, subjects, and ordered rules per direction.
type tierPolicy struct {
	tier     tier
	priority int32
	kindRank int // AdminNetworkPolicy 0, ClusterNetworkPolicy 1, BaselineAdminNetworkPolicy 2
	kind     string
	name     string
	source   model.Location
	subjects bitset
	rules    map[direction][]*tierRule
}

type tierRule struct {
	rule
	action action
}

// effective is the rule's action once compiled: "for Deny and Pass rules,
// fail closed means treat the rule as a Deny all rule", so a Pass rule with
// a peer that fails closed denies. Pinned by TestEngineAgreesWithReference.
func (r *tierRule) effective() action {
	if r.action == pass && r.failClosed {
		return deny
	}
	return r.action
}

func (p *tierPolicy) object() string { return p.kind + " " + p.name }

// compareTierOrder orders a tier's policies as the engine evaluates them:
// by priority, then AdminNetworkPolicy before ClusterNetworkPolicy, then
// name; the BaselineAdminNetworkPolicy, which has no priority, comes last in
// the Baseline tier. Pinned by TestAdminTierOrder.
func compareTierOrder(a, b *tierPolicy) int {
	isBANP := func(p *tierPolicy) int {
		if p.kindRank == 2 {
			return 1
		}
		return 0
	}
	return cmp.Or(cmp.Compare(a.tier, b.tier), cmp.Compare(isBANP(a), isBANP(b)), cmp.Compare(a.priority, b.priority),
		cmp.Compare(a.kindRank, b.kindRank), cmp.Compare(a.name, b.name))
}

func (k *compiler) tierFinding(src model.Location, object, code string, sev model.Severity, format string, args ...any) {
	k.findings = append(k.findings, model.Finding{
		Code: code, Severity: sev, Message: fmt.Sprintf(format, args...), Location: src, Object: object,
	})
}

// tierPolicies compiles every admin-tier object of objs, in evaluation order.
func (k *compiler) tierPolicies(objs *manifest.Objects) []*tierPolicy {
	var out []*tierPolicy
	for i := range objs.AdminPolicies {
		if p := k.adminNetworkPolicy(&objs.AdminPolicies[i]); p != nil {
			out = append(out, p)
		}
	}
	for i := range objs.BaselinePolicies {
		if p := k.baselineAdminNetworkPolicy(&objs.BaselinePolicies[i]); p != nil {
			out = append(out, p)
		}
	}
	for i := range objs.ClusterPolicies {
		if p := k.clusterNetworkPolicy(&objs.ClusterPolicies[i]); p != nil {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, compareTierOrder)
	// Two policies of one tier at one priority make the order the API leaves
	// to implementations; tightnet picks kind then name and says so.
	for i := 1; i < len(out); i++ {
		a, b := out[i-1], out[i]
		if a.tier == b.tier && a.priority == b.priority && a.kindRank != 2 && b.kindRank != 2 {
			k.tierFinding(b.source, b.object(), CodeAdminPriorityConflict, model.Warning,
				"%s and %s share priority %d in the %s tier; implementations may apply either first (tightnet evaluates %s first): give them distinct priorities",
				a.object(), b.object(), a.priority, a.tier, a.object())
		}
	}
	return out
}

func (k *compiler) adminNetworkPolicy(o *manifest.AdminNetworkPolicy) *tierPolicy {
	spec := &o.Object.Spec
	p := &tierPolicy{tier: adminTier, priority: spec.Priority, kindRank: 0, kind: "AdminNetworkPolicy", name: o.Object.Name, source: o.Source}
	if !k.validPriority(p) {
		return nil
	}
	p.subjects = k.tierSubject(p, spec.Subject.Namespaces, spec.Subject.Pods)
	var specs []tierRuleSpec
	for i, r := range spec.Ingress {
		specs = append(specs, tierRuleSpec{ingress, i, string(r.Action), ingressPeers(r.From), anpPortsOf(r.Ports)})
	}
	for i, r := range spec.Egress {
		var peers []tierPeerSpec
		for _, peer := range r.To {
			peers = append(peers, tierPeerSpec{peer.Namespaces, peer.Pods, networks(peer.Networks), peer.Nodes != nil || len(peer.DomainNames) > 0})
		}
		specs = append(specs, tierRuleSpec{egress, i, string(r.Action), peers, anpPortsOf(r.Ports)})
	}
	k.tierRules(p, "Allow", true, specs)
	return p
}

func (k *compiler) baselineAdminNetworkPolicy(o *manifest.BaselineAdminNetworkPolicy) *tierPolicy {
	spec := &o.Object.Spec
	p := &tierPolicy{tier: baselineTier, kindRank: 2, kind: "BaselineAdminNetworkPolicy", name: o.Object.Name, source: o.Source}
	if o.Object.Name != "default" {
		k.tierFinding(o.Source, p.object(), CodeAdminInvalid, model.Error,
			"a BaselineAdminNetworkPolicy must be named \"default\"; the API server rejects %q, so it is ignored", o.Object.Name)
		return nil
	}
	p.subjects = k.tierSubject(p, spec.Subject.Namespaces, spec.Subject.Pods)
	var specs []tierRuleSpec
	for i, r := range spec.Ingress {
		specs = append(specs, tierRuleSpec{ingress, i, string(r.Action), ingressPeers(r.From), anpPortsOf(r.Ports)})
	}
	for i, r := range spec.Egress {
		var peers []tierPeerSpec
		for _, peer := range r.To {
			peers = append(peers, tierPeerSpec{peer.Namespaces, peer.Pods, networks(peer.Networks), peer.Nodes != nil})
		}
		specs = append(specs, tierRuleSpec{egress, i, string(r.Action), peers, anpPortsOf(r.Ports)})
	}
	k.tierRules(p, "Allow", false, specs)
	return p
}

func (k *compiler) clusterNetworkPolicy(o *manifest.ClusterNetworkPolicy) *tierPolicy {
	spec := &o.Object.Spec
	p := &tierPolicy{priority: spec.Priority, kindRank: 1, kind: "ClusterNetworkPolicy", name: o.Object.Name, source: o.Source}
	switch spec.Tier {
	case policyv1beta1.AdminTier:
		p.tier = adminTier
	case policyv1beta1.BaselineTier:
		p.tier = baselineTier
	default:
		k.tierFinding(o.Source, p.object(), CodeAdminInvalid, model.Error,
			"spec.tier %q is neither Admin nor Baseline; the API server rejects this policy, so it is ignored", spec.Tier)
		return nil
	}
	if !k.validPriority(p) {
		return nil
	}
	p.subjects = k.tierSubject(p, spec.Subject.Namespaces, (*policyv1alpha1.NamespacedPod)(spec.Subject.Pods))
	var specs []tierRuleSpec
	for i, r := range spec.Ingress {
		var peers []tierPeerSpec
		for _, peer := range r.From {
			peers = append(peers, tierPeerSpec{namespaces: peer.Namespaces, pods: (*policyv1alpha1.NamespacedPod)(peer.Pods)})
		}
		specs = append(specs, tierRuleSpec{ingress, i, string(r.Action), peers, cnpPortsOf(r.Protocols)})
	}
	for i, r := range spec.Egress {
		var peers []tierPeerSpec
		for _, peer := range r.To {
			var nets []string
			for _, n := range peer.Networks {
				nets = append(nets, string(n))
			}
			peers = append(peers, tierPeerSpec{peer.Namespaces, (*policyv1alpha1.NamespacedPod)(peer.Pods), nets, peer.Nodes != nil || len(peer.DomainNames) > 0})
		}
		specs = append(specs, tierRuleSpec{egress, i, string(r.Action), peers, cnpPortsOf(r.Protocols)})
	}
	k.tierRules(p, "Accept", true, specs)
	return p
}

// tierRuleSpec is a rule of any admin kind, before compiling.
type tierRuleSpec struct {
	d      direction
	index  int
	action string
	peers  []tierPeerSpec
	ports  func(k *compiler, p *tierPolicy, where string, r *rule)
}

// tierPeerSpec is a peer of any admin kind: the fields they share.
type tierPeerSpec struct {
	namespaces  *metav1.LabelSelector
	pods        *policyv1alpha1.NamespacedPod
	networks    []string
	unsupported bool // nodes or domainNames
}

func ingressPeers(from []policyv1alpha1.AdminNetworkPolicyIngressPeer) []tierPeerSpec {
	out := make([]tierPeerSpec, len(from))
	for i, peer := range from {
		out[i] = tierPeerSpec{namespaces: peer.Namespaces, pods: peer.Pods}
	}
	return out
}

func anpPortsOf(ports *[]policyv1alpha1.AdminNetworkPolicyPort) func(*compiler, *tierPolicy, string, *rule) {
	return func(k *compiler, p *tierPolicy, where string, r *rule) { k.anpPorts(p, where, ports, r) }
}

func cnpPortsOf(protocols []policyv1beta1.ClusterNetworkPolicyProtocol) func(*compiler, *tierPolicy, string, *rule) {
	return func(k *compiler, p *tierPolicy, where string, r *rule) { k.cnpPorts(p, where, protocols, r) }
}

// tierRules compiles a policy's rules in order. allowName is the kind's
// word for allow; a Pass is an error where the kind has none.
func (k *compiler) tierRules(p *tierPolicy, allowName string, passAllowed bool, specs []tierRuleSpec) {
	p.rules = map[direction][]*tierRule{}
	for _, spec := range specs {
		where := fmt.Sprintf("spec.%s[%d]", spec.d, spec.index)
		act, ok := k.tierAction(p, where, spec.action, allowName)
		if ok && act == pass && !passAllowed {
			k.tierFinding(p.source, p.object(), CodeAdminInvalid, model.Error, "%s: action Pass is not allowed in a %s; the rule is ignored", where, p.kind)
			ok = false
		}
		if !ok {
			continue
		}
		tr := &tierRule{rule: rule{index: spec.index, classes: newBitset(len(k.c.classes))}, action: act}
		for j, peer := range spec.peers {
			k.tierPeer(p, &tr.rule, act, fmt.Sprintf("%s.%s[%d]", where, peerField(spec.d), j), peer)
		}
		spec.ports(k, p, where, &tr.rule)
		p.rules[spec.d] = append(p.rules[spec.d], tr)
	}
}

func (k *compiler) validPriority(p *tierPolicy) bool {
	if p.priority < 0 || p.priority > 1000 {
		k.tierFinding(p.source, p.object(), CodeAdminInvalid, model.Error,
			"spec.priority %d is outside 0-1000; the API server rejects this policy, so it is ignored", p.priority)
		return false
	}
	return true
}

func networks(cidrs []policyv1alpha1.CIDR) []string {
	out := make([]string, len(cidrs))
	for i, c := range cidrs {
		out[i] = string(c)
	}
	return out
}

// tierAction reads a rule's action; allowName is "Allow" for the v1alpha1
// kinds and "Accept" for ClusterNetworkPolicy.
func (k *compiler) tierAction(p *tierPolicy, where, s, allowName string) (action, bool) {
	switch s {
	case allowName:
		return allow, true
	case "Deny":
		return deny, true
	case "Pass":
		return pass, true
	}
	k.tierFinding(p.source, p.object(), CodeAdminInvalid, model.Error,
		"%s: action %q is not one of %s, Deny, Pass; the API server rejects this, so the rule is ignored", where, s, allowName)
	return 0, false
}

// tierSubject compiles a subject: exactly one of namespaces (every pod of
// the matching namespaces) or pods (matching pods in matching namespaces).
func (k *compiler) tierSubject(p *tierPolicy, namespaces *metav1.LabelSelector, pods *policyv1alpha1.NamespacedPod) bitset {
	out := newBitset(len(k.c.classes))
	if (namespaces == nil) == (pods == nil) {
		k.tierFinding(p.source, p.object(), CodeAdminInvalid, model.Error,
			"spec.subject must set exactly one of namespaces or pods; the API server rejects this, so the policy selects nothing")
		return out
	}
	k.matchNamespacedPods(p, "spec.subject", namespaces, pods, out)
	// The arbitrary pod stands for sources and destinations; whether a
	// guardrail binds it is unknowable, so it is never a subject.
	out[k.c.anyPod/64] &^= 1 << (k.c.anyPod % 64)
	return out
}

// matchNamespacedPods sets in out the classes that a namespaces selector or
// a pods (namespace AND pod) selector match.
func (k *compiler) matchNamespacedPods(p *tierPolicy, where string, namespaces *metav1.LabelSelector, pods *policyv1alpha1.NamespacedPod, out bitset) {
	nsSel, podSel := labels.Nothing(), labels.Everything()
	if namespaces != nil {
		nsSel = k.tierSelector(p, where+".namespaces", namespaces)
	} else {
		nsSel = k.tierSelector(p, where+".pods.namespaceSelector", &pods.NamespaceSelector)
		podSel = k.tierSelector(p, where+".pods.podSelector", &pods.PodSelector)
	}
	for n, l := range k.c.nsLabels {
		if !nsSel.Matches(l) {
			continue
		}
		for _, ci := range k.c.byNS[n] {
			if podSel.Matches(k.c.classes[ci].labels) {
				out.set(ci)
			}
		}
	}
	if namespaces != nil && selectsAll(namespaces) || pods != nil && selectsAll(&pods.NamespaceSelector) && selectsAll(&pods.PodSelector) {
		out.set(k.c.anyPod)
	}
}

func (k *compiler) tierSelector(p *tierPolicy, where string, s *metav1.LabelSelector) labels.Selector {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		k.tierFinding(p.source, p.object(), CodeInvalidSelector, model.Error,
			"%s: %v; the API server rejects this policy, so the selector matches nothing here: fix it", where, err)
		return labels.Nothing()
	}
	return sel
}

// tierPeer adds one peer to r. A peer sets exactly one field; one that sets
// none or several is read "fail closed" as the API asks: it matches nothing
// in an Allow rule and everything in a Deny or Pass rule. Networks match
// external addresses only (pod addresses are unknown statically); nodes and
// domain names cannot be evaluated from manifests and match nothing.
// Pinned by TestAdminPeers.
func (k *compiler) tierPeer(p *tierPolicy, r *rule, act action, where string, peer tierPeerSpec) {
	namespaces, pods, nets, unsupported := peer.namespaces, peer.pods, peer.networks, peer.unsupported
	set := 0
	for _, b := range []bool{namespaces != nil, pods != nil, len(nets) > 0, unsupported} {
		if b {
			set++
		}
	}
	switch {
	case set != 1:
		k.tierFinding(p.source, p.object(), CodeAdminInvalid, model.Error,
			"%s: a peer must set exactly one field; read fail-closed (matches nothing for Allow, and the rule denies everything its ports match for Deny and Pass)", where)
		if act != allow {
			for i := range k.c.classes {
				r.classes.set(i)
			}
			r.ips = model.AllIPs()
			r.failClosed = true
		}
	case unsupported:
		k.tierFinding(p.source, p.object(), CodeAdminUnsupportedPeer, model.Info,
			"%s: nodes and domainNames peers cannot be evaluated from manifests; tightnet treats them as matching nothing", where)
	case len(nets) > 0:
		for i, n := range nets {
			set, err := model.ParseCIDR(n)
			if err != nil {
				k.tierFinding(p.source, p.object(), CodeInvalidCIDR, model.Error, "%s.networks[%d]: %v; it matches nothing here", where, i, err)
				continue
			}
			r.ips = r.ips.Union(set)
			r.ipv6 = r.ipv6 || set.Overlaps(model.AllIPv6())
		}
	default:
		k.matchNamespacedPods(p, where, namespaces, pods, r.classes)
	}
}

// anpPorts compiles AdminNetworkPolicy ports: nil is every port; each entry
// sets exactly one of portNumber, portRange (protocol defaults to TCP) or
// namedPort, which resolves on the destination pod whatever its protocol.
func (k *compiler) anpPorts(p *tierPolicy, where string, ports *[]policyv1alpha1.AdminNetworkPolicyPort, r *rule) {
	if ports == nil {
		r.numeric = allConns
		return
	}
	numeric := model.NoConnections()
	for i, e := range *ports {
		at := fmt.Sprintf("%s.ports[%d]", where, i)
		switch {
		case countSet(e.PortNumber != nil, e.PortRange != nil, e.NamedPort != nil) != 1:
			k.tierFinding(p.source, p.object(), CodeInvalidPort, model.Error, "%s: set exactly one of portNumber, portRange, namedPort; this entry matches nothing", at)
		case e.PortNumber != nil:
			if proto, ok := k.tierProtocol(p, at, e.PortNumber.Protocol); ok {
				numeric = numeric.Union(model.Connections(proto, model.Ports(int(e.PortNumber.Port))))
			}
		case e.PortRange != nil:
			proto, ok := k.tierProtocol(p, at, e.PortRange.Protocol)
			if ok && e.PortRange.End < e.PortRange.Start {
				k.tierFinding(p.source, p.object(), CodeInvalidPort, model.Error, "%s: portRange end %d is below start %d; this entry matches nothing", at, e.PortRange.End, e.PortRange.Start)
			} else if ok {
				numeric = numeric.Union(model.Connections(proto, model.PortRange(int(e.PortRange.Start), int(e.PortRange.End))))
			}
		default:
			r.named = append(r.named, anyProtocol(*e.NamedPort)...)
		}
	}
	k.finishPorts(r, numeric)
}

// cnpPorts compiles ClusterNetworkPolicy protocols: empty is every port;
// each entry sets exactly one of tcp, udp, sctp (a destinationPort of one
// number or one range, or every port) or destinationNamedPort.
func (k *compiler) cnpPorts(p *tierPolicy, where string, protocols []policyv1beta1.ClusterNetworkPolicyProtocol, r *rule) {
	if len(protocols) == 0 {
		r.numeric = allConns
		return
	}
	numeric := model.NoConnections()
	for i, e := range protocols {
		at := fmt.Sprintf("%s.protocols[%d]", where, i)
		var proto model.Protocol
		var dp *policyv1beta1.Port
		switch {
		case countSet(e.TCP != nil, e.UDP != nil, e.SCTP != nil, e.DestinationNamedPort != "") != 1:
			k.tierFinding(p.source, p.object(), CodeInvalidPort, model.Error, "%s: set exactly one of tcp, udp, sctp, destinationNamedPort; this entry matches nothing", at)
			continue
		case e.DestinationNamedPort != "":
			r.named = append(r.named, anyProtocol(e.DestinationNamedPort)...)
			continue
		case e.TCP != nil:
			proto, dp = model.TCP, e.TCP.DestinationPort
		case e.UDP != nil:
			proto, dp = model.UDP, e.UDP.DestinationPort
		default:
			proto, dp = model.SCTP, e.SCTP.DestinationPort
		}
		switch {
		case dp == nil:
			numeric = numeric.Union(model.Connections(proto, model.AllPorts()))
		case (dp.Number != 0) == (dp.Range != nil):
			k.tierFinding(p.source, p.object(), CodeInvalidPort, model.Error, "%s: destinationPort must set exactly one of number or range; this entry matches nothing", at)
		case dp.Range != nil && dp.Range.End < dp.Range.Start:
			k.tierFinding(p.source, p.object(), CodeInvalidPort, model.Error, "%s: range end %d is below start %d; this entry matches nothing", at, dp.Range.End, dp.Range.Start)
		case dp.Range != nil:
			numeric = numeric.Union(model.Connections(proto, model.PortRange(int(dp.Range.Start), int(dp.Range.End))))
		default:
			numeric = numeric.Union(model.Connections(proto, model.Ports(int(dp.Number))))
		}
	}
	k.finishPorts(r, numeric)
}

func (k *compiler) tierProtocol(p *tierPolicy, where string, proto corev1.Protocol) (model.Protocol, bool) {
	v, err := protocolOf(proto)
	if err != nil {
		k.tierFinding(p.source, p.object(), CodeInvalidPort, model.Error, "%s: %v; this entry matches nothing", where, err)
		return 0, false
	}
	return v, true
}

func (k *compiler) finishPorts(r *rule, numeric model.ConnectionSet) {
	r.numeric = k.sets.ID(numeric)
	if len(r.named) > 0 {
		r.resolved = map[int]connID{}
	}
}

// anyProtocol is a named port that matches a container port of that name
// whatever its protocol, as the admin kinds' named ports do.
func anyProtocol(name string) []namedPort {
	out := make([]namedPort, 0, 3)
	for _, proto := range model.Protocols() {
		out = append(out, namedPort{name, proto})
	}
	return out
}

func countSet(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// tierRows is one tier's verdicts in one direction, per subject class over
// the row index space (classes, then address atoms). A nil row means no
// policy of the tier selects the class.
type tierRows struct {
	undecided, allowed, denied [][]connID
}

// evaluateTier walks a tier's rules in precedence order. Each rule takes
// the part of its ports that no earlier rule decided, per pair: first match
// wins, connection by connection. Pass removes connections from the tier
// without allowing or denying them.
func (e *evaluation) evaluateTier(policies []*tierPolicy, t tier, d direction) tierRows {
	sets := e.k.sets
	width := e.nc + e.na
	rows := tierRows{
		undecided: make([][]connID, e.nc),
		allowed:   make([][]connID, e.nc),
		denied:    make([][]connID, e.nc),
	}
	var inTier []*tierPolicy
	for _, p := range policies {
		if p.tier == t && len(p.rules[d]) > 0 {
			inTier = append(inTier, p)
		}
	}
	// Subjects that the same policies select, and on which named ports
	// resolve alike, get the same verdicts: evaluate one representative per
	// group and share its rows (they are not modified afterwards).
	for _, group := range e.tierGroups(inTier, d) {
		x := group[0]
		und := make([]connID, width)
		for i := range und {
			und[i] = allConns
		}
		allowed, denied := make([]connID, width), make([]connID, width)
		for _, p := range inTier {
			if !p.subjects.has(x) {
				continue
			}
			for _, r := range p.rules[d] {
				var verdict []connID
				switch r.effective() {
				case allow:
					verdict = allowed
				case deny:
					verdict = denied
				}
				take := func(y int, ports connID) {
					m := sets.intersection(ports, und[y])
					if m == noConns {
						return
					}
					und[y] = sets.subtract(und[y], m)
					if verdict != nil {
						verdict[y] = sets.union(verdict[y], m)
					}
				}
				r.classes.each(func(y int) {
					if d == egress {
						take(y, e.k.portsOn(&r.rule, y))
					} else {
						take(y, e.k.portsOn(&r.rule, x))
					}
				})
				r.atoms.each(func(t int) {
					if d == egress {
						take(e.nc+t, r.numeric)
					} else {
						take(e.nc+t, e.k.portsOn(&r.rule, x))
					}
				})
			}
		}
		for _, member := range group {
			rows.undecided[member], rows.allowed[member], rows.denied[member] = und, allowed, denied
		}
	}
	return rows
}

// tierGroups groups the classes some policy of the tier selects by which
// policies select them and, for ingress, what the rules' named ports
// resolve to on them.
func (e *evaluation) tierGroups(policies []*tierPolicy, d direction) [][]int {
	var groups [][]int
	index := map[string]int{}
	var key strings.Builder
	for x := range e.nc {
		key.Reset()
		for i, p := range policies {
			if !p.subjects.has(x) {
				continue
			}
			fmt.Fprintf(&key, "%d;", i)
			if d == ingress {
				for _, r := range p.rules[d] {
					if len(r.named) > 0 {
						fmt.Fprintf(&key, "%d,", e.k.portsOn(&r.rule, x))
					}
				}
			}
		}
		if key.Len() == 0 {
			continue
		}
		gi, ok := index[key.String()]
		if !ok {
			gi = len(groups)
			index[key.String()] = gi
			groups = append(groups, nil)
		}
		groups[gi] = append(groups[gi], x)
	}
	return groups
}

// precedence combines the tiers for one direction, for every class: the
// Admin tier decides first (allow or deny; pass and no match fall through),
// then NetworkPolicies decide for pods they isolate, then the Baseline tier
// denies what it denies, and everything else is allowed. This is the one
// place the order Admin → NetworkPolicy → Baseline is decided.
// Pinned by the admin-tier scenarios and TestEngineAgreesWithReference.
func (e *evaluation) precedence(np [][]connID, admin, baseline tierRows) [][]connID {
	sets := e.k.sets
	width := e.nc + e.na
	out := make([][]connID, e.nc)
	// Classes no NetworkPolicy isolates and that share their tier rows end
	// up with the same row; compute it once.
	type shared struct{ admin, baseline *connID }
	done := map[shared][]connID{}
	first := func(r []connID) *connID {
		if r == nil {
			return nil
		}
		return &r[0]
	}
	for x := range e.nc {
		if admin.undecided[x] == nil && baseline.undecided[x] == nil {
			out[x] = np[x] // nil stays nil: nothing restricts this class
			continue
		}
		key := shared{first(admin.undecided[x]), first(baseline.undecided[x])}
		if np[x] == nil {
			if row, ok := done[key]; ok {
				out[x] = row
				continue
			}
		}
		row := make([]connID, width)
		for y := range width {
			allowed, rest := noConns, allConns
			if admin.undecided[x] != nil {
				allowed = admin.allowed[x][y]
				rest = sets.subtract(allConns, sets.union(allowed, admin.denied[x][y]))
			}
			lower := allConns
			switch {
			case np[x] != nil:
				lower = np[x][y]
			case baseline.undecided[x] != nil:
				lower = sets.subtract(allConns, baseline.denied[x][y])
			}
			row[y] = sets.union(allowed, sets.intersection(rest, lower))
		}
		if np[x] == nil {
			done[key] = row
		}
		out[x] = row
	}
	return out
}
