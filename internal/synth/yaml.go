package synth

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// WriteYAML writes the proposal as a multi-document YAML stream, each
// policy preceded by comments listing the connections it allows and where
// each need came from. Output is stable for equal proposals.
func WriteYAML(w io.Writer, p Proposal) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("# Least-privilege NetworkPolicies proposed by tightnet.\n")
	bw.WriteString("# Each policy lists above it the connections it allows and why they are needed.\n")
	for _, pol := range p.Policies {
		bw.WriteString("---\n")
		if pol.Workload.Name == "" {
			fmt.Fprintf(bw, "# Denies all ingress and egress in namespace %s; the policies below open what is needed.\n", pol.Object.Namespace)
		} else {
			fmt.Fprintf(bw, "# Policy for %s.\n", pol.Workload)
			if len(pol.Allows) == 0 {
				bw.WriteString("# It allows nothing: no connection to or from this workload was found.\n")
			}
			for _, a := range pol.Allows {
				word := "from"
				if a.Direction == "egress" {
					word = "to"
				}
				fmt.Fprintf(bw, "# - %s %s %s : %s\n", a.Direction, word, a.Peer, a.Conns)
				for _, r := range a.Reasons {
					fmt.Fprintf(bw, "#     %s\n", strings.ReplaceAll(r, "\n", " "))
				}
			}
		}
		b, err := yaml.Marshal(pol.Object)
		if err != nil {
			return fmt.Errorf("write policy %s/%s: %w", pol.Object.Namespace, pol.Object.Name, err)
		}
		bw.Write(b)
	}
	return bw.Flush()
}
