// Package synth proposes least-privilege NetworkPolicies from the
// connections an application needs.
//
// Input: the workloads and namespaces of a configuration (manifest.Objects)
// and the required connections between peers. Output: NetworkPolicy objects
// in a stable order with the reasons for every rule, and findings. It must
// not depend on how requirements were found (no extract import) nor on any
// renderer; the proof that its output is exact lives in its tests, which run
// the connectivity engine over it.
package synth

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Finding codes.
const (
	CodeIndistinguishable = "synth-indistinguishable-workloads"
	CodeUnknownPeer       = "synth-unknown-peer"
)

// ManagedByLabel marks the policies tightnet writes, so that later runs can
// tell them from hand-written ones.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// Requirement is a connection the application needs.
type Requirement struct {
	Src, Dst model.Peer
	// FromNamespace, when set, replaces Src: every pod of that namespace
	// (a monitoring namespace scraping metrics, say).
	FromNamespace string
	Conns         model.ConnectionSet
	// Reasons say where the need comes from ("manifests/web.yaml:12
	// spec.template.spec.containers[web].env[CART_ADDR]").
	Reasons []string
}

// Endpoint places a pod outside the inputs: cluster DNS, the ingress
// controller.
type Endpoint struct {
	Namespace string
	PodLabels map[string]string
}

// Options tune the proposal.
type Options struct {
	// DNS is where cluster DNS runs and the ports it serves; every workload
	// may reach it. Zero Ports disables the DNS rule.
	DNS      Endpoint
	DNSPorts model.ConnectionSet
	// IngressController is where the ingress controller runs; requirements
	// from {ingress-controller} admit it.
	IngressController Endpoint
	// NamedPorts writes a port by its name when the destination declares
	// exactly that port under one name.
	NamedPorts bool
	// Augment, when set, keeps the policies in force: requirements are
	// only what they do not allow yet, no default deny is written, and a
	// workload's policy governs only the directions in which existing
	// policies already isolate it, so adding it never takes anything away.
	Augment *Isolation
}

// Isolation says which workloads the policies in force isolate, per
// direction.
type Isolation struct {
	Ingress, Egress map[model.Peer]bool
}

// DefaultOptions are Kubernetes' usual DNS (kube-system, k8s-app=kube-dns,
// UDP and TCP 53) and the ingress-nginx controller.
func DefaultOptions() Options {
	return Options{
		DNS:      Endpoint{Namespace: "kube-system", PodLabels: map[string]string{"k8s-app": "kube-dns"}},
		DNSPorts: model.Connections(model.UDP, model.Ports(53)).Union(model.Connections(model.TCP, model.Ports(53))),
		IngressController: Endpoint{Namespace: "ingress-nginx",
			PodLabels: map[string]string{"app.kubernetes.io/name": "ingress-nginx"}},
	}
}

// Proposal is the synthesized policies and what the synthesizer noticed.
type Proposal struct {
	// Policies in order: per namespace, the default deny first, then one
	// policy per workload by name.
	Policies []Policy
	Findings []model.Finding
}

// Policy is one proposed NetworkPolicy with the connections it allows and
// why, for the comment above it.
type Policy struct {
	Object *networkingv1.NetworkPolicy
	// Workload is the workload it is for; zero for a default deny.
	Workload model.Peer
	// Allows lists, in order, "ingress from X on CONNS" lines with reasons.
	Allows []Allowance
}

// Allowance is one allowed connection of a policy and its reasons.
type Allowance struct {
	Direction string              `json:"direction"` // "ingress" or "egress"
	Peer      string              `json:"peer"`
	Conns     model.ConnectionSet `json:"conns"`
	Reasons   []string            `json:"reasons"`
	dns       bool
}

