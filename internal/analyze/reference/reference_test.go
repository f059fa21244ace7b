package reference_test

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/analyze/reference"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// --- builders for hand-made clusters ---

func labelMap(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func namespace(name string, kv ...string) manifest.Namespace {
	l := labelMap(kv...)
	l[manifest.NamespaceNameLabel] = name
	return manifest.Namespace{Name: name, Labels: l, Declared: true}
}

func workload(ns, name string, podLabels map[string]string, ports ...corev1.ContainerPort) *manifest.Workload {
	return &manifest.Workload{
		Kind: "Deployment", Namespace: ns, Name: name, PodLabels: podLabels,
		Pod: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "app", Ports: ports}}},
	}
}

func containerPort(name string, port int32, proto corev1.Protocol) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: proto}
}

func policy(ns, name string, spec networkingv1.NetworkPolicySpec) manifest.NetworkPolicy {
	return manifest.NetworkPolicy{Object: &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       spec,
	}}
}

func cluster(nss []manifest.Namespace, policies ...manifest.NetworkPolicy) *manifest.Objects {
	return &manifest.Objects{Namespaces: nss, Policies: policies}
}

func matchLabels(kv ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: labelMap(kv...)}
}

func everything() *metav1.LabelSelector { return &metav1.LabelSelector{} }

func protoPtr(p corev1.Protocol) *corev1.Protocol { return &p }

func numPort(proto corev1.Protocol, port int) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(int32(port))
	pp := networkingv1.NetworkPolicyPort{Port: &v}
	if proto != "" {
		pp.Protocol = protoPtr(proto)
	}
	return pp
}

func rangePort(proto corev1.Protocol, first, last int) networkingv1.NetworkPolicyPort {
	pp := numPort(proto, first)
	end := int32(last)
	pp.EndPort = &end
	return pp
}

func namedPort(proto corev1.Protocol, name string) networkingv1.NetworkPolicyPort {
	v := intstr.FromString(name)
	pp := networkingv1.NetworkPolicyPort{Port: &v}
	if proto != "" {
		pp.Protocol = protoPtr(proto)
	}
	return pp
}

func podPeer(sel *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: sel}
}

func nsPeer(sel *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: sel}
}

