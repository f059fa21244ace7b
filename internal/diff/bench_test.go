package diff_test

import (
	"context"
	"testing"
	"time"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/diff"
	"github.com/tightnet/tightnet/internal/manifest"
)

// revision is a synthetic cluster after a typical change: every 50th
// NetworkPolicy dropped and a few workloads gone.
func revision(objs *manifest.Objects) *manifest.Objects {
	out := *objs
	out.Policies = nil
	for i, p := range objs.Policies {
		if i%50 != 7 {
			out.Policies = append(out.Policies, p)
		}
	}
	out.Workloads = nil
	for i, w := range objs.Workloads {
		if i%500 != 123 {
			out.Workloads = append(out.Workloads, w)
		}
	}
	return &out
}

// BenchmarkMatrices measures the diff alone on the connectivity of two
// synthetic 5,000-workload clusters, one a revision of the other, and its
// ratio to one connectivity run of the engine (timed once, in the setup).
// BenchmarkDiff in internal/stage measures the whole command against one
// connectivity command.
func BenchmarkMatrices(b *testing.B) {
	objs := clustergen.Synthetic(clustergen.SyntheticOptions{Namespaces: 100, WorkloadsPerNamespace: 50, Policies: 10000, Seed: 1})
	start := time.Now()
	old, err := analyze.Connectivity(context.Background(), objs)
	if err != nil {
		b.Fatal(err)
	}
	conn := time.Since(start)
	new, err := analyze.Connectivity(context.Background(), revision(objs))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	changes := 0
	start = time.Now()
	for b.Loop() {
		r, err := diff.Matrices(old.Matrix, new.Matrix)
		if err != nil {
			b.Fatal(err)
		}
		changes = 0
		for range r.Changes() {
			changes++
		}
	}
	per := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(float64(changes), "changes")
	b.ReportMetric(conn.Seconds(), "connectivity-s")
	b.ReportMetric(per/conn.Seconds(), "diff/connectivity")
}
