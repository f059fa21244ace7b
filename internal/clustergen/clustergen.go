// Package clustergen builds manifest.Objects for property tests and
// benchmarks: small random clusters that exercise every NetworkPolicy
// feature (Random), large realistic ones (Synthetic), the port numbers that
// and addresses that make a brute-force comparison exhaustive
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

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// InterestingPorts returns every port number objs mention (policy ports and
// endPorts, container ports of containers and initContainers, Service ports
// and numeric targetPorts), each with its neighbours ±1, plus 1 and 65535.
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
	ports = append(ports, model.MinPort, model.MaxPort)
	return model.Ports(ports...)
}

// InterestingAddresses returns, sorted, the addresses where some ipBlock's
// behaviour may change: the first and last address of every range of every
// ipBlock cidr and except in objs' policies and the addresses just outside
// them, plus the first and last address of each family.
//
// Every ipBlock is constant between consecutive boundaries, so a
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
	out := make([]netip.Addr, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// sortObjects orders every slice as manifest.Objects documents: namespaces
// by name, workloads by namespace, name and kind, services and policies by
// namespace and name.
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