func ipPeer(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

// ingressOnly is a policy selecting sel that allows the given ingress rules.
func ingressOnly(sel *metav1.LabelSelector, rules ...networkingv1.NetworkPolicyIngressRule) networkingv1.NetworkPolicySpec {
	return networkingv1.NetworkPolicySpec{
		PodSelector: *sel,
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress:     rules,
	}
}

// egressOnly is a policy selecting sel that allows the given egress rules.
func egressOnly(sel *metav1.LabelSelector, rules ...networkingv1.NetworkPolicyEgressRule) networkingv1.NetworkPolicySpec {
	return networkingv1.NetworkPolicySpec{
		PodSelector: *sel,
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		Egress:      rules,
	}
}

func from(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicyIngressRule {
	return networkingv1.NetworkPolicyIngressRule{From: peers}
}

func to(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{To: peers}
}

func ip(s string) reference.Endpoint { return reference.Address(netip.MustParseAddr(s)) }

type check struct {
	src, dst reference.Endpoint
	proto    model.Protocol
	port     int
	want     bool
}

func expect(t *testing.T, objs *manifest.Objects, checks ...check) {
	t.Helper()
	for _, c := range checks {
		if got := reference.Allowed(objs, c.src, c.dst, c.proto, c.port); got != c.want {
			t.Errorf("Allowed(%v => %v : %v %d) = %v, want %v", c.src, c.dst, c.proto, c.port, got, c.want)
		}
	}
}

// --- isolation and policyTypes ---

func TestNoPolicyAllowsEverything(t *testing.T) {
	a := reference.Pod(workload("x", "a", labelMap("app", "a")))
	b := reference.Pod(workload("y", "b", labelMap("app", "b")))
	objs := cluster(nil)
	expect(t, objs,
		check{a, b, model.TCP, 80, true},
		check{b, a, model.SCTP, 65535, true},
		check{a, ip("8.8.8.8"), model.UDP, 53, true},
		check{ip("8.8.8.8"), a, model.TCP, 1, true},
	)
}

func TestIPToIPIsNotAClusterQuestion(t *testing.T) {
	expect(t, cluster(nil), check{ip("10.0.0.1"), ip("10.0.0.2"), model.TCP, 80, false})
}

func TestPolicyAppliesOnlyInItsOwnNamespace(t *testing.T) {
	inX := workload("x", "a", labelMap("app", "web"))
	inY := workload("y", "a", labelMap("app", "web"))
	src := reference.Pod(workload("z", "client", nil))
	objs := cluster(nil, policy("x", "deny", ingressOnly(matchLabels("app", "web"))))
	expect(t, objs,
		check{src, reference.Pod(inX), model.TCP, 80, false},
		check{src, reference.Pod(inY), model.TCP, 80, true},
	)
}

func TestPolicyWithoutNamespaceIsInDefault(t *testing.T) {
	inDefault := workload("default", "a", nil)
	elsewhere := workload("other", "a", nil)
	src := ip("1.2.3.4")
	objs := cluster(nil, policy("", "deny", ingressOnly(everything())))
	expect(t, objs,
		check{src, reference.Pod(inDefault), model.TCP, 80, false},
		check{src, reference.Pod(elsewhere), model.TCP, 80, true},
	)
}

func TestEmptyPodSelectorSelectsEveryPodInNamespace(t *testing.T) {
	a := workload("x", "a", labelMap("app", "a"))
	b := workload("x", "b", nil)
	objs := cluster(nil, policy("x", "deny", ingressOnly(everything())))
	expect(t, objs,
		check{reference.Pod(b), reference.Pod(a), model.TCP, 80, false},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
	)
}

func TestPolicyTypesDefaultIngressAlways(t *testing.T) {
	// No policyTypes, no rules at all: Ingress only, so egress stays open.
	a := workload("x", "a", nil)
	objs := cluster(nil, policy("x", "p", networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{}}))
	expect(t, objs,
		check{ip("1.1.1.1"), reference.Pod(a), model.TCP, 80, false},
		check{reference.Pod(a), ip("1.1.1.1"), model.TCP, 80, true},
	)
}

func TestPolicyTypesDefaultEgressWhenEgressRules(t *testing.T) {
	a := workload("x", "a", nil)
	spec := networkingv1.NetworkPolicySpec{
		Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{numPort("", 443)}}},
	}
	objs := cluster(nil, policy("x", "p", spec))
	expect(t, objs,
		check{reference.Pod(a), ip("1.1.1.1"), model.TCP, 443, true},
		check{reference.Pod(a), ip("1.1.1.1"), model.TCP, 80, false},
		// Ingress is defaulted too, with no ingress rule: deny all ingress.
		check{ip("1.1.1.1"), reference.Pod(a), model.TCP, 443, false},
	)
}

func TestPolicyTypesDefaultNoEgressForEmptyEgressList(t *testing.T) {
	a := workload("x", "a", nil)
	spec := networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{}}
	objs := cluster(nil, policy("x", "p", spec))
	expect(t, objs, check{reference.Pod(a), ip("1.1.1.1"), model.TCP, 80, true})
}

func TestPolicyTypesEgressWithoutRulesDeniesAllEgress(t *testing.T) {
	a := workload("x", "a", nil)
	b := workload("x", "b", nil)
	objs := cluster(nil, policy("x", "p", egressOnly(matchLabels())))
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.UDP, 53, false},
		check{reference.Pod(a), ip("1.1.1.1"), model.TCP, 80, false},
		// Egress only: ingress stays open.
		check{ip("1.1.1.1"), reference.Pod(a), model.TCP, 80, true},
	)
}

func TestPolicyTypesGivenIgnoreOtherDirectionRules(t *testing.T) {
	// policyTypes [Ingress] with egress rules: the egress rules are ignored
	// and the pod is not isolated for egress.
	a := workload("x", "a", nil)
	spec := ingressOnly(everything())
	spec.Egress = []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{numPort("", 443)}}}
	objs := cluster(nil, policy("x", "p", spec))
	expect(t, objs, check{reference.Pod(a), ip("1.1.1.1"), model.TCP, 80, true})
}

