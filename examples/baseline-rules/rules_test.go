// Package baselinerules_test checks the shipped baseline rules: every rule
// has a description, holds on one bundled example and is violated on
// another (an example, or an example with a proposed change from testdata/
// added to its inputs), each verdict earned by real connections, not
// because the rule had nothing to check.
package baselinerules_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/stage"
	"github.com/tightnet/tightnet/internal/verify"
)

// example is a bundled example's manifests and policies, without its
// expected outputs.
func example(name string) []string {
	return []string{"../" + name + "/manifests", "../" + name + "/policies"}
}

func with(inputs []string, change string) []string {
	return append(inputs, "testdata/"+change)
}

// cases lists, per rule, inputs on which it holds and inputs that violate it.
var cases = map[string]struct{ holds, violated []string }{
	"deny-telnet":                   {example("shop"), example("multi-namespace")},
	"deny-ftp":                      {example("shop"), example("multi-namespace")},
	"deny-plaintext-smtp":           {example("shop"), example("multi-namespace")},
	"deny-ssh-from-internet":        {example("shop"), example("multi-namespace")},
	"deny-cloud-metadata":           {example("network-edges"), example("multi-namespace")},
	"kube-system-dns-only-below-53": {with(example("multi-namespace"), "kube-dns-ingress.yaml"), example("multi-namespace")},
	"kube-system-dns-only-above-53": {with(example("multi-namespace"), "kube-dns-ingress.yaml"), example("multi-namespace")},
	"only-checkout-calls-payment":   {example("shop"), with(example("shop"), "frontend-calls-payment.yaml")},
	"payment-reaches-provider":      {example("shop"), with(example("shop"), "block-payment-provider.yaml")},
	"prometheus-scrapes-postgres":   {example("multi-namespace"), with(example("multi-namespace"), "block-monitoring-to-data.yaml")},
}

// verification runs `tightnet verify INPUTS --baseline . -o json` in process.
func verification(t *testing.T, inputs []string) verify.Verification {
	t.Helper()
	var out, errs strings.Builder
	args := append([]string{"verify", "--baseline", ".", "-o", "json"}, inputs...)
	code := stage.Run(context.Background(), "", args, stage.Streams{In: strings.NewReader(""), Out: &out, Err: &errs})
	if code == stage.ExitError {
		t.Fatalf("verify %v: %s", inputs, errs.String())
	}
	var v verify.Verification
	if err := model.Decode([]byte(out.String()), verify.Kind, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestShippedRules(t *testing.T) {
	rules, err := baseline.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) < 8 {
		t.Errorf("%d shipped rules, want at least eight", len(rules))
	}
	for _, r := range rules {
		if r.Description == "" {
			t.Errorf("rule %s has no description", r.Name)
		}
		if _, ok := cases[r.Name]; !ok {
			t.Errorf("rule %s has no case: add where it holds and where it is violated", r.Name)
		}
	}
	// Each distinct input is verified once against every rule.
	results := map[string]map[string]verify.Result{}
	verdicts := func(inputs []string) map[string]verify.Result {
		key := strings.Join(inputs, " ")
		if results[key] == nil {
			results[key] = map[string]verify.Result{}
			for _, r := range verification(t, inputs).Rules {
				results[key][r.Name] = r
			}
		}
		return results[key]
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			held, ok := verdicts(c.holds)[name]
			if !ok {
				t.Fatalf("no rule %s in the shipped files", name)
			}
			if held.Verdict != verify.Satisfied || held.Reason != "" {
				t.Errorf("on %v: %v (%s), want satisfied with something checked; witnesses %v", c.holds, held.Verdict, held.Reason, held.Witnesses)
			}
			broken := verdicts(c.violated)[name]
			if broken.Verdict != verify.Violated || len(broken.Witnesses) == 0 {
				t.Errorf("on %v: %v (%s), want violated", c.violated, broken.Verdict, broken.Reason)
			}
		})
	}
}
