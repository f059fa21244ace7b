package synth

// Guardrails: baseline rules written as Admin-tier policies.
//
// Input: baseline rules in file order. Output: AdminNetworkPolicies
// (policy.networking.k8s.io/v1alpha1), or ClusterNetworkPolicies of tier
// Admin (v1beta1), that enforce them, and findings for what no admin policy
// can enforce. Like the rest of the package it knows nothing of how the
// rules were found or checked; its proof (guardrails_test.go) runs the
// connectivity engine over random clusters with the guardrails added.
//
// # The mapping
//
// A rule's connections split by the kind of each end: pod → pod, pod →
// external address, external address → pod (an end of kind Anything is
// both its pods and every address). The Admin tier decides a connection per
// direction (the source's egress, the destination's ingress) before any
// NetworkPolicy, so:
//
//   - pod → pod, deny: an ingress Deny rule on a policy whose subject is the
//     to side, from the from side's pods. Denying one direction denies the
//     connection. The ingress side (not the egress side) is used because a
//     from of anything is also the ingress controller, whose pods the
//     inputs do not describe and so cannot be a subject, but which
//     "namespaces: {}" admits as a peer.
//   - pod → pod, allow: that ingress rule with action Allow (Accept), and an
//     egress Allow rule on a policy whose subject is the from side, to the to
//     side's pods: an Admin Allow settles one direction only, and a
//     NetworkPolicy could still isolate the other.
//   - pod → address: an egress rule on the from side with a networks peer:
//     the rule's CIDR, or 0.0.0.0/0 and ::/0 for a to of anything.
//   - address → pod: not enforceable. Neither kind's ingress peers can name
//     addresses; a finding (CodeGuardrailPartial) says so, and a rule with
//     nothing else (from a CIDR into pods) is skipped with
//     CodeGuardrailUnenforceable.
//
// A side that selects pods becomes a subject or peer "namespaces: <to_ns>"
// when it has no pod selector, else "pods: {namespaceSelector: <to_ns>,
// podSelector: <to>}"; anything becomes "namespaces: {}" (every pod). The
// set-based selector strings convert requirement by requirement (!= becomes
// NotIn). Connections become ports (portNumber or portRange per protocol
// and range) or CNP protocols (tcp/udp/sctp with a destinationPort number
// or range, none for every port); all connections write none.
//
// A rule's ingress and egress rules share one policy when their subjects are
// the same selection; otherwise the rule gets two, named
// tightnet-baseline-<rule>-ingress and -egress, and one policy is named
// tightnet-baseline-<rule>. Priorities follow the rules' order, one per
// policy, from GuardrailOptions.Priority up: in the Admin tier the first
// matching rule wins, so where rules overlap the earlier one decides, as it
// would reading the file top down. Distinct priorities also keep the order
// from being the implementation's choice. Policies carry the label
// app.kubernetes.io/managed-by: tightnet.
//
// No BaselineAdminNetworkPolicy is written: the Baseline tier yields to
// NetworkPolicies, so it cannot make a rule hold, and a baseline rule is
// exactly what must hold whatever the namespaces write.
//
// Caveats, in the API's terms rather than the engine's: a networks peer
// matches every address in its CIDR, pod and node addresses included where
// the cluster's networks lie inside it (the engine, which knows no pod
// addresses, counts external addresses only); and namespaces and pods peers
// and subjects leave out host-network pods.

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Guardrail finding codes.
const (
	// CodeGuardrailPartial: part of a rule, the connections from external
	// addresses into pods, is not enforced.
	CodeGuardrailPartial = "synth-guardrail-partial"
	// CodeGuardrailUnenforceable: no admin policy can enforce the rule; none
	// was written.
	CodeGuardrailUnenforceable = "synth-guardrail-unenforceable"
	// CodeGuardrailInvalid: the policy for the rule would be invalid (a name
	// too long or taken, a priority beyond 1000); none was written.
	CodeGuardrailInvalid = "synth-guardrail-invalid"
)

