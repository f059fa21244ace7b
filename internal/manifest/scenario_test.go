package manifest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/scenarios/*.txtar")

// TestScenarios reads the txtar bundles in testdata/scenarios. Each holds
// the input files, written to a fresh directory that becomes the working
// directory, and a "@want" section: the rendered Objects (or the error),
// compared byte for byte. The comment at the top of a bundle tells the
// story and may hold settings, one a line:
//
//	args: PATH...      the paths passed to Read (default ".")
//	maxsize: BYTES     Options.MaxFileSize
//	release: NAME      Options.Helm.ReleaseName
//	namespace: NAME    Options.Helm.Namespace
//	values: FILE       appended to Options.Helm.ValuesFiles
//	set: KEY=VALUE     appended to Options.Helm.Set
//
// Special sections: "@stdin" is Options.Stdin; "NAME -> TARGET" makes NAME a
// symlink to TARGET.
func TestScenarios(t *testing.T) {
	// Absolute, because each scenario runs in its own working directory.
	dir, err := filepath.Abs(filepath.Join("testdata", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	bundles, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(bundles) == 0 {
		t.Fatal("no scenarios found")
	}
	for _, bundle := range bundles {
		name := strings.TrimSuffix(filepath.Base(bundle), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(bundle)
			if err != nil {
				t.Fatal(err)
			}
			got := runScenario(t, ar)
			wantIdx := slices.IndexFunc(ar.Files, func(f txtar.File) bool { return f.Name == "@want" })
			if *update {
				if wantIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "@want"})
					wantIdx = len(ar.Files) - 1
				}
				ar.Files[wantIdx].Data = []byte(got)
				if err := os.WriteFile(bundle, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantIdx < 0 {
				t.Fatalf("%s has no @want section; run go test -run TestScenarios -update", bundle)
			}
			if want := string(ar.Files[wantIdx].Data); got != want {
				t.Errorf("%s: output differs (-want +got):\n%s\nrun go test -run TestScenarios -update to accept", bundle, cmp.Diff(want, got))
			}
		})
	}
}

// runScenario lays out the bundle's files in a temporary working directory,
// reads them and renders the result.
func runScenario(t *testing.T, ar *txtar.Archive) string {
	dir := t.TempDir()
	args := []string{"."}
	var opts Options
	for line := range strings.Lines(string(ar.Comment)) {
		key, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		switch {
		case !ok:
		case key == "args":
			args = strings.Fields(value)
		case key == "maxsize":
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil {
				t.Fatalf("maxsize: %v", err)
			}
			opts.MaxFileSize = n
		case key == "release":
			opts.Helm.ReleaseName = strings.TrimSpace(value)
		case key == "namespace":
			opts.Helm.Namespace = strings.TrimSpace(value)
		case key == "values":
			opts.Helm.ValuesFiles = append(opts.Helm.ValuesFiles, strings.TrimSpace(value))
		case key == "set":
			opts.Helm.Set = append(opts.Helm.Set, strings.TrimSpace(value))
		}
	}
	for _, f := range ar.Files {
		switch name, target, isLink := strings.Cut(f.Name, " -> "); {
		case f.Name == "@want":
		case f.Name == "@stdin":
			opts.Stdin = bytes.NewReader(f.Data)
		case isLink:
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.FromSlash(target), p); err != nil {
				t.Fatal(err)
			}
		default:
			p := filepath.Join(dir, filepath.FromSlash(f.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Chdir(dir)
	var logs bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
	objs, err := Read(context.Background(), args, opts)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	checkInvariants(t, objs)
	return render(objs) + renderLogs(logs.String())
}

// render prints Objects compactly, one line per object, in the order of the
// slices so that sorting is pinned too.
func render(o *Objects) string {
	var b strings.Builder
	b.WriteString("namespaces:\n")
	for _, ns := range o.Namespaces {
		state := "declared at"
		if !ns.Declared {
			state = "undeclared, first used at"
		}
		fmt.Fprintf(&b, "  %s (%s %s) labels: %s\n", ns.Name, state, ns.Source, labels(ns.Labels))
	}
	b.WriteString("workloads:\n")
	for _, w := range o.Workloads {
		fmt.Fprintf(&b, "  %s at %s labels: %s containers: %s\n", w.Peer(), w.Source, labels(w.PodLabels), containers(w.Pod))
	}
	b.WriteString("services:\n")
	for _, s := range o.Services {
		var ports []string
		for _, p := range s.Object.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%d->%s/%s", p.Port, p.TargetPort.String(), p.Protocol))
		}
		fmt.Fprintf(&b, "  %s/%s at %s selector: %s ports: %s\n", s.Object.Namespace, s.Object.Name, s.Source, labels(s.Object.Spec.Selector), strings.Join(ports, ","))
	}
	b.WriteString("policies:\n")
	for _, p := range o.Policies {
		var types []string
		for _, pt := range p.Object.Spec.PolicyTypes {
			types = append(types, string(pt))
		}
		fmt.Fprintf(&b, "  %s/%s at %s podSelector: %s types: %s ingress: %d egress: %d\n", p.Object.Namespace, p.Object.Name, p.Source,
			selector(p.Object.Spec.PodSelector), strings.Join(types, ","), len(p.Object.Spec.Ingress), len(p.Object.Spec.Egress))
	}
	if len(o.ConfigMaps)+len(o.Secrets) > 0 {
		b.WriteString("config:\n")
		for _, c := range o.ConfigMaps {
			var data []string
			for _, k := range slices.Sorted(maps.Keys(c.Object.Data)) {
				data = append(data, k+"="+c.Object.Data[k])
			}
			fmt.Fprintf(&b, "  ConfigMap %s/%s at %s data: %s\n", c.Object.Namespace, c.Object.Name, c.Source, strings.Join(data, ","))
		}
		for _, s := range o.Secrets {
			keys := slices.Sorted(maps.Keys(s.Object.Data))
			keys = append(keys, slices.Sorted(maps.Keys(s.Object.StringData))...)
			fmt.Fprintf(&b, "  Secret %s/%s at %s keys: %s\n", s.Object.Namespace, s.Object.Name, s.Source, strings.Join(keys, ","))
		}
	}
	if len(o.Routes) > 0 {
		b.WriteString("routes:\n")
		for _, r := range o.Routes {
			var backends []string
			for _, be := range r.Backends {
				target := ""
				if be.TargetPort != nil {
					target = " target " + be.TargetPort.String()
				}
				backends = append(backends, fmt.Sprintf("%s/%s port %s%s", be.Namespace, be.Service, be.Port.String(), target))
			}
			fmt.Fprintf(&b, "  %s %s/%s at %s backends: %s\n", r.Kind, r.Namespace, r.Name, r.Source, strings.Join(backends, "; "))
		}
	}
	if len(o.AdminPolicies)+len(o.BaselinePolicies)+len(o.ClusterPolicies) > 0 {
		b.WriteString("admin tiers:\n")
		for _, p := range o.AdminPolicies {
			fmt.Fprintf(&b, "  AdminNetworkPolicy %s at %s priority %d\n", p.Object.Name, p.Source, p.Object.Spec.Priority)
		}
		for _, p := range o.BaselinePolicies {
			fmt.Fprintf(&b, "  BaselineAdminNetworkPolicy %s at %s\n", p.Object.Name, p.Source)
		}
		for _, p := range o.ClusterPolicies {
			fmt.Fprintf(&b, "  ClusterNetworkPolicy %s (%s) at %s tier %s priority %d\n", p.Object.Name, p.APIVersion, p.Source, p.Object.Spec.Tier, p.Object.Spec.Priority)
		}
	}
	b.WriteString("findings:\n")
	for _, f := range o.Findings {
		fmt.Fprintf(&b, "  %s", f)
		if f.Object != "" {
			fmt.Fprintf(&b, " {%s}", f.Object)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func renderLogs(logs string) string {
	if logs == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("log:\n")
	for line := range strings.Lines(logs) {
		b.WriteString("  " + line)
	}
	return b.String()
}

func labels(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func selector(s metav1.LabelSelector) string {
	out := labels(s.MatchLabels)
	for _, e := range s.MatchExpressions {
		out += fmt.Sprintf(";%s %s %v", e.Key, e.Operator, e.Values)
	}
	return out
}

func containers(spec corev1.PodSpec) string {
	var parts []string
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		var ports []string
		for _, p := range c.Ports {
			ports = append(ports, fmt.Sprintf("%s:%d/%s", p.Name, p.ContainerPort, p.Protocol))
		}
		parts = append(parts, c.Name+"("+strings.Join(ports, ",")+")")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}
