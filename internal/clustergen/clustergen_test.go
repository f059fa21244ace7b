package clustergen_test

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/tightnet/tightnet/internal/analyze/reference"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

func random(seed uint64) *manifest.Objects {
	return clustergen.Random(rand.New(rand.NewPCG(seed, 0)), clustergen.DefaultRandomSize)
}

// tieredSize is DefaultRandomSize with the admin tiers.
var tieredSize = clustergen.RandomSize{Namespaces: 3, Workloads: 8, Policies: 6, AdminPolicies: 4, BaselinePolicies: 3}

// randomTiered is a Random cluster with admin tiers.
func randomTiered(seed uint64) *manifest.Objects {
	return clustergen.Random(rand.New(rand.NewPCG(seed, 0)), tieredSize)
}

func writeYAML(t *testing.T, objs *manifest.Objects) string {
	t.Helper()
	var b bytes.Buffer
	if err := clustergen.WriteYAML(&b, objs); err != nil {
		t.Fatalf("WriteYAML: %v", err)
	}
	return b.String()
}

func TestRandomIsDeterministic(t *testing.T) {
	distinct := map[string]bool{}
	for seed := range uint64(20) {
		a, b := randomTiered(seed), randomTiered(seed)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: two Random clusters differ", seed)
		}
		ya, yb := writeYAML(t, a), writeYAML(t, b)
		if ya != yb {
			t.Fatalf("seed %d: YAML of two Random clusters differs", seed)
		}
		distinct[ya] = true
	}
	if len(distinct) < 15 {
		t.Errorf("20 seeds gave only %d distinct clusters", len(distinct))
	}
}

func TestSyntheticIsDeterministic(t *testing.T) {
	opts := clustergen.SyntheticOptions{Namespaces: 6, WorkloadsPerNamespace: 5, Policies: 20, Seed: 7}
	a, b := clustergen.Synthetic(opts), clustergen.Synthetic(opts)
	if !reflect.DeepEqual(a, b) || writeYAML(t, a) != writeYAML(t, b) {
		t.Fatal("two Synthetic clusters with the same options differ")
	}
	opts.Seed = 8
	if writeYAML(t, a) == writeYAML(t, clustergen.Synthetic(opts)) {
		t.Error("Synthetic ignores the seed")
	}
}

// checkInvariants checks what manifest.Objects promise: sorted slices,
// unique identities, and every namespace used present with its name label.
func checkInvariants(t *testing.T, objs *manifest.Objects) {
	t.Helper()
	nsIndex := map[string]bool{}
	for _, ns := range objs.Namespaces {
		if ns.Labels[manifest.NamespaceNameLabel] != ns.Name {
			t.Errorf("namespace %s: label %s = %q", ns.Name, manifest.NamespaceNameLabel, ns.Labels[manifest.NamespaceNameLabel])
		}
		if !ns.Declared && len(ns.Labels) != 1 {
			t.Errorf("undeclared namespace %s has labels %v", ns.Name, ns.Labels)
		}
		nsIndex[ns.Name] = true
	}
	if !slices.IsSortedFunc(objs.Namespaces, func(a, b manifest.Namespace) int { return cmp.Compare(a.Name, b.Name) }) {
		t.Error("namespaces are not sorted")
	}
	if len(nsIndex) != len(objs.Namespaces) {
		t.Error("duplicate namespaces")
	}
	wlCmp := func(a, b manifest.Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	}
	if !slices.IsSortedFunc(objs.Workloads, wlCmp) {
		t.Error("workloads are not sorted by namespace, name, kind")
	}
	for i, w := range objs.Workloads {
		if i > 0 && wlCmp(objs.Workloads[i-1], w) == 0 {
			t.Errorf("duplicate workload %v", w.Peer())
		}
		if !nsIndex[w.Namespace] {
			t.Errorf("workload %v: namespace missing from Namespaces", w.Peer())
		}
	}
	npCmp := func(a, b manifest.NetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.Object.Namespace, b.Object.Namespace), cmp.Compare(a.Object.Name, b.Object.Name))
	}
	if !slices.IsSortedFunc(objs.Policies, npCmp) {
		t.Error("policies are not sorted by namespace, name")
	}
	for i, p := range objs.Policies {
		if i > 0 && npCmp(objs.Policies[i-1], p) == 0 {
			t.Errorf("duplicate policy %s/%s", p.Object.Namespace, p.Object.Name)
		}
		if !nsIndex[p.Object.Namespace] {
			t.Errorf("policy %s/%s: namespace missing from Namespaces", p.Object.Namespace, p.Object.Name)
		}
	}
	for _, s := range objs.Services {
		if !nsIndex[s.Object.Namespace] {
			t.Errorf("service %s/%s: namespace missing from Namespaces", s.Object.Namespace, s.Object.Name)
		}
	}
	var anps, banps, cnps []string
	for _, p := range objs.AdminPolicies {
		anps = append(anps, p.Object.Name)
	}
	for _, p := range objs.BaselinePolicies {
		banps = append(banps, p.Object.Name)
	}
	for _, p := range objs.ClusterPolicies {
		cnps = append(cnps, p.Object.Name)
		if p.APIVersion != p.Object.APIVersion || p.Object.Kind != "ClusterNetworkPolicy" {
			t.Errorf("cluster network policy %s: APIVersion %q, object's %s %s", p.Object.Name, p.APIVersion, p.Object.APIVersion, p.Object.Kind)
		}
	}
	for kind, names := range map[string][]string{"admin network policies": anps, "baseline admin network policies": banps, "cluster network policies": cnps} {
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Errorf("%s are not sorted by unique name: %v", kind, names)
		}
	}
	if len(banps) > 1 {
		t.Errorf("%d baseline admin network policies, want at most one", len(banps))
	}
}

