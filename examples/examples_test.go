// Package examples_test runs every bundled example application through the
// connectivity stage and compares the output with the expected files kept
// beside it: examples/<name>/expected/connectivity.{txt,json}.
package examples_test

import (
	"context"
	"flag"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/analyze/reference"
	"github.com/tightnet/tightnet/internal/clustergen"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

var update = flag.Bool("update", false, "rewrite the expected files")

// supporting directories of examples/ hold no application: baseline
// rules and CI workflows that the applications are checked with, and the
// review example (two checkouts, tested in internal/review).
var supporting = map[string]bool{"baseline-rules": true, "github": true, "review": true}

// examples lists the example applications: directories with a README.
func examples(t *testing.T) []string {
	t.Helper()
	readmes, err := filepath.Glob("*/README.md")
	var dirs []string
	for _, r := range readmes {
		if dir := filepath.Dir(r); !supporting[dir] {
			dirs = append(dirs, dir)
		}
	}
	if err != nil || len(dirs) < 3 {
		t.Fatalf("want at least three examples with a README, found %v (%v)", dirs, err)
	}
	return dirs
}

// TestExamples runs `tightnet connectivity <example> -o <format>` in process
// and compares byte for byte with the expected files.
func TestExamples(t *testing.T) {
	for _, dir := range examples(t) {
		for _, format := range []string{"txt", "json"} {
			t.Run(dir+"/"+format, func(t *testing.T) {
				golden(t, filepath.Join(dir, "expected", "connectivity."+format), run(t, "connectivity", dir, "-o", format))
			})
		}
	}
}

// TestExamplesAgreeWithReference checks every example's connectivity against
// the reference evaluator, pair by pair and port by port.
func TestExamplesAgreeWithReference(t *testing.T) {
	for _, dir := range examples(t) {
		t.Run(dir, func(t *testing.T) {
			objs, err := manifest.Read(context.Background(), []string{dir}, manifest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := analyze.Connectivity(context.Background(), objs)
			if err != nil {
				t.Fatal(err)
			}
			ports := clustergen.InterestingPorts(objs)
			var probe model.ConnectionSet
			for _, p := range model.Protocols() {
				probe = probe.Union(model.Connections(p, ports))
			}
			pairs := 0
			for _, src := range res.Matrix.Peers() {
				for _, dst := range res.Matrix.Peers() {
					s, d, ok := endpoints(objs, src, dst)
					if !ok {
						continue
					}
					pairs++
					got := res.Matrix.Get(model.Edge{Src: src, Dst: dst}).Intersect(probe)
					if want := reference.Conns(objs, s, d, ports); !got.Equal(want) {
						t.Errorf("%s => %s: engine %q, reference %q", src, dst, got, want)
					}
				}
			}
			if pairs < 50 {
				t.Fatalf("compared only %d pairs", pairs)
			}
		})
	}
}

// endpoints maps a pair of distinct peers to reference endpoints; an
// external range stands for its first address. Pairs of two addresses are
// not cluster questions.
func endpoints(objs *manifest.Objects, src, dst model.Peer) (reference.Endpoint, reference.Endpoint, bool) {
	find := func(p model.Peer) (reference.Endpoint, bool) {
		if p.Kind == model.PeerExternal {
			return reference.Endpoint{IP: p.Range.First}, false
		}
		for i := range objs.Workloads {
			if objs.Workloads[i].Peer() == p {
				return reference.Endpoint{Workload: &objs.Workloads[i]}, true
			}
		}
		return reference.Endpoint{}, false
	}
	s, sw := find(src)
	d, dw := find(dst)
	return s, d, src != dst && (sw || dw)
}

func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(no line differs)"
}