// Policies proposes one NetworkPolicy per workload, selecting exactly its
// pods, admitting exactly its required ingress and egress, plus a default
// deny per namespace and DNS egress for every workload.
func Policies(objs *manifest.Objects, reqs []Requirement, opts Options) Proposal {
	s := &synthesizer{objs: objs, opts: opts, byPeer: map[model.Peer]*manifest.Workload{}}
	for i := range objs.Workloads {
		s.byPeer[objs.Workloads[i].Peer()] = &objs.Workloads[i]
	}
	in := map[model.Peer][]Requirement{}
	out := map[model.Peer][]Requirement{}
	for _, r := range reqs {
		if r.Dst.Kind == model.PeerWorkload {
			in[r.Dst] = append(in[r.Dst], r)
		}
		switch {
		case r.FromNamespace != "":
			// Every pod of the namespace needs the egress too, where the
			// namespace's workloads are among the inputs.
			for i := range objs.Workloads {
				if v := &objs.Workloads[i]; v.Namespace == r.FromNamespace {
					out[v.Peer()] = append(out[v.Peer()], Requirement{Src: v.Peer(), Dst: r.Dst, Conns: r.Conns, Reasons: r.Reasons})
				}
			}
		case r.Src.Kind == model.PeerWorkload:
			out[r.Src] = append(out[r.Src], r)
		}
	}
	var p Proposal
	namespaces := map[string]bool{}
	for i := range objs.Workloads {
		namespaces[objs.Workloads[i].Namespace] = true
	}
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		if opts.Augment == nil {
			p.Policies = append(p.Policies, defaultDeny(ns))
		}
	}
	names := map[string]int{}
	for i := range objs.Workloads {
		w := &objs.Workloads[i]
		names[w.Namespace+"/"+w.Name]++
	}
	for i := range objs.Workloads {
		w := &objs.Workloads[i]
		name := "tightnet-" + w.Name
		if names[w.Namespace+"/"+w.Name] > 1 {
			name += "-" + strings.ToLower(w.Kind)
		}
		pol := s.workloadPolicy(w, name, in[w.Peer()], out[w.Peer()])
		if opts.Augment != nil && !s.restrictToIsolation(&pol) {
			continue // nothing is missing for this workload
		}
		p.Policies = append(p.Policies, pol)
	}
	p.Findings = s.findings
	slices.SortFunc(p.Findings, model.CompareFindings)
	return p
}

type synthesizer struct {
	objs          *manifest.Objects
	opts          Options
	byPeer        map[model.Peer]*manifest.Workload
	findings      []model.Finding
	selectorCache map[*manifest.Workload]metav1.LabelSelector
}

func defaultDeny(ns string) Policy {
	return Policy{Object: &networkingv1.NetworkPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: "tightnet-default-deny", Namespace: ns,
			Labels: map[string]string{ManagedByLabel: "tightnet"}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}}
}

// workloadPolicy builds one workload's policy. Peers that share the same
// connections are merged into one rule.
func (s *synthesizer) workloadPolicy(w *manifest.Workload, name string, in, out []Requirement) Policy {
	sel := s.podSelector(w)
	pol := &networkingv1.NetworkPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.Namespace,
			Labels: map[string]string{ManagedByLabel: "tightnet"}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: sel,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{},
			Egress:      []networkingv1.NetworkPolicyEgressRule{},
		},
	}
	result := Policy{Object: pol, Workload: w.Peer()}
	for _, g := range s.group(in, func(r Requirement) model.Peer { return r.Src }, w) {
		pol.Spec.Ingress = append(pol.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: g.peers, Ports: s.ports(g.conns, w)})
		result.Allows = append(result.Allows, g.allowances("ingress")...)
	}
	for _, g := range s.group(out, func(r Requirement) model.Peer { return r.Dst }, nil) {
		pol.Spec.Egress = append(pol.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: g.peers, Ports: s.ports(g.conns, g.dst)})
		result.Allows = append(result.Allows, g.allowances("egress")...)
	}
	if !s.opts.DNSPorts.IsEmpty() {
		pol.Spec.Egress = append(pol.Spec.Egress, networkingv1.NetworkPolicyEgressRule{
			To: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: namespaceSelector(s.opts.DNS.Namespace),
				PodSelector:       &metav1.LabelSelector{MatchLabels: s.opts.DNS.PodLabels},
			}},
			Ports: s.ports(s.opts.DNSPorts, nil),
		})
		result.Allows = append(result.Allows, Allowance{Direction: "egress", Peer: "cluster DNS (" + endpointString(s.opts.DNS) + ")",
			Conns: s.opts.DNSPorts, Reasons: []string{"every workload resolves names through cluster DNS"}, dns: true})
	}
	return result
}