// DefaultGuardrailPriority is the priority of the first guardrail: room
// below for policies that must come before every baseline rule.
const DefaultGuardrailPriority = 10

// maxPriority is the highest priority the admin kinds accept.
const maxPriority = 1000

// GuardrailOptions tune Guardrails.
type GuardrailOptions struct {
	// CNP writes ClusterNetworkPolicies (v1beta1, tier Admin) instead of
	// AdminNetworkPolicies (v1alpha1).
	CNP bool
	// Priority is the first policy's priority; each next policy takes the
	// next number.
	Priority int32
}

// DefaultGuardrailOptions write AdminNetworkPolicies from priority
// DefaultGuardrailPriority.
func DefaultGuardrailOptions() GuardrailOptions {
	return GuardrailOptions{Priority: DefaultGuardrailPriority}
}

// GuardrailSet is the admin-tier policies enforcing baseline rules, in
// priority order. (Guardrails, the function, writes it.)
type GuardrailSet struct {
	Policies []Guardrail
}

// Guardrail is one policy and the rule it enforces, for the comment above
// it. Exactly one of Admin and Cluster is set.
type Guardrail struct {
	Rule    baseline.Rule
	Admin   *policyv1alpha1.AdminNetworkPolicy
	Cluster *policyv1beta1.ClusterNetworkPolicy
	// Subject names the pods the policy governs; Enforces lists its rules,
	// "ingress: Deny from pods app=web : TCP 23".
	Subject  string
	Enforces []string
	// NotEnforced says which part of the rule no admin policy enforces;
	// empty when the guardrails enforce all of it.
	NotEnforced string
}

// Name is the policy's name.
func (g Guardrail) Name() string {
	if g.Admin != nil {
		return g.Admin.Name
	}
	return g.Cluster.Name
}

// AdminPolicies are the AdminNetworkPolicies, sorted by name as
// manifest.Objects holds them, each read "from" its rule's place.
func (g GuardrailSet) AdminPolicies() []manifest.AdminNetworkPolicy {
	var out []manifest.AdminNetworkPolicy
	for _, p := range g.Policies {
		if p.Admin != nil {
			out = append(out, manifest.AdminNetworkPolicy{Object: p.Admin, Source: p.Rule.Source})
		}
	}
	slices.SortFunc(out, func(a, b manifest.AdminNetworkPolicy) int { return strings.Compare(a.Object.Name, b.Object.Name) })
	return out
}

// ClusterPolicies are the ClusterNetworkPolicies, sorted by name.
func (g GuardrailSet) ClusterPolicies() []manifest.ClusterNetworkPolicy {
	var out []manifest.ClusterNetworkPolicy
	for _, p := range g.Policies {
		if p.Cluster != nil {
			out = append(out, manifest.ClusterNetworkPolicy{Object: p.Cluster, APIVersion: p.Cluster.APIVersion, Source: p.Rule.Source})
		}
	}
	slices.SortFunc(out, func(a, b manifest.ClusterNetworkPolicy) int { return strings.Compare(a.Object.Name, b.Object.Name) })
	return out
}

