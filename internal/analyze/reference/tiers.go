package reference

import (
	"cmp"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// The admin tiers: AdminNetworkPolicy (ANP), BaselineAdminNetworkPolicy
// (BANP) and ClusterNetworkPolicy (CNP). Quotes marked "admin API" are the
// doc comments of the sigs.k8s.io/network-policy-api v0.3.0 Go types.

// direction is the side of a connection a policy rule decides.
type direction uint8

const (
	egress  direction = iota // the source pod's side
	ingress                  // the destination pod's side
)

// action is what a tier rule does with the traffic it matches.
type action uint8

const (
	actionNone  action = iota // an unknown action: the rule is ignored
	actionAllow               // ANP and BANP "Allow", CNP "Accept"
	actionDeny
	actionPass
)

// tierPolicy is an ANP, BANP or CNP in the shape the three share. It is a
// literal transcription of the object: no field is interpreted here.
type tierPolicy struct {
	kind     string // "AdminNetworkPolicy", "BaselineAdminNetworkPolicy" or "ClusterNetworkPolicy"
	name     string
	priority int32 // 0 for a BANP, which has none
	subject  tierSubject
	ingress  []tierRule
	egress   []tierRule
}

// tierSubject is AdminNetworkPolicySubject / ClusterNetworkPolicySubject.
type tierSubject struct {
	namespaces *metav1.LabelSelector
	pods       *namespacedPod
}

// namespacedPod is NamespacedPod (v1alpha1 and v1beta1 spell it alike).
type namespacedPod struct {
	namespaceSelector, podSelector metav1.LabelSelector
}

// tierRule is one ingress or egress rule.
type tierRule struct {
	action action
	peers  []tierPeer
	// ports reports whether the connection's protocol and destination port
	// match the rule's ports (ANP, BANP) or protocols (CNP).
	ports func(dst Endpoint, proto model.Protocol, port int) bool
}

// tierPeer is any of the ingress and egress peer types; fields a type lacks
// stay unset.
type tierPeer struct {
	namespaces  *metav1.LabelSelector
	pods        *namespacedPod
	networks    []string
	nodes       *metav1.LabelSelector
	domainNames []string
}

const (
	kindANP  = "AdminNetworkPolicy"
	kindBANP = "BaselineAdminNetworkPolicy"
	kindCNP  = "ClusterNetworkPolicy"
)

// decideSide decides one side of a connection for pod, the source (egress)
// or the destination (ingress); other is the far end and dst the
// connection's destination, whose ports the rules name.
//
// Admin API (ClusterNetworkPolicySpec.tier): "Policy tiers are evaluated in
// the following order: * Admin tier * NetworkPolicy tier * Baseline tier
// [...] The Admin tier takes precedence over all other policies. [...] If
// Admin tier has made a final decision (Accept or Deny) on a connection, then
// no further evaluation is done. [...] v1.NetworkPolicy always makes a final
// decision for selected pods. Further evaluation only happens for Pods not
// selected by a v1.NetworkPolicy. [...] Baseline tier is a cluster-wide
// policy that can be overridden by the v1.NetworkPolicy. If Baseline tier has
// made a final decision (Accept or Deny) on a connection, then no further
// evaluation is done. If a given connection wasn't allowed or denied by any
// of the tiers, the default kubernetes policy is applied, which says that all
// pods can communicate with each other."
func decideSide(objs *manifest.Objects, dir direction, pod *manifest.Workload, other, dst Endpoint, proto model.Protocol, port int) bool {
	// 1. Admin tier. Admin API (AdminNetworkPolicyRuleActionPass): "matching
	// traffic will bypass further AdminNetworkPolicy processing (ignoring
	// rules with lower precedence) and be allowed or denied based on
	// NetworkPolicy and BaselineAdminNetworkPolicy rules."
	switch firstMatch(objs, adminTier(objs), dir, pod, other, dst, proto, port) {
	case actionAllow:
		return true
	case actionDeny:
		return false
	}

	// 2. NetworkPolicy tier: a pod isolated in this direction gets exactly
	// what NetworkPolicies allow. "Selected" in the admin API's sentence
	// above means isolated in this direction: a pod selected only by
	// ingress policies is not isolated for egress (concept page), so its
	// egress goes on to the Baseline tier.
	var isolated, allowed bool
	if dir == egress {
		isolated, allowed = networkPolicyEgress(objs, pod, dst, proto, port)
	} else {
		isolated, allowed = networkPolicyIngress(objs, other, pod, proto, port)
	}
	if isolated {
		return allowed
	}

	// 3. Baseline tier. Admin API (ClusterNetworkPolicyRuleActionPass):
	// "skips rules with lower precedence in the current tier and continues
	// processing in the next tier"; after the Baseline tier the next is the
	// default, which allows.
	return firstMatch(objs, baselineTier(objs), dir, pod, other, dst, proto, port) != actionDeny
}

// firstMatch returns the action of the first rule, in tier order, of a
// policy whose subject selects pod, with a peer matching other and ports
// matching the connection; actionNone when no rule matches.
//
// Admin API (AdminNetworkPolicySpec.ingress; egress and the CNP say the
// same): "The relative precedence of ingress rules within a single ANP object
// (all of which share the priority) will be determined by the order in which
// the rule is written. Thus, a rule that appears at the top of the ingress
// rules would take the highest precedence. ANPs with no ingress rules do not
// affect ingress traffic."
func firstMatch(objs *manifest.Objects, tier []tierPolicy, dir direction, pod *manifest.Workload, other, dst Endpoint, proto model.Protocol, port int) action {
	for _, p := range tier {
		rules := p.ingress
		if dir == egress {
			rules = p.egress
		}
		if len(rules) == 0 || !subjectSelects(objs, p.subject, pod) {
			continue
		}
		for _, r := range rules {
			// Project decision: a rule whose action the policy's kind does
			// not define (the API server rejects it) is ignored.
			if r.action == actionNone {
				continue
			}
			// Admin API (AdminNetworkPolicyEgressRule.to; from says the
			// same of sources): "If any element matches the destination of
			// outgoing traffic then the specified action is applied."
			// Admin API (AdminNetworkPolicyEgressRule.ports): "If Ports is
			// not set then the rule does not filter traffic via port." So
			// the traffic must match both.
			if tierPeersMatch(objs, r.peers, r.action, other) && r.ports(dst, proto, port) {
				// "For 'Deny' and 'Pass' rules, 'fail closed' means: 'treat
				// the rule as a Deny all rule'": a Pass rule with a peer that
				// fails closed denies what it matches.
				if r.action == actionPass && failsClosed(r.peers) {
					return actionDeny
				}
				return r.action
			}
		}
	}
	return actionNone
}

// validPriority reports whether an ANP or CNP priority is in range.
//
// Admin API (AdminNetworkPolicySpec.priority, ClusterNetworkPolicySpec
// .priority): "Priority is a value from 0 to 1000." Project decision: a
// policy with a priority outside 0..1000 (the API server rejects it) is
// ignored.
func validPriority(p int32) bool { return 0 <= p && p <= 1000 }

// adminTier is the Admin tier's policies in evaluation order: every ANP and
// every CNP of tier "Admin" with a valid priority.
//
// Admin API (AdminNetworkPolicySpec.priority): "Policies with lower priority
// values have higher precedence, and are checked before policies with higher
// priority values. [...] If two (or more) policies with the same priority
// could both match a connection, then the implementation can apply any of the
// matching policies to the connection". Project decision: ties go to the ANP
// before the CNP, then to the lower name, so the answer is deterministic.
func adminTier(objs *manifest.Objects) []tierPolicy {
	var out []tierPolicy
	for _, p := range objs.AdminPolicies {
		if p.Object != nil && validPriority(p.Object.Spec.Priority) {
			out = append(out, fromANP(p.Object))
		}
	}
	for _, p := range objs.ClusterPolicies {
		if p.Object != nil && p.Object.Spec.Tier == policyv1beta1.AdminTier && validPriority(p.Object.Spec.Priority) {
			out = append(out, fromCNP(p.Object))
		}
	}
	kindRank := func(kind string) int {
		if kind == kindANP {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(out, func(a, b tierPolicy) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), cmp.Compare(kindRank(a.kind), kindRank(b.kind)), cmp.Compare(a.name, b.name))
	})
	return out
}

