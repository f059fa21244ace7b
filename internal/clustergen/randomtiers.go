package clustergen

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/manifest"
)

// API versions and kinds of the admin tiers.
const (
	policyV1alpha1 = "policy.networking.k8s.io/v1alpha1"
	policyV1alpha2 = "policy.networking.k8s.io/v1alpha2"
	policyV1beta1  = "policy.networking.k8s.io/v1beta1"
)

// The pools the admin-tier draws come from. Priorities are few so that ties
// happen, within a kind and across kinds.
var (
	tierPriorities   = []int32{0, 1, 1, 5, 5, 1000}
	invalidPriority  = []int32{-1, 1001}
	invalidCNPTiers  = []policyv1beta1.Tier{"", "Application", "admin"}
	domainNamePool   = []string{"example.com", "*.example.com", "registry.example"}
	invalidCIDRs     = []string{"10.0.0.0/33", "not-a-cidr"}
	invalidANPAction = []policyv1alpha1.AdminNetworkPolicyRuleAction{"Accept", "Reject", ""}
	invalidBANPActs  = []policyv1alpha1.BaselineAdminNetworkPolicyRuleAction{"Pass", "Accept"}
	invalidCNPAction = []policyv1beta1.ClusterNetworkPolicyRuleAction{"Allow", "Reject"}
	adminProtocols   = []corev1.Protocol{"", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
)

// tiers draws the admin-tier objects: admin ANPs and CNPs (a few CNPs of an
// invalid tier among them), then the baseline: at most one BANP and Baseline
// CNPs. Names share one counter across kinds, so that at equal priority the
// order by name and the order by kind differ.
func (g *randomGen) tiers(objs *manifest.Objects, nAdmin, nBaseline int) {
	n := 0
	name := func() string { n++; return fmt.Sprintf("guard-%d", n-1) }
	for range nAdmin {
		if g.chance(1, 2) {
			objs.AdminPolicies = append(objs.AdminPolicies, g.anp(name()))
			continue
		}
		tier := policyv1beta1.AdminTier
		if g.chance(1, 12) {
			tier = pick(g, invalidCNPTiers)
		}
		objs.ClusterPolicies = append(objs.ClusterPolicies, g.cnp(name(), tier))
	}
	if nBaseline > 0 && g.chance(2, 3) {
		banpName := "default"
		if g.chance(1, 6) {
			banpName = "strict"
		}
		objs.BaselinePolicies = append(objs.BaselinePolicies, g.banp(banpName))
		nBaseline--
	}
	for range nBaseline {
		objs.ClusterPolicies = append(objs.ClusterPolicies, g.cnp(name(), policyv1beta1.BaselineTier))
	}
}

func (g *randomGen) tierPriority() int32 {
	if g.chance(1, 15) {
		return pick(g, invalidPriority)
	}
	return pick(g, tierPriorities)
}

// tierRuleCount is 0 to 3 rules, more often some.
func (g *randomGen) tierRuleCount() int {
	if g.chance(1, 4) {
		return 0
	}
	return 1 + g.rng.IntN(3)
}

func (g *randomGen) anp(name string) manifest.AdminNetworkPolicy {
	spec := policyv1alpha1.AdminNetworkPolicySpec{Priority: g.tierPriority(), Subject: g.anpSubject()}
	for range g.tierRuleCount() {
		var from []policyv1alpha1.AdminNetworkPolicyIngressPeer
		for _, p := range g.tierPeers(false, false) {
			from = append(from, policyv1alpha1.AdminNetworkPolicyIngressPeer{Namespaces: p.namespaces, Pods: p.pods})
		}
		spec.Ingress = append(spec.Ingress, policyv1alpha1.AdminNetworkPolicyIngressRule{Action: g.anpAction(), From: from, Ports: g.anpPorts()})
	}
	for range g.tierRuleCount() {
		var to []policyv1alpha1.AdminNetworkPolicyEgressPeer
		for _, p := range g.tierPeers(true, true) {
			to = append(to, policyv1alpha1.AdminNetworkPolicyEgressPeer{
				Namespaces: p.namespaces, Pods: p.pods, Nodes: p.nodes,
				Networks: convertStrings[policyv1alpha1.CIDR](p.networks), DomainNames: convertStrings[policyv1alpha1.DomainName](p.domainNames),
			})
		}
		spec.Egress = append(spec.Egress, policyv1alpha1.AdminNetworkPolicyEgressRule{Action: g.anpAction(), To: to, Ports: g.anpPorts()})
	}
	return manifest.AdminNetworkPolicy{Object: &policyv1alpha1.AdminNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: policyV1alpha1, Kind: "AdminNetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spec,
	}}
}