// Guardrails writes, in rule order, the admin-tier policies that enforce
// each rule (see the mapping above), and findings for the parts no admin
// policy can enforce and the rules it skipped.
func Guardrails(rules []baseline.Rule, opts GuardrailOptions) (GuardrailSet, []model.Finding) {
	var g GuardrailSet
	var findings []model.Finding
	used := map[string]bool{}
	priority := opts.Priority
	full := false // the priorities ran out
	for _, r := range rules {
		plan, finding := planGuardrail(r)
		if finding != nil {
			findings = append(findings, *finding)
		}
		if len(plan) == 0 {
			continue
		}
		if full = full || int(priority)+len(plan)-1 > maxPriority; full {
			findings = append(findings, invalid(r, fmt.Sprintf(
				"no guardrail written: the priorities ran out before this rule (%d is the last an admin policy takes); start the guardrails from a lower priority or enforce fewer rules as guardrails",
				maxPriority)))
			continue
		}
		names := policyNames(r.Name, plan)
		if bad := slices.IndexFunc(names, func(n string) bool { return used[n] || len(validation.IsDNS1123Subdomain(n)) > 0 }); bad >= 0 {
			reason := "is not a valid object name (at most 253 characters); shorten the rule's name"
			if used[names[bad]] {
				reason = "is the name of the guardrail of an earlier rule; rename one of the rules"
			}
			findings = append(findings, invalid(r, fmt.Sprintf("no guardrail written: the policy name %s %s", names[bad], reason)))
			continue
		}
		for j, p := range plan {
			used[names[j]] = true
			g.Policies = append(g.Policies, p.render(r, names[j], priority, opts.CNP))
			priority++
		}
	}
	slices.SortFunc(findings, model.CompareFindings)
	return g, findings
}

func invalid(r baseline.Rule, message string) model.Finding {
	return model.Finding{Code: CodeGuardrailInvalid, Severity: model.Error, Location: r.Source, Object: "baseline rule " + r.Name,
		Message: message}
}

// guardDirection is the direction of a guardrail rule.
type guardDirection uint8

const (
	guardIngress guardDirection = iota
	guardEgress
)

func (d guardDirection) String() string {
	if d == guardIngress {
		return "ingress"
	}
	return "egress"
}

// podSelection is a subject or peer selecting pods: exactly one of
// namespaces (every pod of the namespaces) and pods (namespaces AND pods).
type podSelection struct {
	namespaces *metav1.LabelSelector
	pods       *policyv1alpha1.NamespacedPod
	text       string
}

func (a podSelection) equal(b podSelection) bool {
	return equality.Semantic.DeepEqual(a.namespaces, b.namespaces) && equality.Semantic.DeepEqual(a.pods, b.pods)
}

// guardRule is one rule of a planned policy: pods peers and networks.
type guardRule struct {
	direction guardDirection
	pods      []podSelection
	networks  []string
}

// plannedPolicy is one policy of a rule, before it is written in a kind.
type plannedPolicy struct {
	subject podSelection
	rules   []guardRule
	// notEnforced, on every policy of the rule, names what none enforces.
	notEnforced string
}

// planGuardrail decides a rule's policies: an ingress rule on the to side
// for pod → pod, an egress rule on the from side for pod → address and,
// for allow rules, pod → pod.
func planGuardrail(r baseline.Rule) ([]plannedPolicy, *model.Finding) {
	fromPods, toPods := r.From.Kind != baseline.Addresses, r.To.Kind != baseline.Addresses
	fromAddresses, toAddresses := r.From.Kind != baseline.Pods, r.To.Kind != baseline.Pods
	if r.Conns.IsEmpty() {
		return nil, nil // nothing to enforce
	}
	var plan []plannedPolicy
	add := func(subject podSelection, gr guardRule) {
		for i := range plan {
			if plan[i].subject.equal(subject) {
				plan[i].rules = append(plan[i].rules, gr)
				return
			}
		}
		plan = append(plan, plannedPolicy{subject: subject, rules: []guardRule{gr}})
	}
	if fromPods && toPods {
		add(selectionOf(r.To), guardRule{direction: guardIngress, pods: []podSelection{selectionOf(r.From)}})
	}
	if fromPods {
		out := guardRule{direction: guardEgress}
		if toPods && r.Action == baseline.Allow {
			out.pods = []podSelection{selectionOf(r.To)}
		}
		if toAddresses {
			out.networks = networksOf(r.To)
		}
		if len(out.pods) > 0 || len(out.networks) > 0 {
			add(selectionOf(r.From), out)
		}
	}
	if !(fromAddresses && toPods) {
		return plan, nil
	}
	addresses := "every external address"
	if r.From.Kind == baseline.Addresses {
		addresses = r.From.Selector
	}
	hint := "block them at the cluster edge (a load balancer's source ranges, a firewall)"
	if r.Action == baseline.Allow {
		hint = "admit them with NetworkPolicy ipBlocks, where the admin tier leaves them to the namespaces' policies"
	}
	why := "the ingress peers of admin policies select pods and namespaces, never addresses"
	if len(plan) == 0 {
		return nil, &model.Finding{Code: CodeGuardrailUnenforceable, Severity: model.Warning, Location: r.Source, Object: "baseline rule " + r.Name,
			Message: fmt.Sprintf("no guardrail written for %s: its connections come from %s into pods, and %s; %s", r.Name, addresses, why, hint)}
	}
	part := fmt.Sprintf("connections from %s into pods", addresses)
	for i := range plan {
		plan[i].notEnforced = part + ": " + why
	}
	return plan, &model.Finding{Code: CodeGuardrailPartial, Severity: model.Warning, Location: r.Source, Object: "baseline rule " + r.Name,
		Message: fmt.Sprintf("the guardrails for %s do not enforce its %s: %s; %s", r.Name, part, why, hint)}
}

