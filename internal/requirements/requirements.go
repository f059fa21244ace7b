// Package requirements turns what extraction found (a Topology) into what
// the synthesizer needs: the workloads and namespaces as objects, and the
// required connections and exposures with their reasons.
//
// Input: an extract.Artifact. Output: manifest.Objects, synth.Requirements
// and findings for destinations no policy can express. It sits between
// extract and synth so that neither depends on the other; it must not
// depend on analyze, report or stage.
package requirements

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/synth"
)

// CodeExternalHost reports an external destination known by name only,
// which a NetworkPolicy cannot express.
const CodeExternalHost = "synth-external-host"

// FromTopology turns a Topology into the synthesizer's input: the
// workloads and namespaces, and the connections and exposures with their
// reasons. External destinations given as addresses become ipBlocks;
// names cannot, and are reported.
func FromTopology(topo extract.Artifact) (*manifest.Objects, []synth.Requirement, []model.Finding) {
	objs := &manifest.Objects{}
	for _, ns := range topo.Namespaces {
		objs.Namespaces = append(objs.Namespaces, manifest.Namespace{Name: ns.Name, Labels: ns.Labels, Declared: ns.Declared, Source: ns.Source})
	}
	for _, w := range topo.Workloads {
		objs.Workloads = append(objs.Workloads, manifest.Workload{Kind: w.Peer.WorkloadKind, Namespace: w.Peer.Namespace, Name: w.Peer.Name,
			PodLabels: w.Labels, Source: w.Source})
	}
	findings := slices.Clone(topo.Findings)
	var reqs []synth.Requirement
	for _, c := range topo.Connections {
		reqs = append(reqs, synth.Requirement{Src: c.Src, Dst: c.Dst, Conns: c.Conns, Reasons: reasons(c.Provenance)})
	}
	for _, x := range topo.Exposures {
		r := synth.Requirement{Src: x.Src.Peer, FromNamespace: x.Src.Namespace, Dst: x.Dst, Conns: x.Conns, Reasons: reasons(x.Provenance)}
		reqs = append(reqs, r)
	}
	for _, x := range topo.External {
		host := strings.Trim(x.Host, "[]")
		addr, err := netip.ParseAddr(host)
		if err != nil {
			var at model.Location
			if len(x.Provenance) > 0 {
				at = model.Location{File: x.Provenance[0].File, Line: x.Provenance[0].Line}
			}
			findings = append(findings, model.Finding{Code: CodeExternalHost, Severity: model.Warning, Object: x.Src.String(), Location: at,
				Message: fmt.Sprintf("%s connects to %s on %s, a name a NetworkPolicy cannot express; no egress rule was written: allow the provider's address ranges, or route through an egress gateway", x.Src, x.Host, x.Conns)})
			continue
		}
		addr = addr.Unmap()
		reqs = append(reqs, synth.Requirement{Src: x.Src, Dst: model.ExternalPeer(model.IPRange{First: addr, Last: addr}), Conns: x.Conns, Reasons: reasons(x.Provenance)})
	}
	return objs, reqs, findings
}

func reasons(ps []extract.Provenance) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		var b strings.Builder
		if p.File != "" {
			b.WriteString(model.Location{File: p.File, Line: p.Line}.String() + " ")
		}
		if p.Object != "" {
			b.WriteString(p.Object + " ")
		}
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Reason)
		out = append(out, b.String())
	}
	return out
}