func TestEgressAndIngressMustBothAllow(t *testing.T) {
	a := workload("x", "a", labelMap("app", "a"))
	b := workload("x", "b", labelMap("app", "b"))
	allowB := to(podPeer(matchLabels("app", "b")))
	allowA := from(podPeer(matchLabels("app", "a")))
	onlyEgress := cluster(nil, policy("x", "e", egressOnly(matchLabels("app", "a"), allowB)),
		policy("x", "i", ingressOnly(matchLabels("app", "b"))))
	onlyIngress := cluster(nil, policy("x", "e", egressOnly(matchLabels("app", "a"))),
		policy("x", "i", ingressOnly(matchLabels("app", "b"), allowA)))
	both := cluster(nil, policy("x", "e", egressOnly(matchLabels("app", "a"), allowB)),
		policy("x", "i", ingressOnly(matchLabels("app", "b"), allowA)))
	expect(t, onlyEgress, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
	expect(t, onlyIngress, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
	expect(t, both, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

func TestPoliciesAreAdditive(t *testing.T) {
	a := workload("x", "a", labelMap("app", "a"))
	src := reference.Pod(workload("x", "s", nil))
	objs := cluster(nil,
		policy("x", "deny", ingressOnly(everything())),
		policy("x", "web", ingressOnly(matchLabels("app", "a"),
			networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{numPort("", 80)}})),
		policy("x", "tls", ingressOnly(matchLabels("app", "a"),
			networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{numPort("", 443)}})),
	)
	expect(t, objs,
		check{src, reference.Pod(a), model.TCP, 80, true},
		check{src, reference.Pod(a), model.TCP, 443, true},
		check{src, reference.Pod(a), model.TCP, 8080, false},
	)
}

func TestPodsOfSameWorkloadAreSubjectToPolicy(t *testing.T) {
	a := workload("x", "a", labelMap("app", "a"))
	objs := cluster(nil, policy("x", "deny", ingressOnly(everything())))
	expect(t, objs, check{reference.Pod(a), reference.Pod(a), model.TCP, 80, false})
	objs = cluster(nil, policy("x", "self", ingressOnly(everything(), from(podPeer(matchLabels("app", "a"))))))
	expect(t, objs, check{reference.Pod(a), reference.Pod(a), model.TCP, 80, true})
}

// --- peers ---

func TestEmptyFromMatchesEverySource(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), networkingv1.NetworkPolicyIngressRule{})))
	expect(t, objs,
		check{reference.Pod(workload("elsewhere", "a", nil)), reference.Pod(dst), model.SCTP, 9, true},
		check{ip("2001:db8::1"), reference.Pod(dst), model.UDP, 53, true},
		check{ip("203.0.113.9"), reference.Pod(dst), model.TCP, 443, true},
	)
}

func TestEmptyToMatchesEveryDestination(t *testing.T) {
	src := workload("x", "a", nil)
	objs := cluster(nil, policy("x", "p", egressOnly(everything(), networkingv1.NetworkPolicyEgressRule{})))
	expect(t, objs,
		check{reference.Pod(src), reference.Pod(workload("y", "b", nil)), model.TCP, 80, true},
		check{reference.Pod(src), ip("::1"), model.TCP, 80, true},
	)
}

func TestPodSelectorPeerMatchesPolicyNamespaceOnly(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), from(podPeer(matchLabels("app", "web"))))))
	expect(t, objs,
		check{reference.Pod(workload("x", "web", labelMap("app", "web"))), reference.Pod(dst), model.TCP, 80, true},
		check{reference.Pod(workload("y", "web", labelMap("app", "web"))), reference.Pod(dst), model.TCP, 80, false},
		check{reference.Pod(workload("x", "api", labelMap("app", "api"))), reference.Pod(dst), model.TCP, 80, false},
	)
}

func TestEmptyPodSelectorPeerMatchesAllPodsOfPolicyNamespace(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), from(podPeer(everything())))))
	expect(t, objs,
		check{reference.Pod(workload("x", "any", nil)), reference.Pod(dst), model.TCP, 80, true},
		check{reference.Pod(workload("y", "any", nil)), reference.Pod(dst), model.TCP, 80, false},
		check{ip("10.0.0.1"), reference.Pod(dst), model.TCP, 80, false},
	)
}

