// Package reference decides Kubernetes network-policy connectivity the slow,
// obvious way: one concrete connection at a time, written straight from the
// documentation, with no caching, no equivalence classes and no cleverness.
// It covers NetworkPolicy (networking.k8s.io/v1) and the cluster-wide admin
// tiers around it: AdminNetworkPolicy and BaselineAdminNetworkPolicy
// (policy.networking.k8s.io/v1alpha1) and ClusterNetworkPolicy
// (policy.networking.k8s.io/v1alpha2 and v1beta1).
//
// It is the oracle that the fast connectivity engine is property-tested
// against, so clarity and literal fidelity to the documentation matter more
// than speed: every rule below quotes the sentence of the documentation it
// implements, either the concept page
// (https://kubernetes.io/docs/concepts/services-networking/network-policies/,
// "the concept page"), the networking/v1 API reference ("the API
// reference"), or the doc comments of the sigs.k8s.io/network-policy-api
// v0.3.0 Go types ("the admin API"), and every decision the documentation
// leaves open is written down as the project's decision where it is made.
// Each rule is pinned by a test in reference_test.go or tiers_test.go named
// after it.
//
// Input: manifest.Objects and one connection (source, destination, protocol,
// port). Output: allowed or not. It must not be used by stages (it is far too
// slow for real clusters) and must not depend on the engine it checks.
package reference

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Endpoint is one end of a concrete connection: a pod of a workload, or an
// external IP address.
type Endpoint struct {
	Workload *manifest.Workload // nil for an IP endpoint
	IP       netip.Addr         // set for an IP endpoint
}

// Pod is an endpoint standing for one pod of the workload. Every pod of a
// workload has the same labels and ports, so any one of them stands for all.
func Pod(w *manifest.Workload) Endpoint { return Endpoint{Workload: w} }

// Address is an endpoint standing for an IP address outside the cluster.
func Address(a netip.Addr) Endpoint { return Endpoint{IP: a} }

// String names the endpoint as peers are named: "namespace/name[Kind]" or
// the address.
func (e Endpoint) String() string {
	if e.Workload != nil {
		return e.Workload.Peer().String()
	}
	return e.IP.String()
}

// Allowed reports whether src may open a connection to dst on proto/port
// under objs' policies.
//
// Concept page: "For a connection from a source pod to a destination pod to
// be allowed, both the egress policy on the source pod and the ingress policy
// on the destination pod need to allow the connection. If either side does
// not allow the connection, it will not happen." The admin tiers decide per
// direction too (admin API, ClusterNetworkPolicyEgressRule.action: "Accept:
// Accepts the selected traffic [...]. No further egress ClusterNetworkPolicy
// or NetworkPolicy rules will be processed but any ingress rules at the
// destination do apply."), so each side is decided on its own, tier by tier
// (decideSide), and the connection is allowed iff both sides are.
//
// Project decision: a connection between two IP endpoints is not a cluster
// question (no policy can select either end), so Allowed reports false for it
// rather than guess.
func Allowed(objs *manifest.Objects, src, dst Endpoint, proto model.Protocol, port int) bool {
	if src.Workload == nil && dst.Workload == nil {
		return false
	}
	return egressAllows(objs, src, dst, proto, port) && ingressAllows(objs, src, dst, proto, port)
}

// Conns returns, for a pair of endpoints, the set of (protocol, port) the
// reference allows, by asking Allowed for every protocol and every port in
// ports (for example the clustergen.InterestingPorts of objs). Ports outside
// ports are never in the result.
func Conns(objs *manifest.Objects, src, dst Endpoint, ports model.PortSet) model.ConnectionSet {
	out := model.NoConnections()
	for _, proto := range model.Protocols() {
		var allowed []int
		for _, r := range ports.Ranges() {
			for port := r[0]; port <= r[1]; port++ {
				if Allowed(objs, src, dst, proto, port) {
					allowed = append(allowed, port)
				}
			}
		}
		out = out.Union(model.Connections(proto, model.Ports(allowed...)))
	}
	return out
}