// baselineTier is the Baseline tier's policies in evaluation order: every
// CNP of tier "Baseline" with a valid priority, by priority then name, and
// then the BANP named "default".
//
// Admin API (BaselineAdminNetworkPolicy, validation message): "Only one
// baseline admin network policy with metadata.name="default" can be created
// in the cluster".
// Project decision: a BANP with another name (the API server rejects it) is
// ignored, and the BANP, which has no priority, comes after every Baseline
// CNP. A CNP whose tier is neither "Admin" nor "Baseline" (admin API, Tier
// validation: Enum={"Admin", "Baseline"}) is in no tier and ignored.
func baselineTier(objs *manifest.Objects) []tierPolicy {
	var out []tierPolicy
	for _, p := range objs.ClusterPolicies {
		if p.Object != nil && p.Object.Spec.Tier == policyv1beta1.BaselineTier && validPriority(p.Object.Spec.Priority) {
			out = append(out, fromCNP(p.Object))
		}
	}
	slices.SortStableFunc(out, func(a, b tierPolicy) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), cmp.Compare(a.name, b.name))
	})
	for _, p := range objs.BaselinePolicies {
		if p.Object != nil && p.Object.Name == "default" {
			out = append(out, fromBANP(p.Object))
		}
	}
	return out
}

// subjectSelects reports whether a policy's subject selects the pod.
//
// Admin API (AdminNetworkPolicySubject): "Exactly one field must be set."
// Namespaces: "Namespaces is used to select pods via namespace selectors."
// Pods: "Pods is used to select pods via namespace AND pod selectors."
// NamespacedPod: "NamespaceSelector follows standard label selector
// semantics; if empty, it selects all Namespaces." "PodSelector is used to
// explicitly select pods within a namespace; if empty, it selects all Pods."
// Project decision: a subject with neither or both set (the API server
// rejects it) selects nothing; so does an invalid selector (selectorMatches).
// Namespace labels are as for NetworkPolicy (namespaceLabels):
// kubernetes.io/metadata.name is always present.
func subjectSelects(objs *manifest.Objects, s tierSubject, w *manifest.Workload) bool {
	if (s.namespaces != nil) == (s.pods != nil) {
		return false
	}
	if s.namespaces != nil {
		return selectorMatches(s.namespaces, namespaceLabels(objs, podNamespace(w)))
	}
	return namespacedPodMatches(objs, s.pods, w)
}

