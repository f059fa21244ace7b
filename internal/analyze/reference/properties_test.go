package reference_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/analyze/reference"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Properties that follow from the documentation whatever the policies say,
// checked on Random clusters. They guard the oracle itself.

func randomCluster(seed uint64) *manifest.Objects {
	return clustergen.Random(rand.New(rand.NewPCG(seed, 7)), clustergen.DefaultRandomSize)
}

// tieredSize is DefaultRandomSize with the admin tiers.
var tieredSize = clustergen.RandomSize{Namespaces: 3, Workloads: 8, Policies: 6, AdminPolicies: 4, BaselinePolicies: 3}

// tieredSeeds is how many tiered clusters the slower properties check.
func tieredSeeds() uint64 {
	if testing.Short() {
		return 1
	}
	return 3
}

func randomTieredCluster(seed uint64) *manifest.Objects {
	return clustergen.Random(rand.New(rand.NewPCG(seed, 7)), tieredSize)
}

func allEndpoints(objs *manifest.Objects) []reference.Endpoint {
	var out []reference.Endpoint
	for i := range objs.Workloads {
		out = append(out, reference.Pod(&objs.Workloads[i]))
	}
	for _, a := range clustergen.InterestingAddresses(objs) {
		out = append(out, reference.Address(a))
	}
	return out
}

// forEachConnection calls f for every pair of endpoints with at least one
// pod, every protocol and every interesting port.
func forEachConnection(objs *manifest.Objects, f func(src, dst reference.Endpoint, proto model.Protocol, port int)) {
	eps := allEndpoints(objs)
	ports := clustergen.InterestingPorts(objs)
	for _, src := range eps {
		for _, dst := range eps {
			if src.Workload == nil && dst.Workload == nil {
				continue
			}
			for _, proto := range model.Protocols() {
				for _, r := range ports.Ranges() {
					for port := r[0]; port <= r[1]; port++ {
						f(src, dst, proto, port)
					}
				}
			}
		}
	}
}

func TestRandomClustersWithoutPoliciesAllowEverything(t *testing.T) {
	for seed := range uint64(5) {
		objs := randomCluster(seed)
		objs.Policies = nil
		forEachConnection(objs, func(src, dst reference.Endpoint, proto model.Protocol, port int) {
			if !reference.Allowed(objs, src, dst, proto, port) {
				t.Fatalf("seed %d, no policies: %v => %v : %v %d denied", seed, src, dst, proto, port)
			}
		})
	}
}

// Policies are additive: an allow-all policy in every namespace opens every
// connection, whatever the other policies say.
func TestRandomClustersAllowAllPolicyOpensEverything(t *testing.T) {
	for seed := range uint64(5) {
		objs := randomCluster(seed)
		for _, ns := range objs.Namespaces {
			objs.Policies = append(objs.Policies, manifest.NetworkPolicy{Object: &networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "zz-allow-all"},
				Spec: networkingv1.NetworkPolicySpec{
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
					Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
					Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
				},
			}})
		}
		forEachConnection(objs, func(src, dst reference.Endpoint, proto model.Protocol, port int) {
			if !reference.Allowed(objs, src, dst, proto, port) {
				t.Fatalf("seed %d, with allow-all: %v => %v : %v %d denied", seed, src, dst, proto, port)
			}
		})
	}
}

// A connection from a pod to an address is decided by the source's egress
// side alone, so dropping every policy whose effective policyTypes lack
// Egress changes no such decision.
func TestRandomClustersIsolationIsPerPolicyType(t *testing.T) {
	for seed := range uint64(5) {
		objs := randomCluster(seed)
		forEachConnection(objs, func(src, dst reference.Endpoint, proto model.Protocol, port int) {
			if src.Workload == nil || dst.Workload != nil {
				return
			}
			got := reference.Allowed(objs, src, dst, proto, port)
			egressOnly := *objs
			egressOnly.Policies = nil
			for _, p := range objs.Policies {
				spec := p.Object.Spec
				hasEgress := len(spec.PolicyTypes) == 0 && len(spec.Egress) > 0
				for _, pt := range spec.PolicyTypes {
					hasEgress = hasEgress || pt == networkingv1.PolicyTypeEgress
				}
				if hasEgress {
					egressOnly.Policies = append(egressOnly.Policies, p)
				}
			}
			if want := reference.Allowed(&egressOnly, src, dst, proto, port); got != want {
				t.Fatalf("seed %d: %v => %v : %v %d is %v, %v with egress policies only", seed, src, dst, proto, port, got, want)
			}
		})
	}
}

