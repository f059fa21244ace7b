package reference_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/analyze/reference"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// --- builders for the admin tiers ---

type (
	anpSpec    = policyv1alpha1.AdminNetworkPolicySpec
	banpSpec   = policyv1alpha1.BaselineAdminNetworkPolicySpec
	cnpSpec    = policyv1beta1.ClusterNetworkPolicySpec
	anpInPeer  = policyv1alpha1.AdminNetworkPolicyIngressPeer
	anpOutPeer = policyv1alpha1.AdminNetworkPolicyEgressPeer
	anpPort    = policyv1alpha1.AdminNetworkPolicyPort
	cnpInPeer  = policyv1beta1.ClusterNetworkPolicyIngressPeer
	cnpOutPeer = policyv1beta1.ClusterNetworkPolicyEgressPeer
	cnpProto   = policyv1beta1.ClusterNetworkPolicyProtocol
)

func anp(name string, priority int32, spec anpSpec) manifest.AdminNetworkPolicy {
	spec.Priority = priority
	return manifest.AdminNetworkPolicy{Object: &policyv1alpha1.AdminNetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spec,
	}}
}

func banp(name string, spec banpSpec) manifest.BaselineAdminNetworkPolicy {
	return manifest.BaselineAdminNetworkPolicy{Object: &policyv1alpha1.BaselineAdminNetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spec,
	}}
}

func cnp(name string, tier policyv1beta1.Tier, priority int32, spec cnpSpec) manifest.ClusterNetworkPolicy {
	spec.Tier, spec.Priority = tier, priority
	return manifest.ClusterNetworkPolicy{APIVersion: "policy.networking.k8s.io/v1beta1", Object: &policyv1beta1.ClusterNetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spec,
	}}
}

// tiered adds admin-tier objects (AdminNetworkPolicy,
// BaselineAdminNetworkPolicy, ClusterNetworkPolicy) to objs, in order.
func tiered(objs *manifest.Objects, items ...any) *manifest.Objects {
	for _, it := range items {
		switch it := it.(type) {
		case manifest.AdminNetworkPolicy:
			objs.AdminPolicies = append(objs.AdminPolicies, it)
		case manifest.BaselineAdminNetworkPolicy:
			objs.BaselinePolicies = append(objs.BaselinePolicies, it)
		case manifest.ClusterNetworkPolicy:
			objs.ClusterPolicies = append(objs.ClusterPolicies, it)
		default:
			panic("tiered: not an admin-tier object")
		}
	}
	return objs
}

// Subjects.
func anpNS(sel *metav1.LabelSelector) policyv1alpha1.AdminNetworkPolicySubject {
	return policyv1alpha1.AdminNetworkPolicySubject{Namespaces: sel}
}

func anpPods(ns, pod *metav1.LabelSelector) policyv1alpha1.AdminNetworkPolicySubject {
	return policyv1alpha1.AdminNetworkPolicySubject{Pods: &policyv1alpha1.NamespacedPod{NamespaceSelector: *ns, PodSelector: *pod}}
}

func cnpNS(sel *metav1.LabelSelector) policyv1beta1.ClusterNetworkPolicySubject {
	return policyv1beta1.ClusterNetworkPolicySubject{Namespaces: sel}
}

// Peers.
func inNS(sel *metav1.LabelSelector) anpInPeer { return anpInPeer{Namespaces: sel} }

func inPods(ns, pod *metav1.LabelSelector) anpInPeer {
	return anpInPeer{Pods: &policyv1alpha1.NamespacedPod{NamespaceSelector: *ns, PodSelector: *pod}}
}

func outNS(sel *metav1.LabelSelector) anpOutPeer { return anpOutPeer{Namespaces: sel} }

func outNetworks(cidrs ...string) anpOutPeer {
	p := anpOutPeer{}
	for _, c := range cidrs {
		p.Networks = append(p.Networks, policyv1alpha1.CIDR(c))
	}
	return p
}

// Rules.
func anpIn(act policyv1alpha1.AdminNetworkPolicyRuleAction, ports *[]anpPort, peers ...anpInPeer) policyv1alpha1.AdminNetworkPolicyIngressRule {
	return policyv1alpha1.AdminNetworkPolicyIngressRule{Action: act, From: peers, Ports: ports}
}

func anpOut(act policyv1alpha1.AdminNetworkPolicyRuleAction, ports *[]anpPort, peers ...anpOutPeer) policyv1alpha1.AdminNetworkPolicyEgressRule {
	return policyv1alpha1.AdminNetworkPolicyEgressRule{Action: act, To: peers, Ports: ports}
}

func banpIn(act policyv1alpha1.BaselineAdminNetworkPolicyRuleAction, ports *[]anpPort, peers ...anpInPeer) policyv1alpha1.BaselineAdminNetworkPolicyIngressRule {
	return policyv1alpha1.BaselineAdminNetworkPolicyIngressRule{Action: act, From: peers, Ports: ports}
}

