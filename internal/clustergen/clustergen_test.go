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
	"sigs.k8s.io/yaml"

	"github.com/tightnet/tightnet/internal/analyze/reference"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

func random(seed uint64) *manifest.Objects {
	return clustergen.Random(rand.New(rand.NewPCG(seed, 0)), clustergen.DefaultRandomSize)
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
		a, b := random(seed), random(seed)
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
}

func TestRandomInvariants(t *testing.T) {
	sizes := []clustergen.RandomSize{clustergen.DefaultRandomSize, {1, 1, 1}, {8, 20, 12}, {10, 3, 0}, {0, 0, 0}}
	for _, size := range sizes {
		for seed := range uint64(50) {
			objs := clustergen.Random(rand.New(rand.NewPCG(seed, 1)), size)
			checkInvariants(t, objs)
			if len(objs.Workloads) != size.Workloads || len(objs.Policies) != size.Policies ||
				len(objs.Namespaces) != max(size.Namespaces, 1) {
				t.Errorf("size %+v seed %d: got %d namespaces, %d workloads, %d policies", size, seed,
					len(objs.Namespaces), len(objs.Workloads), len(objs.Policies))
			}
			if t.Failed() {
				t.Fatalf("size %+v seed %d:\n%s", size, seed, writeYAML(t, objs))
			}
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
	return f
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
	}
	seen := map[string]bool{}
	for seed := range uint64(300) {
		for k := range features(random(seed)) {
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
		"synthetic": clustergen.Synthetic(clustergen.SyntheticOptions{Namespaces: 4, WorkloadsPerNamespace: 11, Policies: 25}),
	}
	for seed := range uint64(10) {
		clusters[fmt.Sprintf("random-%d", seed)] = random(seed)
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
			if len(docs) != len(want) {
				t.Fatalf("got %d documents, want %d", len(docs), len(want))
			}
			wi, si, pi := 0, 0, 0
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
				case "Namespace", "Service", "NetworkPolicy":
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
	for seed := range uint64(15) {
		objs := random(seed)
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
	for seed := range uint64(15) {
		objs := random(seed)
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