// namespacedPodMatches reports whether a NamespacedPod selects the pod.
func namespacedPodMatches(objs *manifest.Objects, np *namespacedPod, w *manifest.Workload) bool {
	return selectorMatches(&np.namespaceSelector, namespaceLabels(objs, podNamespace(w))) &&
		selectorMatches(&np.podSelector, w.PodLabels)
}

// tierPeersMatch reports whether the endpoint is one of a rule's from/to
// peers.
//
// Admin API (AdminNetworkPolicyIngressRule.from): "This field must be
// defined and contain at least one item." Project decision: an empty list
// (the API server rejects it) matches nothing, whatever the action.
func tierPeersMatch(objs *manifest.Objects, peers []tierPeer, act action, e Endpoint) bool {
	for _, peer := range peers {
		if tierPeerMatches(objs, peer, act, e) {
			return true
		}
	}
	return false
}

// failsClosed reports whether some peer sets no field or several.
func failsClosed(peers []tierPeer) bool {
	for _, peer := range peers {
		set := 0
		for _, has := range []bool{peer.namespaces != nil, peer.pods != nil, len(peer.networks) > 0, peer.nodes != nil, len(peer.domainNames) > 0} {
			if has {
				set++
			}
		}
		if set != 1 {
			return true
		}
	}
	return false
}

