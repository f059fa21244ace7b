package clustergen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/manifest"
)

// RandomSize bounds a Random cluster. Small sizes find bugs fastest and
// shrink to readable counterexamples; DefaultRandomSize is a good start.
type RandomSize struct {
	Namespaces, Workloads, Policies int
	// AdminPolicies is the number of Admin-tier policies
	// (AdminNetworkPolicies and ClusterNetworkPolicies of tier Admin, with
	// now and then a ClusterNetworkPolicy of an invalid tier among them);
	// BaselinePolicies the number of Baseline-tier ones (at most one
	// BaselineAdminNetworkPolicy, the rest ClusterNetworkPolicies of tier
	// Baseline). Zero draws none and leaves the rest of the cluster exactly
	// as without these fields: they are drawn after everything else.
	AdminPolicies, BaselinePolicies int
}

// DefaultRandomSize is the size property tests use unless they need another.
var DefaultRandomSize = RandomSize{Namespaces: 3, Workloads: 8, Policies: 6}

// The pools every Random draw comes from. They are small on purpose, so that
// labels collide (a selector matches several workloads), ports collide (a
// named port and a number name the same port, ranges overlap) and CIDRs
// overlap (an except of one block is the cidr of another).
var (
	namespaceNames = []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	workloadNames  = []string{"web", "api", "db", "cache", "worker"}
	randomKinds    = []string{"Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet", "Pod"}
	podLabelKeys   = []string{"app", "tier", "role"}
	podLabelValues = map[string][]string{
		"app":  {"web", "api", "db"},
		"tier": {"frontend", "backend"},
		"role": {"a", "b"},
	}
	nsLabelKeys   = []string{"env", "team"}
	nsLabelValues = map[string][]string{
		"env":  {"prod", "dev"},
		"team": {"red", "blue"},
	}
	portNumbers = []int{53, 80, 443, 5432, 8080, 8081, 8085, 8089, 8090, 65535}
	portNames   = []string{"http", "metrics", "dns"}
	// "missing" is declared by no container.
	policyPortNames = []string{"http", "metrics", "dns", "missing"}
	protocols       = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	cidrs           = []string{
		"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32",
		"172.16.0.0/12", "192.168.0.0/16", "192.168.1.0/24",
		"::/0", "2001:db8::/32", "2001:db8:1::/48", "fd00::/8", "fd00:1::/32", "fd00:1::5/128",
	}
)

// Random builds a small random cluster exercising every NetworkPolicy
// feature, for property tests. The same rng state gives the same cluster.
//
// Besides the ordinary cases it draws, with small probabilities: label
// collisions between workloads, namespaces with and without labels and
// namespaces the inputs do not declare, podSelector/namespaceSelector both,
// either or empty, matchLabels and matchExpressions (In, NotIn, Exists,
// DoesNotExist), invalid selectors (operator "Bogus"), IPv4 and IPv6 ipBlocks
// with overlapping excepts, named ports whose name means different numbers
// and protocols in different workloads (and that some workloads lack), digit
// string port names, numeric ports, endPort ranges and invalid endPorts,
// TCP/UDP/SCTP, absent ports, empty from/to, empty ingress/egress lists,
// given or defaulted policyTypes, policies in namespaces without workloads,
// peers with no selector, and workloads of different kinds sharing a name.
//
// With size.AdminPolicies or size.BaselinePolicies it also draws the admin
// tiers: AdminNetworkPolicies, ClusterNetworkPolicies (tiers Admin and
// Baseline, API versions v1beta1 and v1alpha2) and at most one
// BaselineAdminNetworkPolicy (usually named "default"), with priorities from
// a small pool so that they tie, subjects by namespaces or pods, peers by
// namespaces, pods, networks (the ipBlock CIDR pool), nodes and domainNames,
// all actions, port numbers, ranges and named ports, CNP protocols with and
// without destination ports; and, rarely, what the API rejects: priorities
// outside 0..1000, other CNP tiers, other BANP names, subjects and peers
// with no field or two, empty peer and port lists, unknown actions, invalid
// CIDRs, port entries with no field or two, reversed ranges.
func Random(rng *rand.Rand, size RandomSize) *manifest.Objects {
	g := &randomGen{rng: rng}
	nNS := max(size.Namespaces, 1)
	for i := range nNS {
		name := fmt.Sprintf("ns%d", i)
		if i < len(namespaceNames) {
			name = namespaceNames[i]
		}
		g.nsNames = append(g.nsNames, name)
	}

	objs := &manifest.Objects{}
	// Most of the time the last namespace gets no workloads, so that
	// policies there select nothing and namespaceSelectors meet an empty
	// namespace.
	workloadNS := g.nsNames
	if nNS > 1 && g.chance(3, 4) {
		workloadNS = g.nsNames[:nNS-1]
	}
	used := map[string]bool{} // namespaces holding a workload or policy
	taken := map[[3]string]bool{}
	for i := range max(size.Workloads, 0) {
		w := g.workload(pick(g, workloadNS), i, taken)
		used[w.Namespace] = true
		objs.Workloads = append(objs.Workloads, w)
	}
	for i := range max(size.Policies, 0) {
		p := g.policy(pick(g, g.nsNames), i)
		used[p.Object.Namespace] = true
		objs.Policies = append(objs.Policies, p)
	}
	for _, name := range g.nsNames {
		var kv []string
		for _, k := range nsLabelKeys {
			if g.chance(1, 2) {
				kv = append(kv, k, pick(g, nsLabelValues[k]))
			}
		}
		// A namespace that only holds objects and has no labels of its own
		// is sometimes left undeclared, as when the inputs only reference it.
		declared := len(kv) > 0 || !used[name] || g.chance(1, 2)
		objs.Namespaces = append(objs.Namespaces, namespaceObject(name, declared, kv...))
	}
	// Last, so that clusters without them are drawn as before.
	g.tiers(objs, max(size.AdminPolicies, 0), max(size.BaselinePolicies, 0))
	sortObjects(objs)
	return objs
}

