package apply

import (
	"cmp"
	"slices"

	"github.com/tightnet/tightnet/internal/manifest"
)

// Outcome is the cluster's objects as they will be once the plan is
// executed: live's workloads, services and routes with its policies
// replaced by the proposal's where names meet, the proposal's new ones
// added and the pruned ones gone. Verification before apply checks it.
func (p *Plan) Outcome(live, proposal *manifest.Objects) *manifest.Objects {
	pruned := map[key]bool{}
	for _, c := range p.Changes {
		if c.Action == Pruned {
			pruned[c.key()] = true
		}
	}
	out := *live
	out.Policies = merge(live.Policies, proposal.Policies, pruned, func(x manifest.NetworkPolicy) key {
		return key{"NetworkPolicy", x.Object.Namespace, x.Object.Name}
	})
	out.AdminPolicies = merge(live.AdminPolicies, proposal.AdminPolicies, pruned, func(x manifest.AdminNetworkPolicy) key {
		return key{"AdminNetworkPolicy", "", x.Object.Name}
	})
	out.BaselinePolicies = merge(live.BaselinePolicies, proposal.BaselinePolicies, pruned, func(x manifest.BaselineAdminNetworkPolicy) key {
		return key{"BaselineAdminNetworkPolicy", "", x.Object.Name}
	})
	out.ClusterPolicies = merge(live.ClusterPolicies, proposal.ClusterPolicies, pruned, func(x manifest.ClusterNetworkPolicy) key {
		return key{"ClusterNetworkPolicy", "", x.Object.Name}
	})
	return &out
}

// merge keeps live's objects that are neither replaced nor pruned, adds
// the proposal's, and sorts by key as manifest.Objects keeps them.
func merge[T any](live, proposal []T, pruned map[key]bool, keyOf func(T) key) []T {
	proposed := map[key]bool{}
	for _, x := range proposal {
		proposed[keyOf(x)] = true
	}
	var out []T
	for _, x := range live {
		if k := keyOf(x); !proposed[k] && !pruned[k] {
			out = append(out, x)
		}
	}
	out = append(out, proposal...)
	slices.SortStableFunc(out, func(a, b T) int {
		ka, kb := keyOf(a), keyOf(b)
		return cmp.Or(cmp.Compare(ka.namespace, kb.namespace), cmp.Compare(ka.name, kb.name))
	})
	return out
}
