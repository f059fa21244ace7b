package stage_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/stage"
)

// BenchmarkDiff measures what a user waits for in a pull request: the diff
// of a synthetic cluster's YAML against a revision of it (every 50th policy
// dropped, a few workloads gone), which reads and evaluates both sides and
// diffs them, next to one connectivity run on the old side. It reports both
// times and their ratio, diff/connectivity; the target is below 2.
func BenchmarkDiff(b *testing.B) {
	for _, s := range []struct {
		name                    string
		namespaces, perNS, pols int
	}{
		{"workloads=1000/policies=500", 50, 20, 500},
		{"workloads=5000/policies=10000", 100, 50, 10000},
	} {
		b.Run(s.name, func(b *testing.B) {
			objs := clustergen.Synthetic(clustergen.SyntheticOptions{
				Namespaces: s.namespaces, WorkloadsPerNamespace: s.perNS, Policies: s.pols, Seed: 1,
			})
			dir := b.TempDir()
			oldPath, newPath := filepath.Join(dir, "old.yaml"), filepath.Join(dir, "new.yaml")
			writeYAML(b, oldPath, objs)
			writeYAML(b, newPath, revision(objs))
			run := func(args ...string) {
				code := stage.Run(context.Background(), "", args,
					stage.Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
				if code != stage.ExitOK {
					b.Fatalf("%v: exit %d", args, code)
				}
			}
			var conn, diff time.Duration
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				run("connectivity", oldPath, "-q", "--fail-on", "never")
				t1 := time.Now()
				run("diff", oldPath, newPath, "-q", "--fail-on", "never")
				conn, diff = conn+t1.Sub(t0), diff+time.Since(t1)
			}
			b.ReportMetric(conn.Seconds()/float64(b.N), "connectivity-s")
			b.ReportMetric(diff.Seconds()/float64(b.N), "diff-s")
			b.ReportMetric(diff.Seconds()/conn.Seconds(), "diff/connectivity")
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
				b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
			}
		})
	}
}

// revision is objs after a typical change: every 50th NetworkPolicy
// dropped and every 500th workload gone.
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

func writeYAML(b *testing.B, path string, objs *manifest.Objects) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := clustergen.WriteYAML(f, objs); err != nil {
		b.Fatal(err)
	}
}