type randomGen struct {
	rng     *rand.Rand
	nsNames []string
}

// chance is true with probability num/den.
func (g *randomGen) chance(num, den int) bool { return g.rng.IntN(den) < num }

func pick[T any](g *randomGen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

func (g *randomGen) workload(ns string, i int, taken map[[3]string]bool) manifest.Workload {
	kind := pick(g, randomKinds)
	name := pick(g, workloadNames)
	if taken[[3]string{ns, name, kind}] {
		name = fmt.Sprintf("%s-%d", name, i)
	}
	taken[[3]string{ns, name, kind}] = true

	labels := map[string]string{}
	for _, k := range podLabelKeys {
		if g.chance(2, 3) {
			labels[k] = pick(g, podLabelValues[k])
		}
	}
	spec := corev1.PodSpec{}
	for c := range 1 + g.rng.IntN(2) {
		spec.Containers = append(spec.Containers, g.container(fmt.Sprintf("c%d", c)))
	}
	if g.chance(1, 4) {
		spec.InitContainers = append(spec.InitContainers, g.container("init"))
	}
	return manifest.Workload{Kind: kind, Namespace: ns, Name: name, PodLabels: labels, Pod: spec}
}

// container has up to three ports; a name is used at most once per
// container, as the API requires, but may repeat across containers.
func (g *randomGen) container(name string) corev1.Container {
	c := corev1.Container{Name: name, Image: "registry.example/" + name + ":1"}
	names := slices.Clone(portNames)
	g.rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for i := range g.rng.IntN(4) {
		cp := corev1.ContainerPort{ContainerPort: int32(pick(g, portNumbers))}
		if g.chance(3, 4) {
			cp.Name = names[i]
		}
		if !g.chance(1, 3) {
			cp.Protocol = pick(g, protocols)
		}
		c.Ports = append(c.Ports, cp)
	}
	return c
}

func (g *randomGen) policy(ns string, i int) manifest.NetworkPolicy {
	spec := networkingv1.NetworkPolicySpec{PodSelector: *g.selector(podLabelKeys, podLabelValues, 2)}
	switch g.rng.IntN(8) {
	case 0, 1, 2:
		// policyTypes left for defaulting.
	case 3:
		spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	case 4, 5:
		spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	case 6:
		spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	case 7:
		spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress}
	}
	switch n := g.ruleCount(); {
	case n == 0:
		spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
	case n > 0:
		for range n {
			spec.Ingress = append(spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: g.peers(), Ports: g.ports()})
		}
	}
	switch n := g.ruleCount(); {
	case n == 0:
		spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
	case n > 0:
		for range n {
			spec.Egress = append(spec.Egress, networkingv1.NetworkPolicyEgressRule{To: g.peers(), Ports: g.ports()})
		}
	}
	return manifest.NetworkPolicy{Object: &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("np-%d", i)},
		Spec:       spec,
	}}
}

// ruleCount is -1 for an absent rule list, 0 for an empty one, else 1-3.
func (g *randomGen) ruleCount() int {
	switch r := g.rng.IntN(10); {
	case r < 2:
		return -1
	case r < 3:
		return 0
	}
	return 1 + g.rng.IntN(3)
}

// selector draws a label selector over the given keys and values: empty {}
// often, else matchLabels, matchExpressions or both, and rarely an invalid
// one. maxTerms bounds the number of terms of each kind.
func (g *randomGen) selector(keys []string, values map[string][]string, maxTerms int) *metav1.LabelSelector {
	sel := &metav1.LabelSelector{}
	if g.chance(1, 40) {
		sel.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: pick(g, keys), Operator: "Bogus", Values: []string{pick(g, values[pick(g, keys)])}}}
		return sel
	}
	r := g.rng.IntN(10)
	if r < 3 {
		return sel
	}
	if r < 7 || r == 9 {
		sel.MatchLabels = map[string]string{}
		for range 1 + g.rng.IntN(maxTerms) {
			k := pick(g, keys)
			sel.MatchLabels[k] = pick(g, values[k])
		}
	}
	if r >= 7 {
		ops := []metav1.LabelSelectorOperator{
			metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn,
			metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist,
		}
		for range 1 + g.rng.IntN(maxTerms) {
			k := pick(g, keys)
			req := metav1.LabelSelectorRequirement{Key: k, Operator: pick(g, ops)}
			if req.Operator == metav1.LabelSelectorOpIn || req.Operator == metav1.LabelSelectorOpNotIn {
				vs := values[k]
				for _, j := range g.rng.Perm(len(vs))[:1+g.rng.IntN(len(vs))] {
					req.Values = append(req.Values, vs[j])
				}
			}
			sel.MatchExpressions = append(sel.MatchExpressions, req)
		}
	}
	return sel
}