func banpOut(act policyv1alpha1.BaselineAdminNetworkPolicyRuleAction, peers ...policyv1alpha1.BaselineAdminNetworkPolicyEgressPeer) policyv1alpha1.BaselineAdminNetworkPolicyEgressRule {
	return policyv1alpha1.BaselineAdminNetworkPolicyEgressRule{Action: act, To: peers}
}

func cnpIn(act policyv1beta1.ClusterNetworkPolicyRuleAction, protocols []cnpProto, peers ...cnpInPeer) policyv1beta1.ClusterNetworkPolicyIngressRule {
	return policyv1beta1.ClusterNetworkPolicyIngressRule{Action: act, From: peers, Protocols: protocols}
}

func cnpOut(act policyv1beta1.ClusterNetworkPolicyRuleAction, protocols []cnpProto, peers ...cnpOutPeer) policyv1beta1.ClusterNetworkPolicyEgressRule {
	return policyv1beta1.ClusterNetworkPolicyEgressRule{Action: act, To: peers, Protocols: protocols}
}

// Ports.
func ports(ps ...anpPort) *[]anpPort { return &ps }

func portNumber(proto corev1.Protocol, port int32) anpPort {
	return anpPort{PortNumber: &policyv1alpha1.Port{Protocol: proto, Port: port}}
}

func portRange(proto corev1.Protocol, start, end int32) anpPort {
	return anpPort{PortRange: &policyv1alpha1.PortRange{Protocol: proto, Start: start, End: end}}
}

func adminNamedPort(name string) anpPort { return anpPort{NamedPort: &name} }

func cnpNumber(n int32) *policyv1beta1.Port { return &policyv1beta1.Port{Number: n} }

func cnpRange(start, end int32) *policyv1beta1.Port {
	return &policyv1beta1.Port{Range: &policyv1beta1.PortRange{Start: start, End: end}}
}

func cnpTCP(p *policyv1beta1.Port) cnpProto {
	return cnpProto{TCP: &policyv1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: p}}
}

func cnpUDP(p *policyv1beta1.Port) cnpProto {
	return cnpProto{UDP: &policyv1beta1.ClusterNetworkPolicyProtocolUDP{DestinationPort: p}}
}

func cnpSCTP(p *policyv1beta1.Port) cnpProto {
	return cnpProto{SCTP: &policyv1beta1.ClusterNetworkPolicyProtocolSCTP{DestinationPort: p}}
}

const (
	allow   = policyv1alpha1.AdminNetworkPolicyRuleActionAllow
	deny    = policyv1alpha1.AdminNetworkPolicyRuleActionDeny
	pass    = policyv1alpha1.AdminNetworkPolicyRuleActionPass
	bAllow  = policyv1alpha1.BaselineAdminNetworkPolicyRuleActionAllow
	bDeny   = policyv1alpha1.BaselineAdminNetworkPolicyRuleActionDeny
	accept  = policyv1beta1.ClusterNetworkPolicyRuleActionAccept
	cDeny   = policyv1beta1.ClusterNetworkPolicyRuleActionDeny
	cPass   = policyv1beta1.ClusterNetworkPolicyRuleActionPass
	adminT  = policyv1beta1.AdminTier
	baseT   = policyv1beta1.BaselineTier
	nsLabel = manifest.NamespaceNameLabel
)

// denyIngressFromAll is an ANP denying every pod's ingress from every pod.
func denyIngressFromAll(name string, priority int32) manifest.AdminNetworkPolicy {
	return anp(name, priority, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, inNS(everything()))}})
}

// allowIngressFromAll is an ANP allowing every pod's ingress from every pod.
func allowIngressFromAll(name string, priority int32) manifest.AdminNetworkPolicy {
	return anp(name, priority, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(allow, nil, inNS(everything()))}})
}

// denyAllBANP is the default BANP denying every pod's ingress from every pod.
func denyAllBANP() manifest.BaselineAdminNetworkPolicy {
	return banp("default", banpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.BaselineAdminNetworkPolicyIngressRule{banpIn(bDeny, nil, inNS(everything()))}})
}

// two pods in two namespaces: a in x (env=prod), b in y (env=dev).
func twoNamespaces() ([]manifest.Namespace, *manifest.Workload, *manifest.Workload) {
	return []manifest.Namespace{namespace("x", "env", "prod"), namespace("y", "env", "dev")},
		workload("x", "a", labelMap("app", "a")), workload("y", "b", labelMap("app", "b"))
}

// --- the decision per direction ---

func TestAdminAllowOverridesNetworkPolicyDeny(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := cluster(nss, policy("y", "deny", ingressOnly(everything())))
	expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
	tiered(objs, allowIngressFromAll("open", 10))
	expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

func TestAdminDenyOverridesNetworkPolicyAllow(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss, policy("y", "allow-all", ingressOnly(everything(), from()))),
		anp("guard", 10, anpSpec{Subject: anpNS(matchLabels(nsLabel, "y")), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{
			anpIn(deny, nil, inNS(matchLabels(nsLabel, "x"))),
		}}))
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{ip("1.2.3.4"), reference.Pod(b), model.TCP, 80, true},
	)
}