func TestRandomInvariants(t *testing.T) {
	sizes := []clustergen.RandomSize{
		clustergen.DefaultRandomSize, tieredSize,
		{Namespaces: 1, Workloads: 1, Policies: 1},
		{Namespaces: 8, Workloads: 20, Policies: 12, AdminPolicies: 10, BaselinePolicies: 6},
		{Namespaces: 10, Workloads: 3},
		{AdminPolicies: 1, BaselinePolicies: 1},
		{},
	}
	for _, size := range sizes {
		for seed := range uint64(50) {
			objs := clustergen.Random(rand.New(rand.NewPCG(seed, 1)), size)
			checkInvariants(t, objs)
			if len(objs.Workloads) != size.Workloads || len(objs.Policies) != size.Policies ||
				len(objs.Namespaces) != max(size.Namespaces, 1) {
				t.Errorf("size %+v seed %d: got %d namespaces, %d workloads, %d policies", size, seed,
					len(objs.Namespaces), len(objs.Workloads), len(objs.Policies))
			}
			admin, baseline := len(objs.AdminPolicies), len(objs.BaselinePolicies)
			for _, p := range objs.ClusterPolicies {
				if p.Object.Spec.Tier == policyv1beta1.BaselineTier {
					baseline++
				} else {
					admin++
				}
			}
			if admin != size.AdminPolicies || baseline != size.BaselinePolicies {
				t.Errorf("size %+v seed %d: got %d admin-tier and %d baseline-tier policies", size, seed, admin, baseline)
			}
			if t.Failed() {
				t.Fatalf("size %+v seed %d:\n%s", size, seed, writeYAML(t, objs))
			}
		}
	}
}

// The admin tiers are drawn after everything else, so a cluster drawn with
// them is the cluster drawn without them plus its admin-tier objects: the
// seeds other tests rely on keep their clusters.
func TestRandomTiersLeaveTheRestUnchanged(t *testing.T) {
	for seed := range uint64(50) {
		without := clustergen.Random(rand.New(rand.NewPCG(seed, 2)), clustergen.DefaultRandomSize)
		with := clustergen.Random(rand.New(rand.NewPCG(seed, 2)), tieredSize)
		if len(with.AdminPolicies)+len(with.BaselinePolicies)+len(with.ClusterPolicies) == 0 {
			t.Fatalf("seed %d: no admin-tier objects", seed)
		}
		if len(without.AdminPolicies)+len(without.BaselinePolicies)+len(without.ClusterPolicies) != 0 {
			t.Fatalf("seed %d: admin-tier objects without asking", seed)
		}
		with.AdminPolicies, with.BaselinePolicies, with.ClusterPolicies = nil, nil, nil
		if !reflect.DeepEqual(with, without) {
			t.Fatalf("seed %d: the admin tiers changed the rest of the cluster", seed)
		}
	}
}

// features lists what a cluster exercises, by name.
func features(objs *manifest.Objects) map[string]bool {
	f := map[string]bool{}
	labelCount := map[string]int{}
	kinds := map[[2]string]map[string]bool{}
	portsByName := map[string]map[string]bool{} // name -> {"TCP/80", ...}
	for _, w := range objs.Workloads {
		for k, v := range w.PodLabels {
			labelCount[k+"="+v]++
		}
		key := [2]string{w.Namespace, w.Name}
		if kinds[key] == nil {
			kinds[key] = map[string]bool{}
		}
		kinds[key][w.Kind] = true
		if len(kinds[key]) > 1 {
			f["workloads of different kinds share a name"] = true
		}
		for _, c := range slices.Concat(w.Pod.Containers, w.Pod.InitContainers) {
			for _, cp := range c.Ports {
				if cp.Name == "" {
					continue
				}
				if portsByName[cp.Name] == nil {
					portsByName[cp.Name] = map[string]bool{}
				}
				portsByName[cp.Name][string(cp.Protocol)+"/"+strconv.Itoa(int(cp.ContainerPort))] = true
			}
		}
		if len(w.Pod.InitContainers) > 0 {
			f["initContainers"] = true
		}
	}
	for _, n := range labelCount {
		if n > 1 {
			f["label collision"] = true
		}
	}
	for _, v := range portsByName {
		if len(v) > 1 {
			f["named port with different numbers or protocols"] = true
		}
	}
	hasWorkloads := map[string]bool{}
	for _, w := range objs.Workloads {
		hasWorkloads[w.Namespace] = true
	}
	for _, ns := range objs.Namespaces {
		if len(ns.Labels) > 1 {
			f["namespace with labels"] = true
		}
		if !ns.Declared {
			f["undeclared namespace"] = true
		}
	}
	selector := func(where string, s *metav1.LabelSelector) {
		if len(s.MatchLabels)+len(s.MatchExpressions) == 0 {
			f[where+" empty"] = true
		}
		if len(s.MatchLabels) > 0 {
			f[where+" matchLabels"] = true
		}
		for _, e := range s.MatchExpressions {
			f[where+" "+string(e.Operator)] = true
		}
	}
	peers := func(ps []networkingv1.NetworkPolicyPeer) {
		if ps == nil {
			f["absent from/to"] = true
		} else if len(ps) == 0 {
			f["empty from/to"] = true
		}
		for _, p := range ps {
			switch {
			case p.PodSelector != nil && p.NamespaceSelector != nil:
				f["peer both selectors"] = true
			case p.PodSelector != nil:
				f["peer podSelector only"] = true
			case p.NamespaceSelector != nil:
				f["peer namespaceSelector only"] = true
			case p.IPBlock != nil:
				fam := "IPv4"
				if netip.MustParsePrefix(p.IPBlock.CIDR).Addr().Is6() {
					fam = "IPv6"
				}
				f["ipBlock "+fam] = true
				if len(p.IPBlock.Except) > 0 {
					f["ipBlock "+fam+" except"] = true
				}
			default:
				f["peer without selector"] = true
			}
			if p.PodSelector != nil {
				selector("peer podSelector", p.PodSelector)
			}
			if p.NamespaceSelector != nil {
				selector("peer namespaceSelector", p.NamespaceSelector)
			}
		}
	}
	ports := func(pps []networkingv1.NetworkPolicyPort) {
		if pps == nil {
			f["absent ports"] = true
		}
		for _, pp := range pps {
			proto := "default"
			if pp.Protocol != nil {
				proto = string(*pp.Protocol)
			}
			f["protocol "+proto] = true
			switch {
			case pp.Port == nil && pp.EndPort == nil:
				f["absent port"] = true
			case pp.Port == nil:
				f["endPort without port"] = true
			case pp.Port.Type == intstr.String && pp.EndPort != nil:
				f["endPort with named port"] = true
			case pp.Port.Type == intstr.String:
				f["named port"] = true
				if strings.Trim(pp.Port.StrVal, "0123456789") == "" {
					f["digit string port"] = true
				}
			case pp.EndPort == nil:
				f["numeric port"] = true
			case *pp.EndPort >= pp.Port.IntVal:
				f["endPort range"] = true
			default:
				f["endPort below port"] = true
			}
		}
	}
	for _, p := range objs.Policies {
		spec := p.Object.Spec
		selector("podSelector", &spec.PodSelector)
		if len(spec.PolicyTypes) == 0 {
			f["policyTypes defaulted"] = true
		} else {
			f["policyTypes given"] = true
		}
		if !hasWorkloads[p.Object.Namespace] {
			f["policy in namespace without workloads"] = true
		}
		if spec.Ingress != nil && len(spec.Ingress) == 0 {
			f["empty ingress list"] = true
		}
		if spec.Egress != nil && len(spec.Egress) == 0 {
			f["empty egress list"] = true
		}
		for _, r := range spec.Ingress {
			peers(r.From)
			ports(r.Ports)
		}
		for _, r := range spec.Egress {
			peers(r.To)
			ports(r.Ports)
		}
	}
	tierFeatures(objs, f)
	return f
}