func TestNamespaceSelectorPeerMatchesAllPodsInNamespaces(t *testing.T) {
	nss := []manifest.Namespace{namespace("x"), namespace("prod", "env", "prod"), namespace("dev", "env", "dev")}
	dst := workload("x", "db", nil)
	objs := cluster(nss, policy("x", "p", ingressOnly(everything(), from(nsPeer(matchLabels("env", "prod"))))))
	expect(t, objs,
		check{reference.Pod(workload("prod", "a", labelMap("app", "a"))), reference.Pod(dst), model.TCP, 80, true},
		check{reference.Pod(workload("prod", "b", nil)), reference.Pod(dst), model.TCP, 80, true},
		check{reference.Pod(workload("dev", "a", labelMap("app", "a"))), reference.Pod(dst), model.TCP, 80, false},
		// The policy's own namespace is not special for namespaceSelector.
		check{reference.Pod(workload("x", "a", nil)), reference.Pod(dst), model.TCP, 80, false},
	)
}

func TestEmptyNamespaceSelectorMatchesAllNamespaces(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster([]manifest.Namespace{namespace("x")},
		policy("x", "p", ingressOnly(everything(), from(nsPeer(everything())))))
	expect(t, objs,
		check{reference.Pod(workload("undeclared", "a", nil)), reference.Pod(dst), model.TCP, 80, true},
		check{reference.Pod(workload("x", "a", nil)), reference.Pod(dst), model.TCP, 80, true},
		check{ip("10.0.0.1"), reference.Pod(dst), model.TCP, 80, false},
	)
}

func TestNamespaceAndPodSelectorAreANDed(t *testing.T) {
	nss := []manifest.Namespace{namespace("x"), namespace("prod", "env", "prod"), namespace("dev", "env", "dev")}
	dst := workload("x", "db", nil)
	peer := networkingv1.NetworkPolicyPeer{
		NamespaceSelector: matchLabels("env", "prod"),
		PodSelector:       matchLabels("app", "web"),
	}
	objs := cluster(nss, policy("x", "p", ingressOnly(everything(), from(peer))))
	expect(t, objs,
		check{reference.Pod(workload("prod", "web", labelMap("app", "web"))), reference.Pod(dst), model.TCP, 80, true},
		check{reference.Pod(workload("prod", "api", labelMap("app", "api"))), reference.Pod(dst), model.TCP, 80, false},
		check{reference.Pod(workload("dev", "web", labelMap("app", "web"))), reference.Pod(dst), model.TCP, 80, false},
		check{reference.Pod(workload("x", "web", labelMap("app", "web"))), reference.Pod(dst), model.TCP, 80, false},
	)
}

func TestSeparatePeersAreORed(t *testing.T) {
	nss := []manifest.Namespace{namespace("x"), namespace("prod", "env", "prod")}
	dst := workload("x", "db", nil)
	objs := cluster(nss, policy("x", "p", ingressOnly(everything(),
		from(nsPeer(matchLabels("env", "prod")), podPeer(matchLabels("app", "web"))))))
	expect(t, objs,
		check{reference.Pod(workload("prod", "api", nil)), reference.Pod(dst), model.TCP, 80, true},
		check{reference.Pod(workload("x", "web", labelMap("app", "web"))), reference.Pod(dst), model.TCP, 80, true},
		check{reference.Pod(workload("x", "api", nil)), reference.Pod(dst), model.TCP, 80, false},
	)
}

func TestUndeclaredNamespaceHasOnlyNameLabel(t *testing.T) {
	dst := workload("x", "db", nil)
	byName := cluster(nil, policy("x", "p", ingressOnly(everything(),
		from(nsPeer(matchLabels(manifest.NamespaceNameLabel, "ghost"))))))
	expect(t, byName, check{reference.Pod(workload("ghost", "a", nil)), reference.Pod(dst), model.TCP, 80, true})
	byOther := cluster(nil, policy("x", "p", ingressOnly(everything(),
		from(nsPeer(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpExists}}})))))
	expect(t, byOther, check{reference.Pod(workload("ghost", "a", nil)), reference.Pod(dst), model.TCP, 80, false})
}