func TestAdminPassDefersToNetworkPolicy(t *testing.T) {
	nss, a, b := twoNamespaces()
	c := workload("z", "c", nil)
	objs := tiered(cluster(nss, policy("y", "from-x", ingressOnly(everything(), from(nsPeer(matchLabels(nsLabel, "x")))))),
		anp("pass", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(pass, nil, inNS(everything()))}}),
		allowIngressFromAll("later-allow", 2),
	)
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
		check{reference.Pod(c), reference.Pod(b), model.TCP, 80, false},
	)
}

func TestAdminPassSkipsLaterAdminRules(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss),
		anp("p", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{
			anpIn(pass, nil, inNS(everything())),
			anpIn(deny, nil, inNS(everything())),
		}}),
		denyIngressFromAll("later-deny", 2),
	)
	expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

func TestAdminPassWithoutNetworkPolicyFallsToBaseline(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss),
		anp("p", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(pass, nil, inNS(everything()))}}),
		denyAllBANP(),
	)
	expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
}

func TestBaselineDenyAppliesOnlyWithoutNetworkPolicy(t *testing.T) {
	nss, a, b := twoNamespaces()
	c := workload("y", "c", labelMap("app", "c"))
	objs := tiered(cluster(nss, policy("y", "b-open", ingressOnly(matchLabels("app", "b"), from()))), denyAllBANP())
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
		check{reference.Pod(a), reference.Pod(c), model.TCP, 80, false},
	)
}

func TestBaselineAllowDoesNotOverrideNetworkPolicy(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss, policy("y", "deny", ingressOnly(everything()))),
		banp("default", banpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.BaselineAdminNetworkPolicyIngressRule{banpIn(bAllow, nil, inNS(everything()))}}))
	expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
}

func TestBaselinePassAllows(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss),
		cnp("pass", baseT, 1, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{cnpIn(cPass, nil, cnpInPeer{Namespaces: everything()})}}),
		denyAllBANP(),
	)
	expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

func TestNoMatchingRuleAllows(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss),
		anp("from-dev", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, inNS(matchLabels("env", "dev")))}}),
		banp("default", banpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.BaselineAdminNetworkPolicyIngressRule{banpIn(bDeny, nil, inNS(matchLabels("env", "staging")))}}),
	)
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
		check{reference.Pod(b), reference.Pod(a), model.TCP, 80, false},
	)
}

// A NetworkPolicy isolating a pod for ingress only leaves its egress to the
// Baseline tier.
func TestNetworkPolicyTierIsPerDirection(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss, policy("x", "in-open", ingressOnly(everything(), from()))),
		banp("default", banpSpec{Subject: anpNS(everything()), Egress: []policyv1alpha1.BaselineAdminNetworkPolicyEgressRule{
			banpOut(bDeny, policyv1alpha1.BaselineAdminNetworkPolicyEgressPeer{Namespaces: everything()}),
		}}))
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(b), reference.Pod(a), model.TCP, 80, false},
		check{ip("1.2.3.4"), reference.Pod(a), model.TCP, 80, true},
	)
}

func TestAdminAllowOnOneSideStillNeedsTheOther(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss),
		anp("egress-open", 1, anpSpec{Subject: anpNS(matchLabels(nsLabel, "x")), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{anpOut(allow, nil, outNS(everything()))}}),
		anp("y-closed", 2, anpSpec{Subject: anpNS(matchLabels(nsLabel, "y")), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, inNS(everything()))}}),
	)
	expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
}

func TestIPEndpointHasNoSideInTiers(t *testing.T) {
	nss, a, _ := twoNamespaces()
	objs := tiered(cluster(nss),
		anp("no-internet", 1, anpSpec{Subject: anpNS(everything()), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{anpOut(deny, nil, outNetworks("0.0.0.0/0"))}}))
	expect(t, objs,
		check{reference.Pod(a), ip("1.2.3.4"), model.TCP, 80, false},
		check{ip("1.2.3.4"), reference.Pod(a), model.TCP, 80, true},
	)
}

// --- tiers and their members ---

