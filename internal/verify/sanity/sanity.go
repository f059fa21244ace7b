// Package sanity answers the questions a reviewer asks of a set of network
// policies apart from any baseline rule — the questions
// network-config-analyzer answers: which policies and rules are redundant
// (removing one changes no connection), which selectors select nothing,
// which workloads no NetworkPolicy isolates in a direction, which rules
// allow everything, and which namespace-wide peers admit more workloads
// than can use them. Each answer is a model.Finding with a stable code, a
// severity and the location of the object concerned.
//
// Redundancy covers every kind of policy, NetworkPolicy and the admin tiers;
// the structural checks (selectors, allow-all rules, namespace-wide peers)
// read NetworkPolicies; isolation is the NetworkPolicy isolation the engine
// reports.
//
// Input: manifest.Objects and the analyze.Result of evaluating them.
// Output: findings, sorted. It evaluates modified copies of the inputs with
// analyze.Connectivity (never modifying the inputs); it must not depend on
// report or stage.
//
// Cost: the redundancy checks evaluate the configuration once per policy
// and once per rule of every policy that is not itself redundant, spread
// over the processors. That suits the size of one application's
// repository; Options.MaxEvaluations bounds it (a finding says when the
// bound cut the checks short) and a cancelled context stops it.
package sanity

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Finding codes. They are stable: pipelines and suppressions rely on them.
const (
	// CodeRedundantPolicy: removing the policy changes no connection.
	// Warning.
	CodeRedundantPolicy = "sanity-redundant-policy"
	// CodeRedundantRule: removing the rule alone from its policy changes no
	// connection (rules of a policy that is redundant as a whole are not
	// reported again). Two rules that duplicate each other are both
	// reported: either can go, not both. Warning.
	CodeRedundantRule = "sanity-redundant-rule"
	// CodeEmptySelector: a NetworkPolicy's podSelector selects no workload
	// of the inputs (warning: the policy applies to nothing), or a rule's
	// peer selects none (info: it may select pods deployed from elsewhere).
	CodeEmptySelector = "sanity-empty-selector"
	// CodeNotIsolated: no NetworkPolicy selects the workload for ingress,
	// for egress, or for either, so that direction is open unless an admin
	// tier decides. Warning.
	CodeNotIsolated = "sanity-not-isolated"
	// CodeAllowAll: a NetworkPolicy rule with no peers and no ports, which
	// admits every source (or destination), pod or address, on every port.
	// Warning.
	CodeAllowAll = "sanity-allow-all"
	// CodeNamespaceWide: a NetworkPolicy rule's peer admits every pod of
	// some namespaces (a namespaceSelector without a podSelector, or an
	// empty podSelector), but only some of the workloads it admits can
	// connect, given their own policies, with the policy's pods at all: a
	// podSelector naming those would say what is needed. Info.
	CodeNamespaceWide = "sanity-namespace-wide"
	// CodeIncomplete: the redundancy checks stopped at
	// Options.MaxEvaluations. Info.
	CodeIncomplete = "sanity-incomplete"
)

// DefaultMaxEvaluations is the bound on re-evaluations when
// Options.MaxEvaluations is 0.
const DefaultMaxEvaluations = 2000

// Options controls Check.
type Options struct {
	// Analyze are the options the result was computed with; modified
	// copies are evaluated with the same.
	Analyze []analyze.Option
	// MaxEvaluations bounds how many modified copies the redundancy checks
	// evaluate; 0 means DefaultMaxEvaluations.
	MaxEvaluations int
}

// Check runs every sanity check on objs, whose evaluation is base. It
// returns an error only when ctx is cancelled or evaluation fails.
func Check(ctx context.Context, objs *manifest.Objects, base analyze.Result, opts Options) ([]model.Finding, error) {
	if opts.MaxEvaluations <= 0 {
		opts.MaxEvaluations = DefaultMaxEvaluations
	}
	s := &checker{objs: objs, base: base, opts: opts, sources: map[model.Peer]model.Location{}}
	for _, w := range objs.Workloads {
		s.sources[w.Peer()] = w.Source
	}
	s.notIsolated()
	for i := range objs.Policies {
		s.networkPolicy(&objs.Policies[i])
	}
	if err := s.redundancy(ctx); err != nil {
		return nil, err
	}
	slices.SortFunc(s.findings, model.CompareFindings)
	return s.findings, nil
}

type checker struct {
	objs     *manifest.Objects
	base     analyze.Result
	opts     Options
	sources  map[model.Peer]model.Location
	findings []model.Finding
}

func (s *checker) add(code string, sev model.Severity, loc model.Location, object, format string, args ...any) {
	s.findings = append(s.findings, model.Finding{
		Code: code, Severity: sev, Message: fmt.Sprintf(format, args...), Location: loc, Object: object,
	})
}