func TestNamespaceNameLabelAlwaysEqualsName(t *testing.T) {
	// The control plane sets kubernetes.io/metadata.name; an input that
	// claims otherwise does not change it.
	liar := manifest.Namespace{Name: "real", Labels: map[string]string{manifest.NamespaceNameLabel: "fake"}, Declared: true}
	dst := workload("x", "db", nil)
	objs := cluster([]manifest.Namespace{liar}, policy("x", "p", ingressOnly(everything(),
		from(nsPeer(matchLabels(manifest.NamespaceNameLabel, "real"))))))
	expect(t, objs, check{reference.Pod(workload("real", "a", nil)), reference.Pod(dst), model.TCP, 80, true})
}

func TestPeerWithoutSelectorsMatchesNothing(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), from(networkingv1.NetworkPolicyPeer{}))))
	expect(t, objs,
		check{reference.Pod(workload("x", "a", nil)), reference.Pod(dst), model.TCP, 80, false},
		check{ip("10.0.0.1"), reference.Pod(dst), model.TCP, 80, false},
	)
}

func TestMatchExpressionsOperators(t *testing.T) {
	expr := func(op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: op, Values: values}}}
	}
	front := workload("x", "front", labelMap("tier", "frontend"))
	back := workload("x", "back", labelMap("tier", "backend"))
	none := workload("x", "none", nil)
	cases := []struct {
		name                          string
		sel                           *metav1.LabelSelector
		wantFront, wantBack, wantNone bool
	}{
		{"In", expr(metav1.LabelSelectorOpIn, "frontend"), true, false, false},
		{"NotIn", expr(metav1.LabelSelectorOpNotIn, "frontend"), false, true, true},
		{"Exists", expr(metav1.LabelSelectorOpExists), true, true, false},
		{"DoesNotExist", expr(metav1.LabelSelectorOpDoesNotExist), false, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := workload("x", "db", nil)
			objs := cluster(nil, policy("x", "p", ingressOnly(everything(), from(podPeer(c.sel)))))
			expect(t, objs,
				check{reference.Pod(front), reference.Pod(dst), model.TCP, 80, c.wantFront},
				check{reference.Pod(back), reference.Pod(dst), model.TCP, 80, c.wantBack},
				check{reference.Pod(none), reference.Pod(dst), model.TCP, 80, c.wantNone},
			)
		})
	}
}

func TestMatchLabelsAndExpressionsAreANDed(t *testing.T) {
	sel := &metav1.LabelSelector{
		MatchLabels:      labelMap("app", "web"),
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "version", Operator: metav1.LabelSelectorOpIn, Values: []string{"v2"}}},
	}
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), from(podPeer(sel)))))
	expect(t, objs,
		check{reference.Pod(workload("x", "a", labelMap("app", "web", "version", "v2"))), reference.Pod(dst), model.TCP, 80, true},
		check{reference.Pod(workload("x", "b", labelMap("app", "web", "version", "v1"))), reference.Pod(dst), model.TCP, 80, false},
	)
}

func TestInvalidSelectorMatchesNothing(t *testing.T) {
	bogus := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus", Values: []string{"a"}}}}
	inWithoutValues := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn}}}
	a := workload("x", "a", labelMap("app", "a"))
	src := reference.Pod(workload("x", "s", labelMap("app", "a")))
	// As spec.podSelector: the policy selects no pod, so isolates none.
	objs := cluster(nil, policy("x", "p", ingressOnly(bogus)))
	expect(t, objs, check{src, reference.Pod(a), model.TCP, 80, true})
	// As a peer: matches no source.
	for _, sel := range []*metav1.LabelSelector{bogus, inWithoutValues} {
		objs = cluster(nil, policy("x", "p", ingressOnly(everything(), from(podPeer(sel)), from(nsPeer(sel)))))
		expect(t, objs, check{src, reference.Pod(a), model.TCP, 80, false})
	}
}

// --- ipBlock ---