// restrictToIsolation drops from an augmenting policy the directions that
// policies in force leave open (an added policy would close them), and
// reports whether anything is left to add.
func (s *synthesizer) restrictToIsolation(p *Policy) bool {
	iso := s.opts.Augment
	spec := &p.Object.Spec
	spec.PolicyTypes = nil
	var allows []Allowance
	if iso.Ingress[p.Workload] && len(spec.Ingress) > 0 {
		spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeIngress)
	} else {
		spec.Ingress = nil
	}
	// The DNS rule alone is no reason to add a policy: what is in force
	// already decides DNS.
	needsEgress := slices.ContainsFunc(p.Allows, func(a Allowance) bool { return a.Direction == "egress" && !a.dns })
	if iso.Egress[p.Workload] && needsEgress {
		spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	} else {
		spec.Egress = nil
	}
	for _, a := range p.Allows {
		if slices.Contains(spec.PolicyTypes, networkingv1.PolicyType(strings.ToUpper(a.Direction[:1])+a.Direction[1:])) {
			allows = append(allows, a)
		}
	}
	p.Allows = allows
	return len(spec.PolicyTypes) > 0
}

// ruleGroup is the peers that share one set of connections.
type ruleGroup struct {
	conns model.ConnectionSet
	peers []networkingv1.NetworkPolicyPeer
	names []string
	why   [][]string
	dst   *manifest.Workload // the destination, when the group has one workload peer (for named ports)
}

func (g ruleGroup) allowances(direction string) []Allowance {
	out := make([]Allowance, len(g.names))
	for i, n := range g.names {
		out[i] = Allowance{Direction: direction, Peer: n, Conns: g.conns, Reasons: g.why[i]}
	}
	return out
}

// group merges requirements per peer, then peers with identical
// connections into one rule, in a stable order.
func (s *synthesizer) group(reqs []Requirement, peerOf func(Requirement) model.Peer, self *manifest.Workload) []ruleGroup {
	perPeer := map[model.Peer]Requirement{}
	for _, r := range reqs {
		p := peerOf(r)
		if r.FromNamespace != "" && self != nil {
			p = namespacePeer(r.FromNamespace)
		}
		acc := perPeer[p]
		acc.Src, acc.Dst, acc.FromNamespace = r.Src, r.Dst, r.FromNamespace
		acc.Conns = acc.Conns.Union(r.Conns)
		acc.Reasons = append(acc.Reasons, r.Reasons...)
		perPeer[p] = acc
	}
	byConns := map[string]*ruleGroup{}
	var order []string
	for _, p := range slices.SortedFunc(maps.Keys(perPeer), model.Peer.Compare) {
		r := perPeer[p]
		peer, ok := s.peer(p)
		if !ok {
			continue
		}
		key := r.Conns.String()
		g, exists := byConns[key]
		if !exists {
			g = &ruleGroup{conns: r.Conns}
			byConns[key] = g
			order = append(order, key)
		}
		g.peers = append(g.peers, peer...)
		name := p.String()
		if p.Kind == model.PeerWorkload && p.Name == "" {
			name = "every pod of namespace " + p.Namespace
		}
		g.names = append(g.names, name)
		reasons := slices.Clone(r.Reasons)
		slices.Sort(reasons)
		g.why = append(g.why, slices.Compact(reasons))
		g.dst = s.byPeer[p]
	}
	var out []ruleGroup
	for _, k := range order {
		g := *byConns[k]
		if len(g.names) != 1 {
			g.dst = nil // named ports only resolve alike on one destination
		}
		if self != nil {
			g.dst = self // ingress: named ports resolve on the policy's own pods
		}
		out = append(out, g)
	}
	return out
}

// namespacePeer stands for "every pod of namespace ns" while grouping; it
// is a workload peer with no name, which no real workload has.
func namespacePeer(ns string) model.Peer { return model.WorkloadPeer(ns, "", "") }

// peer is the NetworkPolicyPeer list admitting exactly p.
func (s *synthesizer) peer(p model.Peer) ([]networkingv1.NetworkPolicyPeer, bool) {
	if p.Kind == model.PeerWorkload && p.Name == "" {
		return []networkingv1.NetworkPolicyPeer{{NamespaceSelector: namespaceSelector(p.Namespace)}}, true
	}
	switch p.Kind {
	case model.PeerWorkload:
		w := s.byPeer[p]
		if w == nil {
			s.findings = append(s.findings, model.Finding{Code: CodeUnknownPeer, Severity: model.Warning,
				Message: fmt.Sprintf("a required connection names %s, which is not among the inputs; no rule was written for it", p)})
			return nil, false
		}
		sel := s.podSelector(w)
		return []networkingv1.NetworkPolicyPeer{{NamespaceSelector: namespaceSelector(w.Namespace), PodSelector: &sel}}, true
	case model.PeerIngressController:
		return []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: namespaceSelector(s.opts.IngressController.Namespace),
			PodSelector:       &metav1.LabelSelector{MatchLabels: s.opts.IngressController.PodLabels},
		}}, true
	}
	var out []networkingv1.NetworkPolicyPeer
	for _, prefix := range model.RangeSet(p.Range).Prefixes() {
		out = append(out, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: prefix.String()}})
	}
	return out, true
}