func TestAdminTierHoldsANPAndAdminCNP(t *testing.T) {
	nss, a, b := twoNamespaces()
	np := policy("y", "allow-all", ingressOnly(everything(), from()))
	expect(t, tiered(cluster(nss, np), denyIngressFromAll("anp", 1)), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
	denyCNP := cnp("cnp", adminT, 1, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{cnpIn(cDeny, nil, cnpInPeer{Namespaces: everything()})}})
	expect(t, tiered(cluster(nss, np), denyCNP), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
}

func TestBaselineTierHoldsBaselineCNPAndDefaultBANP(t *testing.T) {
	nss, a, b := twoNamespaces()
	denyCNP := cnp("cnp", baseT, 1, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{cnpIn(cDeny, nil, cnpInPeer{Namespaces: everything()})}})
	np := policy("y", "allow-all", ingressOnly(everything(), from()))
	for _, item := range []any{denyCNP, denyAllBANP()} {
		expect(t, tiered(cluster(nss), item), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
		expect(t, tiered(cluster(nss, np), item), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
	}
}

func TestBANPOtherNameIgnored(t *testing.T) {
	nss, a, b := twoNamespaces()
	other := denyAllBANP()
	other.Object.Name = "strict"
	expect(t, tiered(cluster(nss), other), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

func TestCNPOtherTierIgnored(t *testing.T) {
	nss, a, b := twoNamespaces()
	for _, tier := range []policyv1beta1.Tier{"", "Application", "admin"} {
		c := cnp("c", tier, 1, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{cnpIn(cDeny, nil, cnpInPeer{Namespaces: everything()})}})
		expect(t, tiered(cluster(nss), c), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
	}
}

func TestPriorityOutsideZeroToThousandIgnored(t *testing.T) {
	nss, a, b := twoNamespaces()
	denyCNP := func(tier policyv1beta1.Tier, prio int32) manifest.ClusterNetworkPolicy {
		return cnp("c", tier, prio, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{cnpIn(cDeny, nil, cnpInPeer{Namespaces: everything()})}})
	}
	for _, prio := range []int32{-1, 1001, 1 << 30} {
		for _, item := range []any{denyIngressFromAll("anp", prio), denyCNP(adminT, prio), denyCNP(baseT, prio)} {
			expect(t, tiered(cluster(nss), item), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
		}
	}
	for _, prio := range []int32{0, 1000} {
		for _, item := range []any{denyIngressFromAll("anp", prio), denyCNP(adminT, prio), denyCNP(baseT, prio)} {
			expect(t, tiered(cluster(nss), item), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
		}
	}
}

// --- order ---

func TestAdminOrderByAscendingPriority(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, tiered(cluster(nss), denyIngressFromAll("a-deny", 10), allowIngressFromAll("z-allow", 5)),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
	expect(t, tiered(cluster(nss), denyIngressFromAll("z-deny", 5), allowIngressFromAll("a-allow", 10)),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false})
}

func TestAdminTieBreakByKindThenName(t *testing.T) {
	nss, a, b := twoNamespaces()
	cnpRule := func(name string, act policyv1beta1.ClusterNetworkPolicyRuleAction) manifest.ClusterNetworkPolicy {
		return cnp(name, adminT, 7, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{cnpIn(act, nil, cnpInPeer{Namespaces: everything()})}})
	}
	conn := check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false}
	// Kind first: the ANP named "z" goes before the CNP named "a".
	conn.want = true
	expect(t, tiered(cluster(nss), cnpRule("a", cDeny), allowIngressFromAll("z", 7)), conn)
	conn.want = false
	expect(t, tiered(cluster(nss), cnpRule("a", accept), denyIngressFromAll("z", 7)), conn)
	// Then name, within each kind, whatever the input order.
	expect(t, tiered(cluster(nss), allowIngressFromAll("b", 7), denyIngressFromAll("a", 7)), conn)
	conn.want = true
	expect(t, tiered(cluster(nss), cnpRule("b", cDeny), cnpRule("a", accept)), conn)
}

func TestBaselineOrderCNPsByPriorityThenNameThenBANP(t *testing.T) {
	nss, a, b := twoNamespaces()
	rule := func(name string, prio int32, act policyv1beta1.ClusterNetworkPolicyRuleAction) manifest.ClusterNetworkPolicy {
		return cnp(name, baseT, prio, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{cnpIn(act, nil, cnpInPeer{Namespaces: everything()})}})
	}
	conn := check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true}
	expect(t, tiered(cluster(nss), rule("a", 10, cDeny), rule("z", 5, accept)), conn)
	expect(t, tiered(cluster(nss), rule("b", 5, cDeny), rule("a", 5, accept)), conn)
	// The BANP comes after every CNP, even one of priority 1000.
	conn.want = false
	expect(t, tiered(cluster(nss),
		banp("default", banpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.BaselineAdminNetworkPolicyIngressRule{banpIn(bAllow, nil, inNS(everything()))}}),
		rule("z", 1000, cDeny)), conn)
}

func TestRulesApplyInListedOrder(t *testing.T) {
	nss, a, b := twoNamespaces()
	rules := []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, inNS(matchLabels(nsLabel, "x"))), anpIn(allow, nil, inNS(everything()))}
	objs := tiered(cluster(nss, policy("y", "deny", ingressOnly(everything()))), anp("p", 1, anpSpec{Subject: anpNS(everything()), Ingress: rules}))
	c := workload("z", "c", nil)
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(c), reference.Pod(b), model.TCP, 80, true},
	)
	rules[0], rules[1] = rules[1], rules[0]
	expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