func TestRandomClustersIPv4MappedAddressesActAsIPv4(t *testing.T) {
	for seed := range uint64(10) {
		objs := randomCluster(seed / 2)
		if seed%2 == 1 {
			objs = randomTieredCluster(seed / 2)
		}
		for _, a := range clustergen.InterestingAddresses(objs) {
			if !a.Is4() {
				continue
			}
			mapped := reference.Address(netip.AddrFrom16(a.As16()))
			for i := range objs.Workloads {
				pod := reference.Pod(&objs.Workloads[i])
				for _, port := range []int{53, 80, 443, 8080} {
					for _, proto := range model.Protocols() {
						for _, dir := range []string{"egress", "ingress"} {
							src, dst, msrc, mdst := pod, reference.Address(a), pod, mapped
							if dir == "ingress" {
								src, dst, msrc, mdst = dst, src, mdst, msrc
							}
							if reference.Allowed(objs, src, dst, proto, port) != reference.Allowed(objs, msrc, mdst, proto, port) {
								t.Fatalf("seed %d: %s %v vs %v differ on %v %d", seed, dir, a, mapped, proto, port)
							}
						}
					}
				}
			}
		}
	}
}

// withoutAdminTier is objs without its Admin tier.
func withoutAdminTier(objs *manifest.Objects) *manifest.Objects {
	out := *objs
	out.AdminPolicies = nil
	out.ClusterPolicies = nil
	for _, p := range objs.ClusterPolicies {
		if p.Object.Spec.Tier != policyv1beta1.AdminTier {
			out.ClusterPolicies = append(out.ClusterPolicies, p)
		}
	}
	return &out
}

// withFirst is objs with an AdminNetworkPolicy of priority 0 that goes
// before every other (ANPs first on ties, "!" first by name), selecting
// every pod and holding, both ways, one rule with the given action and a
// peer with no field, which fails closed: for Deny and Pass it matches
// every peer.
func withFirst(objs *manifest.Objects, action policyv1alpha1.AdminNetworkPolicyRuleAction) *manifest.Objects {
	// A Pass names every pod and every address explicitly, since an empty
	// peer would fail closed and turn it into a Deny; a Deny uses the empty
	// peer, which fails closed to everything, addresses included (ingress
	// peers cannot name networks).
	in := []policyv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: &metav1.LabelSelector{}}}
	out := []policyv1alpha1.AdminNetworkPolicyEgressPeer{
		{Namespaces: &metav1.LabelSelector{}},
		{Networks: []policyv1alpha1.CIDR{"0.0.0.0/0", "::/0"}},
	}
	if action == policyv1alpha1.AdminNetworkPolicyRuleActionDeny {
		in, out = []policyv1alpha1.AdminNetworkPolicyIngressPeer{{}}, []policyv1alpha1.AdminNetworkPolicyEgressPeer{{}}
	}
	o := *objs
	o.AdminPolicies = append([]manifest.AdminNetworkPolicy{{Object: &policyv1alpha1.AdminNetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "!"},
		Spec: policyv1alpha1.AdminNetworkPolicySpec{
			Priority: 0,
			Subject:  policyv1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}},
			Ingress:  []policyv1alpha1.AdminNetworkPolicyIngressRule{{Action: action, From: in}},
			Egress:   []policyv1alpha1.AdminNetworkPolicyEgressRule{{Action: action, To: out}},
		},
	}}}, objs.AdminPolicies...)
	return &o
}