func TestIPBlockExceptIPv4(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), from(ipPeer("10.0.0.0/8", "10.1.0.0/16", "10.2.3.4/32")))))
	expect(t, objs,
		check{ip("10.0.0.1"), reference.Pod(dst), model.TCP, 80, true},
		check{ip("10.255.255.255"), reference.Pod(dst), model.TCP, 80, true},
		check{ip("10.1.2.3"), reference.Pod(dst), model.TCP, 80, false},
		check{ip("10.2.3.4"), reference.Pod(dst), model.TCP, 80, false},
		check{ip("10.2.3.5"), reference.Pod(dst), model.TCP, 80, true},
		check{ip("11.0.0.0"), reference.Pod(dst), model.TCP, 80, false},
	)
}

func TestIPBlockExceptIPv6(t *testing.T) {
	src := workload("x", "a", nil)
	objs := cluster(nil, policy("x", "p", egressOnly(everything(), to(ipPeer("2001:db8::/32", "2001:db8:1::/48")))))
	expect(t, objs,
		check{reference.Pod(src), ip("2001:db8::1"), model.TCP, 443, true},
		check{reference.Pod(src), ip("2001:db8:2::1"), model.TCP, 443, true},
		check{reference.Pod(src), ip("2001:db8:1::1"), model.TCP, 443, false},
		check{reference.Pod(src), ip("2001:db9::1"), model.TCP, 443, false},
	)
}

func TestIPBlockFamiliesAreSeparate(t *testing.T) {
	src := workload("x", "a", nil)
	objs := cluster(nil, policy("x", "p", egressOnly(everything(), to(ipPeer("::/0")))))
	expect(t, objs,
		check{reference.Pod(src), ip("fd00::1"), model.TCP, 443, true},
		check{reference.Pod(src), ip("10.0.0.1"), model.TCP, 443, false},
	)
}

func TestIPBlockIPv4MappedAddressCountsAsIPv4(t *testing.T) {
	src := workload("x", "a", nil)
	objs := cluster(nil, policy("x", "p", egressOnly(everything(), to(ipPeer("10.0.0.0/8", "10.9.0.0/16")))))
	expect(t, objs,
		check{reference.Pod(src), ip("::ffff:10.1.2.3"), model.TCP, 443, true},
		check{reference.Pod(src), ip("::ffff:10.9.2.3"), model.TCP, 443, false},
	)
	v6 := cluster(nil, policy("x", "p", egressOnly(everything(), to(ipPeer("::/0")))))
	expect(t, v6, check{reference.Pod(src), ip("::ffff:10.1.2.3"), model.TCP, 443, false})
}

func TestIPBlockNeverMatchesPods(t *testing.T) {
	a := workload("x", "a", nil)
	b := workload("x", "b", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), from(ipPeer("0.0.0.0/0"), ipPeer("::/0")))))
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{ip("192.0.2.1"), reference.Pod(b), model.TCP, 80, true},
	)
}

func TestIPBlockWithSelectorMatchesNothing(t *testing.T) {
	b := workload("x", "b", nil)
	peer := ipPeer("0.0.0.0/0")
	peer.PodSelector = everything()
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), from(peer))))
	expect(t, objs,
		check{reference.Pod(workload("x", "a", nil)), reference.Pod(b), model.TCP, 80, false},
		check{ip("192.0.2.1"), reference.Pod(b), model.TCP, 80, false},
	)
}

func TestIPBlockUnparsableMatchesNothing(t *testing.T) {
	b := workload("x", "b", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(),
		from(ipPeer("not-a-cidr"), ipPeer("10.0.0.0/8", "bad")))))
	expect(t, objs, check{ip("10.0.0.1"), reference.Pod(b), model.TCP, 80, false})
}

// --- ports ---

func portsRule(ports ...networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicyIngressRule {
	return networkingv1.NetworkPolicyIngressRule{Ports: ports}
}

func TestEmptyPortsMatchAllPortsAllProtocols(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule())))
	src := ip("1.2.3.4")
	expect(t, objs,
		check{src, reference.Pod(dst), model.TCP, 1, true},
		check{src, reference.Pod(dst), model.UDP, 65535, true},
		check{src, reference.Pod(dst), model.SCTP, 9000, true},
	)
}

func TestProtocolDefaultsToTCP(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(numPort("", 5432)))))
	src := ip("1.2.3.4")
	expect(t, objs,
		check{src, reference.Pod(dst), model.TCP, 5432, true},
		check{src, reference.Pod(dst), model.UDP, 5432, false},
		check{src, reference.Pod(dst), model.SCTP, 5432, false},
	)
}