func namespaceSelector(ns string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{manifest.NamespaceNameLabel: ns}}
}

func endpointString(e Endpoint) string {
	var ls []string
	for _, k := range slices.Sorted(maps.Keys(e.PodLabels)) {
		ls = append(ls, k+"="+e.PodLabels[k])
	}
	return "namespace " + e.Namespace + ", pods " + strings.Join(ls, ",")
}

// podSelector selects exactly w's pods among the workloads of its
// namespace, with as few labels as that takes: the smallest subset of its
// pod labels (stable, identifying keys first; never versions or hashes)
// that no other workload carries too. Failing that, all its labels plus,
// for each other workload whose labels include them, a DoesNotExist
// requirement on one of its extra keys. Workloads with the very same labels
// cannot be told apart: the selector covers them all, and a finding says
// so. Never {} for one workload among several. Pinned by
// TestPodSelectorDistinguishes.
func (s *synthesizer) podSelector(w *manifest.Workload) metav1.LabelSelector {
	if sel, ok := s.selectorCache[w]; ok {
		return *sel.DeepCopy()
	}
	var others []*manifest.Workload
	for i := range s.objs.Workloads {
		if v := &s.objs.Workloads[i]; v != w && v.Namespace == w.Namespace {
			others = append(others, v)
		}
	}
	matchesOther := func(subset map[string]string) bool {
		sel := labels.SelectorFromSet(subset)
		return slices.ContainsFunc(others, func(v *manifest.Workload) bool { return sel.Matches(labels.Set(v.PodLabels)) })
	}
	keys := stableKeys(w.PodLabels)
	var best map[string]string
	for size := 1; size <= min(3, len(keys)) && best == nil; size++ {
		combinations(len(keys), size, func(idx []int) bool {
			subset := map[string]string{}
			for _, i := range idx {
				subset[keys[i]] = w.PodLabels[keys[i]]
			}
			if !matchesOther(subset) {
				best = subset
				return false
			}
			return true
		})
	}
	var sel metav1.LabelSelector
	if best != nil {
		sel = metav1.LabelSelector{MatchLabels: best}
	} else {
		sel = s.excludingSelector(w, others)
	}
	if s.selectorCache == nil {
		s.selectorCache = map[*manifest.Workload]metav1.LabelSelector{}
	}
	s.selectorCache[w] = sel
	return *sel.DeepCopy()
}

// excludingSelector is all of w's labels plus DoesNotExist requirements
// that exclude the workloads whose labels include w's.
func (s *synthesizer) excludingSelector(w *manifest.Workload, others []*manifest.Workload) metav1.LabelSelector {
	sel := metav1.LabelSelector{MatchLabels: maps.Clone(w.PodLabels)}
	var twins []string
	excluded := map[string]bool{}
	own := labels.SelectorFromSet(w.PodLabels)
	for _, v := range others {
		if !own.Matches(labels.Set(v.PodLabels)) {
			continue
		}
		extra := slices.Sorted(maps.Keys(v.PodLabels))
		extra = slices.DeleteFunc(extra, func(k string) bool { _, shared := w.PodLabels[k]; return shared })
		if len(extra) == 0 {
			twins = append(twins, v.Peer().String())
			continue
		}
		if slices.ContainsFunc(extra, func(k string) bool { return excluded[k] }) {
			continue // an earlier requirement already excludes v
		}
		excluded[extra[0]] = true
		sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{Key: extra[0], Operator: metav1.LabelSelectorOpDoesNotExist})
	}
	slices.SortFunc(sel.MatchExpressions, func(a, b metav1.LabelSelectorRequirement) int { return cmp.Compare(a.Key, b.Key) })
	if len(twins) > 0 {
		s.findings = appendOnce(s.findings, model.Finding{
			Code: CodeIndistinguishable, Severity: model.Warning, Location: w.Source, Object: w.Kind + " " + w.Namespace + "/" + w.Name,
			Message: fmt.Sprintf("%s has the same pod labels as %s, so no selector tells their pods apart and their policies cover each other's pods; give each workload a distinguishing label such as app.kubernetes.io/name",
				w.Peer(), strings.Join(twins, ", ")),
		})
	}
	return sel
}