// tierPeer is an admin-tier peer in the shape every peer type shares.
type tierPeer struct {
	namespaces, pods, nodes bool
	networks, domainNames   []string
}

// tierFeatures adds to f what objs' admin tiers exercise.
func tierFeatures(objs *manifest.Objects, f map[string]bool) {
	priorities := map[int32]map[string]int{} // priority -> kind -> count, Admin tier
	addPriority := func(kind string, p int32) {
		if p < 0 || p > 1000 {
			f["priority invalid"] = true
			return
		}
		if priorities[p] == nil {
			priorities[p] = map[string]int{}
		}
		priorities[p][kind]++
	}
	subject := func(namespaces, pods bool) {
		switch {
		case namespaces && pods:
			f["subject both"] = true
		case namespaces:
			f["subject namespaces"] = true
		case pods:
			f["subject pods"] = true
		default:
			f["subject neither"] = true
		}
	}
	peers := func(action string, ps []tierPeer) {
		if len(ps) == 0 {
			f["tier empty peer list"] = true
		}
		for _, p := range ps {
			set := 0
			for _, has := range []bool{p.namespaces, p.pods, len(p.networks) > 0, p.nodes, len(p.domainNames) > 0} {
				if has {
					set++
				}
			}
			switch {
			case set == 0:
				f["tier peer no field"] = true
				f["fail-closed peer with "+action] = true
			case set > 1:
				f["tier peer two fields"] = true
				f["fail-closed peer with "+action] = true
			case p.namespaces:
				f["tier peer namespaces"] = true
			case p.pods:
				f["tier peer pods"] = true
			case p.nodes:
				f["tier peer nodes"] = true
			case len(p.domainNames) > 0:
				f["tier peer domainNames"] = true
			}
			for _, c := range p.networks {
				switch pfx, err := netip.ParsePrefix(c); {
				case err != nil:
					f["tier peer networks invalid"] = true
				case pfx.Addr().Is4():
					f["tier peer networks IPv4"] = true
				default:
					f["tier peer networks IPv6"] = true
				}
			}
		}
	}
	anpPorts := func(pps *[]policyv1alpha1.AdminNetworkPolicyPort) {
		if pps == nil {
			f["tier ports absent"] = true
			return
		}
		if len(*pps) == 0 {
			f["tier ports empty list"] = true
		}
		for _, pp := range *pps {
			switch {
			case (pp.PortNumber != nil) && (pp.NamedPort == nil) && (pp.PortRange == nil):
				f["tier portNumber"] = true
				if pp.PortNumber.Protocol == "" {
					f["tier port protocol default"] = true
				}
			case (pp.PortRange != nil) && (pp.NamedPort == nil) && (pp.PortNumber == nil):
				f["tier portRange"] = true
				if pp.PortRange.End < pp.PortRange.Start {
					f["tier portRange reversed"] = true
				}
			case (pp.NamedPort != nil) && (pp.PortNumber == nil) && (pp.PortRange == nil):
				f["tier namedPort"] = true
			default:
				f["tier port invalid entry"] = true
			}
		}
	}
	cnpPort := func(p *policyv1beta1.Port) {
		switch {
		case p == nil:
			f["cnp destinationPort absent"] = true
		case p.Number != 0 && p.Range != nil, p.Number == 0 && p.Range == nil, p.Number > 65535:
			f["cnp destinationPort invalid"] = true
		case p.Number != 0:
			f["cnp destinationPort number"] = true
		default:
			f["cnp destinationPort range"] = true
		}
	}
	cnpProtocols := func(prs []policyv1beta1.ClusterNetworkPolicyProtocol) {
		if len(prs) == 0 {
			f["cnp protocols absent"] = true
		}
		for _, pr := range prs {
			set := 0
			for _, has := range []bool{pr.TCP != nil, pr.UDP != nil, pr.SCTP != nil, pr.DestinationNamedPort != ""} {
				if has {
					set++
				}
			}
			switch {
			case set != 1:
				f["cnp protocol invalid entry"] = true
			case pr.TCP != nil:
				f["cnp TCP"] = true
				cnpPort(pr.TCP.DestinationPort)
			case pr.UDP != nil:
				f["cnp UDP"] = true
				cnpPort(pr.UDP.DestinationPort)
			case pr.SCTP != nil:
				f["cnp SCTP"] = true
				cnpPort(pr.SCTP.DestinationPort)
			default:
				f["cnp destinationNamedPort"] = true
			}
		}
	}
	action := func(kind, a string, valid ...string) string {
		if slices.Contains(valid, a) {
			f[kind+" "+a] = true
			return a
		}
		f[kind+" invalid action"] = true
		return "invalid"
	}
	for _, p := range objs.AdminPolicies {
		spec := p.Object.Spec
		f["anp"] = true
		addPriority("AdminNetworkPolicy", spec.Priority)
		subject(spec.Subject.Namespaces != nil, spec.Subject.Pods != nil)
		for _, r := range spec.Ingress {
			var ps []tierPeer
			for _, p := range r.From {
				ps = append(ps, tierPeer{namespaces: p.Namespaces != nil, pods: p.Pods != nil})
			}
			peers(action("ANP", string(r.Action), "Allow", "Deny", "Pass"), ps)
			anpPorts(r.Ports)
		}
		for _, r := range spec.Egress {
			var ps []tierPeer
			for _, p := range r.To {
				ps = append(ps, tierPeer{namespaces: p.Namespaces != nil, pods: p.Pods != nil, nodes: p.Nodes != nil,
					networks: strs(p.Networks), domainNames: strs(p.DomainNames)})
			}
			peers(action("ANP", string(r.Action), "Allow", "Deny", "Pass"), ps)
			anpPorts(r.Ports)
		}
	}
	for _, p := range objs.BaselinePolicies {
		spec := p.Object.Spec
		if p.Object.Name == "default" {
			f["banp default"] = true
		} else {
			f["banp other name"] = true
		}
		subject(spec.Subject.Namespaces != nil, spec.Subject.Pods != nil)
		for _, r := range spec.Ingress {
			var ps []tierPeer
			for _, p := range r.From {
				ps = append(ps, tierPeer{namespaces: p.Namespaces != nil, pods: p.Pods != nil})
			}
			peers(action("BANP", string(r.Action), "Allow", "Deny"), ps)
			anpPorts(r.Ports)
		}
		for _, r := range spec.Egress {
			var ps []tierPeer
			for _, p := range r.To {
				ps = append(ps, tierPeer{namespaces: p.Namespaces != nil, pods: p.Pods != nil, nodes: p.Nodes != nil, networks: strs(p.Networks)})
			}
			peers(action("BANP", string(r.Action), "Allow", "Deny"), ps)
			anpPorts(r.Ports)
		}
	}
	for _, p := range objs.ClusterPolicies {
		spec := p.Object.Spec
		switch spec.Tier {
		case policyv1beta1.AdminTier:
			f["cnp Admin"] = true
			addPriority("ClusterNetworkPolicy", spec.Priority)
		case policyv1beta1.BaselineTier:
			f["cnp Baseline"] = true
		default:
			f["cnp invalid tier"] = true
		}
		f["cnp "+p.APIVersion] = true
		subject(spec.Subject.Namespaces != nil, spec.Subject.Pods != nil)
		for _, r := range spec.Ingress {
			var ps []tierPeer
			for _, p := range r.From {
				ps = append(ps, tierPeer{namespaces: p.Namespaces != nil, pods: p.Pods != nil})
			}
			peers(action("CNP", string(r.Action), "Accept", "Deny", "Pass"), ps)
			cnpProtocols(r.Protocols)
		}
		for _, r := range spec.Egress {
			var ps []tierPeer
			for _, p := range r.To {
				ps = append(ps, tierPeer{namespaces: p.Namespaces != nil, pods: p.Pods != nil, nodes: p.Nodes != nil,
					networks: strs(p.Networks), domainNames: strs(p.DomainNames)})
			}
			peers(action("CNP", string(r.Action), "Accept", "Deny", "Pass"), ps)
			cnpProtocols(r.Protocols)
		}
	}
	for _, kinds := range priorities {
		for _, n := range kinds {
			if n > 1 {
				f["priority tie same kind"] = true
			}
		}
		if len(kinds) > 1 {
			f["priority tie across kinds"] = true
		}
	}
}