// egressAllows decides the source's side of the connection.
func egressAllows(objs *manifest.Objects, src, dst Endpoint, proto model.Protocol, port int) bool {
	// Traffic from an address outside the cluster leaves no pod, so no
	// policy's egress side applies to it.
	if src.Workload == nil {
		return true
	}
	return decideSide(objs, egress, src.Workload, dst, dst, proto, port)
}

// ingressAllows decides the destination's side of the connection.
func ingressAllows(objs *manifest.Objects, src, dst Endpoint, proto model.Protocol, port int) bool {
	// Traffic to an address outside the cluster enters no pod, so no
	// policy's ingress side applies to it.
	if dst.Workload == nil {
		return true
	}
	return decideSide(objs, ingress, dst.Workload, src, dst, proto, port)
}

// networkPolicyEgress decides the source pod's side by NetworkPolicies
// alone: whether any isolates the pod for egress and, if so, whether one
// allows the connection.
func networkPolicyEgress(objs *manifest.Objects, src *manifest.Workload, dst Endpoint, proto model.Protocol, port int) (isolated, allowed bool) {
	// Concept page: "By default, a pod is non-isolated for egress; all
	// outbound connections are allowed. A pod is isolated for egress if there
	// is any NetworkPolicy that both selects the pod and has "Egress" in its
	// policyTypes; we say that such a policy applies to the pod for egress.
	// When a pod is isolated for egress, the only allowed connections from
	// the pod are those allowed by the egress list of some NetworkPolicy that
	// applies to the pod for egress. [...] The effects of those egress lists
	// combine additively."
	for _, p := range objs.Policies {
		np := p.Object
		if np == nil || !selectsPod(np, src) || !hasPolicyType(np, networkingv1.PolicyTypeEgress) {
			continue
		}
		isolated = true
		// API reference (NetworkPolicyEgressRule): "The traffic must match
		// both ports and to."
		for _, rule := range np.Spec.Egress {
			if peersMatch(objs, policyNamespace(np), rule.To, dst) && portsMatch(rule.Ports, dst, proto, port) {
				return true, true
			}
		}
	}
	return isolated, false
}

// networkPolicyIngress decides the destination pod's side by
// NetworkPolicies alone: whether any isolates the pod for ingress and, if
// so, whether one allows the connection.
func networkPolicyIngress(objs *manifest.Objects, src Endpoint, dst *manifest.Workload, proto model.Protocol, port int) (isolated, allowed bool) {
	// Concept page: "By default, a pod is non-isolated for ingress; all
	// inbound connections are allowed. A pod is isolated for ingress if there
	// is any NetworkPolicy that both selects the pod and has "Ingress" in its
	// policyTypes; we say that such a policy applies to the pod for ingress.
	// When a pod is isolated for ingress, the only allowed connections into
	// the pod are those from the pod's node and those allowed by the ingress
	// list of some NetworkPolicy that applies to the pod for ingress. The
	// effects of those ingress lists combine additively."
	// (Connections from the pod's own node are not modelled: nodes are not
	// endpoints here.)
	for _, p := range objs.Policies {
		np := p.Object
		if np == nil || !selectsPod(np, dst) || !hasPolicyType(np, networkingv1.PolicyTypeIngress) {
			continue
		}
		isolated = true
		// API reference (NetworkPolicyIngressRule): "The traffic must match
		// both ports and from."
		for _, rule := range np.Spec.Ingress {
			if peersMatch(objs, policyNamespace(np), rule.From, src) && portsMatch(rule.Ports, Pod(dst), proto, port) {
				return true, true
			}
		}
	}
	return isolated, false
}

// policyNamespace is the namespace a policy lives in. A namespaced object
// without metadata.namespace goes to the "default" namespace, as kubectl
// apply puts it there.
func policyNamespace(np *networkingv1.NetworkPolicy) string {
	if np.Namespace == "" {
		return manifest.DefaultNamespace
	}
	return np.Namespace
}