// notIsolated reports workloads no NetworkPolicy selects for a direction.
func (s *checker) notIsolated() {
	for _, x := range s.base.Exposure {
		var open string
		switch {
		case !x.IngressIsolated && !x.EgressIsolated:
			open = "ingress or egress"
		case !x.IngressIsolated:
			open = "ingress"
		case !x.EgressIsolated:
			open = "egress"
		default:
			continue
		}
		s.add(CodeNotIsolated, model.Warning, s.sources[x.Peer], x.Peer.WorkloadKind+" "+x.Peer.Namespace+"/"+x.Peer.Name,
			"%s is not isolated for %s: no NetworkPolicy selects it for that, so it is open unless an admin tier decides; select it with a policy, a default deny at least",
			x.Peer, open)
	}
}

// networkPolicy runs the structural checks on one NetworkPolicy: selectors
// that select nothing, rules that allow everything, namespace-wide peers.
func (s *checker) networkPolicy(p *manifest.NetworkPolicy) {
	np := p.Object
	if np == nil {
		return
	}
	object := "NetworkPolicy " + np.Namespace + "/" + np.Name
	subjects := s.selected(np.Namespace, &np.Spec.PodSelector)
	if subjects != nil && len(subjects) == 0 {
		s.add(CodeEmptySelector, model.Warning, p.Source, object,
			"spec.podSelector %s selects no workload of namespace %s in the inputs, so the policy applies to nothing; fix its labels or remove the policy",
			selectorText(&np.Spec.PodSelector), np.Namespace)
	}
	types := effectiveTypes(np)
	if slices.Contains(types, networkingv1.PolicyTypeIngress) {
		for j, r := range np.Spec.Ingress {
			s.rule(p, object, subjects, fmt.Sprintf("spec.ingress[%d]", j), "from", r.From, len(r.Ports) == 0, true)
		}
	}
	if slices.Contains(types, networkingv1.PolicyTypeEgress) {
		for j, r := range np.Spec.Egress {
			s.rule(p, object, subjects, fmt.Sprintf("spec.egress[%d]", j), "to", r.To, len(r.Ports) == 0, false)
		}
	}
}

// rule checks one ingress (from) or egress (to) rule of a policy whose
// subjects are given.
func (s *checker) rule(p *manifest.NetworkPolicy, object string, subjects []model.Peer, path, key string,
	peers []networkingv1.NetworkPolicyPeer, allPorts, ingress bool) {
	if len(peers) == 0 && allPorts {
		s.add(CodeAllowAll, model.Warning, p.Source, object,
			"%s has no %s and no ports: it admits every pod and every address on every port; name the peers and ports it needs",
			path, key)
	}
	for k, peer := range peers {
		if peer.IPBlock != nil || peer.PodSelector == nil && peer.NamespaceSelector == nil {
			continue // addresses, or a peer the engine reports as invalid
		}
		admitted := s.peerWorkloads(p.Object.Namespace, peer)
		if admitted == nil {
			continue // an invalid selector, which the engine reports
		}
		where := fmt.Sprintf("%s.%s[%d]", path, key, k)
		if len(admitted) == 0 {
			s.add(CodeEmptySelector, model.Info, p.Source, object,
				"%s (%s) selects no workload of the inputs; if it is meant for pods deployed from elsewhere this is expected, otherwise fix its selectors",
				where, peerText(peer))
			continue
		}
		if everyPod(peer) && len(admitted) > 1 {
			s.namespaceWide(p, object, subjects, where, admitted, ingress)
		}
	}
}

// namespaceWide reports a peer admitting every pod of its namespaces when
// only some of the workloads it admits can connect with the policy's pods.
func (s *checker) namespaceWide(p *manifest.NetworkPolicy, object string, subjects []model.Peer, where string, admitted []model.Peer, ingress bool) {
	var users []model.Peer
	for _, w := range admitted {
		if slices.Contains(subjects, w) {
			// Its replicas may use the rule with each other, which the
			// matrix does not list: count it as using the rule.
			users = append(users, w)
			continue
		}
		for _, subj := range subjects {
			e := model.Edge{Src: w, Dst: subj}
			if !ingress {
				e = model.Edge{Src: subj, Dst: w}
			}
			if !s.base.Matrix.Get(e).IsEmpty() {
				users = append(users, w)
				break
			}
		}
	}
	if len(users) == 0 || len(users) == len(admitted) {
		return
	}
	verb := "reach the policy's pods"
	if !ingress {
		verb = "be reached from the policy's pods"
	}
	var namespaces []string
	for _, w := range admitted {
		if !slices.Contains(namespaces, w.Namespace) {
			namespaces = append(namespaces, w.Namespace)
		}
	}
	slices.Sort(namespaces)
	s.add(CodeNamespaceWide, model.Info, p.Source, object,
		"%s admits every pod of %s, %d workloads, but only %s can %s at all; select those with a podSelector, or confirm the others should be admitted",
		where, plural(len(namespaces), "namespace", strings.Join(namespaces, ", ")), len(admitted), names(users), verb)
}

