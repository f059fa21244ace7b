package synth_test

import (
	"fmt"
	"testing"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/synth"
)

// BenchmarkSynthesize proposes policies for 300 copies of a 12-service
// application in distinct namespaces (3,600 workloads, each calling three
// others and exposed to the ingress controller once per namespace), the
// size the synthesis target names.
func BenchmarkSynthesize(b *testing.B) {
	objs := &manifest.Objects{}
	var reqs []synth.Requirement
	services := []string{"frontend", "cart", "catalog", "checkout", "payment", "shipping", "email", "ads", "reviews", "search", "redis", "postgres"}
	for n := range 300 {
		ns := fmt.Sprintf("shop-%03d", n)
		objs.Namespaces = append(objs.Namespaces, manifest.Namespace{Name: ns, Labels: map[string]string{manifest.NamespaceNameLabel: ns}})
		for i, svc := range services {
			objs.Workloads = append(objs.Workloads, manifest.Workload{Kind: "Deployment", Namespace: ns, Name: svc,
				PodLabels: map[string]string{"app.kubernetes.io/name": svc, "app.kubernetes.io/part-of": "shop", "version": "v1"}})
			for k := 1; k <= 3; k++ {
				dst := services[(i+k)%len(services)]
				reqs = append(reqs, synth.Requirement{
					Src:     model.WorkloadPeer(ns, svc, "Deployment"),
					Dst:     model.WorkloadPeer(ns, dst, "Deployment"),
					Conns:   model.Connections(model.TCP, model.Ports(8000+(i+k)%len(services))),
					Reasons: []string{"env " + dst},
				})
			}
		}
		reqs = append(reqs, synth.Requirement{Src: model.IngressController(), Dst: model.WorkloadPeer(ns, "frontend", "Deployment"),
			Conns: model.Connections(model.TCP, model.Ports(8080))})
	}
	opts := synth.DefaultOptions()
	b.ReportAllocs()
	for b.Loop() {
		p := synth.Policies(objs, reqs, opts)
		if len(p.Policies) != 300+3600 {
			b.Fatalf("%d policies", len(p.Policies))
		}
	}
}