// podNamespace is the namespace of a workload's pods, "default" when unset.
func podNamespace(w *manifest.Workload) string {
	if w.Namespace == "" {
		return manifest.DefaultNamespace
	}
	return w.Namespace
}

// selectsPod reports whether the policy applies to the workload's pods.
//
// API reference (NetworkPolicySpec.podSelector): "podSelector selects the
// pods to which this NetworkPolicy object applies. [...] An empty selector
// matches all pods in the policy's namespace." A NetworkPolicy is namespaced:
// it only ever selects pods of its own namespace.
func selectsPod(np *networkingv1.NetworkPolicy, w *manifest.Workload) bool {
	if podNamespace(w) != policyNamespace(np) {
		return false
	}
	return selectorMatches(&np.Spec.PodSelector, w.PodLabels)
}

// hasPolicyType reports whether the policy's effective policyTypes hold t.
//
// API reference (NetworkPolicySpec.policyTypes): "If this field is not
// specified, it will default based on the existence of ingress or egress
// rules; policies that contain an egress section are assumed to affect
// egress, and all policies (whether or not they contain an ingress section)
// are assumed to affect ingress."
//
// Project decision: "contain an egress section" means spec.egress holds at
// least one rule; `egress: []` is no egress section (it cannot survive a JSON
// round trip anyway, the field being omitempty). Values other than "Ingress"
// and "Egress" (which the API server rejects) are ignored.
func hasPolicyType(np *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	types := np.Spec.PolicyTypes
	if len(types) == 0 {
		types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			types = append(types, networkingv1.PolicyTypeEgress)
		}
	}
	for _, have := range types {
		if have == t {
			return true
		}
	}
	return false
}

// peersMatch reports whether the endpoint is one of a rule's from/to peers.
//
// API reference (NetworkPolicyIngressRule.from; .to says the same of
// destinations): "Items in this list are combined using a logical OR
// operation. If this field is empty or missing, this rule matches all sources
// (traffic not restricted by source). If this field is present and contains
// at least one item, this rule allows traffic only if the traffic matches at
// least one item in the from list."
// "All sources" means pods in any namespace and every IP address.
func peersMatch(objs *manifest.Objects, policyNS string, peers []networkingv1.NetworkPolicyPeer, e Endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, peer := range peers {
		if peerMatches(objs, policyNS, peer, e) {
			return true
		}
	}
	return false
}

// peerMatches reports whether one NetworkPolicyPeer matches the endpoint.
func peerMatches(objs *manifest.Objects, policyNS string, peer networkingv1.NetworkPolicyPeer, e Endpoint) bool {
	hasSelector := peer.PodSelector != nil || peer.NamespaceSelector != nil
	switch {
	case peer.IPBlock != nil && hasSelector:
		// API reference (NetworkPolicyPeer.ipBlock): "If this field is set
		// then neither of the other fields can be." Project decision: such a
		// peer, which the API server rejects, matches nothing.
		return false
	case peer.IPBlock != nil:
		// Project decision: an ipBlock never matches a pod endpoint, because
		// pod IPs are unknown statically. The concept page agrees in spirit:
		// ipBlock ranges "should be cluster-external IPs, since Pod IPs are
		// ephemeral and unpredictable."
		if e.Workload != nil {
			return false
		}
		return ipBlockContains(peer.IPBlock, e.IP)
	case !hasSelector:
		// Project decision: a peer with none of podSelector,
		// namespaceSelector and ipBlock (the API server rejects it) matches
		// nothing.
		return false
	}
	// podSelector and namespaceSelector select pods, never IP addresses.
	if e.Workload == nil {
		return false
	}
	ns := podNamespace(e.Workload)
	if peer.NamespaceSelector != nil {
		// API reference (NetworkPolicyPeer.namespaceSelector):
		// "namespaceSelector selects namespaces using cluster-scoped labels.
		// This field follows standard label selector semantics; if present
		// but empty, it selects all namespaces. If podSelector is also set,
		// then the NetworkPolicyPeer as a whole selects the pods matching
		// podSelector in the namespaces selected by namespaceSelector.
		// Otherwise it selects all pods in the namespaces selected by
		// namespaceSelector."
		if !selectorMatches(peer.NamespaceSelector, namespaceLabels(objs, ns)) {
			return false
		}
	} else if ns != policyNS {
		// API reference (NetworkPolicyPeer.podSelector): "If
		// namespaceSelector is also set, then the NetworkPolicyPeer as a
		// whole selects the pods matching podSelector in the Namespaces
		// selected by NamespaceSelector. Otherwise it selects the pods
		// matching podSelector in the policy's own namespace."
		return false
	}
	if peer.PodSelector != nil {
		// API reference (NetworkPolicyPeer.podSelector): "podSelector is a
		// label selector which selects pods. This field follows standard
		// label selector semantics; if present but empty, it selects all
		// pods."
		return selectorMatches(peer.PodSelector, e.Workload.PodLabels)
	}
	return true
}

