package cluster_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/cluster"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/kubetest"
	"github.com/tightnet/tightnet/internal/manifest"
)

// BenchmarkRead measures reading a synthetic cluster of 1,000 workloads and
// 500 policies from a real API server and evaluating it, side by side with
// reading the same objects from YAML: the cost of the live cluster over
// files. Loading the server happens once, outside the timer.
func BenchmarkRead(b *testing.B) {
	objs := clustergen.Synthetic(clustergen.SyntheticOptions{Namespaces: 50, WorkloadsPerNamespace: 20, Policies: 500, Seed: 1})
	var yaml bytes.Buffer
	if err := clustergen.WriteYAML(&yaml, objs); err != nil {
		b.Fatal(err)
	}
	srv := kubetest.Shared(b)
	loadOnce.Do(func() { load(b, srv, yaml.String()) })
	c, err := cluster.NewClient("cluster:bench", srv.Config, time.Minute)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("source=cluster", func(b *testing.B) {
		for b.Loop() {
			live, err := c.Read(context.Background(), manifest.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := analyze.Connectivity(context.Background(), live); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("source=files", func(b *testing.B) {
		for b.Loop() {
			files, err := manifest.ReadDocuments(context.Background(), []manifest.Document{{Name: "cluster.yaml", Data: yaml.Bytes()}}, manifest.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := analyze.Connectivity(context.Background(), files); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var loadOnce sync.Once

// load applies the objects to the server.
func load(b *testing.B, srv *kubetest.Server, yaml string) {
	srv.Client(b).Apply(b, kubetest.Parse(b, yaml))
}