func strs[S ~string](xs []S) []string {
	var out []string
	for _, x := range xs {
		out = append(out, string(x))
	}
	return out
}

func TestRandomCoversEveryFeature(t *testing.T) {
	want := []string{
		"label collision", "namespace with labels", "undeclared namespace", "initContainers",
		"workloads of different kinds share a name", "named port with different numbers or protocols",
		"podSelector empty", "podSelector matchLabels", "podSelector In", "podSelector NotIn",
		"podSelector Exists", "podSelector DoesNotExist", "podSelector Bogus",
		"peer podSelector empty", "peer namespaceSelector empty", "peer namespaceSelector matchLabels",
		"peer namespaceSelector Exists", "peer namespaceSelector Bogus",
		"peer both selectors", "peer podSelector only", "peer namespaceSelector only", "peer without selector",
		"ipBlock IPv4", "ipBlock IPv4 except", "ipBlock IPv6", "ipBlock IPv6 except",
		"absent from/to", "empty from/to", "absent ports",
		"protocol default", "protocol TCP", "protocol UDP", "protocol SCTP",
		"absent port", "numeric port", "named port", "digit string port",
		"endPort range", "endPort below port", "endPort without port", "endPort with named port",
		"policyTypes defaulted", "policyTypes given", "policy in namespace without workloads",
		"empty ingress list", "empty egress list",
		// The admin tiers.
		"anp", "banp default", "banp other name", "cnp Admin", "cnp Baseline", "cnp invalid tier",
		"cnp policy.networking.k8s.io/v1beta1", "cnp policy.networking.k8s.io/v1alpha2",
		"priority tie same kind", "priority tie across kinds", "priority invalid",
		"subject namespaces", "subject pods", "subject neither", "subject both",
		"tier peer namespaces", "tier peer pods", "tier peer nodes", "tier peer domainNames",
		"tier peer networks IPv4", "tier peer networks IPv6", "tier peer networks invalid",
		"tier peer no field", "tier peer two fields", "tier empty peer list",
		"fail-closed peer with Allow", "fail-closed peer with Deny", "fail-closed peer with Pass", "fail-closed peer with Accept",
		"ANP Allow", "ANP Deny", "ANP Pass", "ANP invalid action",
		"BANP Allow", "BANP Deny", "BANP invalid action",
		"CNP Accept", "CNP Deny", "CNP Pass", "CNP invalid action",
		"tier ports absent", "tier ports empty list", "tier portNumber", "tier port protocol default",
		"tier portRange", "tier portRange reversed", "tier namedPort", "tier port invalid entry",
		"cnp protocols absent", "cnp TCP", "cnp UDP", "cnp SCTP", "cnp destinationNamedPort", "cnp protocol invalid entry",
		"cnp destinationPort absent", "cnp destinationPort number", "cnp destinationPort range", "cnp destinationPort invalid",
	}
	seen := map[string]bool{}
	for seed := range uint64(300) {
		for k := range features(random(seed)) {
			seen[k] = true
		}
		for k := range features(randomTiered(seed)) {
			seen[k] = true
		}
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("300 Random clusters never exercise %q", w)
		}
	}
}

func TestSyntheticSizes(t *testing.T) {
	for _, opts := range []clustergen.SyntheticOptions{
		{Namespaces: 1, WorkloadsPerNamespace: 1, Policies: 1},
		{Namespaces: 5, WorkloadsPerNamespace: 7, Policies: 13, Seed: 1},
		{Namespaces: 30, WorkloadsPerNamespace: 12, Policies: 100, Seed: 2},
		{Namespaces: 3, WorkloadsPerNamespace: 0, Policies: 0},
	} {
		objs := clustergen.Synthetic(opts)
		checkInvariants(t, objs)
		if len(objs.Namespaces) != opts.Namespaces ||
			len(objs.Workloads) != opts.Namespaces*opts.WorkloadsPerNamespace ||
			len(objs.Policies) != opts.Policies {
			t.Errorf("%+v: got %d namespaces, %d workloads, %d policies", opts,
				len(objs.Namespaces), len(objs.Workloads), len(objs.Policies))
		}
		for _, w := range objs.Workloads {
			for _, k := range []string{"app", "tier", "version"} {
				if w.PodLabels[k] == "" {
					t.Errorf("%+v: workload %v lacks label %s", opts, w.Peer(), k)
				}
			}
		}
	}
}