func (g *randomGen) banp(name string) manifest.BaselineAdminNetworkPolicy {
	spec := policyv1alpha1.BaselineAdminNetworkPolicySpec{Subject: g.anpSubject()}
	for range g.tierRuleCount() {
		var from []policyv1alpha1.AdminNetworkPolicyIngressPeer
		for _, p := range g.tierPeers(false, false) {
			from = append(from, policyv1alpha1.AdminNetworkPolicyIngressPeer{Namespaces: p.namespaces, Pods: p.pods})
		}
		spec.Ingress = append(spec.Ingress, policyv1alpha1.BaselineAdminNetworkPolicyIngressRule{Action: g.banpAction(), From: from, Ports: g.anpPorts()})
	}
	for range g.tierRuleCount() {
		var to []policyv1alpha1.BaselineAdminNetworkPolicyEgressPeer
		// A BANP egress peer has no domainNames.
		for _, p := range g.tierPeers(true, false) {
			to = append(to, policyv1alpha1.BaselineAdminNetworkPolicyEgressPeer{
				Namespaces: p.namespaces, Pods: p.pods, Nodes: p.nodes,
				Networks: convertStrings[policyv1alpha1.CIDR](p.networks),
			})
		}
		spec.Egress = append(spec.Egress, policyv1alpha1.BaselineAdminNetworkPolicyEgressRule{Action: g.banpAction(), To: to, Ports: g.anpPorts()})
	}
	return manifest.BaselineAdminNetworkPolicy{Object: &policyv1alpha1.BaselineAdminNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: policyV1alpha1, Kind: "BaselineAdminNetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spec,
	}}
}

func (g *randomGen) cnp(name string, tier policyv1beta1.Tier) manifest.ClusterNetworkPolicy {
	s := g.anpSubject()
	spec := policyv1beta1.ClusterNetworkPolicySpec{Tier: tier, Priority: g.tierPriority(), Subject: policyv1beta1.ClusterNetworkPolicySubject{
		Namespaces: s.Namespaces, Pods: v1beta1Pods(s.Pods),
	}}
	for range g.tierRuleCount() {
		var from []policyv1beta1.ClusterNetworkPolicyIngressPeer
		for _, p := range g.tierPeers(false, false) {
			from = append(from, policyv1beta1.ClusterNetworkPolicyIngressPeer{Namespaces: p.namespaces, Pods: v1beta1Pods(p.pods)})
		}
		spec.Ingress = append(spec.Ingress, policyv1beta1.ClusterNetworkPolicyIngressRule{Action: g.cnpAction(), From: from, Protocols: g.cnpProtocols()})
	}
	for range g.tierRuleCount() {
		var to []policyv1beta1.ClusterNetworkPolicyEgressPeer
		for _, p := range g.tierPeers(true, true) {
			to = append(to, policyv1beta1.ClusterNetworkPolicyEgressPeer{
				Namespaces: p.namespaces, Pods: v1beta1Pods(p.pods), Nodes: p.nodes,
				Networks: convertStrings[policyv1beta1.CIDR](p.networks), DomainNames: convertStrings[policyv1beta1.DomainName](p.domainNames),
			})
		}
		spec.Egress = append(spec.Egress, policyv1beta1.ClusterNetworkPolicyEgressRule{Action: g.cnpAction(), To: to, Protocols: g.cnpProtocols()})
	}
	apiVersion := policyV1beta1
	if g.chance(1, 3) {
		apiVersion = policyV1alpha2
	}
	return manifest.ClusterNetworkPolicy{APIVersion: apiVersion, Object: &policyv1beta1.ClusterNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: "ClusterNetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spec,
	}}
}

// anpSubject draws a subject: namespaces or pods, rarely neither or both
// (which the API rejects).
func (g *randomGen) anpSubject() policyv1alpha1.AdminNetworkPolicySubject {
	var s policyv1alpha1.AdminNetworkPolicySubject
	switch r := g.rng.IntN(20); {
	case r < 9:
		s.Namespaces = g.namespaceSelector()
	case r < 18:
		s.Pods = g.namespacedPod()
	case r == 18:
		// Neither.
	default:
		s.Namespaces = g.namespaceSelector()
		s.Pods = g.namespacedPod()
	}
	return s
}

