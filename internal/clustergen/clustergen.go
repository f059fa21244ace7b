// Package clustergen builds manifest.Objects for property tests and
// benchmarks: small random clusters that exercise every NetworkPolicy
// and admin-tier feature (Random), large realistic ones (Synthetic), the
// port numbers and addresses that make a brute-force comparison exhaustive
// (InterestingPorts, InterestingAddresses), and a YAML
// writer so that CLI benchmarks and examples can read them back (WriteYAML).
//
// Input: a random source or options. Output: manifest.Objects, sorted as
// manifest.Read sorts them. Used by tests and benchmarks only, never by
// stages; it depends on manifest and model and on no analysis package.
package clustergen

import (
	"cmp"
	"net/netip"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// InterestingPorts returns every port number objs mention (policy ports and
// endPorts, admin-tier port numbers and both ends of their ranges, container
// ports of containers and initContainers, Service ports and numeric
// targetPorts), each with its neighbours ±1, plus 1 and 65535.
//
// Every policy's behaviour is constant between consecutive mentioned ports,
// so a brute-force evaluator asked about these ports only still visits at
// least one port of every equivalence class, and both ends of every range.
func InterestingPorts(objs *manifest.Objects) model.PortSet {
	var ports []int
	add := func(p int) { ports = append(ports, p-1, p, p+1) }
	for _, w := range objs.Workloads {
		for _, c := range slices.Concat(w.Pod.Containers, w.Pod.InitContainers) {
			for _, cp := range c.Ports {
				add(int(cp.ContainerPort))
			}
		}
	}
	for _, s := range objs.Services {
		if s.Object == nil {
			continue
		}
		for _, sp := range s.Object.Spec.Ports {
			add(int(sp.Port))
			if sp.TargetPort.Type == intstr.Int {
				add(int(sp.TargetPort.IntVal))
			}
		}
	}
	addRule := func(pps []networkingv1.NetworkPolicyPort) {
		for _, pp := range pps {
			if pp.Port != nil && pp.Port.Type == intstr.Int {
				add(int(pp.Port.IntVal))
			}
			if pp.EndPort != nil {
				add(int(*pp.EndPort))
			}
		}
	}
	for _, p := range objs.Policies {
		if p.Object == nil {
			continue
		}
		for _, r := range p.Object.Spec.Ingress {
			addRule(r.Ports)
		}
		for _, r := range p.Object.Spec.Egress {
			addRule(r.Ports)
		}
	}
	addAdmin := func(pps *[]policyv1alpha1.AdminNetworkPolicyPort) {
		if pps == nil {
			return
		}
		for _, pp := range *pps {
			if pp.PortNumber != nil {
				add(int(pp.PortNumber.Port))
			}
			if pp.PortRange != nil {
				add(int(pp.PortRange.Start))
				add(int(pp.PortRange.End))
			}
		}
	}
	for _, pps := range tierPorts(objs) {
		addAdmin(pps)
	}
	addCNP := func(protocols []policyv1beta1.ClusterNetworkPolicyProtocol) {
		for _, pr := range protocols {
			for _, dp := range []*policyv1beta1.Port{tcpPort(pr.TCP), udpPort(pr.UDP), sctpPort(pr.SCTP)} {
				if dp == nil {
					continue
				}
				if dp.Number != 0 {
					add(int(dp.Number))
				}
				if dp.Range != nil {
					add(int(dp.Range.Start))
					add(int(dp.Range.End))
				}
			}
		}
	}
	for _, protocols := range tierProtocols(objs) {
		addCNP(protocols)
	}
	ports = append(ports, model.MinPort, model.MaxPort)
	return model.Ports(ports...)
}

// InterestingAddresses returns, sorted, the addresses where some ipBlock's
// or admin-tier networks peer's behaviour may change: the first and last
// address of every range of every ipBlock cidr and except in objs' policies
// and of every networks CIDR in their admin-tier egress rules, and the
// addresses just outside them, plus the first and last address of each
// family.
//
// Every ipBlock and networks peer is constant between consecutive boundaries, so a
// brute-force evaluator asked about these addresses only still visits at
// least one address of every equivalence class of external peers.
func InterestingAddresses(objs *manifest.Objects) []netip.Addr {
	seen := map[netip.Addr]bool{}
	add := func(a netip.Addr) {
		if a.IsValid() {
			seen[a] = true
		}
	}
	for _, r := range model.AllIPs().Ranges() {
		add(r.First)
		add(r.Last)
	}
	addCIDR := func(cidr string) {
		set, err := model.ParseCIDR(cidr)
		if err != nil {
			return
		}
		for _, r := range set.Ranges() {
			add(r.First.Prev())
			add(r.First)
			add(r.Last)
			add(r.Last.Next())
		}
	}
	addPeers := func(peers []networkingv1.NetworkPolicyPeer) {
		for _, p := range peers {
			if p.IPBlock == nil {
				continue
			}
			addCIDR(p.IPBlock.CIDR)
			for _, e := range p.IPBlock.Except {
				addCIDR(e)
			}
		}
	}
	for _, p := range objs.Policies {
		if p.Object == nil {
			continue
		}
		for _, r := range p.Object.Spec.Ingress {
			addPeers(r.From)
		}
		for _, r := range p.Object.Spec.Egress {
			addPeers(r.To)
		}
	}
	for _, cidr := range tierNetworks(objs) {
		addCIDR(cidr)
	}
	out := make([]netip.Addr, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// sortObjects orders every slice as manifest.Objects documents: namespaces
// by name, workloads by namespace, name and kind, services and policies by
// namespace and name, the admin tiers by name.
func sortObjects(objs *manifest.Objects) {
	slices.SortFunc(objs.Namespaces, func(a, b manifest.Namespace) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(objs.Workloads, func(a, b manifest.Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	slices.SortFunc(objs.Services, func(a, b manifest.Service) int {
		return cmp.Or(cmp.Compare(a.Object.Namespace, b.Object.Namespace), cmp.Compare(a.Object.Name, b.Object.Name))
	})
	slices.SortFunc(objs.Policies, func(a, b manifest.NetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.Object.Namespace, b.Object.Namespace), cmp.Compare(a.Object.Name, b.Object.Name))
	})
	slices.SortFunc(objs.AdminPolicies, func(a, b manifest.AdminNetworkPolicy) int { return cmp.Compare(a.Object.Name, b.Object.Name) })
	slices.SortFunc(objs.BaselinePolicies, func(a, b manifest.BaselineAdminNetworkPolicy) int {
		return cmp.Compare(a.Object.Name, b.Object.Name)
	})
	slices.SortFunc(objs.ClusterPolicies, func(a, b manifest.ClusterNetworkPolicy) int { return cmp.Compare(a.Object.Name, b.Object.Name) })
}

// namespaceObject is a namespace with its labels, the name label included.
func namespaceObject(name string, declared bool, kv ...string) manifest.Namespace {
	labels := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		labels[kv[i]] = kv[i+1]
	}
	labels[manifest.NamespaceNameLabel] = name
	return manifest.Namespace{Name: name, Labels: labels, Declared: declared}
}

func ptr[T any](v T) *T { return &v }

// tierPorts lists the ports of every ANP and BANP rule.
func tierPorts(objs *manifest.Objects) []*[]policyv1alpha1.AdminNetworkPolicyPort {
	var out []*[]policyv1alpha1.AdminNetworkPolicyPort
	for _, p := range objs.AdminPolicies {
		if p.Object == nil {
			continue
		}
		for _, r := range p.Object.Spec.Ingress {
			out = append(out, r.Ports)
		}
		for _, r := range p.Object.Spec.Egress {
			out = append(out, r.Ports)
		}
	}
	for _, p := range objs.BaselinePolicies {
		if p.Object == nil {
			continue
		}
		for _, r := range p.Object.Spec.Ingress {
			out = append(out, r.Ports)
		}
		for _, r := range p.Object.Spec.Egress {
			out = append(out, r.Ports)
		}
	}
	return out
}

// tierProtocols lists the protocols of every CNP rule.
func tierProtocols(objs *manifest.Objects) [][]policyv1beta1.ClusterNetworkPolicyProtocol {
	var out [][]policyv1beta1.ClusterNetworkPolicyProtocol
	for _, p := range objs.ClusterPolicies {
		if p.Object == nil {
			continue
		}
		for _, r := range p.Object.Spec.Ingress {
			out = append(out, r.Protocols)
		}
		for _, r := range p.Object.Spec.Egress {
			out = append(out, r.Protocols)
		}
	}
	return out
}

// tierNetworks lists the networks CIDRs of every admin-tier egress peer.
func tierNetworks(objs *manifest.Objects) []string {
	var out []string
	for _, p := range objs.AdminPolicies {
		if p.Object == nil {
			continue
		}
		for _, r := range p.Object.Spec.Egress {
			for _, peer := range r.To {
				out = append(out, convertStrings[string](peer.Networks)...)
			}
		}
	}
	for _, p := range objs.BaselinePolicies {
		if p.Object == nil {
			continue
		}
		for _, r := range p.Object.Spec.Egress {
			for _, peer := range r.To {
				out = append(out, convertStrings[string](peer.Networks)...)
			}
		}
	}
	for _, p := range objs.ClusterPolicies {
		if p.Object == nil {
			continue
		}
		for _, r := range p.Object.Spec.Egress {
			for _, peer := range r.To {
				out = append(out, convertStrings[string](peer.Networks)...)
			}
		}
	}
	return out
}

// tcpPort, udpPort and sctpPort are a CNP protocol entry's destination
// port, nil when the entry is not of that protocol or has none.
func tcpPort(p *policyv1beta1.ClusterNetworkPolicyProtocolTCP) *policyv1beta1.Port {
	if p == nil {
		return nil
	}
	return p.DestinationPort
}

func udpPort(p *policyv1beta1.ClusterNetworkPolicyProtocolUDP) *policyv1beta1.Port {
	if p == nil {
		return nil
	}
	return p.DestinationPort
}

func sctpPort(p *policyv1beta1.ClusterNetworkPolicyProtocolSCTP) *policyv1beta1.Port {
	if p == nil {
		return nil
	}
	return p.DestinationPort
}
