package apply_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/tightnet/tightnet/internal/apply"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/manifest"
)

// BenchmarkApply measures applying the 500 policies of a synthetic cluster
// to a real API server: the first apply creates them all, every later one
// finds them unchanged (the dry run, then server-side apply of each).
func BenchmarkApply(b *testing.B) {
	objs := clustergen.Synthetic(clustergen.SyntheticOptions{Namespaces: 50, WorkloadsPerNamespace: 20, Policies: 500, Seed: 1})
	var buf bytes.Buffer
	if err := clustergen.WriteYAML(&buf, objs); err != nil {
		b.Fatal(err)
	}
	read, err := manifest.ReadDocuments(context.Background(), []manifest.Document{{Name: "cluster.yaml", Data: buf.Bytes()}}, manifest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	policies := &manifest.Objects{Policies: read.Policies}
	var namespaces []string
	for _, n := range read.Namespaces {
		namespaces = append(namespaces, n.Name)
	}
	c, _ := fixture(b, namespaces...)
	prepared, err := apply.Prepare(policies, "bench")
	if err != nil {
		b.Fatal(err)
	}
	first := true
	for b.Loop() {
		plan, err := apply.NewPlan(context.Background(), c, prepared, apply.Options{Owner: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		res, err := plan.Execute(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		want := apply.Unchanged
		if first {
			want, first = apply.Created, false
		}
		if n := res.Count(want); n != len(prepared) {
			b.Fatalf("%d %s, want %d", n, want, len(prepared))
		}
	}
	b.ReportMetric(float64(len(prepared)), "policies")
}