// tierPeerMatches reports whether one peer matches the endpoint.
func tierPeerMatches(objs *manifest.Objects, peer tierPeer, act action, e Endpoint) bool {
	// Project decision: a list field (networks, domainNames) counts as set
	// when it holds at least one item; `networks: []` is not set (the API
	// requires MinItems=1, and the field being omitempty the empty list does
	// not survive a JSON round trip).
	set := 0
	for _, has := range []bool{peer.namespaces != nil, peer.pods != nil, len(peer.networks) > 0, peer.nodes != nil, len(peer.domainNames) > 0} {
		if has {
			set++
		}
	}
	if set != 1 {
		// Admin API (AdminNetworkPolicyEgressPeer): "Exactly one of the
		// fields must be set for a given peer [...]. If an implementation
		// sees no fields are set then it can infer that the deployed CRD is
		// of an incompatible version with an unknown field. In that case it
		// should fail closed. For "Allow" rules, "fail closed" means: "treat
		// the rule as matching no traffic". For "Deny" and "Pass" rules,
		// "fail closed" means: "treat the rule as a 'Deny all' rule"."
		// Project decision: a peer with several fields set (the API server
		// rejects it) fails closed too, and failing closed widens the peer
		// and the rule's ports still apply: for an Allow/Accept rule the
		// peer matches nothing; for a Deny or Pass rule it matches every
		// peer, every pod and every IP, and a Pass rule then denies
		// (firstMatch), as "Deny all" reads.
		return act == actionDeny || act == actionPass
	}
	switch {
	case peer.namespaces != nil:
		// Admin API (AdminNetworkPolicyIngressPeer.namespaces): "Namespaces
		// defines a way to select all pods within a set of Namespaces."
		return e.Workload != nil && selectorMatches(peer.namespaces, namespaceLabels(objs, podNamespace(e.Workload)))
	case peer.pods != nil:
		// Admin API (AdminNetworkPolicyIngressPeer.pods): "Pods defines a
		// way to select a set of pods in a set of namespaces."
		return e.Workload != nil && namespacedPodMatches(objs, peer.pods, e.Workload)
	case len(peer.networks) > 0:
		// Admin API (AdminNetworkPolicyEgressPeer.networks): "Networks
		// defines a way to select peers via CIDR blocks. This is intended
		// for representing entities that live outside the cluster [...] but
		// note that cluster-internal traffic will be checked against the
		// rule as well." Project decision: as for ipBlock, networks never
		// match a pod endpoint, pod IPs being unknown statically.
		if e.Workload != nil {
			return false
		}
		return networksContain(peer.networks, e.IP)
	case peer.nodes != nil:
		// Admin API (AdminNetworkPolicyEgressPeer.nodes): "It selects the
		// nodeIPs as the peer type by matching on the IPs present in the
		// node.Status.Addresses field of the node." Project decision: nodes
		// are not modelled, so a nodes peer matches nothing.
		return false
	default:
		// Admin API (AdminNetworkPolicyEgressPeer.domainNames):
		// "DomainNames provides a way to specify domain names as peers."
		// Project decision: names cannot be resolved statically, so a
		// domainNames peer matches nothing.
		return false
	}
}

// networksContain reports whether the address is inside any of the CIDRs.
//
// Admin API (CIDR): "CIDR is an IP address range in CIDR notation (for
// example, "10.0.0.0/8" or "fd00::/8")." Both families are supported and an
// IPv4-mapped IPv6 address counts as the IPv4 address it maps (model.IPSet).
// Project decision: a CIDR that model.ParseCIDR rejects (the API server
// rejects it too) matches nothing; the others in the list still match.
// model.ParseCIDR masks host bits and reads a bare address as a
// single-address prefix.
func networksContain(networks []string, a netip.Addr) bool {
	for _, cidr := range networks {
		set, err := model.ParseCIDR(cidr)
		if err == nil && set.Contains(a) {
			return true
		}
	}
	return false
}

// anpPortsMatch reports whether the connection matches an ANP or BANP rule's
// ports.
//
// Admin API (AdminNetworkPolicyIngressRule.ports): "Ports allows for
// matching traffic based on port and protocols. [...] So it matches on the
// destination port for the ingress traffic. If Ports is not set then the
// rule does not filter traffic via port." Not set means every port of every
// protocol. Project decision: an empty list (the API requires MinItems=1)
// matches nothing; otherwise any entry matching is enough.
func anpPortsMatch(ports *[]policyv1alpha1.AdminNetworkPolicyPort, dst Endpoint, proto model.Protocol, port int) bool {
	if ports == nil {
		return true
	}
	for _, pp := range *ports {
		if anpPortMatches(pp, dst, proto, port) {
			return true
		}
	}
	return false
}