func TestUnknownProtocolMatchesNothing(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(),
		portsRule(numPort("tcp", 80), numPort("ICMP", 80)))))
	expect(t, objs, check{ip("1.2.3.4"), reference.Pod(dst), model.TCP, 80, false})
}

func TestAbsentPortMatchesEveryPortOfProtocol(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(),
		portsRule(networkingv1.NetworkPolicyPort{Protocol: protoPtr(corev1.ProtocolUDP)}))))
	src := ip("1.2.3.4")
	expect(t, objs,
		check{src, reference.Pod(dst), model.UDP, 1, true},
		check{src, reference.Pod(dst), model.UDP, 65535, true},
		check{src, reference.Pod(dst), model.TCP, 53, false},
	)
	defaulted := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(networkingv1.NetworkPolicyPort{}))))
	expect(t, defaulted,
		check{src, reference.Pod(dst), model.TCP, 12345, true},
		check{src, reference.Pod(dst), model.SCTP, 12345, false},
	)
}

func TestNumericPortMatchesThatPortOnly(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(numPort(corev1.ProtocolSCTP, 80)))))
	src := ip("1.2.3.4")
	expect(t, objs,
		check{src, reference.Pod(dst), model.SCTP, 80, true},
		check{src, reference.Pod(dst), model.SCTP, 79, false},
		check{src, reference.Pod(dst), model.SCTP, 81, false},
		check{src, reference.Pod(dst), model.TCP, 80, false},
	)
}

func TestEndPortRange(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(rangePort(corev1.ProtocolUDP, 8080, 8090)))))
	src := ip("1.2.3.4")
	expect(t, objs,
		check{src, reference.Pod(dst), model.UDP, 8079, false},
		check{src, reference.Pod(dst), model.UDP, 8080, true},
		check{src, reference.Pod(dst), model.UDP, 8085, true},
		check{src, reference.Pod(dst), model.UDP, 8090, true},
		check{src, reference.Pod(dst), model.UDP, 8091, false},
		check{src, reference.Pod(dst), model.TCP, 8085, false},
	)
	single := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(rangePort("", 443, 443)))))
	expect(t, single,
		check{src, reference.Pod(dst), model.TCP, 443, true},
		check{src, reference.Pod(dst), model.TCP, 444, false},
	)
}

func TestEndPortBelowPortMatchesNothing(t *testing.T) {
	dst := workload("x", "db", nil)
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(rangePort("", 8090, 8080)))))
	src := ip("1.2.3.4")
	expect(t, objs,
		check{src, reference.Pod(dst), model.TCP, 8080, false},
		check{src, reference.Pod(dst), model.TCP, 8085, false},
		check{src, reference.Pod(dst), model.TCP, 8090, false},
	)
}

func TestEndPortWithNamedOrAbsentPortMatchesNothing(t *testing.T) {
	dst := workload("x", "db", nil, containerPort("http", 8080, ""))
	end := int32(9000)
	named := namedPort("", "http")
	named.EndPort = &end
	absent := networkingv1.NetworkPolicyPort{EndPort: &end}
	src := ip("1.2.3.4")
	for _, pp := range []networkingv1.NetworkPolicyPort{named, absent} {
		objs := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(pp))))
		expect(t, objs,
			check{src, reference.Pod(dst), model.TCP, 8080, false},
			check{src, reference.Pod(dst), model.TCP, 8500, false},
			check{src, reference.Pod(dst), model.TCP, 9000, false},
		)
	}
}

func TestNamedPortResolvesPerDestination(t *testing.T) {
	web := workload("x", "web", labelMap("role", "server"), containerPort("http", 8080, ""))
	api := workload("x", "api", labelMap("role", "server"), containerPort("http", 9090, corev1.ProtocolTCP))
	bare := workload("x", "bare", labelMap("role", "server"), containerPort("", 8080, ""))
	objs := cluster(nil, policy("x", "p", ingressOnly(matchLabels("role", "server"), portsRule(namedPort("", "http")))))
	src := ip("1.2.3.4")
	expect(t, objs,
		check{src, reference.Pod(web), model.TCP, 8080, true},
		check{src, reference.Pod(web), model.TCP, 9090, false},
		check{src, reference.Pod(api), model.TCP, 9090, true},
		check{src, reference.Pod(api), model.TCP, 8080, false},
		check{src, reference.Pod(bare), model.TCP, 8080, false},
	)
}

