package firewall_test

import (
	"context"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/firewall"
)

// BenchmarkRules condenses the connectivity of synthetic clusters, the
// sizes the engine's benchmarks use, and reports edges and rules.
func BenchmarkRules(b *testing.B) {
	for _, s := range []struct {
		name                    string
		namespaces, perNS, pols int
	}{
		{"workloads=200/policies=100", 10, 20, 100},
		{"workloads=1000/policies=500", 50, 20, 500},
		{"workloads=5000/policies=10000", 100, 50, 10000},
	} {
		b.Run(s.name, func(b *testing.B) {
			objs := clustergen.Synthetic(clustergen.SyntheticOptions{
				Namespaces: s.namespaces, WorkloadsPerNamespace: s.perNS, Policies: s.pols, Seed: 1,
			})
			res, err := analyze.Connectivity(context.Background(), objs)
			if err != nil {
				b.Fatal(err)
			}
			inv := inventoryOf(objs)
			b.ReportAllocs()
			var rules []firewall.Rule
			for b.Loop() {
				rules = firewall.Rules(res.Matrix, inv)
			}
			b.ReportMetric(float64(res.Matrix.Len()), "edges")
			b.ReportMetric(float64(len(rules)), "rules")
		})
	}
}
