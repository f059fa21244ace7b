package manifest

import (
	"cmp"
	"slices"
)

// Overlay lays files over a live cluster: the result is the cluster as it
// would be once the files were synced to it with pruning, the way a GitOps
// tool syncs an application. A namespace the files put anything in (or
// declare) is theirs: its workloads, services, policies, routes,
// ConfigMaps and Secrets come from the files alone. Every other namespace
// keeps what live holds. A namespace the files only refer to keeps live's
// labels. Cluster-scoped admin policies are replaced by name and otherwise
// kept. Neither argument is modified.
func Overlay(live, files *Objects) *Objects {
	owned := map[string]bool{}
	for _, n := range files.Namespaces {
		owned[n.Name] = true
	}
	// Undeclared namespaces in files are the namespaces of their objects;
	// they are listed, so owned has every namespace files populate.

	out := &Objects{}
	liveNS := map[string]Namespace{}
	for _, n := range live.Namespaces {
		liveNS[n.Name] = n
		if !owned[n.Name] {
			out.Namespaces = append(out.Namespaces, n)
		}
	}
	for _, n := range files.Namespaces {
		if l, ok := liveNS[n.Name]; ok && !n.Declared {
			n = l
		}
		out.Namespaces = append(out.Namespaces, n)
	}
	slices.SortFunc(out.Namespaces, func(a, b Namespace) int { return cmp.Compare(a.Name, b.Name) })

	out.Workloads = overlayNamespaced(live.Workloads, files.Workloads, owned, func(w Workload) string { return w.Namespace })
	out.Services = overlayNamespaced(live.Services, files.Services, owned, func(s Service) string { return s.Object.Namespace })
	out.ConfigMaps = overlayNamespaced(live.ConfigMaps, files.ConfigMaps, owned, func(c ConfigMap) string { return c.Object.Namespace })
	out.Secrets = overlayNamespaced(live.Secrets, files.Secrets, owned, func(s Secret) string { return s.Object.Namespace })
	out.Policies = overlayNamespaced(live.Policies, files.Policies, owned, func(p NetworkPolicy) string { return p.Object.Namespace })
	out.Routes = overlayNamespaced(live.Routes, files.Routes, owned, func(r Route) string { return r.Namespace })
	out.AdminPolicies = overlayNamed(live.AdminPolicies, files.AdminPolicies, func(p AdminNetworkPolicy) string { return p.Object.Name })
	out.BaselinePolicies = overlayNamed(live.BaselinePolicies, files.BaselinePolicies, func(p BaselineAdminNetworkPolicy) string { return p.Object.Name })
	out.ClusterPolicies = overlayNamed(live.ClusterPolicies, files.ClusterPolicies, func(p ClusterNetworkPolicy) string { return p.Object.Name })
	out.Findings = slices.Concat(live.Findings, files.Findings)
	return out
}

// overlayNamespaced keeps live's objects outside the files' namespaces and
// adds the files'. Both inputs are sorted by namespace then name, and so is
// the result.
func overlayNamespaced[T any](live, files []T, owned map[string]bool, ns func(T) string) []T {
	out := make([]T, 0, len(live)+len(files))
	for _, x := range live {
		if !owned[ns(x)] {
			out = append(out, x)
		}
	}
	out = append(out, files...)
	slices.SortStableFunc(out, func(a, b T) int { return cmp.Compare(ns(a), ns(b)) })
	return out
}

// overlayNamed replaces live's cluster-scoped objects by name and keeps
// the rest, sorted by name.
func overlayNamed[T any](live, files []T, name func(T) string) []T {
	replaced := map[string]bool{}
	for _, x := range files {
		replaced[name(x)] = true
	}
	out := make([]T, 0, len(live)+len(files))
	for _, x := range live {
		if !replaced[name(x)] {
			out = append(out, x)
		}
	}
	out = append(out, files...)
	slices.SortStableFunc(out, func(a, b T) int { return cmp.Compare(name(a), name(b)) })
	return out
}