// namespaceLabels is the labels of the named namespace.
//
// Concept page: "The Kubernetes control plane sets an immutable label
// kubernetes.io/metadata.name on all namespaces, the value of the label is
// the namespace name." So that label is always present and always equals the
// name, whatever the input says. Project decision: a namespace absent from
// objs.Namespaces has that label only.
func namespaceLabels(objs *manifest.Objects, name string) labels.Set {
	out := labels.Set{}
	for _, ns := range objs.Namespaces {
		if ns.Name == name {
			for k, v := range ns.Labels {
				out[k] = v
			}
			break
		}
	}
	out[manifest.NamespaceNameLabel] = name
	return out
}

// selectorMatches applies a label selector to a set of labels, with the
// standard semantics of metav1.LabelSelectorAsSelector: an empty selector {}
// matches everything. Project decision: a selector that fails to convert (an
// unknown operator such as "Bogus", In/NotIn without values, Exists with
// values, an invalid key or value), which the API server would reject,
// matches nothing.
func selectorMatches(sel *metav1.LabelSelector, lbls map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(lbls))
}

// ipBlockContains reports whether the address is inside the block's cidr and
// outside every except.
//
// API reference (IPBlock): "IPBlock describes a particular CIDR (Ex.
// "192.168.1.0/24","2001:db8::/64") that is allowed to the pods matched by a
// NetworkPolicySpec's podSelector. The except entry describes CIDRs that
// should not be included within this rule."
//
// Both families are supported; IPv4 and IPv6 are separate spaces and an
// IPv4-mapped IPv6 address counts as the IPv4 address it maps (model.IPSet).
// Project decision: a block whose cidr or any except fails to parse (the API
// server rejects it) matches nothing. model.ParseCIDR masks host bits
// (10.1.2.3/8 is 10.0.0.0/8) and reads a bare address as a single-address
// prefix.
func ipBlockContains(b *networkingv1.IPBlock, a netip.Addr) bool {
	block, err := model.ParseCIDR(b.CIDR)
	if err != nil {
		return false
	}
	for _, except := range b.Except {
		ex, err := model.ParseCIDR(except)
		if err != nil {
			return false
		}
		block = block.Subtract(ex)
	}
	return block.Contains(a)
}

// portsMatch reports whether the connection's protocol and port match a
// rule's ports list.
//
// API reference (NetworkPolicyIngressRule.ports; egress says the same):
// "Each item in this list is combined using a logical OR. If this field is
// empty or missing, this rule matches all ports (traffic not restricted by
// port). If this field is present and contains at least one item, then this
// rule allows traffic only if the traffic matches at least one port in the
// list." "All ports" means every port of every protocol.
func portsMatch(ports []networkingv1.NetworkPolicyPort, dst Endpoint, proto model.Protocol, port int) bool {
	if len(ports) == 0 {
		return true
	}
	for _, pp := range ports {
		if portMatches(pp, dst, proto, port) {
			return true
		}
	}
	return false
}