// --- subject ---

func TestSubjectNamespacesSelectsAllPodsOfNamespaces(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(matchLabels("env", "prod")), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, inNS(everything()))}}))
	expect(t, objs,
		check{reference.Pod(b), reference.Pod(a), model.TCP, 80, false},
		check{reference.Pod(b), reference.Pod(workload("x", "other", nil)), model.TCP, 80, false},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
	)
}

func TestSubjectPodsSelectsPodsInNamespaces(t *testing.T) {
	nss, a, b := twoNamespaces()
	other := workload("x", "other", labelMap("app", "other"))
	subject := func(s policyv1alpha1.AdminNetworkPolicySubject) *manifest.Objects {
		return tiered(cluster(nss), anp("p", 1, anpSpec{Subject: s, Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, inNS(everything()))}}))
	}
	expect(t, subject(anpPods(matchLabels("env", "prod"), matchLabels("app", "a"))),
		check{reference.Pod(b), reference.Pod(a), model.TCP, 80, false},
		check{reference.Pod(b), reference.Pod(other), model.TCP, 80, true},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
	)
	// Both selectors empty: every pod.
	expect(t, subject(anpPods(everything(), everything())),
		check{reference.Pod(b), reference.Pod(a), model.TCP, 80, false},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
	)
}

func TestSubjectNeitherOrBothSelectsNothing(t *testing.T) {
	nss, a, b := twoNamespaces()
	both := anpPods(everything(), everything())
	both.Namespaces = everything()
	for _, s := range []policyv1alpha1.AdminNetworkPolicySubject{{}, both} {
		objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: s, Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, inNS(everything()))}}))
		expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
	}
}

func TestSubjectInvalidSelectorMatchesNothing(t *testing.T) {
	nss, a, b := twoNamespaces()
	bogus := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Bogus"}}}
	for _, s := range []policyv1alpha1.AdminNetworkPolicySubject{anpNS(bogus), anpPods(bogus, everything()), anpPods(everything(), bogus)} {
		objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: s, Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, inNS(everything()))}}))
		expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
	}
}

func TestSubjectNamespaceNameLabelAlwaysPresent(t *testing.T) {
	// Namespace y is declared without the name label; z is not declared.
	nss := []manifest.Namespace{{Name: "y", Labels: map[string]string{}, Declared: true}}
	b := workload("y", "b", nil)
	c := workload("z", "c", nil)
	objs := tiered(cluster(nss), anp("p", 1, anpSpec{
		Subject: anpNS(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: nsLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{"y", "z"}}}}),
		Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, inNS(matchLabels(nsLabel, "y")))},
	}))
	expect(t, objs,
		check{reference.Pod(b), reference.Pod(c), model.TCP, 80, false},
		check{reference.Pod(c), reference.Pod(b), model.TCP, 80, true},
	)
}

// --- peers ---

func TestPeerNamespacesSelectsAllPodsOfNamespaces(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, inNS(matchLabels("env", "prod")))}}))
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(workload("x", "other", nil)), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(b), reference.Pod(a), model.TCP, 80, true},
		check{ip("10.0.0.1"), reference.Pod(b), model.TCP, 80, true},
	)
	// Everything: every pod, still no IP.
	objs = tiered(cluster(nss), denyIngressFromAll("p", 1))
	expect(t, objs, check{ip("10.0.0.1"), reference.Pod(b), model.TCP, 80, true})
}

func TestPeerPodsSelectsPodsInNamespaces(t *testing.T) {
	nss, a, b := twoNamespaces()
	other := workload("x", "other", labelMap("app", "other"))
	peer := func(p anpInPeer) *manifest.Objects {
		return tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(matchLabels(nsLabel, "y")), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil, p)}}))
	}
	expect(t, peer(inPods(matchLabels("env", "prod"), matchLabels("app", "a"))),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(other), reference.Pod(b), model.TCP, 80, true},
		check{reference.Pod(workload("y", "a", labelMap("app", "a"))), reference.Pod(b), model.TCP, 80, true},
	)
	expect(t, peer(inPods(everything(), everything())),
		check{reference.Pod(other), reference.Pod(b), model.TCP, 80, false},
		check{ip("10.0.0.1"), reference.Pod(b), model.TCP, 80, true},
	)
}

func TestPeerNetworksMatchIPsInsideAnyCIDR(t *testing.T) {
	nss, a, _ := twoNamespaces()
	objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(everything()), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{
		anpOut(deny, nil, outNetworks("10.0.0.0/8", "2001:db8::/32")),
	}}))
	expect(t, objs,
		check{reference.Pod(a), ip("10.1.2.3"), model.TCP, 80, false},
		check{reference.Pod(a), ip("::ffff:10.1.2.3"), model.TCP, 80, false},
		check{reference.Pod(a), ip("2001:db8::1"), model.TCP, 80, false},
		check{reference.Pod(a), ip("11.0.0.0"), model.TCP, 80, true},
		check{reference.Pod(a), ip("2001:db9::1"), model.TCP, 80, true},
	)
}