func TestSyntheticMixesPolicyFeatures(t *testing.T) {
	objs := clustergen.Synthetic(clustergen.SyntheticOptions{Namespaces: 6, WorkloadsPerNamespace: 10, Policies: 60, Seed: 3})
	f := features(objs)
	for _, w := range []string{
		"podSelector empty", "podSelector matchLabels", "podSelector In", "podSelector DoesNotExist",
		"peer podSelector Exists", "peer podSelector NotIn", "peer namespaceSelector In",
		"peer both selectors", "peer podSelector only", "peer namespaceSelector only",
		"ipBlock IPv4 except", "ipBlock IPv6 except", "named port", "numeric port", "endPort range",
		"protocol UDP", "protocol SCTP", "label collision", "named port with different numbers or protocols",
	} {
		if !f[w] {
			t.Errorf("Synthetic never exercises %q", w)
		}
	}
	var defaultDeny, dns bool
	for _, p := range objs.Policies {
		spec := p.Object.Spec
		if len(spec.PodSelector.MatchLabels)+len(spec.PodSelector.MatchExpressions) == 0 &&
			len(spec.Ingress)+len(spec.Egress) == 0 && len(spec.PolicyTypes) == 2 {
			defaultDeny = true
		}
		for _, r := range spec.Egress {
			for _, pp := range r.Ports {
				if pp.Port != nil && pp.Port.IntVal == 53 {
					dns = true
				}
			}
		}
	}
	if !defaultDeny || !dns {
		t.Errorf("default-deny %v, DNS egress %v; want both", defaultDeny, dns)
	}
}

func TestSyntheticGuardrails(t *testing.T) {
	none := clustergen.Synthetic(clustergen.SyntheticOptions{Namespaces: 6, WorkloadsPerNamespace: 5, Policies: 10, Seed: 4})
	if len(none.AdminPolicies)+len(none.BaselinePolicies)+len(none.ClusterPolicies) != 0 {
		t.Error("Synthetic without AdminPolicies has admin-tier policies")
	}
	for _, n := range []int{1, 9, 30} {
		objs := clustergen.Synthetic(clustergen.SyntheticOptions{Namespaces: 6, WorkloadsPerNamespace: 5, Policies: 10, AdminPolicies: n, Seed: 4})
		checkInvariants(t, objs)
		if got := len(objs.AdminPolicies) + len(objs.BaselinePolicies) + len(objs.ClusterPolicies); got != n {
			t.Errorf("AdminPolicies %d: got %d admin-tier policies", n, got)
		}
		if len(objs.BaselinePolicies) != 1 || objs.BaselinePolicies[0].Object.Name != "default" {
			t.Errorf("AdminPolicies %d: want the one BANP \"default\", got %d", n, len(objs.BaselinePolicies))
		}
		// The rest of the cluster does not depend on the guardrails.
		objs.AdminPolicies, objs.BaselinePolicies, objs.ClusterPolicies = nil, nil, nil
		if !reflect.DeepEqual(objs, none) {
			t.Errorf("AdminPolicies %d changed the rest of the cluster", n)
		}
	}
	objs := clustergen.Synthetic(clustergen.SyntheticOptions{Namespaces: 6, WorkloadsPerNamespace: 5, AdminPolicies: 30})
	f := features(objs)
	for _, w := range []string{
		"anp", "banp default", "cnp Admin", "cnp Baseline",
		"cnp policy.networking.k8s.io/v1beta1", "cnp policy.networking.k8s.io/v1alpha2",
		"ANP Allow", "ANP Deny", "ANP Pass", "BANP Allow", "BANP Deny", "CNP Accept", "CNP Deny", "CNP Pass",
		"subject namespaces", "subject pods", "tier peer namespaces", "tier peer pods",
		"tier peer networks IPv4", "tier peer networks IPv6", "tier peer domainNames",
		"tier portNumber", "tier namedPort", "cnp destinationNamedPort", "cnp destinationPort number", "cnp destinationPort range",
	} {
		if !f[w] {
			t.Errorf("Synthetic guardrails never exercise %q", w)
		}
	}
	for k := range f {
		if strings.Contains(k, "invalid") || strings.Contains(k, "fail-closed") || strings.Contains(k, "other name") {
			t.Errorf("Synthetic guardrails are unrealistic: %q", k)
		}
	}

	// What the guardrails mean, asked of the reference.
	pod := func(ns, name string) reference.Endpoint {
		for i, w := range objs.Workloads {
			if w.Namespace == ns && w.Name == name {
				return reference.Pod(&objs.Workloads[i])
			}
		}
		t.Fatalf("no workload %s/%s", ns, name)
		return reference.Endpoint{}
	}
	frontend, api := pod("checkout-prod", "frontend"), pod("checkout-prod", "api")
	coreDNS, prometheus := pod("kube-system", "coredns"), pod("monitoring", "prometheus")
	for _, c := range []struct {
		src, dst reference.Endpoint
		proto    model.Protocol
		port     int
		want     bool
	}{
		{frontend, coreDNS, model.UDP, 53, true},
		{frontend, coreDNS, model.TCP, 9153, false},
		{frontend, api, model.TCP, 8080, true},
		{frontend, pod("identity-prod", "api"), model.TCP, 8080, false},
		{prometheus, api, model.TCP, 9090, true},
		{prometheus, api, model.TCP, 8080, false},
		{frontend, reference.Address(netip.MustParseAddr("169.254.169.254")), model.TCP, 80, false},
		{frontend, reference.Address(netip.MustParseAddr("203.0.113.9")), model.TCP, 443, true},
	} {
		if got := reference.Allowed(objs, c.src, c.dst, c.proto, c.port); got != c.want {
			t.Errorf("%v => %v : %v %d allowed %v, want %v", c.src, c.dst, c.proto, c.port, got, c.want)
		}
	}
}

var docSep = regexp.MustCompile(`(?m)^---\n`)