// anpPortMatches reports whether one AdminNetworkPolicyPort matches.
func anpPortMatches(pp policyv1alpha1.AdminNetworkPolicyPort, dst Endpoint, proto model.Protocol, port int) bool {
	// Admin API (AdminNetworkPolicyPort): "Exactly one field must be set."
	// Project decision: an entry with none or several (the API server
	// rejects it) matches nothing.
	set := 0
	for _, has := range []bool{pp.PortNumber != nil, pp.PortRange != nil, pp.NamedPort != nil} {
		if has {
			set++
		}
	}
	if set != 1 {
		return false
	}
	switch {
	case pp.PortNumber != nil:
		// Admin API (Port): "Protocol is the network protocol (TCP, UDP, or
		// SCTP) which traffic must match. If not specified, this field
		// defaults to TCP." "Number defines a network port value."
		p, ok := adminProtocol(pp.PortNumber.Protocol)
		return ok && p == proto && int(pp.PortNumber.Port) == port
	case pp.PortRange != nil:
		// Admin API (PortRange): "PortRange defines an inclusive range of
		// ports from the the assigned Start value to End value." Project
		// decision: end < start (the API server rejects it) matches
		// nothing; start == end is that one port.
		r := pp.PortRange
		p, ok := adminProtocol(r.Protocol)
		if !ok || p != proto || r.End < r.Start {
			return false
		}
		return int(r.Start) <= port && port <= int(r.End)
	default:
		// Admin API (AdminNetworkPolicyPort.namedPort): "NamedPort selects
		// a port on a pod(s) based on name."
		return namedPortAnyProtocol(*pp.NamedPort, dst, proto, port)
	}
}

// adminProtocol maps an ANP port's protocol, empty meaning TCP. Project
// decision: any value but TCP, UDP and SCTP (the API server rejects it;
// values are case-sensitive) matches nothing.
func adminProtocol(p corev1.Protocol) (model.Protocol, bool) {
	if p == "" {
		return model.TCP, true
	}
	return protocolOf(p)
}

// cnpProtocolsMatch reports whether the connection matches a CNP rule's
// protocols.
//
// Admin API (ClusterNetworkPolicyIngressRule.protocols): "Protocols allows
// for more fine-grain matching of traffic on protocol-specific attributes
// such as the port. If unspecified, protocol-specific attributes will not be
// used to match traffic." Unspecified (nil or empty: the field is omitempty)
// means every port of every protocol; otherwise any entry matching is
// enough.
func cnpProtocolsMatch(protocols []policyv1beta1.ClusterNetworkPolicyProtocol, dst Endpoint, proto model.Protocol, port int) bool {
	if len(protocols) == 0 {
		return true
	}
	for _, pr := range protocols {
		if cnpProtocolMatches(pr, dst, proto, port) {
			return true
		}
	}
	return false
}

// cnpProtocolMatches reports whether one ClusterNetworkPolicyProtocol
// matches.
func cnpProtocolMatches(pr policyv1beta1.ClusterNetworkPolicyProtocol, dst Endpoint, proto model.Protocol, port int) bool {
	// Admin API (ClusterNetworkPolicyProtocol): "Exactly one field must be
	// set." Project decision: an entry with none or several (the API server
	// rejects it) matches nothing; destinationNamedPort is set when
	// non-empty (the field is an omitempty string).
	set := 0
	for _, has := range []bool{pr.TCP != nil, pr.UDP != nil, pr.SCTP != nil, pr.DestinationNamedPort != ""} {
		if has {
			set++
		}
	}
	if set != 1 {
		return false
	}
	switch {
	case pr.TCP != nil:
		return proto == model.TCP && cnpPortMatches(pr.TCP.DestinationPort, port)
	case pr.UDP != nil:
		return proto == model.UDP && cnpPortMatches(pr.UDP.DestinationPort, port)
	case pr.SCTP != nil:
		return proto == model.SCTP && cnpPortMatches(pr.SCTP.DestinationPort, port)
	default:
		// Admin API (ClusterNetworkPolicyProtocol.destinationNamedPort):
		// "DestinationNamedPort selects a destination port on a pod based on
		// the ContainerPort name."
		return namedPortAnyProtocol(pr.DestinationNamedPort, dst, proto, port)
	}
}

// cnpPortMatches reports whether a CNP protocol's destinationPort matches.
//
// Admin API (ClusterNetworkPolicyProtocolTCP.destinationPort): "DestinationPort
// for the match." and it is optional: absent means every port of the
// protocol. Admin API (Port): "Port matches on port number. You must specify
// either Port or Range." "Number defines a network port value." (Minimum=1,
// Maximum=65535.) PortRange: "PortRange defines an inclusive range of ports
// from the assigned Start value to End value." Project decision: a port with
// both or neither set, a number outside 1..65535, or a range with end <
// start (all rejected by the API server) matches nothing; start == end is
// that one port. Number is an omitempty integer, so 0 is "not set".
func cnpPortMatches(p *policyv1beta1.Port, port int) bool {
	if p == nil {
		return true
	}
	hasNumber, hasRange := p.Number != 0, p.Range != nil
	if hasNumber == hasRange {
		return false
	}
	if hasNumber {
		return 1 <= p.Number && p.Number <= 65535 && int(p.Number) == port
	}
	if p.Range.End < p.Range.Start {
		return false
	}
	return int(p.Range.Start) <= port && port <= int(p.Range.End)
}

