package stage_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/stage"
)

// BenchmarkConnectivityCommand measures what a user waits for: reading a
// synthetic cluster's YAML, computing connectivity and writing every line of
// text output. The YAML is written once, outside the timer.
func BenchmarkConnectivityCommand(b *testing.B) {
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
			path := filepath.Join(b.TempDir(), "cluster.yaml")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := clustergen.WriteYAML(f, objs); err != nil {
				b.Fatal(err)
			}
			f.Close()
			b.ResetTimer()
			for b.Loop() {
				code := stage.Run(context.Background(), "", []string{"connectivity", path, "-q", "--fail-on", "never"},
					stage.Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
				if code != stage.ExitOK {
					b.Fatalf("exit %d", code)
				}
			}
			if st, err := os.Stat(path); err == nil {
				b.ReportMetric(float64(st.Size())/(1<<20), "input-MiB")
			}
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
				b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
			}
		})
	}
}
