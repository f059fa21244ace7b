package synth_test

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/synth"
)

var update = flag.Bool("update", false, "rewrite golden files")

func workload(ns, name string, lbls map[string]string) manifest.Workload {
	return manifest.Workload{Kind: "Deployment", Namespace: ns, Name: name, PodLabels: lbls,
		Source: model.Location{File: "manifests/" + name + ".yaml", Line: 1}}
}

func shop() *manifest.Objects {
	return &manifest.Objects{
		Namespaces: []manifest.Namespace{{Name: "shop", Labels: map[string]string{manifest.NamespaceNameLabel: "shop"}}},
		Workloads: []manifest.Workload{
			workload("shop", "cart", map[string]string{"app": "cart"}),
			workload("shop", "cart-worker", map[string]string{"app": "cart", "role": "worker"}),
			workload("shop", "frontend", map[string]string{"app": "frontend"}),
			workload("shop", "redis", map[string]string{"app": "redis"}),
		},
	}
}

func tcp(ports ...int) model.ConnectionSet {
	return model.Connections(model.TCP, model.Ports(ports...))
}

func requirements() []synth.Requirement {
	peer := func(name string) model.Peer { return model.WorkloadPeer("shop", name, "Deployment") }
	anywhere, _ := model.ParseIPRange("0.0.0.0-255.255.255.255")
	return []synth.Requirement{
		{Src: peer("frontend"), Dst: peer("cart"), Conns: tcp(7070), Reasons: []string{"manifests/frontend.yaml:20 spec.template.spec.containers[web].env[CART_ADDR]"}},
		{Src: peer("cart"), Dst: peer("redis"), Conns: tcp(6379), Reasons: []string{"manifests/cart.yaml:18 spec.template.spec.containers[cart].env[REDIS_ADDR]"}},
		{Src: peer("cart-worker"), Dst: peer("redis"), Conns: tcp(6379), Reasons: []string{"manifests/cart-worker.yaml:18 args[1]"}},
		{Src: model.ExternalPeer(anywhere), Dst: peer("frontend"), Conns: tcp(8080), Reasons: []string{"Service shop/frontend is a LoadBalancer"}},
		{Src: model.IngressController(), Dst: peer("frontend"), Conns: tcp(8080), Reasons: []string{"Ingress shop/web"}},
	}
}

// TestProposalGolden pins the YAML for a small shop: a default deny, one
// policy per workload, peers sharing ports merged into one rule, the LB
// exposure as an ipBlock, the ingress controller by namespace and labels,
// DNS egress, comments with reasons.
func TestProposalGolden(t *testing.T) {
	objs := shop()
	p := synth.Policies(objs, requirements(), synth.DefaultOptions())
	var b bytes.Buffer
	if err := synth.WriteYAML(&b, p); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/shop.yaml"
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("proposal differs from %s:\n%s", golden, b.String())
	}
	prove(t, 0, objs, requirements(), p, synth.DefaultOptions())
}

// TestPoliciesRoundTrip: every proposed policy survives YAML and the
// k8s.io/api types without loss.
func TestPoliciesRoundTrip(t *testing.T) {
	p := synth.Policies(shop(), requirements(), synth.DefaultOptions())
	for _, pol := range p.Policies {
		b, err := yaml.Marshal(pol.Object)
		if err != nil {
			t.Fatal(err)
		}
		var back networkingv1.NetworkPolicy
		if err := yaml.UnmarshalStrict(b, &back); err != nil {
			t.Fatalf("%s: %v", pol.Object.Name, err)
		}
		if !equality.Semantic.DeepEqual(*pol.Object, back) {
			t.Errorf("%s does not round-trip:\n%s", pol.Object.Name, b)
		}
	}
}

// TestPodSelectorDistinguishes: cart's labels are a subset of cart-worker's,
// so cart's selector excludes the worker; two workloads with the same
// labels cannot be told apart and are reported.
func TestPodSelectorDistinguishes(t *testing.T) {
	objs := shop()
	p := synth.Policies(objs, nil, synth.DefaultOptions())
	for _, pol := range p.Policies {
		if pol.Object.Name != "tightnet-cart" {
			continue
		}
		sel := pol.Object.Spec.PodSelector
		if len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].Key != "role" || sel.MatchExpressions[0].Operator != "DoesNotExist" {
			t.Errorf("cart selector = %+v, want app=cart and role DoesNotExist", sel)
		}
	}
	objs.Workloads = append(objs.Workloads, workload("shop", "cart-copy", map[string]string{"app": "cart"}))
	p = synth.Policies(objs, nil, synth.DefaultOptions())
	found := 0
	for _, f := range p.Findings {
		if f.Code == synth.CodeIndistinguishable && strings.Contains(f.Message, "shop/cart-copy[Deployment]") {
			found++
		}
	}
	if found != 2 {
		t.Errorf("want a finding on each of cart and cart-copy, got %v", p.Findings)
	}
	for _, pol := range p.Policies {
		if pol.Workload.Name != "" && len(pol.Object.Spec.PodSelector.MatchLabels) == 0 && len(pol.Object.Spec.PodSelector.MatchExpressions) == 0 {
			t.Errorf("%s selects every pod of its namespace", pol.Object.Name)
		}
	}
}

func TestNamedPorts(t *testing.T) {
	objs := shop()
	objs.Workloads[1].Pod.Containers = nil
	for i := range objs.Workloads {
		if objs.Workloads[i].Name == "redis" {
			objs.Workloads[i].Pod.Containers = append(objs.Workloads[i].Pod.Containers, corev1Container("redis", 6379))
		}
	}
	opts := synth.DefaultOptions()
	opts.NamedPorts = true
	p := synth.Policies(objs, requirements(), opts)
	var b bytes.Buffer
	synth.WriteYAML(&b, p)
	if !strings.Contains(b.String(), "port: redis") {
		t.Errorf("egress to redis should name its port:\n%s", b.String())
	}
	prove(t, 0, objs, requirements(), p, opts)
}
