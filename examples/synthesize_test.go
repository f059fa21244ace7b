package examples_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/stage"
)

// TestSynthesizedPoliciesAreExact is the synthesizer's proof on every
// example: the policies `tightnet synthesize` proposes, applied in place of
// the example's own, allow every connection `tightnet extract` found
// (nothing needed is blocked), and nothing else between workloads but
// cluster DNS (least privilege). The proposal is also golden-tested, as
// expected/policies.yaml.golden: a .yaml file there would be read back as
// part of the example's input.
func TestSynthesizedPoliciesAreExact(t *testing.T) {
	for _, dir := range examples(t) {
		t.Run(dir, func(t *testing.T) {
			policies := run(t, "synthesize", dir, "--fail-on", "never")
			golden(t, filepath.Join(dir, "expected", "policies.yaml.golden"), policies)
			var topo extract.Artifact
			topoJSON := run(t, "extract", dir, "-o", "json", "--fail-on", "never")
			topo, err := extract.Decode([]byte(topoJSON))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := manifest.Read(context.Background(), []string{dir}, manifest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			proposed, err := manifest.Read(context.Background(), []string{"-"}, manifest.Options{Stdin: strings.NewReader(policies)})
			if err != nil {
				t.Fatal(err)
			}
			objs.Policies, objs.AdminPolicies, objs.BaselinePolicies, objs.ClusterPolicies = proposed.Policies, nil, nil, nil
			res, err := analyze.Connectivity(context.Background(), objs)
			if err != nil {
				t.Fatal(err)
			}
			required := map[model.Edge]model.ConnectionSet{}
			for _, c := range topo.Connections {
				e := model.Edge{Src: c.Src, Dst: c.Dst}
				required[e] = required[e].Union(c.Conns)
			}
			if len(required) == 0 {
				t.Skip("no connections extracted")
			}
			for e, want := range required {
				if got := res.Matrix.Get(e); !want.Subset(got) && e.Src != e.Dst {
					t.Errorf("%s needs %s, the proposal allows %s", e, want, got)
				}
			}
			for e, got := range res.Matrix.All() {
				if e.Src.Kind != model.PeerWorkload || e.Dst.Kind != model.PeerWorkload {
					continue // exposures are checked by the synth package's proof
				}
				extra := got.Subtract(required[e])
				if e.Dst.Namespace == "kube-system" && strings.Contains(e.Dst.Name, "dns") {
					extra = extra.Subtract(model.Connections(model.UDP, model.Ports(53))).Subtract(model.Connections(model.TCP, model.Ports(53)))
				}
				if !extra.IsEmpty() {
					t.Errorf("%s allows %s beyond what is needed (%s)", e, extra, required[e])
				}
			}
		})
	}
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	if code := stage.Run(context.Background(), "", args, stage.Streams{In: strings.NewReader(""), Out: &out, Err: &errs}); code != stage.ExitOK {
		t.Fatalf("tightnet %v: exit %d\n%s", args, code, errs.String())
	}
	return out.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./examples -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n%s", path, firstDifference(string(want), got))
	}
}
