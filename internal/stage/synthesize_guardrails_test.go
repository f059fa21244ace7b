package stage_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/stage"
	"github.com/tightnet/tightnet/internal/synth"
)

// TestSynthesizeGuardrails: --baseline-as admin leaves the proposal plain
// and writes the rules after it as AdminNetworkPolicies, or with --cnp as
// ClusterNetworkPolicies, one stream that reads back whole; the parts no
// admin policy enforces are warnings.
func TestSynthesizeGuardrails(t *testing.T) {
	plain := tightnet(t, "", "synthesize", "../../examples/shop")
	if plain.code != stage.ExitOK {
		t.Fatalf("plain: exit %d: %s", plain.code, plain.stder)
	}
	for _, tc := range []struct {
		golden string
		flags  []string
		kind   string
	}{
		{"synthesize-guardrails.yaml.golden", nil, "AdminNetworkPolicy"},
		{"synthesize-guardrails-cnp.yaml.golden", []string{"--cnp", "--guardrail-priority", "100"}, "ClusterNetworkPolicy"},
	} {
		args := append([]string{"synthesize", "../../examples/shop", "--baseline", "../../examples/baseline-rules", "--baseline-as", "admin"}, tc.flags...)
		r := tightnet(t, "", args...)
		if r.code != stage.ExitOK {
			t.Fatalf("%v: exit %d: %s", tc.flags, r.code, r.stder)
		}
		golden(t, tc.golden, r.stdout)
		if !strings.HasPrefix(r.stdout, plain.stdout) {
			t.Errorf("%v: the NetworkPolicies are not the plain proposal: the rules must not shape it with --baseline-as admin", tc.flags)
		}
		if !strings.Contains(r.stder, synth.CodeGuardrailPartial) || !strings.Contains(r.stder, synth.CodeGuardrailUnenforceable) {
			t.Errorf("%v: the unenforced parts are not reported:\n%s", tc.flags, r.stder)
		}
		out := filepath.Join(t.TempDir(), "out.yaml")
		if err := os.WriteFile(out, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		objs, err := manifest.Read(context.Background(), []string{out}, manifest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs.Policies) == 0 || len(objs.AdminPolicies)+len(objs.ClusterPolicies) != strings.Count(r.stdout, "kind: "+tc.kind) ||
			len(objs.AdminPolicies)+len(objs.ClusterPolicies) == 0 || len(objs.Findings) > 0 {
			t.Errorf("%v: the output reads back as %d NetworkPolicies, %d AdminNetworkPolicies, %d ClusterNetworkPolicies, findings %v",
				tc.flags, len(objs.Policies), len(objs.AdminPolicies), len(objs.ClusterPolicies), objs.Findings)
		}
	}
	for _, bad := range [][]string{
		{"--baseline-as", "tiers", "--baseline", "../../examples/baseline-rules"},
		{"--baseline-as", "admin"},
		{"--baseline-as", "admin", "--baseline", "../../examples/baseline-rules", "-o", "json"},
		{"--baseline-as", "admin", "--baseline", "../../examples/baseline-rules", "--guardrail-priority", "1001"},
		{"--baseline-as", "admin", "--baseline", "testdata/nope.yaml"},
		{"--cnp", "--baseline", "../../examples/baseline-rules"},
	} {
		r := tightnet(t, "", append([]string{"synthesize", "../../examples/shop"}, bad...)...)
		if r.code != stage.ExitError || !strings.Contains(r.stder, "--") && !strings.Contains(r.stder, "nope") {
			t.Errorf("%v: exit %d, %s", bad, r.code, r.stder)
		}
	}
}