// namespaceSelector draws a selector over namespace labels, the name label
// included (with a name that no namespace has, sometimes).
func (g *randomGen) namespaceSelector() *metav1.LabelSelector {
	keys := append(slices.Clone(nsLabelKeys), manifest.NamespaceNameLabel)
	values := map[string][]string{manifest.NamespaceNameLabel: append(slices.Clone(g.nsNames), "ghost")}
	for k, v := range nsLabelValues {
		values[k] = v
	}
	return g.selector(keys, values, 1)
}

// peers is nil (absent) or empty sometimes, else one to three peers.
func (g *randomGen) peers() []networkingv1.NetworkPolicyPeer {
	switch r := g.rng.IntN(10); {
	case r < 2:
		return nil
	case r < 3:
		return []networkingv1.NetworkPolicyPeer{}
	}
	var out []networkingv1.NetworkPolicyPeer
	for range 1 + g.rng.IntN(3) {
		var p networkingv1.NetworkPolicyPeer
		switch r := g.rng.IntN(20); {
		case r < 6:
			p.PodSelector = g.selector(podLabelKeys, podLabelValues, 2)
		case r < 10:
			p.NamespaceSelector = g.namespaceSelector()
		case r < 14:
			p.PodSelector = g.selector(podLabelKeys, podLabelValues, 2)
			p.NamespaceSelector = g.namespaceSelector()
		case r < 19:
			p.IPBlock = g.ipBlock()
		default:
			// No selector and no ipBlock: matches nothing.
		}
		out = append(out, p)
	}
	return out
}

// ipBlock draws a cidr from the pool and up to two excepts among the pool's
// CIDRs strictly inside it (the API rejects others), so blocks overlap.
func (g *randomGen) ipBlock() *networkingv1.IPBlock {
	cidr := pick(g, cidrs)
	b := &networkingv1.IPBlock{CIDR: cidr}
	outer := netip.MustParsePrefix(cidr)
	var inside []string
	for _, c := range cidrs {
		inner := netip.MustParsePrefix(c)
		if inner.Addr().Is4() == outer.Addr().Is4() && inner.Bits() > outer.Bits() && outer.Contains(inner.Addr()) {
			inside = append(inside, c)
		}
	}
	if len(inside) > 0 {
		for _, j := range g.rng.Perm(len(inside))[:g.rng.IntN(min(len(inside), 2)+1)] {
			b.Except = append(b.Except, inside[j])
		}
	}
	return b
}

// ports is nil (absent) or empty sometimes, else one to three entries.
func (g *randomGen) ports() []networkingv1.NetworkPolicyPort {
	switch r := g.rng.IntN(10); {
	case r < 3:
		return nil
	case r < 4:
		return []networkingv1.NetworkPolicyPort{}
	}
	var out []networkingv1.NetworkPolicyPort
	for range 1 + g.rng.IntN(3) {
		var pp networkingv1.NetworkPolicyPort
		if !g.chance(2, 5) {
			pp.Protocol = ptr(pick(g, protocols))
		}
		switch r := g.rng.IntN(20); {
		case r < 3:
			// Absent port: every port of the protocol; rarely with an
			// (invalid) endPort.
			if r == 0 && g.chance(1, 3) {
				pp.EndPort = ptr(int32(pick(g, portNumbers)))
			}
		case r < 13:
			first := pick(g, portNumbers)
			v := intstr.FromInt32(int32(first))
			pp.Port = &v
			switch e := g.rng.IntN(20); {
			case e < 6:
				// A range to a pool port at or above first.
				var above []int
				for _, p := range portNumbers {
					if p >= first {
						above = append(above, p)
					}
				}
				pp.EndPort = ptr(int32(pick(g, above)))
			case e == 6 && first > portNumbers[0]:
				// Invalid: endPort below port.
				pp.EndPort = ptr(int32(first - 1 - g.rng.IntN(3)))
			}
		default:
			name := pick(g, policyPortNames)
			if g.chance(1, 20) {
				// A digit string resolves as a name (and so to nothing).
				name = "80"
			}
			v := intstr.FromString(name)
			pp.Port = &v
			if g.chance(1, 30) {
				pp.EndPort = ptr(int32(pick(g, portNumbers))) // invalid with a name
			}
		}
		out = append(out, pp)
	}
	return out
}
