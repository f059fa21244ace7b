package synth

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"
	"sigs.k8s.io/yaml"
)

// WriteGuardrailsYAML writes the guardrails as a multi-document YAML
// stream, as WriteYAML writes NetworkPolicies: each policy preceded by
// comments naming the baseline rule it enforces, its description and
// place, what each of its rules does and what it leaves unenforced. An
// empty set writes nothing, so the stream can follow WriteYAML's as is.
// Output is stable for equal sets.
func WriteGuardrailsYAML(w io.Writer, g GuardrailSet) error {
	if len(g.Policies) == 0 {
		return nil
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("# Cluster guardrails written by tightnet from baseline rules, in the Admin tier, which NetworkPolicies cannot override.\n")
	bw.WriteString("# Priorities follow the rules' order: where rules overlap, the earlier rule decides.\n")
	for _, p := range g.Policies {
		r := p.Rule
		bw.WriteString("---\n")
		fmt.Fprintf(bw, "# Baseline rule %s, %s\n", r.Name, r.Source)
		fmt.Fprintf(bw, "#   %s %s => %s : %s\n", r.Action, r.From, r.To, r.Conns)
		if r.Description != "" {
			fmt.Fprintf(bw, "#   %s\n", oneLine(r.Description))
		}
		fmt.Fprintf(bw, "# Subject: %s\n", p.Subject)
		for _, e := range p.Enforces {
			fmt.Fprintf(bw, "# - %s\n", e)
		}
		if p.NotEnforced != "" {
			fmt.Fprintf(bw, "# Not enforced: %s\n", p.NotEnforced)
		}
		b, err := yaml.Marshal(document(p))
		if err != nil {
			return fmt.Errorf("write guardrail %s: %w", p.Name(), err)
		}
		bw.Write(b)
	}
	return bw.Flush()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// adminDocument and clusterDocument are the kinds without status, which a
// manifest does not carry (the API types would write "status: {conditions:
// null}").
type adminDocument struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta                     `json:"metadata"`
	Spec            policyv1alpha1.AdminNetworkPolicySpec `json:"spec"`
}

type clusterDocument struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta                      `json:"metadata"`
	Spec            policyv1beta1.ClusterNetworkPolicySpec `json:"spec"`
}

func document(p Guardrail) any {
	if p.Admin != nil {
		return adminDocument{p.Admin.TypeMeta, p.Admin.ObjectMeta, p.Admin.Spec}
	}
	return clusterDocument{p.Cluster.TypeMeta, p.Cluster.ObjectMeta, p.Cluster.Spec}
}
