package stage

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/firewall"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
)

type connectivityFlags struct {
	inputs   inputFlags
	output   outputFlags
	focus    []string
	failOn   string
	exposure bool
	explain  bool
	ingress  ingressControllerFlags
}

func connectivityCommand(g *globals) *cobra.Command {
	var fl connectivityFlags
	cmd := &cobra.Command{
		Use:   "connectivity [PATH...]",
		Short: "Compute which workloads may connect to which under the NetworkPolicies",
		Long: `Read manifests (directories are searched recursively for .yaml, .yml and
.json files; a directory with Chart.yaml is rendered as a Helm chart and one
with kustomization.yaml built with Kustomize; "-" reads standard input) and
print every connection the NetworkPolicies allow, one line per pair of peers:

  SRC => DST : CONNS

Peers are workloads (namespace/name[Kind]) and the external address ranges
the policies distinguish. Connections between replicas of one workload are
not listed.`,
		Example: `  tightnet connectivity examples/shop
  tightnet connectivity -f manifests/ -f policies.yaml -o json --out conn.json
  tightnet connectivity examples/shop --focus-workload shop/cart -o mermaid
  tightnet connectivity examples/multi-namespace -o rules   # firewall-style rules by namespace and labels`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConnectivity(cmd, g, &fl, args)
		},
	}
	fl.inputs.register(cmd)
	fl.output.register(cmd, report.ConnectivityFormats(), report.Text)
	cmd.Flags().StringArrayVar(&fl.focus, "focus-workload", nil,
		"list only connections of this workload, as namespace/name or name (repeatable)")
	fl.ingress.register(cmd)
	cmd.Flags().BoolVar(&fl.explain, "explain", false,
		"after the connections, explain every pair of workloads (of the focus workloads, with --focus-workload): which policy and rule allow or deny each part (txt only)")
	cmd.Flags().BoolVar(&fl.exposure, "exposure", false,
		"also report workloads not isolated by NetworkPolicies and what the entire cluster and every external address may open to them, and they to those (txt, md, json)")
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
	opts, err := fl.ingress.options()
	if err != nil {
		return err
	}
	res, err := analyze.Connectivity(cmd.Context(), objs, opts...)
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
	if fl.explain && format != report.Text {
		return usagef("--explain works with -o txt, not %s", format)
	}
	if fl.exposure && format != report.JSON && format != report.Text && format != report.Markdown {
		return usagef("--exposure works with -o txt, md or json, not %s", format)
	}
	var buf bytes.Buffer
	if format == report.JSON {
		cm := model.NewConnectivityMap(res.Matrix, findings)
		if fl.exposure {
			cm.Exposure = focusExposure(res.Exposure, view.Focus)
		}
		b, err := model.Marshal(cm)
		if err != nil {
			return fmt.Errorf("encode connectivity map: %w", err)
		}
		buf.Write(b)
	} else if format == report.Rules {
		if err := report.Firewall(&buf, firewall.Rules(viewMatrix(view), inventory(objs))); err != nil {
			return err
		}
	} else if err := report.Connectivity(&buf, format, view); err != nil {
		return err
	}
	if fl.exposure && format != report.JSON {
		if err := report.Exposure(&buf, format, focusExposure(res.Exposure, view.Focus)); err != nil {
			return err
		}
	}
	if fl.explain {
		if err := explainAll(cmd, &buf, objs, res.Matrix, view.Focus, opts); err != nil {
			return err
		}
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

// inventory is what firewall rules name workloads by: their pod labels.
func inventory(objs *manifest.Objects) firewall.Inventory {
	inv := firewall.Inventory{PodLabels: make(map[model.Peer]map[string]string, len(objs.Workloads))}
	for _, w := range objs.Workloads {
		inv.PodLabels[w.Peer()] = w.PodLabels
	}
	return inv
}

// viewMatrix is the matrix of a view's edges only, over all its peers.
func viewMatrix(v report.View) model.Matrix {
	if len(v.Focus) == 0 {
		return v.Matrix
	}
	b := model.NewMatrixBuilder()
	for _, p := range v.Matrix.Peers() {
		b.AddPeer(p)
	}
	for e, c := range v.Edges() {
		b.Add(e, c)
	}
	return b.Matrix()
}

// explainAll explains every ordered pair of distinct workloads of which at
// least one is a focus workload (any, without a focus).
func explainAll(cmd *cobra.Command, buf *bytes.Buffer, objs *manifest.Objects, m model.Matrix, focus []model.Peer, opts []analyze.Option) error {
	var workloads []model.Peer
	for _, p := range m.Peers() {
		if p.Kind == model.PeerWorkload {
			workloads = append(workloads, p)
		}
	}
	name := func(p model.Peer) string { return p.Namespace + "/" + p.Name + "[" + p.WorkloadKind + "]" }
	var all []report.Explanation
	for _, a := range workloads {
		for _, b := range workloads {
			if a == b || len(focus) > 0 && !slices.Contains(focus, a) && !slices.Contains(focus, b) {
				continue
			}
			ex, err := explainPair(cmd, objs, name(a), name(b), opts)
			if err != nil {
				return err
			}
			all = append(all, ex)
		}
	}
	buf.WriteString("\nExplanations:\n\n")
	return report.Explain(buf, all, nil)
}

// ingressControllerFlags say where the ingress controller runs.
type ingressControllerFlags struct {
	namespace string
	labels    string
}

func (f *ingressControllerFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.namespace, "ingress-controller-namespace", "",
		"namespace the ingress controller runs in; without it the controller is admitted only by rules that select every namespace")
	cmd.Flags().StringVar(&f.labels, "ingress-controller-labels", "",
		"pod labels of the ingress controller, as key=value,key=value (with --ingress-controller-namespace)")
}

func (f *ingressControllerFlags) options() ([]analyze.Option, error) {
	if f.namespace == "" {
		if f.labels != "" {
			return nil, usagef("--ingress-controller-labels needs --ingress-controller-namespace")
		}
		return nil, nil
	}
	ic := analyze.IngressController{Namespace: f.namespace, PodLabels: map[string]string{}}
	for kv := range strings.SplitSeq(f.labels, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--ingress-controller-labels %q: want key=value pairs separated by commas", f.labels)
		}
		ic.PodLabels[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return []analyze.Option{analyze.WithIngressController(ic)}, nil
}

// focusExposure keeps the exposure of the focus workloads, or all of it.
func focusExposure(all []model.Exposure, focus []model.Peer) []model.Exposure {
	if len(focus) == 0 {
		return all
	}
	var out []model.Exposure
	for _, x := range all {
		if slices.Contains(focus, x.Peer) {
			out = append(out, x)
		}
	}
	return out
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
