package depcheck

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tightnet/tightnet"

// allowed lists, per package (relative to the module root, "/..." for a
// subtree), the tightnet packages its non-test code may import. Packages
// absent from the list may import no tightnet package at all.
var allowed = map[string][]string{
	"internal/model":             {},
	"internal/manifest":          {"internal/model"},
	"internal/analyze":           {"internal/manifest", "internal/model"},
	"internal/analyze/reference": {"internal/manifest", "internal/model"},
	"internal/clustergen":        {"internal/manifest", "internal/model"},
	"internal/diff":              {"internal/model"},
	"internal/extract":           {"internal/manifest", "internal/model"},
	"internal/firewall":          {"internal/model"},
	"internal/baseline":          {"internal/model"},
	"internal/verify":            {"internal/baseline", "internal/model"},
	"internal/verify/sanity":     {"internal/analyze", "internal/manifest", "internal/model"},
	"internal/synth":             {"internal/baseline", "internal/manifest", "internal/model"},
	"internal/cluster":           {"internal/manifest", "internal/model"},
	"internal/apply":             {"internal/cluster", "internal/manifest", "internal/model"},
	"internal/kubetest":          {}, // tests only: starts tools/kube-apiserver
	"internal/rollout":           {"internal/analyze", "internal/apply", "internal/baseline", "internal/cluster", "internal/manifest", "internal/model", "internal/review", "internal/verify"},
	"internal/report":            {"internal/baseline", "internal/firewall", "internal/model", "internal/verify"},
	"internal/requirements":      {"internal/extract", "internal/manifest", "internal/model", "internal/synth"},
	"internal/review":            {"internal/analyze", "internal/baseline", "internal/diff", "internal/extract", "internal/manifest", "internal/model", "internal/report", "internal/requirements", "internal/synth", "internal/verify", "internal/verify/sanity"},
	"internal/stage":             {"internal/action", "internal/analyze", "internal/apply", "internal/cluster", "internal/rollout", "internal/baseline", "internal/diff", "internal/extract", "internal/firewall", "internal/manifest", "internal/model", "internal/report", "internal/requirements", "internal/review", "internal/synth", "internal/verify", "internal/verify/sanity"},
	"internal/action":            {"internal/apply", "internal/cluster", "internal/model", "internal/report", "internal/review", "internal/rollout"},
	"images/...":                 {"internal/stage"},
	"images/action":              {"internal/action"},
	"images/builder":             {"internal/imagebuild", "internal/packaging"}, // build tooling, not a stage image
	"internal/imagebuild":        {},
	"internal/depcheck":          {},
	"internal/packaging":         {}, // tests only; tektoncd/pipeline and argo-workflows stay out of non-test code
}

// stdlibOnly packages may import nothing outside the standard library.
var stdlibOnly = []string{"internal/model"}

// TestImportBoundaries walks every package of the module and checks its
// non-test imports against the architecture.
func TestImportBoundaries(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
			return filepath.SkipDir // a nested module (tools/kube-apiserver) has rules of its own
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		checked++
		rules, known := rulesFor(rel)
		for _, imp := range pkg.Imports {
			if after, ok := strings.CutPrefix(imp, module+"/"); ok {
				if !known || !slices.Contains(rules, after) {
					t.Errorf("%s imports %s, which the architecture does not allow (allowed: %v)", rel, after, rules)
				}
				continue
			}
			if slices.Contains(stdlibOnly, rel) && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				t.Errorf("%s must use the standard library only, but imports %s", rel, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages; is the module root right?", checked)
	}
}

func rulesFor(rel string) ([]string, bool) {
	if r, ok := allowed[rel]; ok {
		return r, true
	}
	for k, r := range allowed {
		if prefix, ok := strings.CutSuffix(k, "/..."); ok && strings.HasPrefix(rel, prefix+"/") {
			return r, true
		}
	}
	return nil, false
}
