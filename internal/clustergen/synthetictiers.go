package clustergen

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/manifest"
)

// guardrails adds n admin-tier policies, the cluster guardrails a platform
// team writes: the first is the BaselineAdminNetworkPolicy "default"
// (namespaces are closed to each other unless a rule above opens them;
// monitoring may scrape metrics), the rest cycle through guardrailTemplates,
// each round with a new name and a priority one higher.
func (s *synthGen) guardrails(objs *manifest.Objects, n int) {
	if n <= 0 {
		return
	}
	objs.BaselinePolicies = append(objs.BaselinePolicies, manifest.BaselineAdminNetworkPolicy{Object: &policyv1alpha1.BaselineAdminNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: policyV1alpha1, Kind: "BaselineAdminNetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: policyv1alpha1.BaselineAdminNetworkPolicySpec{
			Subject: policyv1alpha1.AdminNetworkPolicySubject{Namespaces: notKubeSystem()},
			Ingress: []policyv1alpha1.BaselineAdminNetworkPolicyIngressRule{
				{
					Name:   "allow-monitoring",
					Action: policyv1alpha1.BaselineAdminNetworkPolicyRuleActionAllow,
					From:   []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: labelSel(manifest.NamespaceNameLabel, "monitoring")}},
					Ports:  &[]policyv1alpha1.AdminNetworkPolicyPort{{NamedPort: ptr("metrics")}},
				},
				{
					Name:   "deny-other-namespaces",
					Action: policyv1alpha1.BaselineAdminNetworkPolicyRuleActionDeny,
					From:   []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: &metav1.LabelSelector{}}},
				},
			},
		},
	}})
	for k := range n - 1 {
		tmpl := guardrailTemplates[k%len(guardrailTemplates)]
		round := k / len(guardrailTemplates)
		tmpl(objs, k+1, int32(round))
	}
}

func notKubeSystem() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: manifest.NamespaceNameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system"}},
	}}
}

func addANP(objs *manifest.Objects, name string, spec policyv1alpha1.AdminNetworkPolicySpec) {
	spec.Priority = min(spec.Priority, 1000)
	objs.AdminPolicies = append(objs.AdminPolicies, manifest.AdminNetworkPolicy{Object: &policyv1alpha1.AdminNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: policyV1alpha1, Kind: "AdminNetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spec,
	}})
}

func addCNP(objs *manifest.Objects, apiVersion, name string, spec policyv1beta1.ClusterNetworkPolicySpec) {
	spec.Priority = min(spec.Priority, 1000)
	objs.ClusterPolicies = append(objs.ClusterPolicies, manifest.ClusterNetworkPolicy{APIVersion: apiVersion, Object: &policyv1beta1.ClusterNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: "ClusterNetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spec,
	}})
}

func anpPortNumber(proto corev1.Protocol, port int32) policyv1alpha1.AdminNetworkPolicyPort {
	return policyv1alpha1.AdminNetworkPolicyPort{PortNumber: &policyv1alpha1.Port{Protocol: proto, Port: port}}
}