// policyNames names a rule's policies: tightnet-baseline-<rule>, or with
// -ingress and -egress when it takes two.
func policyNames(rule string, plan []plannedPolicy) []string {
	base := "tightnet-baseline-" + rule
	if len(plan) == 1 {
		return []string{base}
	}
	out := make([]string, len(plan))
	for i, p := range plan {
		out[i] = base + "-" + p.rules[0].direction.String()
	}
	return out
}

// selectionOf is the pods a side of kind Pods or Anything selects.
func selectionOf(e baseline.End) podSelection {
	if e.Kind == baseline.Anything {
		return podSelection{namespaces: &metav1.LabelSelector{}, text: "every pod"}
	}
	if e.Pods.Empty() {
		return podSelection{namespaces: labelSelector(e.Namespaces), text: e.String()}
	}
	return podSelection{pods: &policyv1alpha1.NamespacedPod{NamespaceSelector: *labelSelector(e.Namespaces), PodSelector: *labelSelector(e.Pods)},
		text: e.String()}
}

// networksOf is the CIDRs of a side of kind Addresses or Anything.
func networksOf(e baseline.End) []string {
	if e.Kind == baseline.Anything {
		return []string{"0.0.0.0/0", "::/0"}
	}
	var out []string
	for _, p := range e.Addresses.Prefixes() {
		out = append(out, p.String())
	}
	return out
}

// labelSelector writes a parsed set-based selector as a LabelSelector,
// requirement by requirement: = and == as matchLabels, != and notin as
// NotIn, in, exists and !exists as themselves. (metav1.ParseToLabelSelector
// rejects !=.) A second = on one key becomes In, so that it still selects
// nothing.
func labelSelector(sel labels.Selector) *metav1.LabelSelector {
	out := &metav1.LabelSelector{}
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		var op metav1.LabelSelectorOperator
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals:
			if _, taken := out.MatchLabels[r.Key()]; !taken {
				if out.MatchLabels == nil {
					out.MatchLabels = map[string]string{}
				}
				out.MatchLabels[r.Key()] = r.ValuesUnsorted()[0]
				continue
			}
			op = metav1.LabelSelectorOpIn
		case selection.In:
			op = metav1.LabelSelectorOpIn
		case selection.NotEquals, selection.NotIn:
			op = metav1.LabelSelectorOpNotIn
		case selection.Exists:
			op = metav1.LabelSelectorOpExists
		case selection.DoesNotExist:
			op = metav1.LabelSelectorOpDoesNotExist
		default:
			continue // baseline.Load rejects every other operator
		}
		var values []string
		if op == metav1.LabelSelectorOpIn || op == metav1.LabelSelectorOpNotIn {
			values = r.Values().List()
		}
		out.MatchExpressions = append(out.MatchExpressions, metav1.LabelSelectorRequirement{Key: r.Key(), Operator: op, Values: values})
	}
	return out
}

