package stage

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
	"github.com/tightnet/tightnet/internal/requirements"
	"github.com/tightnet/tightnet/internal/review"
	"github.com/tightnet/tightnet/internal/synth"
)

type synthesizeFlags struct {
	inputs     inputFlags
	output     outputFlags
	summary    string
	namedPorts bool
	dnsNS      string
	dnsLabels  string
	dnsPorts   string
	ingress    ingressControllerFlags
	traffic    []string
	failOn     string
	clusterDNS string
	monitoring string
	existing   []string
	mode       string
	baseline   []string
	outDir     string
	// --baseline-as admin: the rules as cluster guardrails (see guardrails).
	baselineAs        string
	cnp               bool
	guardrailPriority int32
}

func synthesizeFormats() []report.Format { return []report.Format{"yaml", report.JSON} }

func synthesizeCommand(g *globals) *cobra.Command {
	var fl synthesizeFlags
	cmd := &cobra.Command{
		Use:   "synthesize TOPOLOGY.json | PATH...",
		Short: "Propose least-privilege NetworkPolicies for the connections an application needs",
		Long: `Propose NetworkPolicies from a Topology (written by tightnet extract) or
straight from manifests (extracted on the way): a default deny per
namespace, and one policy per workload that selects exactly its pods and
admits exactly the connections it needs, in and out, plus DNS. Peers that
share ports are merged into one rule; each policy is preceded by comments
listing what it allows and why.

-o yaml (default) writes the policies; -o json the Synthesis summary.
--summary FILE writes the summary beside the YAML.`,
		Example: `  tightnet synthesize examples/configmap-app --out policies.yaml --summary synthesis.json
  tightnet extract manifests/ --out topology.json && tightnet synthesize topology.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSynthesize(cmd, g, &fl, args)
		},
	}
	fl.inputs.register(cmd)
	fl.output.register(cmd, synthesizeFormats(), "yaml")
	fl.ingress.register(cmd)
	f := cmd.Flags()
	f.StringVar(&fl.summary, "summary", "", "also write the Synthesis summary (JSON) to this file")
	f.BoolVar(&fl.namedPorts, "named-ports", false, "write a port by its name where the destination declares it under exactly one name")
	f.StringVar(&fl.dnsNS, "dns-namespace", "kube-system", "namespace of the cluster DNS pods every workload may reach")
	f.StringVar(&fl.dnsLabels, "dns-labels", "k8s-app=kube-dns", "pod labels of the cluster DNS pods, key=value,...")
	f.StringVar(&fl.dnsPorts, "dns-ports", "UDP 53,TCP 53", `ports of cluster DNS, e.g. "UDP 5353,TCP 5353" on OpenShift; "none" for no DNS rule`)
	f.StringArrayVar(&fl.traffic, "traffic", nil, "observed flows to merge when extracting from manifests (see tightnet extract)")
	f.StringVar(&fl.clusterDNS, "cluster-domain", extract.DefaultClusterDomain, "the cluster's DNS domain, when extracting from manifests")
	f.StringVar(&fl.monitoring, "monitoring-namespace", extract.DefaultMonitoringNamespace, "the namespace Prometheus scrapes from, when extracting")
	f.StringVar(&fl.failOn, "fail-on", "error", "exit 1 when a finding of at least this severity is reported: error, warning or never")
	f.StringArrayVar(&fl.existing, "existing", nil, `policies in force (files or directories, or "cluster" for the live cluster's; repeatable); without it, the policies among the inputs`)
	f.StringVar(&fl.outDir, "out-dir", "", "write policies.yaml, synthesis.json, the proposal's connectivity.txt and a short report.md into this directory")
	f.StringArrayVar(&fl.baseline, "baseline", nil, "baseline rules (np-guard format, repeatable): deny rules remove what they describe from the proposal, each removal reported; allow rules add what they describe")
	f.StringVar(&fl.mode, "mode", "replace", "replace: the proposal supersedes the policies in force; augment: keep them and add only what is missing")
	fl.registerGuardrails(cmd)
	return cmd
}

func runSynthesize(cmd *cobra.Command, g *globals, fl *synthesizeFlags, args []string) error {
	format, err := fl.output.format(synthesizeFormats())
	if err != nil {
		return err
	}
	threshold, err := parseFailOn(fl.failOn)
	if err != nil {
		return err
	}
	opts, err := fl.options()
	if err != nil {
		return err
	}
	topo, err := fl.topology(cmd, g, args)
	if err != nil {
		return err
	}
	if fl.mode != "replace" && fl.mode != "augment" {
		return usagef("--mode %q: want replace or augment", fl.mode)
	}
	objs, reqs, findings := requirements.FromTopology(topo)
	if len(fl.baseline) > 0 && fl.baselineAs != baselineAsAdmin {
		rules, err := baseline.Load(fl.baseline...)
		if err != nil {
			return usageError{err}
		}
		var applied []model.Finding
		reqs, applied = applyBaseline(objs, reqs, rules)
		findings = append(findings, applied...)
	}
	existing, err := fl.existingPolicies(cmd, g, topo)
	if err != nil {
		return err
	}
	if fl.mode == "augment" {
		if reqs, opts.Augment, err = missing(cmd, objs, existing, reqs); err != nil {
			return err
		}
	}
	proposal := synth.Policies(objs, reqs, opts)
	findings = append(findings, proposal.Findings...)
	guardrails, guardrailFindings, err := fl.guardrails(format)
	if err != nil {
		return err
	}
	findings = append(findings, guardrailFindings...)
	slices.SortFunc(findings, model.CompareFindings)

	summary := synthesisSummary(proposal, existing, fl.mode, findings)
	summaryJSON, err := model.Marshal(summary)
	if err != nil {
		return fmt.Errorf("encode synthesis summary: %w", err)
	}
	var buf bytes.Buffer
	switch format {
	case report.JSON:
		buf.Write(summaryJSON)
	default:
		if err := synth.WriteYAML(&buf, proposal); err != nil {
			return err
		}
		if err := synth.WriteGuardrailsYAML(&buf, guardrails); err != nil {
			return err
		}
	}
	if fl.summary != "" {
		if err := writeFileAtomic(fl.summary, summaryJSON); err != nil {
			return err
		}
	}
	if fl.outDir != "" {
		if err := writeOutDir(cmd, fl.outDir, objs, proposal, summary, summaryJSON); err != nil {
			return err
		}
	} else if err := fl.output.write(g, buf.Bytes()); err != nil {
		return err
	}
	if err := report.Findings(g.streams.Err, findings); err != nil {
		return err
	}
	if err := writeResults(g.resultsDir, map[string]string{
		"out-dir":  fl.outDir,
		"policies": strconv.Itoa(len(proposal.Policies)),
		"findings": strconv.Itoa(len(findings)),
		"output":   fl.output.path,
		"summary":  fl.summary,
	}); err != nil {
		return err
	}
	g.logger().Info("policies proposed", "policies", len(proposal.Policies), "connections", len(reqs), "findings", len(findings))
	if countAtLeast(findings, threshold) > 0 {
		return errFindings
	}
	return nil
}

func (fl *synthesizeFlags) options() (synth.Options, error) {
	opts := synth.DefaultOptions()
	opts.NamedPorts = fl.namedPorts
	labels, err := parseLabels("--dns-labels", fl.dnsLabels)
	if err != nil {
		return opts, err
	}
	opts.DNS = synth.Endpoint{Namespace: fl.dnsNS, PodLabels: labels}
	switch fl.dnsPorts {
	case "none":
		opts.DNSPorts = model.NoConnections()
	default:
		if opts.DNSPorts, err = model.ParseConnectionSet(fl.dnsPorts); err != nil || opts.DNSPorts.IsEmpty() {
			return opts, usagef("--dns-ports %q: want protocols and ports such as \"UDP 53,TCP 53\", or none", fl.dnsPorts)
		}
	}
	if _, err := fl.ingress.options(); err != nil {
		return opts, err // validates the pair of flags
	}
	if fl.ingress.namespace != "" {
		labels, err := parseLabels("--ingress-controller-labels", fl.ingress.labels)
		if err != nil {
			return opts, err
		}
		opts.IngressController = synth.Endpoint{Namespace: fl.ingress.namespace, PodLabels: labels}
	}
	return opts, nil
}

// writeOutDir writes the proposal, its summary, the connectivity it would
// give and a short Markdown report into dir, with review.WriteFiles: a
// failed run leaves dir as it was.
func writeOutDir(cmd *cobra.Command, dir string, objs *manifest.Objects, p synth.Proposal, summary Synthesis, summaryJSON []byte) error {
	var policies bytes.Buffer
	if err := synth.WriteYAML(&policies, p); err != nil {
		return err
	}
	proposed := *objs
	proposed.Policies = nil
	for _, pol := range p.Policies {
		proposed.Policies = append(proposed.Policies, manifest.NetworkPolicy{Object: pol.Object})
	}
	res, err := analyze.Connectivity(cmd.Context(), &proposed)
	if err != nil {
		return err
	}
	var conn bytes.Buffer
	if err := report.Connectivity(&conn, report.Text, report.View{Matrix: res.Matrix}); err != nil {
		return err
	}
	var md bytes.Buffer
	synthesisReport(&md, summary, len(p.Policies), res.Matrix.Len())
	files := map[string][]byte{
		"policies.yaml":    policies.Bytes(),
		"synthesis.json":   summaryJSON,
		"connectivity.txt": conn.Bytes(),
		"report.md":        md.Bytes(),
	}
	if _, err := review.WriteFiles(dir, files); err != nil {
		return fmt.Errorf("--out-dir: %w", err)
	}
	return nil
}

// synthesisReport is the short report: what was proposed, what it allows,
// what to look at.
func synthesisReport(w *bytes.Buffer, s Synthesis, proposed, connections int) {
	counts := map[string]int{}
	workloads := 0
	for _, p := range s.Policies {
		counts[p.Status]++
		if p.Workload != nil {
			workloads++
		}
	}
	fmt.Fprintf(w, "# tightnet proposal\n\n")
	fmt.Fprintf(w, "**%d policies proposed for %d workloads; they allow %d connections between peers; %d findings.**\n\n",
		proposed, workloads, connections, len(s.Findings))
	fmt.Fprintf(w, "Policies: %d new, %d changed, %d kept, %d obsolete.\n\n", counts["new"], counts["changed"], counts["kept"], counts["obsolete"])
	fmt.Fprintf(w, "| policy | status | allows |\n|---|---|---|\n")
	for _, p := range s.Policies {
		var allows []string
		for _, a := range p.Allows {
			word := "from"
			if a.Direction == "egress" {
				word = "to"
			}
			allows = append(allows, fmt.Sprintf("%s %s %s : %s", a.Direction, word, a.Peer, a.Conns))
		}
		fmt.Fprintf(w, "| %s/%s | %s | %s |\n", p.Namespace, p.Name, p.Status, strings.Join(allows, "<br>"))
	}
	if len(s.Findings) > 0 {
		fmt.Fprintf(w, "\n## Findings\n\n")
		for _, f := range s.Findings {
			fmt.Fprintf(w, "- %s\n", f)
		}
	}
	fmt.Fprintf(w, "\nFiles: `policies.yaml` (apply these), `synthesis.json` (this summary), `connectivity.txt` (what the policies allow).\n")
}

// parseLabels reads key=value,key=value.
func parseLabels(flag, s string) (map[string]string, error) {
	out := map[string]string{}
	for kv := range strings.SplitSeq(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("%s %q: want key=value pairs separated by commas", flag, s)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// topology reads a Topology artifact when the one input is such a file,
// else extracts one from the manifests.
func (fl *synthesizeFlags) topology(cmd *cobra.Command, g *globals, args []string) (extract.Artifact, error) {
	paths := append(slices.Clone(args), fl.inputs.files...)
	if len(paths) == 1 && paths[0] != "-" {
		if data, err := os.ReadFile(paths[0]); err == nil && looksLikeArtifact(data, extract.KindTopology) {
			topo, err := extract.Decode(data)
			if err != nil {
				return extract.Artifact{}, fmt.Errorf("%s: %w", paths[0], err)
			}
			return topo, nil
		}
	}
	objs, err := fl.inputs.read(cmd.Context(), g, args, g.logger())
	if err != nil {
		return extract.Artifact{}, err
	}
	var flows []extract.Flow
	for _, path := range fl.traffic {
		f, err := os.Open(path)
		if err != nil {
			return extract.Artifact{}, fmt.Errorf("--traffic: %w", err)
		}
		fs, findings, err := extract.ReadTraffic(f, path)
		f.Close()
		if err != nil {
			return extract.Artifact{}, fmt.Errorf("--traffic %s: %w", path, err)
		}
		flows = append(flows, fs...)
		objs.Findings = append(objs.Findings, findings...)
	}
	return extract.Topology(cmd.Context(), objs, extract.Options{ClusterDomain: fl.clusterDNS, MonitoringNamespace: fl.monitoring, Traffic: flows})
}

// looksLikeArtifact reports whether data is a JSON object of that kind.
func looksLikeArtifact(data []byte, kind string) bool {
	var h struct {
		Kind string `json:"kind"`
	}
	trimmed := bytes.TrimSpace(data)
	return len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &h) == nil && h.Kind == kind
}

// CodeExternalHost reports an external destination known by name only,
// which a NetworkPolicy cannot express.
const CodeExternalHost = requirements.CodeExternalHost

// KindSynthesis is the summary artifact of the synthesize stage.
const KindSynthesis = "Synthesis"

// Synthesis summarises a proposal for pipelines and reviewers.
type Synthesis struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Policies   []SynthesisPolicy `json:"policies"`
	Findings   []model.Finding   `json:"findings"`
}

// SynthesisPolicy is one policy, proposed or in force, and what it allows.
type SynthesisPolicy struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Workload is the workload it selects; absent for a default deny and
	// for policies in force.
	Workload *model.Peer `json:"workload,omitempty"`
	// Status: new (proposed, none in force by that name), changed (proposed
	// in place of one in force with another spec), kept (in force, and
	// proposed as is or left by augment), obsolete (in force, superseded).
	Status string            `json:"status"`
	Allows []synth.Allowance `json:"allows"`
}

func synthesisSummary(p synth.Proposal, existing []manifest.NetworkPolicy, mode string, findings []model.Finding) Synthesis {
	s := Synthesis{APIVersion: model.APIVersion, Kind: KindSynthesis, Policies: []SynthesisPolicy{}, Findings: findings}
	if s.Findings == nil {
		s.Findings = []model.Finding{}
	}
	inForce := map[[2]string]*manifest.NetworkPolicy{}
	for i := range existing {
		o := existing[i].Object
		inForce[[2]string{o.Namespace, o.Name}] = &existing[i]
	}
	proposed := map[[2]string]bool{}
	for _, pol := range p.Policies {
		key := [2]string{pol.Object.Namespace, pol.Object.Name}
		proposed[key] = true
		status := "new"
		if old := inForce[key]; old != nil {
			status = "changed"
			if equality.Semantic.DeepEqual(old.Object.Spec, pol.Object.Spec) {
				status = "kept"
			}
		}
		sp := SynthesisPolicy{Namespace: key[0], Name: key[1], Status: status, Allows: pol.Allows}
		if pol.Workload.Name != "" {
			w := pol.Workload
			sp.Workload = &w
		}
		if sp.Allows == nil {
			sp.Allows = []synth.Allowance{}
		}
		s.Policies = append(s.Policies, sp)
	}
	for _, e := range existing {
		key := [2]string{e.Object.Namespace, e.Object.Name}
		if proposed[key] {
			continue
		}
		status := "obsolete"
		if mode == "augment" {
			status = "kept"
		}
		s.Policies = append(s.Policies, SynthesisPolicy{Namespace: key[0], Name: key[1], Status: status, Allows: []synth.Allowance{}})
	}
	slices.SortFunc(s.Policies, func(a, b SynthesisPolicy) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return s
}

// existingPolicies are the NetworkPolicies in force: --existing, or the
// inputs' own.
func (fl *synthesizeFlags) existingPolicies(cmd *cobra.Command, g *globals, topo extract.Artifact) ([]manifest.NetworkPolicy, error) {
	if len(fl.existing) > 0 {
		live, err := isCluster(fl.existing)
		if err != nil {
			return nil, err
		}
		var objs *manifest.Objects
		if live {
			objs, err = fl.inputs.cluster.read(cmd.Context(), g.logger())
		} else {
			objs, err = manifest.Read(cmd.Context(), fl.existing, manifest.Options{Logger: g.logger()})
		}
		if err != nil {
			return nil, fmt.Errorf("--existing: %w", err)
		}
		return objs.Policies, nil
	}
	var out []manifest.NetworkPolicy
	for _, p := range topo.Policies {
		if p.Kind != "NetworkPolicy" {
			continue
		}
		var np networkingv1.NetworkPolicy
		if err := json.Unmarshal(p.Object, &np); err != nil {
			return nil, fmt.Errorf("topology policy %s/%s: %w", p.Namespace, p.Name, err)
		}
		if np.Namespace == "" {
			np.Namespace = p.Namespace
		}
		out = append(out, manifest.NetworkPolicy{Object: &np, Source: p.Source})
	}
	return out, nil
}

// missing keeps of each requirement what the policies in force do not
// allow yet, and says which workloads they isolate: the synthesizer then
// only adds. Requirements from a whole namespace are kept whole (adding an
// allowance already in force changes nothing).
func missing(cmd *cobra.Command, objs *manifest.Objects, existing []manifest.NetworkPolicy, reqs []synth.Requirement) ([]synth.Requirement, *synth.Isolation, error) {
	inForce := *objs
	inForce.Policies = existing
	res, err := analyze.Connectivity(cmd.Context(), &inForce)
	if err != nil {
		return nil, nil, err
	}
	iso := &synth.Isolation{Ingress: map[model.Peer]bool{}, Egress: map[model.Peer]bool{}}
	for _, x := range res.Exposure {
		iso.Ingress[x.Peer], iso.Egress[x.Peer] = x.IngressIsolated, x.EgressIsolated
	}
	allowed := func(src, dst model.Peer) model.ConnectionSet {
		switch {
		case src.Kind == model.PeerExternal || dst.Kind == model.PeerExternal:
			// What every address of the range may do: the intersection over
			// the matrix's ranges inside it.
			c := model.AllConnections()
			for _, p := range res.Matrix.Peers() {
				if p.Kind != model.PeerExternal {
					continue
				}
				if src.Kind == model.PeerExternal && model.RangeSet(p.Range).Overlaps(model.RangeSet(src.Range)) {
					c = c.Intersect(res.Matrix.Get(model.Edge{Src: p, Dst: dst}))
				}
				if dst.Kind == model.PeerExternal && model.RangeSet(p.Range).Overlaps(model.RangeSet(dst.Range)) {
					c = c.Intersect(res.Matrix.Get(model.Edge{Src: src, Dst: p}))
				}
			}
			return c
		case src.Kind == model.PeerIngressController:
			ex, err := analyze.Explain(cmd.Context(), &inForce, model.IngressControllerName, dst.String())
			if err != nil {
				return model.NoConnections()
			}
			return ex.Conns
		}
		return res.Matrix.Get(model.Edge{Src: src, Dst: dst})
	}
	var out []synth.Requirement
	for _, r := range reqs {
		if r.FromNamespace == "" {
			r.Conns = r.Conns.Subtract(allowed(r.Src, r.Dst))
		}
		if !r.Conns.IsEmpty() {
			out = append(out, r)
		}
	}
	return out, iso, nil
}

// --baseline-as values.
const (
	baselineAsPolicies = "policies"
	baselineAsAdmin    = "admin"
)

func (fl *synthesizeFlags) registerGuardrails(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&fl.baselineAs, "baseline-as", baselineAsPolicies,
		"policies: the --baseline rules shape the proposal; admin: the proposal stays plain and the rules follow it as cluster guardrails (AdminNetworkPolicies, Admin tier)")
	f.BoolVar(&fl.cnp, "cnp", false, "with --baseline-as admin, write ClusterNetworkPolicies (policy.networking.k8s.io/v1beta1, tier Admin) instead of AdminNetworkPolicies")
	f.Int32Var(&fl.guardrailPriority, "guardrail-priority", synth.DefaultGuardrailPriority,
		"with --baseline-as admin, the priority of the first guardrail; each next one takes the next number, in the rules' order")
}

// guardrails are, with --baseline-as admin, the --baseline rules as
// admin-tier policies, written after the NetworkPolicies in the YAML
// output (one stream to review and apply), and their findings: the parts
// of rules no admin policy can enforce. With policies, none: the rules
// shaped the proposal instead.
func (fl *synthesizeFlags) guardrails(format report.Format) (synth.GuardrailSet, []model.Finding, error) {
	switch fl.baselineAs {
	case baselineAsPolicies:
		if fl.cnp || fl.guardrailPriority != synth.DefaultGuardrailPriority {
			return synth.GuardrailSet{}, nil, usagef("--cnp and --guardrail-priority shape cluster guardrails: add --baseline-as admin")
		}
		return synth.GuardrailSet{}, nil, nil
	case baselineAsAdmin:
	default:
		return synth.GuardrailSet{}, nil, usagef("--baseline-as %q: want policies or admin", fl.baselineAs)
	}
	switch {
	case len(fl.baseline) == 0:
		return synth.GuardrailSet{}, nil, usagef("--baseline-as admin writes baseline rules as guardrails: give the rules with --baseline FILE")
	case format == report.JSON:
		return synth.GuardrailSet{}, nil, usagef("--baseline-as admin writes the guardrails after the policies in the YAML output, and -o json writes the summary only: use -o yaml, with --summary FILE for the summary")
	case fl.outDir != "":
		return synth.GuardrailSet{}, nil, usagef("--baseline-as admin writes the guardrails after the policies in the YAML output, which --out-dir does not carry: use --out FILE")
	case fl.guardrailPriority < 0 || fl.guardrailPriority > 1000:
		return synth.GuardrailSet{}, nil, usagef("--guardrail-priority %d: want 0-1000, the priorities of the Admin tier", fl.guardrailPriority)
	}
	rules, err := baseline.Load(fl.baseline...)
	if err != nil {
		return synth.GuardrailSet{}, nil, usageError{err}
	}
	g, findings := synth.Guardrails(rules, synth.GuardrailOptions{CNP: fl.cnp, Priority: fl.guardrailPriority})
	return g, findings, nil
}
