package diff_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/diff"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// revision is a synthetic cluster after a typical change: every 50th
// NetworkPolicy dropped and every 500th workload gone.
func revision(objs *manifest.Objects) *manifest.Objects {
	out := *objs
	out.Policies, out.Workloads = nil, nil
	for i, p := range objs.Policies {
		if i%50 != 7 {
			out.Policies = append(out.Policies, p)
		}
	}
	for i, w := range objs.Workloads {
		if i%500 != 123 {
			out.Workloads = append(out.Workloads, w)
		}
	}
	return &out
}

// BenchmarkDiff measures, on two synthetic 5,000-workload clusters (one a
// revision of the other), one connectivity run of the engine and the diff
// pipeline the stage runs after reading: the connectivity of both sides,
// evaluated concurrently, then diff.Matrices and every change enumerated.
// It reports both times, the diff alone, and the ratio pipeline/connectivity
// (the target is below 2). BenchmarkDiff in internal/stage measures the same
// from YAML files through the command.
func BenchmarkDiff(b *testing.B) {
	objs := clustergen.Synthetic(clustergen.SyntheticOptions{Namespaces: 100, WorkloadsPerNamespace: 50, Policies: 10000, Seed: 1})
	rev := revision(objs)
	connectivity := func(o *manifest.Objects) model.Matrix {
		res, err := analyze.Connectivity(context.Background(), o)
		if err != nil {
			b.Error(err)
		}
		return res.Matrix
	}
	var conn, pipeline, matrices time.Duration
	changes := 0
	for b.Loop() {
		t0 := time.Now()
		connectivity(objs)
		t1 := time.Now()
		var old, new model.Matrix
		var wg sync.WaitGroup
		wg.Go(func() { old = connectivity(objs) })
		wg.Go(func() { new = connectivity(rev) })
		wg.Wait()
		t2 := time.Now()
		r, err := diff.Matrices(old, new)
		if err != nil {
			b.Fatal(err)
		}
		changes = 0
		for range r.Changes() {
			changes++
		}
		t3 := time.Now()
		conn, pipeline, matrices = conn+t1.Sub(t0), pipeline+t3.Sub(t1), matrices+t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(changes), "changes")
	b.ReportMetric(conn.Seconds()/n, "connectivity-s")
	b.ReportMetric(pipeline.Seconds()/n, "diff-s")
	b.ReportMetric(matrices.Seconds()/n, "matrices-s")
	b.ReportMetric(pipeline.Seconds()/conn.Seconds(), "diff/connectivity")
}