// splitDocs splits WriteYAML's output into documents.
func splitDocs(t *testing.T, out string) []string {
	t.Helper()
	if !strings.HasPrefix(out, "---\n") {
		t.Fatalf("output does not start with a document separator:\n%.200s", out)
	}
	return docSep.Split(out, -1)[1:]
}

func TestWriteYAMLParsesBack(t *testing.T) {
	clusters := map[string]*manifest.Objects{
		"synthetic": clustergen.Synthetic(clustergen.SyntheticOptions{Namespaces: 4, WorkloadsPerNamespace: 11, Policies: 25, AdminPolicies: 12}),
	}
	for seed := range uint64(10) {
		clusters[fmt.Sprintf("random-%d", seed)] = random(seed)
		clusters[fmt.Sprintf("tiered-%d", seed)] = randomTiered(seed)
	}
	for name, objs := range clusters {
		t.Run(name, func(t *testing.T) {
			docs := splitDocs(t, writeYAML(t, objs))
			var want []string
			for _, ns := range objs.Namespaces {
				if ns.Declared {
					want = append(want, "v1/Namespace/"+ns.Name)
				}
			}
			for _, w := range objs.Workloads {
				want = append(want, w.Kind+"/"+w.Namespace+"/"+w.Name)
			}
			for _, s := range objs.Services {
				want = append(want, "v1/Service/"+s.Object.Namespace+"/"+s.Object.Name)
			}
			for _, p := range objs.Policies {
				want = append(want, "networking.k8s.io/v1/NetworkPolicy/"+p.Object.Namespace+"/"+p.Object.Name)
			}
			for _, p := range objs.AdminPolicies {
				want = append(want, "policy.networking.k8s.io/v1alpha1/AdminNetworkPolicy/"+p.Object.Name)
			}
			for _, p := range objs.BaselinePolicies {
				want = append(want, "policy.networking.k8s.io/v1alpha1/BaselineAdminNetworkPolicy/"+p.Object.Name)
			}
			for _, p := range objs.ClusterPolicies {
				want = append(want, p.APIVersion+"/ClusterNetworkPolicy/"+p.Object.Name)
			}
			if len(docs) != len(want) {
				t.Fatalf("got %d documents, want %d", len(docs), len(want))
			}
			wi, si, pi, ai, bi, ci := 0, 0, 0, 0, 0, 0
			for i, doc := range docs {
				var head struct {
					metav1.TypeMeta   `json:",inline"`
					metav1.ObjectMeta `json:"metadata"`
				}
				if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
					t.Fatalf("document %d does not parse: %v\n%s", i, err, doc)
				}
				var got string
				switch head.Kind {
				case "Namespace", "Service", "NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy":
					got = head.APIVersion + "/" + head.Kind + "/"
					if head.Namespace != "" {
						got += head.Namespace + "/"
					}
					got += head.Name
				default:
					got = head.Kind + "/" + head.Namespace + "/" + head.Name
				}
				if got != want[i] {
					t.Fatalf("document %d is %s, want %s", i, got, want[i])
				}
				switch head.Kind {
				case "Namespace":
					var ns corev1.Namespace
					mustUnmarshal(t, doc, &ns)
					if ns.Labels[manifest.NamespaceNameLabel] != ns.Name {
						t.Errorf("namespace %s lost its name label", ns.Name)
					}
				case "Service":
					var svc corev1.Service
					mustUnmarshal(t, doc, &svc)
					if !equality.Semantic.DeepEqual(svc.Spec, objs.Services[si].Object.Spec) {
						t.Errorf("service %s/%s does not round-trip", svc.Namespace, svc.Name)
					}
					si++
				case "NetworkPolicy":
					var np networkingv1.NetworkPolicy
					mustUnmarshal(t, doc, &np)
					if !equality.Semantic.DeepEqual(np.Spec, objs.Policies[pi].Object.Spec) {
						t.Errorf("policy %s/%s does not round-trip:\n%s", np.Namespace, np.Name, doc)
					}
					pi++
				case "AdminNetworkPolicy":
					var o policyv1alpha1.AdminNetworkPolicy
					mustUnmarshal(t, doc, &o)
					if !equality.Semantic.DeepEqual(o.Spec, objs.AdminPolicies[ai].Object.Spec) {
						t.Errorf("admin network policy %s does not round-trip:\n%s", o.Name, doc)
					}
					ai++
				case "BaselineAdminNetworkPolicy":
					var o policyv1alpha1.BaselineAdminNetworkPolicy
					mustUnmarshal(t, doc, &o)
					if !equality.Semantic.DeepEqual(o.Spec, objs.BaselinePolicies[bi].Object.Spec) {
						t.Errorf("baseline admin network policy %s does not round-trip:\n%s", o.Name, doc)
					}
					bi++
				case "ClusterNetworkPolicy":
					var o policyv1beta1.ClusterNetworkPolicy
					mustUnmarshal(t, doc, &o)
					if !equality.Semantic.DeepEqual(o.Spec, objs.ClusterPolicies[ci].Object.Spec) {
						t.Errorf("cluster network policy %s does not round-trip:\n%s", o.Name, doc)
					}
					ci++
				default:
					w := objs.Workloads[wi]
					labels, spec := decodeWorkload(t, head.Kind, doc)
					if !equality.Semantic.DeepEqual(labels, w.PodLabels) || !equality.Semantic.DeepEqual(spec, w.Pod) {
						t.Errorf("workload %v does not round-trip:\n%s", w.Peer(), doc)
					}
					wi++
				}
			}
		})
	}
}

func mustUnmarshal(t *testing.T, doc string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
		t.Fatalf("decode: %v\n%s", err, doc)
	}
}