// preferredKeys identify a workload and rarely change; volatileKeys change
// with every release or rollout and must not appear in a selector.
var (
	preferredKeys = []string{"app.kubernetes.io/name", "app", "k8s-app", "name", "app.kubernetes.io/instance",
		"app.kubernetes.io/component", "component", "role", "tier"}
	volatileKeys = map[string]bool{"version": true, "app.kubernetes.io/version": true, "pod-template-hash": true,
		"controller-revision-hash": true, "statefulset.kubernetes.io/pod-name": true, "helm.sh/chart": true, "chart": true}
)

// stableKeys orders a workload's label keys for selectors: preferred keys
// in their order, then the others alphabetically, volatile ones left out.
func stableKeys(lbls map[string]string) []string {
	var out []string
	for _, k := range preferredKeys {
		if _, ok := lbls[k]; ok {
			out = append(out, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(lbls)) {
		if !volatileKeys[k] && !slices.Contains(preferredKeys, k) {
			out = append(out, k)
		}
	}
	return out
}

// combinations calls f with each size-k subset of 0..n-1 in lexicographic
// order until f returns false.
func combinations(n, k int, f func([]int) bool) {
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	for {
		if !f(idx) {
			return
		}
		i := k - 1
		for i >= 0 && idx[i] == n-k+i {
			i--
		}
		if i < 0 {
			return
		}
		idx[i]++
		for j := i + 1; j < k; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}

func appendOnce(fs []model.Finding, f model.Finding) []model.Finding {
	if slices.Contains(fs, f) {
		return fs
	}
	return append(fs, f)
}

// ports writes a connection set as NetworkPolicy ports: nothing for all
// connections; a protocol alone for all its ports; ranges with endPort;
// a name where asked and dst declares exactly that port under one name.
func (s *synthesizer) ports(c model.ConnectionSet, dst *manifest.Workload) []networkingv1.NetworkPolicyPort {
	if c.IsAll() {
		return nil
	}
	var out []networkingv1.NetworkPolicyPort
	for _, proto := range model.Protocols() {
		ps := c.Ports(proto)
		if ps.IsEmpty() {
			continue
		}
		p := protocolOf(proto)
		if ps.IsAll() {
			out = append(out, networkingv1.NetworkPolicyPort{Protocol: &p})
			continue
		}
		for _, r := range ps.Ranges() {
			port := intstr.FromInt32(int32(r[0]))
			entry := networkingv1.NetworkPolicyPort{Protocol: &p, Port: &port}
			if r[1] > r[0] {
				end := int32(r[1])
				entry.EndPort = &end
			} else if s.opts.NamedPorts && dst != nil {
				if name, ok := portName(dst, proto, r[0]); ok {
					named := intstr.FromString(name)
					entry.Port = &named
				}
			}
			out = append(out, entry)
		}
	}
	return out
}

// portName is the one name dst's containers give to this port and protocol,
// when the name means exactly this port there.
func portName(w *manifest.Workload, proto model.Protocol, port int) (string, bool) {
	numbers := map[string]map[int32]bool{}
	for _, cs := range [][]corev1.Container{w.Pod.InitContainers, w.Pod.Containers} {
		for _, c := range cs {
			for _, cp := range c.Ports {
				if cp.Name == "" || protocolOf(proto) != cmp.Or(cp.Protocol, corev1.ProtocolTCP) {
					continue
				}
				if numbers[cp.Name] == nil {
					numbers[cp.Name] = map[int32]bool{}
				}
				numbers[cp.Name][cp.ContainerPort] = true
			}
		}
	}
	var found []string
	for n, ports := range numbers {
		if len(ports) == 1 && ports[int32(port)] {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return found[0], true
}

func protocolOf(p model.Protocol) corev1.Protocol {
	switch p {
	case model.UDP:
		return corev1.ProtocolUDP
	case model.SCTP:
		return corev1.ProtocolSCTP
	}
	return corev1.ProtocolTCP
}
