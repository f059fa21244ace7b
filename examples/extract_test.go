package examples_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tightnet/tightnet/internal/manifest"
)

// extractExamples are the examples whose expected Topology is kept:
// the two written for the extract stage, and any other that keeps one.
func extractExamples(t *testing.T) []string {
	t.Helper()
	dirs := []string{"configmap-app", "traffic-app"}
	kept, err := filepath.Glob("*/expected/topology.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kept {
		if d := filepath.Dir(filepath.Dir(k)); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	slices.Sort(dirs)
	return dirs
}

// TestExtractExamples runs `tightnet extract <example> -o <format>` in
// process, with every file of the example's traffic/ directory as
// --traffic, and compares byte for byte with expected/topology.{txt,json}.
func TestExtractExamples(t *testing.T) {
	for _, dir := range extractExamples(t) {
		traffic, err := filepath.Glob(filepath.Join(dir, "traffic", "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"txt", "json"} {
			t.Run(dir+"/"+format, func(t *testing.T) {
				args := []string{"extract", dir, "-o", format}
				for _, f := range traffic {
					args = append(args, "--traffic", f)
				}
				golden(t, filepath.Join(dir, "expected", "topology."+format), run(t, args...))
			})
		}
	}
}

// TestExtractExamplesShowNoSecret: no value of any Secret of an example
// appears in its expected Topology.
func TestExtractExamplesShowNoSecret(t *testing.T) {
	for _, dir := range extractExamples(t) {
		objs, err := manifest.Read(context.Background(), []string{dir}, manifest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var outputs []byte
		for _, f := range []string{"topology.json", "topology.txt"} {
			b, err := os.ReadFile(filepath.Join(dir, "expected", f))
			if err != nil {
				t.Fatal(err)
			}
			outputs = append(outputs, b...)
		}
		for _, s := range objs.Secrets {
			for k, v := range secretValues(s.Object) {
				if bytes.Contains(outputs, []byte(v)) {
					t.Errorf("%s: Secret %s/%s key %s is shown in the expected Topology", dir, s.Object.Namespace, s.Object.Name, k)
				}
			}
		}
	}
}

func secretValues(s *corev1.Secret) map[string]string {
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	for k, v := range s.StringData {
		out[k] = v
	}
	return out
}