func TestPeerNetworksNeverMatchPods(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(everything()), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{
		anpOut(deny, nil, outNetworks("0.0.0.0/0", "::/0")),
	}}))
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
		check{reference.Pod(a), ip("192.0.2.1"), model.TCP, 80, false},
	)
}

func TestPeerNetworksInvalidCIDRMatchesNothing(t *testing.T) {
	nss, a, _ := twoNamespaces()
	objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(everything()), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{
		anpOut(deny, nil, outNetworks("not-a-cidr", "10.0.0.0/8")),
		anpOut(deny, nil, outNetworks("192.168.0.0/33")),
	}}))
	expect(t, objs,
		check{reference.Pod(a), ip("10.0.0.1"), model.TCP, 80, false},
		check{reference.Pod(a), ip("192.168.0.1"), model.TCP, 80, true},
	)
}

func TestPeerNodesMatchNothing(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(everything()), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{
		anpOut(deny, nil, anpOutPeer{Nodes: everything()}),
	}}))
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
		check{reference.Pod(a), ip("10.0.0.1"), model.TCP, 80, true},
	)
}

func TestPeerDomainNamesMatchNothing(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss, policy("x", "no-egress", egressOnly(everything()))), anp("p", 1, anpSpec{Subject: anpNS(everything()), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{
		anpOut(allow, nil, anpOutPeer{DomainNames: []policyv1alpha1.DomainName{"example.com", "*.example.com"}}),
	}}))
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(a), ip("93.184.216.34"), model.TCP, 443, false},
	)
}

func TestFailClosedEmptyPeerAllowMatchesNothing(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss, policy("y", "deny", ingressOnly(everything()))),
		anp("p", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(allow, nil, anpInPeer{})}}))
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{ip("1.2.3.4"), reference.Pod(b), model.TCP, 80, false},
	)
}

func TestFailClosedEmptyPeerDenyMatchesAll(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(matchLabels(nsLabel, "x")), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{
		anpOut(deny, ports(portNumber("", 80)), anpOutPeer{}),
	}}))
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(a), ip("1.2.3.4"), model.TCP, 80, false},
		check{reference.Pod(a), ip("2001:db8::1"), model.TCP, 80, false},
		// The rule's ports still apply.
		check{reference.Pod(a), reference.Pod(b), model.TCP, 81, true},
		check{reference.Pod(a), reference.Pod(b), model.UDP, 80, true},
	)
}

func TestFailClosedEmptyPeerPassDeniesAll(t *testing.T) {
	// "For Deny and Pass rules, fail closed means: treat the rule as a
	// Deny all rule": without the empty peer the Pass would reach the
	// NetworkPolicy tier, where nothing isolates b, and allow.
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss),
		anp("p", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(pass, nil, anpInPeer{})}}),
	)
	expect(t, objs,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{ip("1.2.3.4"), reference.Pod(b), model.TCP, 80, false},
	)
	passing := tiered(cluster(nss),
		anp("p", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(pass, nil, anpInPeer{Namespaces: everything()})}}),
	)
	expect(t, passing, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

func TestFailClosedSeveralFieldsPeer(t *testing.T) {
	nss, a, b := twoNamespaces()
	twoFields := outNetworks("0.0.0.0/0")
	twoFields.Namespaces = everything()
	denied := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(everything()), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{anpOut(deny, nil, twoFields)}}))
	expect(t, denied,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(a), ip("2001:db8::1"), model.TCP, 80, false},
	)
	allowed := tiered(cluster(nss, policy("x", "no-egress", egressOnly(everything()))),
		anp("p", 1, anpSpec{Subject: anpNS(everything()), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{anpOut(allow, nil, twoFields)}}))
	expect(t, allowed,
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(a), ip("10.0.0.1"), model.TCP, 80, false},
	)
}

func TestEmptyPeerListMatchesNothing(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(everything()),
		Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, nil)},
		Egress:  []policyv1alpha1.AdminNetworkPolicyEgressRule{{Action: deny, To: []anpOutPeer{}}},
	}))
	expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

// --- ANP and BANP ports ---

// denyPorts is a cluster whose only rule denies ingress to every pod from
// every pod on the given ports, so a connection is denied iff the ports
// match.
func denyPorts(nss []manifest.Namespace, ps *[]anpPort) *manifest.Objects {
	return tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn(deny, ps, inNS(everything()))}}))
}

func TestAdminPortsNilMatchesEveryPort(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, denyPorts(nss, nil),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 1, false},
		check{reference.Pod(a), reference.Pod(b), model.UDP, 65535, false},
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 9000, false},
	)
}