// guardrailTemplates each add one policy: the k-th of the cluster, in its
// round-th cycle through the templates.
var guardrailTemplates = []func(objs *manifest.Objects, k int, round int32){
	// Tenancy: the namespaces of one team accept each other in the Baseline
	// tier, before the default BANP closes namespaces to each other.
	func(objs *manifest.Objects, k int, round int32) {
		team := teams[int(round)%len(teams)]
		addCNP(objs, policyV1beta1, fmt.Sprintf("tenant-%s-%d", team, k), policyv1beta1.ClusterNetworkPolicySpec{
			Tier: policyv1beta1.BaselineTier, Priority: 100 + round,
			Subject: policyv1beta1.ClusterNetworkPolicySubject{Namespaces: labelSel("team", team)},
			Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{{
				Name: "same-team", Action: policyv1beta1.ClusterNetworkPolicyRuleActionAccept,
				From: []policyv1beta1.ClusterNetworkPolicyIngressPeer{{Namespaces: labelSel("team", team)}},
			}},
		})
	},
	// Every pod may resolve names with CoreDNS, whatever NetworkPolicies say.
	func(objs *manifest.Objects, k int, round int32) {
		addANP(objs, fmt.Sprintf("allow-dns-%d", k), policyv1alpha1.AdminNetworkPolicySpec{
			Priority: 10 + round,
			Subject:  policyv1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}},
			Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{{
				Name: "dns", Action: policyv1alpha1.AdminNetworkPolicyRuleActionAllow,
				To: []policyv1alpha1.AdminNetworkPolicyEgressPeer{{Pods: &policyv1alpha1.NamespacedPod{
					NamespaceSelector: *labelSel(manifest.NamespaceNameLabel, "kube-system"),
					PodSelector:       *labelSel("k8s-app", "kube-dns"),
				}}},
				Ports: &[]policyv1alpha1.AdminNetworkPolicyPort{anpPortNumber(corev1.ProtocolUDP, 53), anpPortNumber(corev1.ProtocolTCP, 53)},
			}},
		})
	},
	// kube-system takes DNS from everyone, defers monitoring to the
	// NetworkPolicies there, and denies the rest from other namespaces.
	func(objs *manifest.Objects, k int, round int32) {
		addANP(objs, fmt.Sprintf("protect-kube-system-%d", k), policyv1alpha1.AdminNetworkPolicySpec{
			Priority: 20 + round,
			Subject:  policyv1alpha1.AdminNetworkPolicySubject{Namespaces: labelSel(manifest.NamespaceNameLabel, "kube-system")},
			Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{
				{
					Name: "dns", Action: policyv1alpha1.AdminNetworkPolicyRuleActionAllow,
					From:  []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: &metav1.LabelSelector{}}},
					Ports: &[]policyv1alpha1.AdminNetworkPolicyPort{{NamedPort: ptr("dns")}, {NamedPort: ptr("dns-tcp")}},
				},
				{
					Name: "monitoring", Action: policyv1alpha1.AdminNetworkPolicyRuleActionPass,
					From: []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: labelSel(manifest.NamespaceNameLabel, "monitoring")}},
				},
				{
					Name: "others", Action: policyv1alpha1.AdminNetworkPolicyRuleActionDeny,
					From: []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: notKubeSystem()}},
				},
			},
		})
	},
	// Prometheus scraping is handed to the lower tiers everywhere.
	func(objs *manifest.Objects, k int, round int32) {
		addCNP(objs, policyV1alpha2, fmt.Sprintf("pass-monitoring-%d", k), policyv1beta1.ClusterNetworkPolicySpec{
			Tier: policyv1beta1.AdminTier, Priority: 30 + round,
			Subject: policyv1beta1.ClusterNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}},
			Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{{
				Name: "scrape", Action: policyv1beta1.ClusterNetworkPolicyRuleActionPass,
				From: []policyv1beta1.ClusterNetworkPolicyIngressPeer{{Pods: &policyv1beta1.NamespacedPod{
					NamespaceSelector: *labelSel(manifest.NamespaceNameLabel, "monitoring"),
					PodSelector:       *labelSel("app", "prometheus"),
				}}},
				Protocols: []policyv1beta1.ClusterNetworkPolicyProtocol{
					{DestinationNamedPort: "metrics"},
					{TCP: &policyv1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: &policyv1beta1.Port{Range: &policyv1beta1.PortRange{Start: 8080, End: 8089}}}},
				},
			}},
		})
	},
	// No pod reaches the cloud metadata service.
	func(objs *manifest.Objects, k int, round int32) {
		addCNP(objs, policyV1beta1, fmt.Sprintf("block-metadata-%d", k), policyv1beta1.ClusterNetworkPolicySpec{
			Tier: policyv1beta1.AdminTier, Priority: 5 + round,
			Subject: policyv1beta1.ClusterNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}},
			Egress: []policyv1beta1.ClusterNetworkPolicyEgressRule{{
				Name: "metadata", Action: policyv1beta1.ClusterNetworkPolicyRuleActionDeny,
				To: []policyv1beta1.ClusterNetworkPolicyEgressPeer{{Networks: []policyv1beta1.CIDR{"169.254.169.254/32", "fd00:ec2::254/128"}}},
			}},
		})
	},
	// Production neither takes from nor sends to dev and staging.
	func(objs *manifest.Objects, k int, round int32) {
		lower := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"dev", "staging"}},
		}}
		addANP(objs, fmt.Sprintf("prod-isolation-%d", k), policyv1alpha1.AdminNetworkPolicySpec{
			Priority: 40 + round,
			Subject:  policyv1alpha1.AdminNetworkPolicySubject{Namespaces: labelSel("env", "prod")},
			Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{{
				Name: "from-lower", Action: policyv1alpha1.AdminNetworkPolicyRuleActionDeny,
				From: []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: lower}},
			}},
			Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{{
				Name: "to-lower", Action: policyv1alpha1.AdminNetworkPolicyRuleActionDeny,
				To: []policyv1alpha1.AdminNetworkPolicyEgressPeer{{Namespaces: lower}},
			}},
		})
	},
	// Frontends may reach the internet on HTTPS unless a NetworkPolicy
	// says otherwise.
	func(objs *manifest.Objects, k int, round int32) {
		addCNP(objs, policyV1beta1, fmt.Sprintf("frontend-https-egress-%d", k), policyv1beta1.ClusterNetworkPolicySpec{
			Tier: policyv1beta1.BaselineTier, Priority: 200 + round,
			Subject: policyv1beta1.ClusterNetworkPolicySubject{Pods: &policyv1beta1.NamespacedPod{PodSelector: *labelSel("tier", "frontend")}},
			Egress: []policyv1beta1.ClusterNetworkPolicyEgressRule{{
				Name: "https", Action: policyv1beta1.ClusterNetworkPolicyRuleActionAccept,
				To: []policyv1beta1.ClusterNetworkPolicyEgressPeer{{Networks: []policyv1beta1.CIDR{"0.0.0.0/0", "::/0"}}},
				Protocols: []policyv1beta1.ClusterNetworkPolicyProtocol{
					{TCP: &policyv1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: &policyv1beta1.Port{Number: 443}}},
				},
			}},
		})
	},
	// The payments API may call its partners by name.
	func(objs *manifest.Objects, k int, round int32) {
		addANP(objs, fmt.Sprintf("payments-partners-%d", k), policyv1alpha1.AdminNetworkPolicySpec{
			Priority: 50 + round,
			Subject: policyv1alpha1.AdminNetworkPolicySubject{Pods: &policyv1alpha1.NamespacedPod{
				NamespaceSelector: *labelSel("team", "payments"), PodSelector: *labelSel("app", "api"),
			}},
			Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{{
				Name: "partners", Action: policyv1alpha1.AdminNetworkPolicyRuleActionAllow,
				To:    []policyv1alpha1.AdminNetworkPolicyEgressPeer{{DomainNames: []policyv1alpha1.DomainName{"api.partner.example", "*.psp.example"}}},
				Ports: &[]policyv1alpha1.AdminNetworkPolicyPort{anpPortNumber(corev1.ProtocolTCP, 443)},
			}},
		})
	},
}