// render writes a planned policy in one of the two kinds.
func (p plannedPolicy) render(r baseline.Rule, name string, priority int32, cnp bool) Guardrail {
	g := Guardrail{Rule: r, Subject: p.subject.text, NotEnforced: p.notEnforced}
	meta := metav1.ObjectMeta{Name: name, Labels: map[string]string{ManagedByLabel: "tightnet"}}
	ruleName := ""
	if len(r.Name) <= 100 {
		ruleName = r.Name // rule names are limited to 100 characters
	}
	for _, gr := range p.rules {
		g.Enforces = append(g.Enforces, gr.describe(r))
	}
	if cnp {
		g.Cluster = &policyv1beta1.ClusterNetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "policy.networking.k8s.io/v1beta1", Kind: "ClusterNetworkPolicy"},
			ObjectMeta: meta,
			Spec: policyv1beta1.ClusterNetworkPolicySpec{Tier: policyv1beta1.AdminTier, Priority: priority,
				Subject: policyv1beta1.ClusterNetworkPolicySubject{Namespaces: p.subject.namespaces, Pods: (*policyv1beta1.NamespacedPod)(p.subject.pods)}},
		}
		action := policyv1beta1.ClusterNetworkPolicyRuleActionAccept
		if r.Action == baseline.Deny {
			action = policyv1beta1.ClusterNetworkPolicyRuleActionDeny
		}
		spec := &g.Cluster.Spec
		for _, gr := range p.rules {
			switch gr.direction {
			case guardIngress:
				in := policyv1beta1.ClusterNetworkPolicyIngressRule{Name: ruleName, Action: action, Protocols: cnpProtocols(r.Conns)}
				for _, s := range gr.pods {
					in.From = append(in.From, policyv1beta1.ClusterNetworkPolicyIngressPeer{Namespaces: s.namespaces, Pods: (*policyv1beta1.NamespacedPod)(s.pods)})
				}
				spec.Ingress = append(spec.Ingress, in)
			case guardEgress:
				out := policyv1beta1.ClusterNetworkPolicyEgressRule{Name: ruleName, Action: action, Protocols: cnpProtocols(r.Conns)}
				for _, s := range gr.pods {
					out.To = append(out.To, policyv1beta1.ClusterNetworkPolicyEgressPeer{Namespaces: s.namespaces, Pods: (*policyv1beta1.NamespacedPod)(s.pods)})
				}
				if len(gr.networks) > 0 {
					var nets []policyv1beta1.CIDR
					for _, n := range gr.networks {
						nets = append(nets, policyv1beta1.CIDR(n))
					}
					out.To = append(out.To, policyv1beta1.ClusterNetworkPolicyEgressPeer{Networks: nets})
				}
				spec.Egress = append(spec.Egress, out)
			}
		}
		return g
	}
	g.Admin = &policyv1alpha1.AdminNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy.networking.k8s.io/v1alpha1", Kind: "AdminNetworkPolicy"},
		ObjectMeta: meta,
		Spec: policyv1alpha1.AdminNetworkPolicySpec{Priority: priority,
			Subject: policyv1alpha1.AdminNetworkPolicySubject{Namespaces: p.subject.namespaces, Pods: p.subject.pods}},
	}
	action := policyv1alpha1.AdminNetworkPolicyRuleActionAllow
	if r.Action == baseline.Deny {
		action = policyv1alpha1.AdminNetworkPolicyRuleActionDeny
	}
	spec := &g.Admin.Spec
	for _, gr := range p.rules {
		switch gr.direction {
		case guardIngress:
			in := policyv1alpha1.AdminNetworkPolicyIngressRule{Name: ruleName, Action: action, Ports: anpPorts(r.Conns)}
			for _, s := range gr.pods {
				in.From = append(in.From, policyv1alpha1.AdminNetworkPolicyIngressPeer{Namespaces: s.namespaces, Pods: s.pods})
			}
			spec.Ingress = append(spec.Ingress, in)
		case guardEgress:
			out := policyv1alpha1.AdminNetworkPolicyEgressRule{Name: ruleName, Action: action, Ports: anpPorts(r.Conns)}
			for _, s := range gr.pods {
				out.To = append(out.To, policyv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: s.namespaces, Pods: s.pods})
			}
			if len(gr.networks) > 0 {
				var nets []policyv1alpha1.CIDR
				for _, n := range gr.networks {
					nets = append(nets, policyv1alpha1.CIDR(n))
				}
				out.To = append(out.To, policyv1alpha1.AdminNetworkPolicyEgressPeer{Networks: nets})
			}
			spec.Egress = append(spec.Egress, out)
		}
	}
	return g
}

