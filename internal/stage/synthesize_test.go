package stage_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/stage"
)

// TestSynthesize pins the proposal for the stage's test app, straight from
// manifests and from a Topology file, and its summary in both modes.
func TestSynthesize(t *testing.T) {
	r := tightnet(t, "", "synthesize", "testdata/app")
	if r.code != stage.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stder)
	}
	golden(t, "synthesize.yaml.golden", r.stdout)

	topo := filepath.Join(t.TempDir(), "topology.json")
	if r := tightnet(t, "", "extract", "testdata/app", "--out", topo); r.code != stage.ExitOK {
		t.Fatalf("extract: exit %d: %s", r.code, r.stder)
	}
	if again := tightnet(t, "", "synthesize", topo); again.stdout != r.stdout {
		t.Errorf("synthesizing from the Topology file differs from synthesizing from manifests:\n%s", again.stdout)
	}

	for mode, want := range map[string]map[string]int{
		"replace": {"new": 4, "obsolete": 2},
		"augment": {"kept": 2, "new": 0},
	} {
		summary := filepath.Join(t.TempDir(), "synthesis.json")
		r := tightnet(t, "", "synthesize", "testdata/app", "--mode", mode, "--summary", summary, "--out", filepath.Join(t.TempDir(), "p.yaml"))
		if r.code != stage.ExitOK {
			t.Fatalf("%s: exit %d: %s", mode, r.code, r.stder)
		}
		data, err := os.ReadFile(summary)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Kind     string
			Policies []struct{ Status string }
		}
		if err := json.Unmarshal(data, &s); err != nil || s.Kind != "Synthesis" {
			t.Fatalf("%s: summary %s: %v", mode, data, err)
		}
		got := map[string]int{}
		for _, p := range s.Policies {
			got[p.Status]++
		}
		for status, n := range want {
			if got[status] != n {
				t.Errorf("%s: %d %s policies, want %d (%v)", mode, got[status], status, n, got)
			}
		}
	}
	if r := tightnet(t, "", "synthesize", "testdata/app", "--mode", "merge"); r.code != stage.ExitError || !strings.Contains(r.stder, "--mode") {
		t.Errorf("bad --mode: exit %d, %s", r.code, r.stder)
	}
}