func (g *randomGen) namespacedPod() *policyv1alpha1.NamespacedPod {
	return &policyv1alpha1.NamespacedPod{
		NamespaceSelector: *g.namespaceSelector(),
		PodSelector:       *g.selector(podLabelKeys, podLabelValues, 2),
	}
}

// tierPeer is a drawn peer, in the shape every peer type shares; the
// fields a type lacks are never drawn for it.
type tierPeer struct {
	namespaces  *metav1.LabelSelector
	pods        *policyv1alpha1.NamespacedPod
	networks    []string
	nodes       *metav1.LabelSelector
	domainNames []string
}

// tierPeers draws a rule's peers: one or two, rarely none (the API requires
// one). An egress peer may also be networks (IPv4 or IPv6 CIDRs from the
// ipBlock pool, rarely an invalid one), nodes or, when domains holds,
// domainNames. Rarely a peer has no field or two (the API rejects both; the
// policy then fails closed).
func (g *randomGen) tierPeers(egress, domains bool) []tierPeer {
	if g.chance(1, 15) {
		return []tierPeer{}
	}
	var out []tierPeer
	for range 1 + g.rng.IntN(2) {
		var p tierPeer
		r := g.rng.IntN(40)
		if !egress {
			r %= 20
		}
		switch {
		case r < 1:
			// No field: fail closed.
		case r < 2:
			p.namespaces = g.namespaceSelector()
			if egress && g.chance(1, 2) {
				p.networks = g.networks()
			} else {
				p.pods = g.namespacedPod()
			}
		case r < 10:
			p.namespaces = g.namespaceSelector()
		case r < 20:
			p.pods = g.namespacedPod()
		case r < 34:
			p.networks = g.networks()
		case r < 37 || !domains:
			p.nodes = g.selector([]string{"node-role"}, map[string][]string{"node-role": {"worker", "control-plane"}}, 1)
		default:
			for range 1 + g.rng.IntN(2) {
				p.domainNames = append(p.domainNames, pick(g, domainNamePool))
			}
		}
		out = append(out, p)
	}
	return out
}

// networks draws one to three CIDRs of the ipBlock pool, rarely with an
// invalid one.
func (g *randomGen) networks() []string {
	var out []string
	for range 1 + g.rng.IntN(3) {
		if g.chance(1, 20) {
			out = append(out, pick(g, invalidCIDRs))
			continue
		}
		out = append(out, pick(g, cidrs))
	}
	return out
}

func (g *randomGen) anpAction() policyv1alpha1.AdminNetworkPolicyRuleAction {
	if g.chance(1, 20) {
		return pick(g, invalidANPAction)
	}
	return pick(g, []policyv1alpha1.AdminNetworkPolicyRuleAction{
		policyv1alpha1.AdminNetworkPolicyRuleActionAllow, policyv1alpha1.AdminNetworkPolicyRuleActionDeny, policyv1alpha1.AdminNetworkPolicyRuleActionPass,
	})
}

func (g *randomGen) banpAction() policyv1alpha1.BaselineAdminNetworkPolicyRuleAction {
	if g.chance(1, 20) {
		return pick(g, invalidBANPActs)
	}
	return pick(g, []policyv1alpha1.BaselineAdminNetworkPolicyRuleAction{
		policyv1alpha1.BaselineAdminNetworkPolicyRuleActionAllow, policyv1alpha1.BaselineAdminNetworkPolicyRuleActionDeny,
	})
}

func (g *randomGen) cnpAction() policyv1beta1.ClusterNetworkPolicyRuleAction {
	if g.chance(1, 20) {
		return pick(g, invalidCNPAction)
	}
	return pick(g, []policyv1beta1.ClusterNetworkPolicyRuleAction{
		policyv1beta1.ClusterNetworkPolicyRuleActionAccept, policyv1beta1.ClusterNetworkPolicyRuleActionDeny, policyv1beta1.ClusterNetworkPolicyRuleActionPass,
	})
}

// portRangeFrom draws a start from the port pool and an end at or above it,
// rarely below it (which the API rejects).
func (g *randomGen) portRangeFrom() (start, end int32) {
	first := pick(g, portNumbers)
	if g.chance(1, 10) && first > portNumbers[0] {
		return int32(first), int32(first - 1 - g.rng.IntN(3))
	}
	var above []int
	for _, p := range portNumbers {
		if p >= first {
			above = append(above, p)
		}
	}
	return int32(first), int32(pick(g, above))
}