func TestAdminPortsEmptyListMatchesNothing(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, denyPorts(nss, ports()), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

func TestAdminPortNumberProtocolDefaultsToTCP(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, denyPorts(nss, ports(portNumber("", 80), portNumber(corev1.ProtocolUDP, 53))),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(a), reference.Pod(b), model.UDP, 80, true},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 81, true},
		check{reference.Pod(a), reference.Pod(b), model.UDP, 53, false},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 53, true},
	)
}

func TestAdminPortUnknownProtocolMatchesNothing(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, denyPorts(nss, ports(portNumber("tcp", 80), portRange("ICMP", 1, 65535))),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

func TestAdminPortRangeInclusive(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, denyPorts(nss, ports(portRange(corev1.ProtocolSCTP, 8080, 8090), portRange("", 443, 443))),
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 8079, true},
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 8080, false},
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 8090, false},
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 8091, true},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 8085, true},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 443, false},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 444, true},
	)
}

func TestAdminPortRangeEndBelowStartMatchesNothing(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, denyPorts(nss, ports(portRange("", 8090, 8080))),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 8080, true},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 8085, true},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 8090, true},
	)
}

func TestNamedPortAnyProtocol(t *testing.T) {
	nss, a, _ := twoNamespaces()
	dns := workload("y", "dns", nil,
		containerPort("dns", 53, corev1.ProtocolUDP), containerPort("dns-tcp", 53, corev1.ProtocolTCP), containerPort("web", 8080, ""))
	dns.Pod.InitContainers = []corev1.Container{{Name: "init", Ports: []corev1.ContainerPort{containerPort("sig", 3868, corev1.ProtocolSCTP)}}}
	expect(t, denyPorts(nss, ports(adminNamedPort("dns"), adminNamedPort("web"), adminNamedPort("sig"))),
		check{reference.Pod(a), reference.Pod(dns), model.UDP, 53, false},
		check{reference.Pod(a), reference.Pod(dns), model.TCP, 53, true},
		check{reference.Pod(a), reference.Pod(dns), model.TCP, 8080, false},
		check{reference.Pod(a), reference.Pod(dns), model.UDP, 8080, true},
		check{reference.Pod(a), reference.Pod(dns), model.SCTP, 3868, false},
		// Looked up on the destination, never the source.
		check{reference.Pod(dns), reference.Pod(a), model.UDP, 53, true},
	)
	// The same for a CNP's destinationNamedPort.
	c := tiered(cluster(nss), cnp("c", adminT, 1, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{
		cnpIn(cDeny, []cnpProto{{DestinationNamedPort: "dns"}}, cnpInPeer{Namespaces: everything()}),
	}}))
	expect(t, c,
		check{reference.Pod(a), reference.Pod(dns), model.UDP, 53, false},
		check{reference.Pod(a), reference.Pod(dns), model.TCP, 53, true},
	)
}

func TestAdminNamedPortToIPMatchesNothing(t *testing.T) {
	nss, _, _ := twoNamespaces()
	src := workload("x", "client", nil, containerPort("https", 443, ""))
	objs := tiered(cluster(nss), anp("p", 1, anpSpec{Subject: anpNS(everything()), Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{
		anpOut(deny, ports(adminNamedPort("https")), outNetworks("0.0.0.0/0")),
	}}))
	expect(t, objs, check{reference.Pod(src), ip("1.1.1.1"), model.TCP, 443, true})
}

func TestNamedPortEmptyNameMatchesNothing(t *testing.T) {
	nss, a, _ := twoNamespaces()
	bare := workload("y", "bare", nil, containerPort("", 8080, ""))
	expect(t, denyPorts(nss, ports(adminNamedPort(""))), check{reference.Pod(a), reference.Pod(bare), model.TCP, 8080, true})
}

func TestAdminPortEntryNeedsExactlyOneField(t *testing.T) {
	nss, a, b := twoNamespaces()
	two := portNumber("", 80)
	two.PortRange = portRange("", 1, 65535).PortRange
	expect(t, denyPorts(nss, ports(anpPort{}, two)),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 81, true},
	)
}

// --- CNP protocols ---

// denyProtocols is denyPorts for a CNP's protocols.
func denyProtocols(nss []manifest.Namespace, protocols ...cnpProto) *manifest.Objects {
	return tiered(cluster(nss), cnp("c", adminT, 1, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{
		cnpIn(cDeny, protocols, cnpInPeer{Namespaces: everything()}),
	}}))
}

func TestCNPProtocolsEmptyMatchesEveryPort(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, denyProtocols(nss),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 1, false},
		check{reference.Pod(a), reference.Pod(b), model.UDP, 65535, false},
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 9000, false},
	)
}

func TestCNPProtocolWithoutDestinationPortMatchesEveryPortOfProtocol(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, denyProtocols(nss, cnpUDP(nil), cnpSCTP(nil)),
		check{reference.Pod(a), reference.Pod(b), model.UDP, 1, false},
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 65535, false},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
	)
}

