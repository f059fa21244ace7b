package analyze_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/clustergen"
)

// benchSizes are the sizes the speed targets name: 1,000 workloads with 500
// policies under 1 s, 5,000 workloads with 10,000 policies under 10 s and
// 2 GiB. `make bench` runs each in its own process so peak RSS is per size.
var benchSizes = []struct {
	name                           string
	namespaces, perNS, pols, admin int
}{
	{"workloads=1000/policies=500", 50, 20, 500, 0},
	{"workloads=5000/policies=10000", 100, 50, 10000, 0},
	{"workloads=5000/policies=10000+admin=24", 100, 50, 10000, 24},
}

// BenchmarkConnectivity measures the engine alone on synthetic clusters and
// reports the process's peak resident memory.
func BenchmarkConnectivity(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			objs := clustergen.Synthetic(clustergen.SyntheticOptions{
				Namespaces: s.namespaces, WorkloadsPerNamespace: s.perNS, Policies: s.pols, AdminPolicies: s.admin, Seed: 1,
			})
			b.ReportAllocs()
			b.ResetTimer()
			edges := 0
			for b.Loop() {
				res, err := analyze.Connectivity(context.Background(), objs)
				if err != nil {
					b.Fatal(err)
				}
				edges = 0
				for range res.Matrix.All() {
					edges++
				}
			}
			b.ReportMetric(float64(edges), "edges")
			reportPeakRSS(b)
		})
	}
}

// reportPeakRSS adds the process's peak resident set size in MiB.
func reportPeakRSS(b *testing.B) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	}
}