// decodeWorkload reads a workload document back into its kind's type and
// returns its pod labels and pod spec.
func decodeWorkload(t *testing.T, kind, doc string) (map[string]string, corev1.PodSpec) {
	t.Helper()
	switch kind {
	case "Pod":
		var o corev1.Pod
		mustUnmarshal(t, doc, &o)
		return o.Labels, o.Spec
	case "Deployment":
		var o appsv1.Deployment
		mustUnmarshal(t, doc, &o)
		return o.Spec.Template.Labels, o.Spec.Template.Spec
	case "StatefulSet":
		var o appsv1.StatefulSet
		mustUnmarshal(t, doc, &o)
		return o.Spec.Template.Labels, o.Spec.Template.Spec
	case "DaemonSet":
		var o appsv1.DaemonSet
		mustUnmarshal(t, doc, &o)
		return o.Spec.Template.Labels, o.Spec.Template.Spec
	case "ReplicaSet":
		var o appsv1.ReplicaSet
		mustUnmarshal(t, doc, &o)
		return o.Spec.Template.Labels, o.Spec.Template.Spec
	case "ReplicationController":
		var o corev1.ReplicationController
		mustUnmarshal(t, doc, &o)
		return o.Spec.Template.Labels, o.Spec.Template.Spec
	case "Job":
		var o batchv1.Job
		mustUnmarshal(t, doc, &o)
		return o.Spec.Template.Labels, o.Spec.Template.Spec
	case "CronJob":
		var o batchv1.CronJob
		mustUnmarshal(t, doc, &o)
		return o.Spec.JobTemplate.Spec.Template.Labels, o.Spec.JobTemplate.Spec.Template.Spec
	}
	t.Fatalf("unexpected kind %q", kind)
	return nil, corev1.PodSpec{}
}

func TestWriteYAMLEveryWorkloadKind(t *testing.T) {
	objs := &manifest.Objects{Namespaces: []manifest.Namespace{{Name: "x", Labels: map[string]string{manifest.NamespaceNameLabel: "x"}, Declared: true}}}
	for _, kind := range []string{"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "ReplicationController", "StatefulSet"} {
		objs.Workloads = append(objs.Workloads, manifest.Workload{
			Kind: kind, Namespace: "x", Name: "w", PodLabels: map[string]string{"app": "w"},
			Pod: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}}}},
		})
	}
	docs := splitDocs(t, writeYAML(t, objs))
	if len(docs) != 9 {
		t.Fatalf("got %d documents, want 9", len(docs))
	}
	for i, w := range objs.Workloads {
		labels, spec := decodeWorkload(t, w.Kind, docs[i+1])
		if !equality.Semantic.DeepEqual(labels, w.PodLabels) || !equality.Semantic.DeepEqual(spec, w.Pod) {
			t.Errorf("%s does not round-trip:\n%s", w.Kind, docs[i+1])
		}
	}
}

func TestWriteYAMLRejectsUnknownKind(t *testing.T) {
	objs := &manifest.Objects{Workloads: []manifest.Workload{{Kind: "Rollout", Namespace: "x", Name: "w"}}}
	if err := clustergen.WriteYAML(&bytes.Buffer{}, objs); err == nil {
		t.Error("WriteYAML accepted a workload of kind Rollout")
	}
}

func TestInterestingPorts(t *testing.T) {
	end := int32(8090)
	p80 := intstr.FromInt32(80)
	p8080 := intstr.FromInt32(8080)
	named := intstr.FromString("http")
	objs := &manifest.Objects{
		Workloads: []manifest.Workload{{Pod: corev1.PodSpec{
			Containers:     []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 5432}}}},
			InitContainers: []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 65535}}}},
		}}},
		Policies: []manifest.NetworkPolicy{{Object: &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: &p80}, {Port: &named}}}},
			Egress:  []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: &p8080, EndPort: &end}}}},
		}}}},
	}
	got := clustergen.InterestingPorts(objs)
	want := "1,79-81,5431-5433,8079-8081,8089-8091,65534-65535"
	if got.String() != want {
		t.Errorf("InterestingPorts = %v, want %v", got, want)
	}
	if !clustergen.InterestingPorts(&manifest.Objects{}).Equal(model.Ports(1, 65535)) {
		t.Error("InterestingPorts of nothing is not {1, 65535}")
	}
}

func TestInterestingAddresses(t *testing.T) {
	objs := &manifest.Objects{Policies: []manifest.NetworkPolicy{{Object: &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
			{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}},
		}}},
		Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
			{IPBlock: &networkingv1.IPBlock{CIDR: "::/0", Except: []string{"fd00::/8"}}},
			{PodSelector: &metav1.LabelSelector{}},
		}}},
	}}}}}
	var got []string
	for _, a := range clustergen.InterestingAddresses(objs) {
		got = append(got, a.String())
	}
	want := []string{
		"0.0.0.0", "9.255.255.255", "10.0.0.0", "10.0.255.255", "10.1.0.0", "10.1.255.255", "10.2.0.0",
		"10.255.255.255", "11.0.0.0", "255.255.255.255",
		"::", "fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"fe00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	}
	if !slices.Equal(got, want) {
		t.Errorf("InterestingAddresses =\n%v\nwant\n%v", got, want)
	}
}

func TestInterestingPortsIncludeAdminTiers(t *testing.T) {
	objs := &manifest.Objects{
		AdminPolicies: []manifest.AdminNetworkPolicy{{Object: &policyv1alpha1.AdminNetworkPolicy{Spec: policyv1alpha1.AdminNetworkPolicySpec{
			Ingress: []policyv1alpha1.AdminNetworkPolicyIngressRule{{Ports: &[]policyv1alpha1.AdminNetworkPolicyPort{
				{PortNumber: &policyv1alpha1.Port{Port: 80}}, {NamedPort: ptr("http")},
			}}},
		}}}},
		BaselinePolicies: []manifest.BaselineAdminNetworkPolicy{{Object: &policyv1alpha1.BaselineAdminNetworkPolicy{Spec: policyv1alpha1.BaselineAdminNetworkPolicySpec{
			Egress: []policyv1alpha1.BaselineAdminNetworkPolicyEgressRule{{Ports: &[]policyv1alpha1.AdminNetworkPolicyPort{
				{PortRange: &policyv1alpha1.PortRange{Start: 1000, End: 2000}},
			}}},
		}}}},
		ClusterPolicies: []manifest.ClusterNetworkPolicy{{Object: &policyv1beta1.ClusterNetworkPolicy{Spec: policyv1beta1.ClusterNetworkPolicySpec{
			Ingress: []policyv1beta1.ClusterNetworkPolicyIngressRule{{Protocols: []policyv1beta1.ClusterNetworkPolicyProtocol{
				{TCP: &policyv1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: &policyv1beta1.Port{Number: 443}}},
				{UDP: &policyv1beta1.ClusterNetworkPolicyProtocolUDP{}},
			}}},
			Egress: []policyv1beta1.ClusterNetworkPolicyEgressRule{{Protocols: []policyv1beta1.ClusterNetworkPolicyProtocol{
				{SCTP: &policyv1beta1.ClusterNetworkPolicyProtocolSCTP{DestinationPort: &policyv1beta1.Port{Range: &policyv1beta1.PortRange{Start: 3000, End: 3100}}}},
			}}},
		}}}},
	}
	got := clustergen.InterestingPorts(objs)
	want := "1,79-81,442-444,999-1001,1999-2001,2999-3001,3099-3101,65535"
	if got.String() != want {
		t.Errorf("InterestingPorts = %v, want %v", got, want)
	}
}