func TestNamedPortProtocolMustMatch(t *testing.T) {
	dns := workload("x", "dns", nil,
		containerPort("dns", 53, corev1.ProtocolUDP), containerPort("dns-tcp", 53, corev1.ProtocolTCP))
	src := ip("1.2.3.4")
	udp := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(namedPort(corev1.ProtocolUDP, "dns")))))
	expect(t, udp,
		check{src, reference.Pod(dns), model.UDP, 53, true},
		check{src, reference.Pod(dns), model.TCP, 53, false},
	)
	// The entry's protocol defaults to TCP and the container port is UDP.
	tcp := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(namedPort("", "dns")))))
	expect(t, tcp,
		check{src, reference.Pod(dns), model.UDP, 53, false},
		check{src, reference.Pod(dns), model.TCP, 53, false},
	)
}

func TestNamedPortIncludesInitContainers(t *testing.T) {
	w := workload("x", "w", nil)
	w.Pod.InitContainers = []corev1.Container{{Name: "sidecar", Ports: []corev1.ContainerPort{containerPort("metrics", 9100, "")}}}
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(namedPort("", "metrics")))))
	expect(t, objs, check{ip("1.2.3.4"), reference.Pod(w), model.TCP, 9100, true})
}

func TestNamedPortInEgressResolvesOnDestination(t *testing.T) {
	src := workload("x", "client", labelMap("app", "client"), containerPort("db", 1111, ""))
	db := workload("x", "db", nil, containerPort("db", 5432, ""))
	objs := cluster(nil, policy("x", "p", egressOnly(matchLabels("app", "client"),
		networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{namedPort("", "db")}})))
	expect(t, objs,
		check{reference.Pod(src), reference.Pod(db), model.TCP, 5432, true},
		check{reference.Pod(src), reference.Pod(db), model.TCP, 1111, false},
	)
}

func TestNamedPortToIPMatchesNothing(t *testing.T) {
	src := workload("x", "client", nil, containerPort("https", 443, ""))
	objs := cluster(nil, policy("x", "p", egressOnly(everything(),
		networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{namedPort("", "https")}})))
	expect(t, objs, check{reference.Pod(src), ip("1.1.1.1"), model.TCP, 443, false})
}

func TestDigitStringPortIsAName(t *testing.T) {
	dst := workload("x", "db", nil, containerPort("http", 80, ""))
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(), portsRule(namedPort("", "80")))))
	expect(t, objs, check{ip("1.2.3.4"), reference.Pod(dst), model.TCP, 80, false})
	// A container port literally named "80" (invalid in Kubernetes) is what
	// the name would resolve to.
	odd := workload("x", "odd", nil, containerPort("80", 8080, ""))
	expect(t, objs, check{ip("1.2.3.4"), reference.Pod(odd), model.TCP, 8080, true})
}

// --- Conns ---

func TestConnsAsksEveryProtocolAndPort(t *testing.T) {
	dst := workload("x", "db", nil, containerPort("dns", 53, corev1.ProtocolUDP))
	objs := cluster(nil, policy("x", "p", ingressOnly(everything(),
		portsRule(rangePort("", 8080, 8085), namedPort(corev1.ProtocolUDP, "dns")))))
	got := reference.Conns(objs, ip("1.2.3.4"), reference.Pod(dst), model.Ports(52, 53, 54, 8079, 8080, 8085, 8086, 65535))
	want, err := model.ParseConnectionSet("TCP 8080,8085,UDP 53")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Errorf("Conns = %v, want %v", got, want)
	}
	if all := reference.Conns(cluster(nil), ip("1.2.3.4"), reference.Pod(dst), model.PortRange(1, 3)); all.String() != "SCTP 1-3,TCP 1-3,UDP 1-3" {
		t.Errorf("Conns without policies = %v", all)
	}
}