// namedPortAnyProtocol resolves an ANP namedPort or CNP destinationNamedPort
// against the destination pod.
//
// Unlike a NetworkPolicy named port, these entries carry no protocol: the
// name stands for the container port itself. Project decision: the entry
// matches iff (proto, port) is the (protocol, containerPort) of some
// container port (in spec.containers or spec.initContainers) with that name,
// the protocol being the container port's own (default TCP). The name is
// looked up on the destination, for egress rules too; a named port never
// matches an IP destination (admin API, AdminNetworkPolicyEgressRule
// validation message: "there are no namedPorts for
// networks/nodes/domainNames"), and an empty
// name matches nothing, unnamed container ports having no name.
func namedPortAnyProtocol(name string, dst Endpoint, proto model.Protocol, port int) bool {
	if dst.Workload == nil || name == "" {
		return false
	}
	spec := dst.Workload.Pod
	for _, c := range slices.Concat(spec.Containers, spec.InitContainers) {
		for _, cp := range c.Ports {
			cpProto := cp.Protocol
			if cpProto == "" {
				cpProto = corev1.ProtocolTCP
			}
			p, ok := protocolOf(cpProto)
			if cp.Name == name && ok && p == proto && int(cp.ContainerPort) == port {
				return true
			}
		}
	}
	return false
}

// --- transcription of the three kinds into tierPolicy ---

func fromANP(p *policyv1alpha1.AdminNetworkPolicy) tierPolicy {
	out := tierPolicy{kind: kindANP, name: p.Name, priority: p.Spec.Priority, subject: fromANPSubject(p.Spec.Subject)}
	for _, r := range p.Spec.Ingress {
		out.ingress = append(out.ingress, tierRule{
			action: anpAction(r.Action),
			peers:  fromANPIngressPeers(r.From),
			ports:  anpPorts(r.Ports),
		})
	}
	for _, r := range p.Spec.Egress {
		var peers []tierPeer
		for _, pe := range r.To {
			peers = append(peers, tierPeer{
				namespaces:  pe.Namespaces,
				pods:        fromV1alpha1Pod(pe.Pods),
				networks:    strs(pe.Networks),
				nodes:       pe.Nodes,
				domainNames: strs(pe.DomainNames),
			})
		}
		out.egress = append(out.egress, tierRule{action: anpAction(r.Action), peers: peers, ports: anpPorts(r.Ports)})
	}
	return out
}

func fromBANP(p *policyv1alpha1.BaselineAdminNetworkPolicy) tierPolicy {
	out := tierPolicy{kind: kindBANP, name: p.Name, subject: fromANPSubject(p.Spec.Subject)}
	for _, r := range p.Spec.Ingress {
		out.ingress = append(out.ingress, tierRule{
			action: banpAction(r.Action),
			peers:  fromANPIngressPeers(r.From),
			ports:  anpPorts(r.Ports),
		})
	}
	for _, r := range p.Spec.Egress {
		var peers []tierPeer
		for _, pe := range r.To {
			// BaselineAdminNetworkPolicyEgressPeer has no domainNames.
			peers = append(peers, tierPeer{
				namespaces: pe.Namespaces,
				pods:       fromV1alpha1Pod(pe.Pods),
				networks:   strs(pe.Networks),
				nodes:      pe.Nodes,
			})
		}
		out.egress = append(out.egress, tierRule{action: banpAction(r.Action), peers: peers, ports: anpPorts(r.Ports)})
	}
	return out
}