// portMatches reports whether one NetworkPolicyPort entry matches.
func portMatches(pp networkingv1.NetworkPolicyPort, dst Endpoint, proto model.Protocol, port int) bool {
	// API reference (NetworkPolicyPort.protocol): "protocol represents the
	// protocol (TCP, UDP, or SCTP) which traffic must match. If not
	// specified, this field defaults to TCP." Project decision: any other
	// value (the API server rejects it; values are case-sensitive) makes the
	// entry match nothing.
	want := corev1.ProtocolTCP
	if pp.Protocol != nil {
		want = *pp.Protocol
	}
	entryProto, ok := protocolOf(want)
	if !ok || entryProto != proto {
		return false
	}

	// API reference (NetworkPolicyPort.port): "If this field is not
	// provided, this matches all port names and numbers. If present, only
	// traffic on the specified protocol AND port will be matched."
	// API reference (NetworkPolicyPort.endPort): "This field cannot be
	// defined if the port field is not defined or if the port field is
	// defined as a named (string) port. The endPort must be equal or greater
	// than port." Project decision: an entry breaking those rules (the API
	// server rejects it) matches nothing.
	if pp.Port == nil {
		return pp.EndPort == nil
	}
	if pp.Port.Type == intstr.String {
		// API reference (NetworkPolicyPort.port): "This can either be a
		// numerical or named port on a pod."
		// Project decision: an IntOrString of type string is always a port
		// name, even when it holds digits ("80"): the API server requires a
		// string port to be an IANA_SVC_NAME, so it resolves as a name (and,
		// container port names needing a letter, resolves to nothing).
		if pp.EndPort != nil {
			return false
		}
		return namedPortMatches(pp.Port.StrVal, want, dst, port)
	}
	first := int(pp.Port.IntVal)
	if pp.EndPort == nil {
		return port == first
	}
	// API reference (NetworkPolicyPort.endPort): "endPort indicates that the
	// range of ports from port to endPort if set, inclusive, should be
	// allowed by the policy."
	last := int(*pp.EndPort)
	if last < first {
		return false
	}
	return first <= port && port <= last
}

// namedPortMatches resolves a named port against the destination pod.
//
// Named ports are resolved per destination pod, against the ports its
// containers declare: the entry matches iff the connection's port is the
// containerPort of some container port (in spec.containers or
// spec.initContainers) whose name is the entry's name and whose protocol
// (default TCP, as ContainerPort.protocol documents: "Must be UDP, TCP, or
// SCTP. Defaults to "TCP".") is the entry's protocol. This holds for egress
// rules too: the name is looked up on the destination, never on the source.
// Project decision: a named port never matches an IP destination, whose
// ports have no names.
func namedPortMatches(name string, proto corev1.Protocol, dst Endpoint, port int) bool {
	if dst.Workload == nil {
		return false
	}
	spec := dst.Workload.Pod
	var containers []corev1.Container
	containers = append(containers, spec.Containers...)
	containers = append(containers, spec.InitContainers...)
	for _, c := range containers {
		for _, cp := range c.Ports {
			cpProto := cp.Protocol
			if cpProto == "" {
				cpProto = corev1.ProtocolTCP
			}
			if cp.Name == name && cpProto == proto && int(cp.ContainerPort) == port {
				return true
			}
		}
	}
	return false
}

// protocolOf maps a Kubernetes protocol, spelled exactly as the API requires,
// to the model's protocol.
func protocolOf(p corev1.Protocol) (model.Protocol, bool) {
	switch p {
	case corev1.ProtocolTCP:
		return model.TCP, true
	case corev1.ProtocolUDP:
		return model.UDP, true
	case corev1.ProtocolSCTP:
		return model.SCTP, true
	}
	return 0, false
}