func TestCNPDestinationPortNumber(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, denyProtocols(nss, cnpTCP(cnpNumber(80)), cnpUDP(cnpNumber(53))),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 81, true},
		check{reference.Pod(a), reference.Pod(b), model.UDP, 80, true},
		check{reference.Pod(a), reference.Pod(b), model.UDP, 53, false},
	)
	// A number outside 1..65535 matches nothing.
	expect(t, denyProtocols(nss, cnpTCP(cnpNumber(65536)), cnpTCP(cnpNumber(-80))),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 65535, true},
	)
}

func TestCNPDestinationPortRange(t *testing.T) {
	nss, a, b := twoNamespaces()
	expect(t, denyProtocols(nss, cnpSCTP(cnpRange(8080, 8090)), cnpTCP(cnpRange(443, 443)), cnpUDP(cnpRange(90, 80))),
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 8079, true},
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 8080, false},
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 8090, false},
		check{reference.Pod(a), reference.Pod(b), model.SCTP, 8091, true},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 443, false},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 444, true},
		// end < start: nothing.
		check{reference.Pod(a), reference.Pod(b), model.UDP, 85, true},
		check{reference.Pod(a), reference.Pod(b), model.UDP, 80, true},
	)
}

func TestCNPDestinationPortNeedsNumberOrRange(t *testing.T) {
	nss, a, b := twoNamespaces()
	both := cnpRange(1, 65535)
	both.Number = 80
	expect(t, denyProtocols(nss, cnpTCP(both), cnpTCP(&policyv1beta1.Port{})),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
		check{reference.Pod(a), reference.Pod(b), model.TCP, 81, true},
	)
}

func TestCNPProtocolEntryNeedsExactlyOneField(t *testing.T) {
	nss, a, b := twoNamespaces()
	two := cnpTCP(nil)
	two.UDP = cnpUDP(nil).UDP
	named := cnpUDP(nil)
	named.DestinationNamedPort = "dns"
	dns := workload("y", "dns", nil, containerPort("dns", 53, corev1.ProtocolUDP))
	expect(t, denyProtocols(nss, cnpProto{}, two, named),
		check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true},
		check{reference.Pod(a), reference.Pod(b), model.UDP, 80, true},
		check{reference.Pod(a), reference.Pod(dns), model.UDP, 53, true},
	)
}

// --- actions ---

func TestCNPAcceptEqualsAllow(t *testing.T) {
	nss, a, b := twoNamespaces()
	np := policy("y", "deny", ingressOnly(everything()))
	acceptCNP := cnp("c", adminT, 1, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{cnpIn(accept, nil, cnpInPeer{Namespaces: everything()})}})
	expect(t, tiered(cluster(nss, np), acceptCNP), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
	expect(t, tiered(cluster(nss, np), allowIngressFromAll("p", 1)), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
	// In the Baseline tier too, where it beats the BANP's deny.
	baseAccept := cnp("c", baseT, 1, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{cnpIn(accept, nil, cnpInPeer{Namespaces: everything()})}})
	expect(t, tiered(cluster(nss), baseAccept, denyAllBANP()), check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}

func TestUnknownActionIgnoresRule(t *testing.T) {
	nss, a, b := twoNamespaces()
	conn := check{reference.Pod(a), reference.Pod(b), model.TCP, 80, false}
	// Each policy's first rule has an action its kind lacks; the second denies.
	anpBad := anp("p", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{
		anpIn("Accept", nil, inNS(everything())), anpIn(deny, nil, inNS(everything())),
	}})
	banpBad := banp("default", banpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.BaselineAdminNetworkPolicyIngressRule{
		banpIn("Pass", nil, inNS(everything())), banpIn(bDeny, nil, inNS(everything())),
	}})
	cnpBad := cnp("c", adminT, 1, cnpSpec{Subject: cnpNS(everything()), Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{
		cnpIn("Allow", nil, cnpInPeer{Namespaces: everything()}), cnpIn(cDeny, nil, cnpInPeer{Namespaces: everything()}),
	}})
	for _, item := range []any{anpBad, banpBad, cnpBad} {
		expect(t, tiered(cluster(nss), item), conn)
	}
	// An ignored Deny with a fail-closed peer denies nothing either.
	ignored := anp("p", 1, anpSpec{Subject: anpNS(everything()), Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{anpIn("deny", nil, anpInPeer{})}})
	conn.want = true
	expect(t, tiered(cluster(nss), ignored), conn)
}

func TestNilObjectsIgnored(t *testing.T) {
	nss, a, b := twoNamespaces()
	objs := tiered(cluster(nss), manifest.AdminNetworkPolicy{}, manifest.BaselineAdminNetworkPolicy{}, manifest.ClusterNetworkPolicy{})
	expect(t, objs, check{reference.Pod(a), reference.Pod(b), model.TCP, 80, true})
}