// anpPorts is nil (every port) often, rarely an empty list, else one to
// three entries: numbers, ranges, named ports and, rarely, entries with no
// field or two.
func (g *randomGen) anpPorts() *[]policyv1alpha1.AdminNetworkPolicyPort {
	switch r := g.rng.IntN(20); {
	case r < 8:
		return nil
	case r < 9:
		return &[]policyv1alpha1.AdminNetworkPolicyPort{}
	}
	var out []policyv1alpha1.AdminNetworkPolicyPort
	for range 1 + g.rng.IntN(3) {
		var pp policyv1alpha1.AdminNetworkPolicyPort
		switch r := g.rng.IntN(20); {
		case r < 7:
			pp.PortNumber = &policyv1alpha1.Port{Protocol: pick(g, adminProtocols), Port: int32(pick(g, portNumbers))}
		case r < 13:
			start, end := g.portRangeFrom()
			pp.PortRange = &policyv1alpha1.PortRange{Protocol: pick(g, adminProtocols), Start: start, End: end}
		case r < 19:
			pp.NamedPort = ptr(pick(g, policyPortNames))
		default:
			// Invalid: no field, or a number and a name.
			if g.chance(1, 2) {
				pp.PortNumber = &policyv1alpha1.Port{Port: int32(pick(g, portNumbers))}
				pp.NamedPort = ptr(pick(g, policyPortNames))
			}
		}
		out = append(out, pp)
	}
	return &out
}

// cnpProtocols is nil (every port) often, else one to three entries: TCP,
// UDP or SCTP with every port, a number or a range, destinationNamedPort
// and, rarely, invalid entries and invalid destination ports.
func (g *randomGen) cnpProtocols() []policyv1beta1.ClusterNetworkPolicyProtocol {
	if g.chance(2, 5) {
		return nil
	}
	var out []policyv1beta1.ClusterNetworkPolicyProtocol
	for range 1 + g.rng.IntN(3) {
		var pr policyv1beta1.ClusterNetworkPolicyProtocol
		switch r := g.rng.IntN(20); {
		case r < 5:
			pr.TCP = &policyv1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: g.cnpPort()}
		case r < 9:
			pr.UDP = &policyv1beta1.ClusterNetworkPolicyProtocolUDP{DestinationPort: g.cnpPort()}
		case r < 12:
			pr.SCTP = &policyv1beta1.ClusterNetworkPolicyProtocolSCTP{DestinationPort: g.cnpPort()}
		case r < 19:
			pr.DestinationNamedPort = pick(g, policyPortNames)
		default:
			// Invalid: two fields, or none.
			if g.chance(1, 2) {
				pr.TCP = &policyv1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: g.cnpPort()}
				pr.DestinationNamedPort = pick(g, policyPortNames)
			}
		}
		out = append(out, pr)
	}
	return out
}

// cnpPort is nil (every port of the protocol), a number or a range; rarely
// both, neither or a number out of range.
func (g *randomGen) cnpPort() *policyv1beta1.Port {
	switch r := g.rng.IntN(20); {
	case r < 5:
		return nil
	case r < 11:
		return &policyv1beta1.Port{Number: int32(pick(g, portNumbers))}
	case r < 18:
		start, end := g.portRangeFrom()
		return &policyv1beta1.Port{Range: &policyv1beta1.PortRange{Start: start, End: end}}
	case r == 18:
		return &policyv1beta1.Port{}
	}
	if g.chance(1, 2) {
		return &policyv1beta1.Port{Number: 70000}
	}
	start, end := g.portRangeFrom()
	return &policyv1beta1.Port{Number: int32(pick(g, portNumbers)), Range: &policyv1beta1.PortRange{Start: start, End: end}}
}

func v1beta1Pods(p *policyv1alpha1.NamespacedPod) *policyv1beta1.NamespacedPod {
	if p == nil {
		return nil
	}
	return &policyv1beta1.NamespacedPod{NamespaceSelector: p.NamespaceSelector, PodSelector: p.PodSelector}
}

// convertStrings converts a list of one string type to another; nil stays
// nil.
func convertStrings[To, From ~string](xs []From) []To {
	var out []To
	for _, x := range xs {
		out = append(out, To(x))
	}
	return out
}