// selected lists the workloads of namespace ns a pod selector selects; nil
// when the selector is invalid.
func (s *checker) selected(ns string, sel *metav1.LabelSelector) []model.Peer {
	ls, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil
	}
	out := []model.Peer{}
	for _, w := range s.objs.Workloads {
		if w.Namespace == ns && ls.Matches(labels.Set(w.PodLabels)) {
			out = append(out, w.Peer())
		}
	}
	return out
}

// peerWorkloads lists the workloads a NetworkPolicy peer (not an ipBlock)
// of a policy in namespace ns admits; nil when a selector is invalid.
func (s *checker) peerWorkloads(ns string, peer networkingv1.NetworkPolicyPeer) []model.Peer {
	pods, nss := labels.Everything(), labels.Selector(nil)
	var err error
	if peer.PodSelector != nil {
		if pods, err = metav1.LabelSelectorAsSelector(peer.PodSelector); err != nil {
			return nil
		}
	}
	if peer.NamespaceSelector != nil {
		if nss, err = metav1.LabelSelectorAsSelector(peer.NamespaceSelector); err != nil {
			return nil
		}
	}
	inNamespace := map[string]bool{}
	for _, n := range s.objs.Namespaces {
		if nss == nil && n.Name == ns || nss != nil && nss.Matches(labels.Set(n.Labels)) {
			inNamespace[n.Name] = true
		}
	}
	out := []model.Peer{}
	for _, w := range s.objs.Workloads {
		if inNamespace[w.Namespace] && pods.Matches(labels.Set(w.PodLabels)) {
			out = append(out, w.Peer())
		}
	}
	return out
}

// everyPod reports whether a peer admits every pod of the namespaces it
// selects: a namespaceSelector without a podSelector, or an empty
// podSelector.
func everyPod(peer networkingv1.NetworkPolicyPeer) bool {
	return peer.PodSelector == nil || len(peer.PodSelector.MatchLabels) == 0 && len(peer.PodSelector.MatchExpressions) == 0
}

// effectiveTypes is a policy's policyTypes as the API server defaults
// them: Ingress always, Egress when the policy has egress rules.
func effectiveTypes(np *networkingv1.NetworkPolicy) []networkingv1.PolicyType {
	if len(np.Spec.PolicyTypes) > 0 {
		return np.Spec.PolicyTypes
	}
	types := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(np.Spec.Egress) > 0 {
		types = append(types, networkingv1.PolicyTypeEgress)
	}
	return types
}

// peerText names a peer's selectors: "namespaceSelector team=ops,
// podSelector app=web".
func peerText(peer networkingv1.NetworkPolicyPeer) string {
	var parts []string
	if peer.NamespaceSelector != nil {
		parts = append(parts, "namespaceSelector "+selectorText(peer.NamespaceSelector))
	}
	if peer.PodSelector != nil {
		parts = append(parts, "podSelector "+selectorText(peer.PodSelector))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, noun, list string) string {
	if n == 1 {
		return noun + " " + list
	}
	return noun + "s " + list
}

func selectorText(sel *metav1.LabelSelector) string {
	ls, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || ls.Empty() {
		return "{}"
	}
	return ls.String()
}

// names lists up to four peers, then how many more.
func names(peers []model.Peer) string {
	const shown = 4
	var parts []string
	for i, p := range peers {
		if i == shown {
			parts = append(parts, fmt.Sprintf("%d more", len(peers)-shown))
			break
		}
		parts = append(parts, p.String())
	}
	return strings.Join(parts, ", ")
}

// evaluateAll evaluates each candidate configuration and reports which
// allow exactly what base allows. The work is spread over the processors;
// the first error stops it.
func evaluateAll(ctx context.Context, base model.Matrix, candidates []*manifest.Objects, opts []analyze.Option) ([]bool, error) {
	same := make([]bool, len(candidates))
	errs := make([]error, len(candidates))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(candidates)) {
		wg.Go(func() {
			for i := range next {
				res, err := analyze.Connectivity(ctx, candidates[i], opts...)
				if err != nil {
					errs[i] = err
					cancel()
					continue
				}
				same[i] = sameConnectivity(base, res.Matrix)
			}
		})
	}
feed:
	for i := range candidates {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("sanity checks: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sanity checks: %w", err)
	}
	return same, nil
}