// describe is the comment line for a rule: "egress: Deny to pods app=db,
// 10.0.0.0/8 : TCP 5432".
func (gr guardRule) describe(r baseline.Rule) string {
	var peers []string
	for _, s := range gr.pods {
		peers = append(peers, s.text)
	}
	peers = append(peers, gr.networks...)
	word := "from"
	if gr.direction == guardEgress {
		word = "to"
	}
	act := "Allow"
	if r.Action == baseline.Deny {
		act = "Deny"
	}
	return fmt.Sprintf("%s: %s %s %s : %s", gr.direction, act, word, strings.Join(peers, ", "), r.Conns)
}

// anpPorts writes connections as AdminNetworkPolicy ports: none for all
// connections, else per protocol and range a portNumber or a portRange
// (whose start must be below its end).
func anpPorts(c model.ConnectionSet) *[]policyv1alpha1.AdminNetworkPolicyPort {
	if c.IsAll() {
		return nil
	}
	var out []policyv1alpha1.AdminNetworkPolicyPort
	for _, proto := range model.Protocols() {
		p := protocolOf(proto)
		for _, r := range c.Ports(proto).Ranges() {
			if r[0] == r[1] {
				out = append(out, policyv1alpha1.AdminNetworkPolicyPort{PortNumber: &policyv1alpha1.Port{Protocol: p, Port: int32(r[0])}})
			} else {
				out = append(out, policyv1alpha1.AdminNetworkPolicyPort{PortRange: &policyv1alpha1.PortRange{Protocol: p, Start: int32(r[0]), End: int32(r[1])}})
			}
		}
	}
	return &out
}

// cnpProtocols writes connections as ClusterNetworkPolicy protocols: none
// for all connections, else per protocol one entry without a port for all
// its ports, or one per range with a number or a range.
func cnpProtocols(c model.ConnectionSet) []policyv1beta1.ClusterNetworkPolicyProtocol {
	if c.IsAll() {
		return nil
	}
	var out []policyv1beta1.ClusterNetworkPolicyProtocol
	for _, proto := range model.Protocols() {
		ps := c.Ports(proto)
		var ports []*policyv1beta1.Port
		switch {
		case ps.IsEmpty():
			continue
		case ps.IsAll():
			ports = []*policyv1beta1.Port{nil}
		default:
			for _, r := range ps.Ranges() {
				if r[0] == r[1] {
					ports = append(ports, &policyv1beta1.Port{Number: int32(r[0])})
				} else {
					ports = append(ports, &policyv1beta1.Port{Range: &policyv1beta1.PortRange{Start: int32(r[0]), End: int32(r[1])}})
				}
			}
		}
		for _, dp := range ports {
			var e policyv1beta1.ClusterNetworkPolicyProtocol
			switch protocolOf(proto) {
			case corev1.ProtocolTCP:
				e.TCP = &policyv1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: dp}
			case corev1.ProtocolUDP:
				e.UDP = &policyv1beta1.ClusterNetworkPolicyProtocolUDP{DestinationPort: dp}
			default:
				e.SCTP = &policyv1beta1.ClusterNetworkPolicyProtocolSCTP{DestinationPort: dp}
			}
			out = append(out, e)
		}
	}
	return out
}