func TestInterestingAddressesIncludeNetworks(t *testing.T) {
	objs := &manifest.Objects{
		AdminPolicies: []manifest.AdminNetworkPolicy{{Object: &policyv1alpha1.AdminNetworkPolicy{Spec: policyv1alpha1.AdminNetworkPolicySpec{
			Egress: []policyv1alpha1.AdminNetworkPolicyEgressRule{{To: []policyv1alpha1.AdminNetworkPolicyEgressPeer{{Networks: []policyv1alpha1.CIDR{"10.0.0.0/8", "bad"}}}}},
		}}}},
		BaselinePolicies: []manifest.BaselineAdminNetworkPolicy{{Object: &policyv1alpha1.BaselineAdminNetworkPolicy{Spec: policyv1alpha1.BaselineAdminNetworkPolicySpec{
			Egress: []policyv1alpha1.BaselineAdminNetworkPolicyEgressRule{{To: []policyv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Networks: []policyv1alpha1.CIDR{"192.168.1.0/24"}}}}},
		}}}},
		ClusterPolicies: []manifest.ClusterNetworkPolicy{{Object: &policyv1beta1.ClusterNetworkPolicy{Spec: policyv1beta1.ClusterNetworkPolicySpec{
			Egress: []policyv1beta1.ClusterNetworkPolicyEgressRule{{To: []policyv1beta1.ClusterNetworkPolicyEgressPeer{{Networks: []policyv1beta1.CIDR{"fd00::/8"}}}}},
		}}}},
	}
	var got []string
	for _, a := range clustergen.InterestingAddresses(objs) {
		got = append(got, a.String())
	}
	want := []string{
		"0.0.0.0", "9.255.255.255", "10.0.0.0", "10.255.255.255", "11.0.0.0",
		"192.168.0.255", "192.168.1.0", "192.168.1.255", "192.168.2.0", "255.255.255.255",
		"::", "fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"fe00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	}
	if !slices.Equal(got, want) {
		t.Errorf("InterestingAddresses =\n%v\nwant\n%v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// endpoints lists a pod of every workload and every interesting address.
func endpoints(objs *manifest.Objects) []reference.Endpoint {
	var out []reference.Endpoint
	for i := range objs.Workloads {
		out = append(out, reference.Pod(&objs.Workloads[i]))
	}
	for _, a := range clustergen.InterestingAddresses(objs) {
		out = append(out, reference.Address(a))
	}
	return out
}

// TestInterestingPortsAreExhaustive checks InterestingPorts' promise with the
// reference evaluator: any port behaves as the largest interesting port at
// or below it.
func TestInterestingPortsAreExhaustive(t *testing.T) {
	for seed := range uint64(30) {
		objs := random(seed / 2)
		if seed%2 == 1 {
			objs = randomTiered(seed / 2)
		}
		interesting := clustergen.InterestingPorts(objs)
		rng := rand.New(rand.NewPCG(seed, 99))
		pods := objs.Workloads
		for range 200 {
			src := reference.Pod(&pods[rng.IntN(len(pods))])
			dst := reference.Pod(&pods[rng.IntN(len(pods))])
			proto := model.Protocols()[rng.IntN(3)]
			port := 1 + rng.IntN(model.MaxPort)
			rep := 0
			for _, r := range interesting.Ranges() {
				if r[0] <= port {
					rep = min(r[1], port)
				}
			}
			if reference.Allowed(objs, src, dst, proto, port) != reference.Allowed(objs, src, dst, proto, rep) {
				t.Fatalf("seed %d: %v => %v: %v %d behaves unlike %d, the interesting port below it", seed, src, dst, proto, port, rep)
			}
		}
	}
}

// TestInterestingAddressesAreExhaustive checks InterestingAddresses' promise
// with the reference evaluator: any address behaves as the largest
// interesting address of its family at or below it.
func TestInterestingAddressesAreExhaustive(t *testing.T) {
	for seed := range uint64(30) {
		objs := random(seed / 2)
		if seed%2 == 1 {
			objs = randomTiered(seed / 2)
		}
		interesting := clustergen.InterestingAddresses(objs)
		rng := rand.New(rand.NewPCG(seed, 98))
		for range 200 {
			// An address near a boundary or anywhere in its family.
			a := interesting[rng.IntN(len(interesting))]
			b := a.AsSlice()
			for i := rng.IntN(len(b)); i < len(b); i++ {
				b[i] = byte(rng.IntN(256))
			}
			a, _ = netip.AddrFromSlice(b)
			i, found := slices.BinarySearchFunc(interesting, a, netip.Addr.Compare)
			if !found {
				i--
			}
			rep := interesting[i]
			w := &objs.Workloads[rng.IntN(len(objs.Workloads))]
			proto := model.Protocols()[rng.IntN(3)]
			port := []int{53, 80, 443, 8080, 8085}[rng.IntN(5)]
			for _, pair := range [][2]reference.Endpoint{
				{reference.Pod(w), reference.Address(a)}, {reference.Address(a), reference.Pod(w)},
			} {
				repPair := pair
				if pair[0].Workload == nil {
					repPair[0] = reference.Address(rep)
				} else {
					repPair[1] = reference.Address(rep)
				}
				if reference.Allowed(objs, pair[0], pair[1], proto, port) != reference.Allowed(objs, repPair[0], repPair[1], proto, port) {
					t.Fatalf("seed %d: %v => %v behaves unlike %v => %v", seed, pair[0], pair[1], repPair[0], repPair[1])
				}
			}
		}
	}
}

// TestEndpointsCoverRandomClusters is a smoke test: the reference answers
// about every pair of a Random cluster's endpoints on every interesting port.
func TestEndpointsCoverRandomClusters(t *testing.T) {
	objs := random(1)
	ports := clustergen.InterestingPorts(objs)
	allowed := 0
	for _, src := range endpoints(objs) {
		for _, dst := range endpoints(objs) {
			if !reference.Conns(objs, src, dst, ports).IsEmpty() {
				allowed++
			}
		}
	}
	if allowed == 0 {
		t.Error("a Random cluster allows nothing at all")
	}
}
