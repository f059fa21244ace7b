package stage_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/tightnet/tightnet/internal/stage"
)

// extractBenchApp is a 12-service application: each service's port, and
// the addresses of the services it calls, as env values, ConfigMap keys
// read with envFrom, a mounted properties file, a flag or a Secret.
var extractBenchApp = []struct {
	name  string
	port  int
	env   map[string]string
	cm    map[string]string
	props string
	args  []string
	db    string
}{
	{name: "web", port: 8080, env: map[string]string{"API_URL": "http://api:8080/v1"},
		cm: map[string]string{"AUTH_ADDR": "auth:9000", "SEARCH_URL": "http://search.NS.svc.cluster.local:9200"}},
	{name: "api", port: 8080, props: "cart.url=http://cart:7070\ncatalog.host=catalog\ncatalog.port=7100\ncheckout.addr=checkout:5050\n",
		db: "jdbc:postgresql://db:5432/app?user=api&password=bench"},
	{name: "auth", port: 9000, env: map[string]string{"DB_HOST": "db", "DB_PORT": "5432", "CACHE_URL": "redis://cache:6379/1"}},
	{name: "cart", port: 7070, args: []string{"--redis=cache:6379", "--listen=:7070"}},
	{name: "catalog", port: 7100, env: map[string]string{"DB_HOST": "db", "DB_PORT": "5432", "SEARCH": "search:9200"}},
	{name: "checkout", port: 5050, env: map[string]string{"PAYMENT_ADDR": "payment:50051", "SHIPPING_ADDR": "shipping:50052", "EMAIL_ADDR": "email:5000"}},
	{name: "payment", port: 50051, env: map[string]string{"PROVIDER": "https://pay.example.com/v2"}},
	{name: "shipping", port: 50052, cm: map[string]string{"QUOTES": "catalog.NS:7100"}},
	{name: "email", port: 5000, env: map[string]string{"SMTP": "smtp.example.com:587"}},
	{name: "search", port: 9200},
	{name: "cache", port: 6379},
	{name: "db", port: 5432},
}

// writeExtractBenchYAML writes the application once per namespace.
func writeExtractBenchYAML(w io.Writer, namespaces int) {
	for i := range namespaces {
		ns := fmt.Sprintf("tenant-%03d", i)
		fmt.Fprintf(w, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", ns)
		for _, s := range extractBenchApp {
			fmt.Fprintf(w, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n"+
				"  selector:\n    matchLabels: {app: %s}\n  template:\n    metadata:\n      labels: {app: %s, tier: backend}\n"+
				"    spec:\n      containers:\n        - name: %s\n          image: registry.example.com/%s:1.0\n"+
				"          ports:\n            - {name: main, containerPort: %d}\n", s.name, ns, s.name, s.name, s.name, s.name, s.port)
			if len(s.args) > 0 {
				fmt.Fprintf(w, "          args: [%q]\n", strings.Join(s.args, `", "`))
			}
			if len(s.env) > 0 || s.db != "" {
				fmt.Fprintf(w, "          env:\n")
				for _, k := range slices.Sorted(maps.Keys(s.env)) {
					fmt.Fprintf(w, "            - {name: %s, value: %q}\n", k, strings.ReplaceAll(s.env[k], "NS", ns))
				}
				if s.db != "" {
					fmt.Fprintf(w, "            - name: DB_URL\n              valueFrom:\n                secretKeyRef: {name: %s-db, key: url}\n", s.name)
				}
			}
			if len(s.cm) > 0 {
				fmt.Fprintf(w, "          envFrom:\n            - configMapRef: {name: %s-env}\n", s.name)
			}
			if s.props != "" {
				fmt.Fprintf(w, "      volumes:\n        - name: config\n          configMap: {name: %s-files}\n", s.name)
			}
			fmt.Fprintf(w, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n"+
				"  selector: {app: %s}\n  ports:\n    - {name: main, port: %d, targetPort: main}\n", s.name, ns, s.name, s.port)
			if len(s.cm) > 0 {
				fmt.Fprintf(w, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-env\n  namespace: %s\ndata:\n", s.name, ns)
				for _, k := range slices.Sorted(maps.Keys(s.cm)) {
					fmt.Fprintf(w, "  %s: %q\n", k, strings.ReplaceAll(s.cm[k], "NS", ns))
				}
			}
			if s.props != "" {
				fmt.Fprintf(w, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-files\n  namespace: %s\ndata:\n  application.properties: |\n", s.name, ns)
				for line := range strings.SplitSeq(strings.TrimSpace(s.props), "\n") {
					fmt.Fprintf(w, "    %s\n", line)
				}
			}
			if s.db != "" {
				fmt.Fprintf(w, "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s-db\n  namespace: %s\nstringData:\n  url: %q\n", s.name, ns, s.db)
			}
		}
	}
}

// BenchmarkExtractCommand measures what a user waits for: `tightnet
// extract` reading 300 copies of a 12-service application from YAML (3,600
// workloads), extracting the Topology and writing it as JSON. The YAML is
// written once, outside the timer.
func BenchmarkExtractCommand(b *testing.B) {
	path := filepath.Join(b.TempDir(), "tenants.yaml")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	writeExtractBenchYAML(bw, 300)
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	var out strings.Builder
	for b.Loop() {
		out.Reset()
		code := stage.Run(context.Background(), "", []string{"extract", path, "-q"},
			stage.Streams{In: strings.NewReader(""), Out: &out, Err: io.Discard})
		if code != stage.ExitOK {
			b.Fatalf("exit %d", code)
		}
	}
	if n := strings.Count(out.String(), `"provenance"`); n < 300*16 {
		b.Fatalf("%d connections with provenance, want at least %d", n, 300*16)
	}
	if st, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(st.Size())/(1<<20), "input-MiB")
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	}
}

// TestExtractBenchApplication checks the benchmark's YAML once, on two
// namespaces: it reads without findings and yields 16 connections per copy.
func TestExtractBenchApplication(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenants.yaml")
	var sb strings.Builder
	writeExtractBenchYAML(&sb, 2)
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tightnet(t, "", "extract", path, "-o", "txt", "--fail-on", "warning")
	if r.code != stage.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stder)
	}
	if n := strings.Count(r.stdout, "[Deployment] => "); n != 2*16+2*2 { // 2 external destinations per copy
		t.Errorf("%d lines, want %d:\n%s", n, 2*16+2*2, r.stdout)
	}
}
