package sanity

import (
	"context"
	"fmt"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// candidate is one policy or rule whose removal the redundancy checks try:
// the configuration without it, and how to report it when nothing changes.
type candidate struct {
	without  *manifest.Objects
	code     string
	location model.Location
	object   string
	message  string
	// rules lists, for a policy, the candidates for its rules, tried only
	// when the policy as a whole is not redundant.
	rules []candidate
}

// redundancy reports policies, then rules of the remaining policies, whose
// removal changes no connection: every kind of policy, NetworkPolicy and the
// admin tiers alike.
func (s *checker) redundancy(ctx context.Context) error {
	policies := s.policyCandidates()
	budget := s.opts.MaxEvaluations
	tried, skipped := 0, 0
	try := func(cs []candidate) ([]bool, error) {
		n := min(len(cs), budget-tried)
		configs := make([]*manifest.Objects, n)
		for i := range n {
			configs[i] = cs[i].without
		}
		same, err := evaluateAll(ctx, s.base.Matrix, configs, s.opts.Analyze)
		tried, skipped = tried+n, skipped+len(cs)-n
		return same, err
	}
	same, err := try(policies)
	if err != nil {
		return err
	}
	var rules []candidate
	for i, p := range policies {
		if i < len(same) && same[i] {
			s.report(p)
			continue
		}
		rules = append(rules, p.rules...)
	}
	sameRule, err := try(rules)
	if err != nil {
		return err
	}
	for i, r := range rules {
		if i < len(sameRule) && sameRule[i] {
			s.report(r)
		}
	}
	if skipped > 0 {
		s.add(CodeIncomplete, model.Info, model.Location{}, "",
			"redundancy checked for %d of %d policies and rules: the checks stop after %d evaluations of the configuration; the rest may be redundant too",
			tried, tried+skipped, budget)
	}
	return nil
}

func (s *checker) report(c candidate) {
	s.add(c.code, model.Warning, c.location, c.object, "%s", c.message)
}

// policyCandidates lists every policy of every kind with its rules, in the
// order of the inputs.
func (s *checker) policyCandidates() []candidate {
	var out []candidate
	objs := s.objs
	for i, p := range objs.Policies {
		np := p.Object
		if np == nil {
			continue
		}
		object := "NetworkPolicy " + np.Namespace + "/" + np.Name
		c := policyCandidate(p.Source, object, without(objs, func(o *manifest.Objects) { o.Policies = slices.Delete(slices.Clone(o.Policies), i, i+1) }))
		types := effectiveTypes(np)
		// Removing a rule must not change the policy's types: the API server
		// defaults them from whether egress rules exist, so the copies carry
		// them explicitly.
		edit := func(f func(*networkingv1.NetworkPolicy)) *manifest.Objects {
			return without(objs, func(o *manifest.Objects) {
				cp := np.DeepCopy()
				cp.Spec.PolicyTypes = slices.Clone(types)
				f(cp)
				o.Policies = slices.Clone(o.Policies)
				o.Policies[i].Object = cp
			})
		}
		if slices.Contains(types, networkingv1.PolicyTypeIngress) {
			for j := range np.Spec.Ingress {
				c.rules = append(c.rules, ruleCandidate(p.Source, object, "spec.ingress", j,
					edit(func(cp *networkingv1.NetworkPolicy) { cp.Spec.Ingress = slices.Delete(cp.Spec.Ingress, j, j+1) })))
			}
		}
		if slices.Contains(types, networkingv1.PolicyTypeEgress) {
			for j := range np.Spec.Egress {
				c.rules = append(c.rules, ruleCandidate(p.Source, object, "spec.egress", j,
					edit(func(cp *networkingv1.NetworkPolicy) { cp.Spec.Egress = slices.Delete(cp.Spec.Egress, j, j+1) })))
			}
		}
		out = append(out, c)
	}
	out = append(out, tierCandidates(objs, "AdminNetworkPolicy",
		func(o *manifest.Objects) *[]manifest.AdminNetworkPolicy { return &o.AdminPolicies },
		func(p manifest.AdminNetworkPolicy) (string, model.Location, int, int, bool) {
			if p.Object == nil {
				return "", model.Location{}, 0, 0, false
			}
			return p.Object.Name, p.Source, len(p.Object.Spec.Ingress), len(p.Object.Spec.Egress), true
		},
		func(p manifest.AdminNetworkPolicy, j int, ingress bool) manifest.AdminNetworkPolicy {
			cp := p.Object.DeepCopy()
			if ingress {
				cp.Spec.Ingress = slices.Delete(cp.Spec.Ingress, j, j+1)
			} else {
				cp.Spec.Egress = slices.Delete(cp.Spec.Egress, j, j+1)
			}
			p.Object = cp
			return p
		})...)
	out = append(out, tierCandidates(objs, "BaselineAdminNetworkPolicy",
		func(o *manifest.Objects) *[]manifest.BaselineAdminNetworkPolicy { return &o.BaselinePolicies },
		func(p manifest.BaselineAdminNetworkPolicy) (string, model.Location, int, int, bool) {
			if p.Object == nil {
				return "", model.Location{}, 0, 0, false
			}
			return p.Object.Name, p.Source, len(p.Object.Spec.Ingress), len(p.Object.Spec.Egress), true
		},
		func(p manifest.BaselineAdminNetworkPolicy, j int, ingress bool) manifest.BaselineAdminNetworkPolicy {
			cp := p.Object.DeepCopy()
			if ingress {
				cp.Spec.Ingress = slices.Delete(cp.Spec.Ingress, j, j+1)
			} else {
				cp.Spec.Egress = slices.Delete(cp.Spec.Egress, j, j+1)
			}
			p.Object = cp
			return p
		})...)
	out = append(out, tierCandidates(objs, "ClusterNetworkPolicy",
		func(o *manifest.Objects) *[]manifest.ClusterNetworkPolicy { return &o.ClusterPolicies },
		func(p manifest.ClusterNetworkPolicy) (string, model.Location, int, int, bool) {
			if p.Object == nil {
				return "", model.Location{}, 0, 0, false
			}
			return p.Object.Name, p.Source, len(p.Object.Spec.Ingress), len(p.Object.Spec.Egress), true
		},
		func(p manifest.ClusterNetworkPolicy, j int, ingress bool) manifest.ClusterNetworkPolicy {
			cp := p.Object.DeepCopy()
			if ingress {
				cp.Spec.Ingress = slices.Delete(cp.Spec.Ingress, j, j+1)
			} else {
				cp.Spec.Egress = slices.Delete(cp.Spec.Egress, j, j+1)
			}
			p.Object = cp
			return p
		})...)
	return out
}

// without is a shallow copy of objs changed by edit, which must clone any
// slice it changes.
func without(objs *manifest.Objects, edit func(*manifest.Objects)) *manifest.Objects {
	cp := *objs
	edit(&cp)
	return &cp
}

func policyCandidate(loc model.Location, object string, objs *manifest.Objects) candidate {
	return candidate{
		without: objs, code: CodeRedundantPolicy, location: loc, object: object,
		message: fmt.Sprintf("removing %s changes no connection; remove it, or fix what it was meant to do", object),
	}
}

func ruleCandidate(loc model.Location, object, list string, j int, objs *manifest.Objects) candidate {
	return candidate{
		without: objs, code: CodeRedundantRule, location: loc, object: object,
		message: fmt.Sprintf("%s[%d] is redundant: removing it alone from %s changes no connection; remove it, or fix what it was meant to do", list, j, object),
	}
}

// tierCandidates lists, for one admin kind, each policy and each of its
// rules removed from a copy of the inputs. list picks the kind's slice,
// describe its name, source and rule counts, drop a copy of a policy
// without one rule.
func tierCandidates[P any](objs *manifest.Objects, kind string,
	list func(*manifest.Objects) *[]P,
	describe func(P) (name string, loc model.Location, nIngress, nEgress int, ok bool),
	drop func(p P, j int, ingress bool) P,
) []candidate {
	var out []candidate
	for i, p := range *list(objs) {
		name, loc, nIn, nEg, ok := describe(p)
		if !ok {
			continue
		}
		object := kind + " " + name
		c := policyCandidate(loc, object, without(objs, func(o *manifest.Objects) {
			l := list(o)
			*l = slices.Delete(slices.Clone(*l), i, i+1)
		}))
		c.rules = tierRules(loc, object, nIn, nEg, func(j int, ingress bool) *manifest.Objects {
			return without(objs, func(o *manifest.Objects) {
				l := list(o)
				*l = slices.Clone(*l)
				(*l)[i] = drop(p, j, ingress)
			})
		})
		out = append(out, c)
	}
	return out
}

func tierRules(loc model.Location, object string, nIngress, nEgress int, edit func(j int, ingress bool) *manifest.Objects) []candidate {
	var out []candidate
	for j := range nIngress {
		out = append(out, ruleCandidate(loc, object, "spec.ingress", j, edit(j, true)))
	}
	for j := range nEgress {
		out = append(out, ruleCandidate(loc, object, "spec.egress", j, edit(j, false)))
	}
	return out
}
