package stage

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
)

type connectivityFlags struct {
	inputs inputFlags
	output outputFlags
	focus  []string
	failOn string
}

func connectivityCommand(g *globals) *cobra.Command {
	var fl connectivityFlags
	cmd := &cobra.Command{
		Use:   "connectivity [PATH...]",
		Short: "Compute which workloads may connect to which under the NetworkPolicies",
		Long: `Read manifests (directories are searched recursively for .yaml, .yml and
.json files; "-" reads standard input) and print every connection the
NetworkPolicies allow, one line per pair of peers:

  SRC => DST : CONNS

Peers are workloads (namespace/name[Kind]) and the external address ranges
the policies distinguish. Connections between replicas of one workload are
not listed.`,
		Example: `  tightnet connectivity examples/shop
  tightnet connectivity -f manifests/ -f policies.yaml -o json --out conn.json
  tightnet connectivity examples/shop --focus-workload shop/cart -o mermaid`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConnectivity(cmd, g, &fl, args)
		},
	}
	fl.inputs.register(cmd)
	fl.output.register(cmd, report.ConnectivityFormats(), report.Text)
	cmd.Flags().StringArrayVar(&fl.focus, "focus-workload", nil,
		"list only connections of this workload, as namespace/name or name (repeatable)")
	cmd.Flags().StringVar(&fl.failOn, "fail-on", "error",
		"exit 1 when a finding of at least this severity is reported: error, warning or never")
	return cmd
}

func runConnectivity(cmd *cobra.Command, g *globals, fl *connectivityFlags, args []string) error {
	format, err := fl.output.format(report.ConnectivityFormats())
	if err != nil {
		return err
	}
	threshold, err := parseFailOn(fl.failOn)
	if err != nil {
		return err
	}
	log := g.logger()
	objs, err := fl.inputs.read(cmd.Context(), g, args, log)
	if err != nil {
		return err
	}
	res, err := analyze.Connectivity(cmd.Context(), objs)
	if err != nil {
		return err
	}
	findings := append(append([]model.Finding{}, objs.Findings...), res.Findings...)
	slices.SortFunc(findings, model.CompareFindings)
	view := report.View{Matrix: res.Matrix}
	for _, name := range fl.focus {
		peers, err := focusPeers(res.Matrix, name)
		if err != nil {
			return err
		}
		view.Focus = append(view.Focus, peers...)
	}
	var buf bytes.Buffer
	if format == report.JSON {
		b, err := model.Marshal(model.NewConnectivityMap(res.Matrix, findings))
		if err != nil {
			return fmt.Errorf("encode connectivity map: %w", err)
		}
		buf.Write(b)
	} else if err := report.Connectivity(&buf, format, view); err != nil {
		return err
	}
	if err := fl.output.write(g, buf.Bytes()); err != nil {
		return err
	}
	if format != report.JSON || fl.output.path != "" {
		if err := report.Findings(g.streams.Err, findings); err != nil {
			return err
		}
	}
	count := 0
	for range view.Edges() {
		count++
	}
	failing := countAtLeast(findings, threshold)
	results := map[string]string{
		"connections": strconv.Itoa(count),
		"findings":    strconv.Itoa(len(findings)),
		"output":      fl.output.path,
	}
	if err := writeResults(g.resultsDir, results); err != nil {
		return err
	}
	log.Info("connectivity computed", "workloads", len(objs.Workloads), "policies", len(objs.Policies), "connections", count, "findings", len(findings))
	if failing > 0 {
		return errFindings
	}
	return nil
}

// focusPeers finds the workloads a --focus-workload value names.
func focusPeers(m model.Matrix, name string) ([]model.Peer, error) {
	ns, n, qualified := strings.Cut(name, "/")
	if !qualified {
		n = ns
	}
	var out []model.Peer
	for _, p := range m.Peers() {
		if p.Kind == model.PeerWorkload && p.Name == n && (!qualified || p.Namespace == ns) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, usagef("--focus-workload %q: no such workload in the inputs; give namespace/name of a Deployment, StatefulSet, Pod, ...", name)
	}
	return out, nil
}

// failNever is above every severity: nothing fails the run.
const failNever = model.Severity(255)

func parseFailOn(s string) (model.Severity, error) {
	switch s {
	case "never":
		return failNever, nil
	case "error":
		return model.Error, nil
	case "warning":
		return model.Warning, nil
	}
	return 0, usagef("--fail-on %q: want error, warning or never", s)
}

func countAtLeast(findings []model.Finding, s model.Severity) int {
	n := 0
	for _, f := range findings {
		if f.Severity >= s {
			n++
		}
	}
	return n
}