func fromCNP(p *policyv1beta1.ClusterNetworkPolicy) tierPolicy {
	out := tierPolicy{kind: kindCNP, name: p.Name, priority: p.Spec.Priority, subject: tierSubject{
		namespaces: p.Spec.Subject.Namespaces,
		pods:       fromV1beta1Pod(p.Spec.Subject.Pods),
	}}
	for _, r := range p.Spec.Ingress {
		var peers []tierPeer
		for _, pe := range r.From {
			peers = append(peers, tierPeer{namespaces: pe.Namespaces, pods: fromV1beta1Pod(pe.Pods)})
		}
		out.ingress = append(out.ingress, tierRule{action: cnpAction(r.Action), peers: peers, ports: cnpProtocols(r.Protocols)})
	}
	for _, r := range p.Spec.Egress {
		var peers []tierPeer
		for _, pe := range r.To {
			peers = append(peers, tierPeer{
				namespaces:  pe.Namespaces,
				pods:        fromV1beta1Pod(pe.Pods),
				networks:    strs(pe.Networks),
				nodes:       pe.Nodes,
				domainNames: strs(pe.DomainNames),
			})
		}
		out.egress = append(out.egress, tierRule{action: cnpAction(r.Action), peers: peers, ports: cnpProtocols(r.Protocols)})
	}
	return out
}

func fromANPSubject(s policyv1alpha1.AdminNetworkPolicySubject) tierSubject {
	return tierSubject{namespaces: s.Namespaces, pods: fromV1alpha1Pod(s.Pods)}
}

func fromANPIngressPeers(peers []policyv1alpha1.AdminNetworkPolicyIngressPeer) []tierPeer {
	var out []tierPeer
	for _, pe := range peers {
		out = append(out, tierPeer{namespaces: pe.Namespaces, pods: fromV1alpha1Pod(pe.Pods)})
	}
	return out
}

func fromV1alpha1Pod(p *policyv1alpha1.NamespacedPod) *namespacedPod {
	if p == nil {
		return nil
	}
	return &namespacedPod{namespaceSelector: p.NamespaceSelector, podSelector: p.PodSelector}
}

func fromV1beta1Pod(p *policyv1beta1.NamespacedPod) *namespacedPod {
	if p == nil {
		return nil
	}
	return &namespacedPod{namespaceSelector: p.NamespaceSelector, podSelector: p.PodSelector}
}

// strs converts a list of CIDRs or domain names to strings.
func strs[S ~string](xs []S) []string {
	var out []string
	for _, x := range xs {
		out = append(out, string(x))
	}
	return out
}

func anpPorts(ports *[]policyv1alpha1.AdminNetworkPolicyPort) func(Endpoint, model.Protocol, int) bool {
	return func(dst Endpoint, proto model.Protocol, port int) bool { return anpPortsMatch(ports, dst, proto, port) }
}

func cnpProtocols(protocols []policyv1beta1.ClusterNetworkPolicyProtocol) func(Endpoint, model.Protocol, int) bool {
	return func(dst Endpoint, proto model.Protocol, port int) bool {
		return cnpProtocolsMatch(protocols, dst, proto, port)
	}
}

// anpAction maps an ANP rule's action. Admin API
// (AdminNetworkPolicyRuleAction validation): Enum={"Allow", "Deny", "Pass"}.
func anpAction(a policyv1alpha1.AdminNetworkPolicyRuleAction) action {
	switch a {
	case policyv1alpha1.AdminNetworkPolicyRuleActionAllow:
		return actionAllow
	case policyv1alpha1.AdminNetworkPolicyRuleActionDeny:
		return actionDeny
	case policyv1alpha1.AdminNetworkPolicyRuleActionPass:
		return actionPass
	}
	return actionNone
}

// banpAction maps a BANP rule's action. Admin API
// (BaselineAdminNetworkPolicyRuleAction validation): Enum={"Allow", "Deny"};
// "Pass" is not one of them.
func banpAction(a policyv1alpha1.BaselineAdminNetworkPolicyRuleAction) action {
	switch a {
	case policyv1alpha1.BaselineAdminNetworkPolicyRuleActionAllow:
		return actionAllow
	case policyv1alpha1.BaselineAdminNetworkPolicyRuleActionDeny:
		return actionDeny
	}
	return actionNone
}

// cnpAction maps a CNP rule's action. Admin API
// (ClusterNetworkPolicyRuleAction validation): Enum={"Accept", "Deny",
// "Pass"}; Accept "Accepts the selected traffic", the same as an ANP's
// Allow, and "Allow" is not one of them.
func cnpAction(a policyv1beta1.ClusterNetworkPolicyRuleAction) action {
	switch a {
	case policyv1beta1.ClusterNetworkPolicyRuleActionAccept:
		return actionAllow
	case policyv1beta1.ClusterNetworkPolicyRuleActionDeny:
		return actionDeny
	case policyv1beta1.ClusterNetworkPolicyRuleActionPass:
		return actionPass
	}
	return actionNone
}