// A Pass of everything ahead of the Admin tier is the same as no Admin tier.
func TestRandomTieredClustersPassAllFirstSkipsAdminTier(t *testing.T) {
	t.Parallel()
	for seed := range tieredSeeds() {
		objs := randomTieredCluster(seed)
		passAll, noAdmin := withFirst(objs, policyv1alpha1.AdminNetworkPolicyRuleActionPass), withoutAdminTier(objs)
		forEachConnection(objs, func(src, dst reference.Endpoint, proto model.Protocol, port int) {
			if src.Workload == nil {
				return // ingress peers cannot name addresses, so no Pass covers them
			}
			if got, want := reference.Allowed(passAll, src, dst, proto, port), reference.Allowed(noAdmin, src, dst, proto, port); got != want {
				t.Fatalf("seed %d: %v => %v : %v %d is %v after a pass-all, %v without the Admin tier", seed, src, dst, proto, port, got, want)
			}
		})
	}
}

// A Deny of everything ahead of the Admin tier closes every connection.
func TestRandomTieredClustersDenyAllFirstClosesEverything(t *testing.T) {
	t.Parallel()
	for seed := range tieredSeeds() {
		objs := withFirst(randomTieredCluster(seed), policyv1alpha1.AdminNetworkPolicyRuleActionDeny)
		forEachConnection(objs, func(src, dst reference.Endpoint, proto model.Protocol, port int) {
			if reference.Allowed(objs, src, dst, proto, port) {
				t.Fatalf("seed %d, deny-all first: %v => %v : %v %d allowed", seed, src, dst, proto, port)
			}
		})
	}
}

// When a NetworkPolicy isolates every pod both ways, the Baseline tier
// decides nothing.
func TestRandomTieredClustersBaselineOnlyDecidesUnisolatedPods(t *testing.T) {
	t.Parallel()
	for seed := range tieredSeeds() {
		objs := randomTieredCluster(seed)
		for _, ns := range objs.Namespaces {
			objs.Policies = append(objs.Policies, manifest.NetworkPolicy{Object: &networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "zz-isolate"},
				Spec: networkingv1.NetworkPolicySpec{
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				},
			}})
		}
		noBaseline := *objs
		noBaseline.BaselinePolicies = nil
		noBaseline.ClusterPolicies = nil
		for _, p := range objs.ClusterPolicies {
			if p.Object.Spec.Tier != policyv1beta1.BaselineTier {
				noBaseline.ClusterPolicies = append(noBaseline.ClusterPolicies, p)
			}
		}
		forEachConnection(objs, func(src, dst reference.Endpoint, proto model.Protocol, port int) {
			if got, want := reference.Allowed(objs, src, dst, proto, port), reference.Allowed(&noBaseline, src, dst, proto, port); got != want {
				t.Fatalf("seed %d: %v => %v : %v %d is %v, %v without the Baseline tier", seed, src, dst, proto, port, got, want)
			}
		})
	}
}

func ExampleAllowed() {
	db := manifest.Workload{Kind: "StatefulSet", Namespace: "shop", Name: "db", PodLabels: map[string]string{"app": "db"}}
	web := manifest.Workload{Kind: "Deployment", Namespace: "shop", Name: "web", PodLabels: map[string]string{"app": "web"}}
	// A port entry with neither protocol nor port: every TCP port.
	anyTCP := networkingv1.NetworkPolicyPort{}
	objs := &manifest.Objects{Policies: []manifest.NetworkPolicy{{Object: &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
				Ports: []networkingv1.NetworkPolicyPort{anyTCP},
			}},
		},
	}}}}
	fmt.Println(reference.Allowed(objs, reference.Pod(&web), reference.Pod(&db), model.TCP, 5432))
	fmt.Println(reference.Allowed(objs, reference.Pod(&web), reference.Pod(&db), model.UDP, 5432))
	fmt.Println(reference.Allowed(objs, reference.Pod(&db), reference.Pod(&web), model.UDP, 5432))
	fmt.Println(reference.Conns(objs, reference.Address(netip.MustParseAddr("10.0.0.1")), reference.Pod(&db), model.Ports(80, 5432)))
	// Output:
	// true
	// false
	// true
	// No Connections
}
