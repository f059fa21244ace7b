package analyze_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite the want sections of scenario files")

// TestScenarios runs every testdata/scenarios/*.txtar: the archive's files
// are the input manifests, its "want" file the expected connectivity lines
// followed by the findings. Each scenario is named after the rule it pins
// and is also checked against the reference evaluator.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios found: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			objs := readArchive(t, ar)
			res, err := analyze.Connectivity(context.Background(), objs, options(t, fileOf(ar, "options"))...)
			if err != nil {
				t.Fatal(err)
			}
			got := render(res)
			want := fileOf(ar, "want")
			if *update {
				setFile(ar, "want", got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if got != want {
				t.Errorf("connectivity differs from %s (-want +got):\n%s", file, lineDiff(want, got))
			}
			agreeWithReference(t, objs, res)
		})
	}
}

// readArchive writes the archive's YAML files into a temporary directory
// and reads them back as the stage would; findings use the archive names.
func readArchive(t *testing.T, ar *txtar.Archive) *manifest.Objects {
	t.Helper()
	dir := t.TempDir()
	for _, f := range ar.Files {
		if f.Name == "want" || f.Name == "options" {
			continue
		}
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	objs, err := manifest.Read(context.Background(), []string{"."}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// options reads a scenario's "options" file: lines such as
// "ingress-controller: NAMESPACE key=value,key=value".
func options(t *testing.T, text string) []analyze.Option {
	var out []analyze.Option
	for line := range strings.Lines(text) {
		key, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch key {
		case "":
		case "ingress-controller":
			fields := strings.Fields(value)
			ic := analyze.IngressController{Namespace: fields[0], PodLabels: map[string]string{}}
			for _, kv := range strings.Split(fields[1], ",") {
				k, v, _ := strings.Cut(kv, "=")
				ic.PodLabels[k] = v
			}
			out = append(out, analyze.WithIngressController(ic))
		default:
			t.Fatalf("unknown scenario option %q", key)
		}
	}
	return out
}

func render(res analyze.Result) string {
	var b strings.Builder
	for e, c := range res.Matrix.All() {
		b.WriteString(e.Src.String() + " => " + e.Dst.String() + " : " + c.String() + "\n")
	}
	for _, x := range res.Exposure {
		fmt.Fprintf(&b, "exposure: %s ingress %s, egress %s; from cluster: %s; to cluster: %s; from every address: %s; to every address: %s\n",
			x.Peer, isolation(x.IngressIsolated), isolation(x.EgressIsolated), x.FromCluster, x.ToCluster, x.FromExternal, x.ToExternal)
	}
	for _, f := range res.Findings {
		b.WriteString("finding: " + f.String() + "\n")
	}
	return b.String()
}

func isolation(isolated bool) string {
	if isolated {
		return "isolated"
	}
	return "open"
}

func fileOf(ar *txtar.Archive, name string) string {
	for _, f := range ar.Files {
		if f.Name == name {
			return string(f.Data)
		}
	}
	return ""
}

func setFile(ar *txtar.Archive, name, data string) {
	for i, f := range ar.Files {
		if f.Name == name {
			ar.Files[i].Data = []byte(data)
			return
		}
	}
	ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(data)})
}

// lineDiff lists lines only in want (-) and only in got (+), in order.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	inW, inG := map[string]bool{}, map[string]bool{}
	for _, l := range w {
		inW[l] = true
	}
	for _, l := range g {
		inG[l] = true
	}
	var b bytes.Buffer
	for _, l := range w {
		if !inG[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if !inW[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	if b.Len() == 0 {
		b.WriteString("(same lines, different order)\n")
	}
	return b.String()
}
