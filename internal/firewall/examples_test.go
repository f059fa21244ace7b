package firewall_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/firewall"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name byte for byte, or rewrites it
// with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
		t.Fatalf("%v (run go test ./internal/firewall -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// TestExamples condenses the connectivity of every bundled example into
// rules, pins them in testdata/examples/<name>.rules, checks they expand
// back to the pair list exactly, and pins how much shorter they are in
// testdata/examples/summary.txt: the point of the view is that a reviewer
// reads markedly fewer lines.
func TestExamples(t *testing.T) {
	readmes, err := filepath.Glob("../../examples/*/README.md")
	if err != nil || len(readmes) < 3 {
		t.Fatalf("want the three bundled examples, found %v (%v)", readmes, err)
	}
	var summary strings.Builder
	summary.WriteString("example: connections (pair lines) -> rules (rule lines)\n")
	for _, readme := range readmes {
		dir := filepath.Dir(readme)
		name := filepath.Base(dir)
		if name == "baseline-rules" || name == "github" || name == "review" {
			continue // supporting directories and the review example (two checkouts), not applications
		}
		t.Run(name, func(t *testing.T) {
			objs, err := manifest.Read(context.Background(), []string{dir}, manifest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := analyze.Connectivity(context.Background(), objs)
			if err != nil {
				t.Fatal(err)
			}
			inv := inventoryOf(objs)
			if msg, rules := roundTrip(res.Matrix, inv); msg != "" {
				t.Fatalf("%s\n%s", msg, dump(res.Matrix, inv, rules))
			}
			rules := firewall.Rules(res.Matrix, inv)
			golden(t, filepath.Join("examples", name+".rules"), render(rules))
			pairs := res.Matrix.Len()
			if len(rules)*2 > pairs {
				t.Errorf("%d rules for %d connections: want at most half as many lines", len(rules), pairs)
			}
			fmt.Fprintf(&summary, "%s: %d -> %d\n", name, pairs, len(rules))
		})
	}
	golden(t, filepath.Join("examples", "summary.txt"), summary.String())
}

// TestExampleRulesSurviveFocus condenses the edges of one workload only,
// as --focus-workload does, and still expands back exactly.
func TestExampleRulesSurviveFocus(t *testing.T) {
	objs, err := manifest.Read(context.Background(), []string{"../../examples/multi-namespace"}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := analyze.Connectivity(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	focus := model.WorkloadPeer("data", "postgres", "StatefulSet")
	b := model.NewMatrixBuilder()
	for _, p := range res.Matrix.Peers() {
		b.AddPeer(p)
	}
	for e, c := range (report.View{Matrix: res.Matrix, Focus: []model.Peer{focus}}).Edges() {
		b.Add(e, c)
	}
	m := b.Matrix()
	if m.Len() == 0 {
		t.Fatal("focus on data/postgres kept no edge")
	}
	inv := inventoryOf(objs)
	if msg, rules := roundTrip(m, inv); msg != "" {
		t.Fatalf("%s\n%s", msg, dump(m, inv, rules))
	}
}
