package reference_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	for seed := range uint64(5) {
		objs := randomCluster(seed)
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
