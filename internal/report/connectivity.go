// Package report renders tightnet's artifacts for people: text, CSV,
// Markdown, Graphviz DOT and Mermaid.
//
// Input: model values (matrices, findings). Output: bytes on an io.Writer,
// deterministic for equal input. Must not depend on how artifacts were
// produced (no manifest, analyze or stage imports); it is the only package
// that formats for humans.
package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"github.com/tightnet/tightnet/internal/model"
)

// Format is an output format for a connectivity map.
type Format string

const (
	Text     Format = "txt"
	JSON     Format = "json"
	CSV      Format = "csv"
	Markdown Format = "md"
	DOT      Format = "dot"
	Mermaid  Format = "mermaid"
	// Rules is the firewall-rule view: firewall.Rules rendered by Firewall.
	Rules Format = "rules"
)

// ConnectivityFormats lists the formats Connectivity renders, JSON included.
func ConnectivityFormats() []Format { return []Format{Text, JSON, CSV, Markdown, DOT, Mermaid, Rules} }

// ParseFormat checks a format name against the allowed ones.
func ParseFormat(s string, allowed []Format) (Format, error) {
	for _, f := range allowed {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(allowed))
	for i, f := range allowed {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown output format %q: want one of %s", s, strings.Join(names, ", "))
}

// View is the part of a matrix to render: all of it, or only the edges that
// touch the focus peers.
type View struct {
	Matrix model.Matrix
	// Focus keeps edges whose source or destination is one of these peers;
	// empty keeps every edge.
	Focus []model.Peer
}

// Edges yields the view's edges in order.
func (v View) Edges() iter.Seq2[model.Edge, model.ConnectionSet] {
	return func(yield func(model.Edge, model.ConnectionSet) bool) {
		for e, c := range v.Matrix.All() {
			if len(v.Focus) > 0 && !slices.Contains(v.Focus, e.Src) && !slices.Contains(v.Focus, e.Dst) {
				continue
			}
			if !yield(e, c) {
				return
			}
		}
	}
}

// Connectivity renders a view in one of the human formats (not JSON, which
// is the artifact itself).
func Connectivity(w io.Writer, f Format, v View) error {
	return renderWith(w, "connectivity", f, map[Format]func(*bufio.Writer) error{
		Text:     func(bw *bufio.Writer) error { return connectivityText(bw, v) },
		CSV:      func(bw *bufio.Writer) error { return connectivityCSV(bw, v) },
		Markdown: func(bw *bufio.Writer) error { return connectivityMarkdown(bw, v) },
		DOT:      func(bw *bufio.Writer) error { return connectivityDOT(bw, v) },
		Mermaid:  func(bw *bufio.Writer) error { return connectivityMermaid(bw, v) },
	})
}

// renderWith runs the renderer for format f over a buffered writer; what names
// the artifact in the error for a format it has no renderer for.
func renderWith(w io.Writer, what string, f Format, renderers map[Format]func(*bufio.Writer) error) error {
	r, ok := renderers[f]
	if !ok {
		return fmt.Errorf("render %s: format %q is not a report format", what, f)
	}
	bw := bufio.NewWriter(w)
	if err := r(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// connectivityText writes one line per edge: "SRC => DST : CONNS".
func connectivityText(w *bufio.Writer, v View) error {
	for e, c := range v.Edges() {
		w.WriteString(e.Src.String())
		w.WriteString(" => ")
		w.WriteString(e.Dst.String())
		w.WriteString(" : ")
		w.WriteString(c.String())
		w.WriteByte('\n')
	}
	return nil
}

func connectivityCSV(w *bufio.Writer, v View) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"src", "dst", "conn"})
	for e, c := range v.Edges() {
		cw.Write([]string{e.Src.String(), e.Dst.String(), c.String()})
	}
	cw.Flush()
	return cw.Error()
}

func connectivityMarkdown(w *bufio.Writer, v View) error {
	w.WriteString("| src | dst | conn |\n|-----|-----|------|\n")
	for e, c := range v.Edges() {
		fmt.Fprintf(w, "| %s | %s | %s |\n", mdCell(e.Src.String()), mdCell(e.Dst.String()), mdCell(c.String()))
	}
	return nil
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// graphNodes lists the peers a graph draws: those on some edge of the view,
// or every peer when the view has no focus.
func graphNodes(v View) []model.Peer {
	if len(v.Focus) == 0 {
		return v.Matrix.Peers()
	}
	seen := map[model.Peer]bool{}
	for e := range v.Edges() {
		seen[e.Src], seen[e.Dst] = true, true
	}
	for _, p := range v.Focus {
		seen[p] = true
	}
	var out []model.Peer
	for _, p := range v.Matrix.Peers() {
		if seen[p] {
			out = append(out, p)
		}
	}
	return out
}

// byNamespace splits peers into workloads per namespace (in order) and the
// rest.
func byNamespace(peers []model.Peer) (namespaces []string, members map[string][]model.Peer, others []model.Peer) {
	members = map[string][]model.Peer{}
	for _, p := range peers {
		if p.Kind != model.PeerWorkload {
			others = append(others, p)
			continue
		}
		if _, ok := members[p.Namespace]; !ok {
			namespaces = append(namespaces, p.Namespace)
		}
		members[p.Namespace] = append(members[p.Namespace], p)
	}
	return namespaces, members, others
}

// connectivityDOT draws one cluster per namespace, external ranges and the
// ingress controller outside them, and one labelled edge per connection.
func connectivityDOT(w *bufio.Writer, v View) error {
	nodes := graphNodes(v)
	id := nodeIDs(nodes)
	w.WriteString("digraph connectivity {\n")
	w.WriteString("\tgraph [rankdir=LR, fontname=\"Helvetica\"];\n")
	w.WriteString("\tnode [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	w.WriteString("\tedge [fontname=\"Helvetica\", fontsize=10];\n")
	namespaces, members, others := byNamespace(nodes)
	for i, ns := range namespaces {
		fmt.Fprintf(w, "\tsubgraph cluster_%d {\n\t\tlabel=%s;\n", i, dotQuote(ns))
		for _, p := range members[ns] {
			fmt.Fprintf(w, "\t\t%s [label=%s];\n", id[p], dotQuote(p.Name+"["+p.WorkloadKind+"]"))
		}
		w.WriteString("\t}\n")
	}
	for _, p := range others {
		fmt.Fprintf(w, "\t%s [label=%s, shape=ellipse, style=dashed];\n", id[p], dotQuote(p.String()))
	}
	for e, c := range v.Edges() {
		fmt.Fprintf(w, "\t%s -> %s [label=%s];\n", id[e.Src], id[e.Dst], dotQuote(c.String()))
	}
	w.WriteString("}\n")
	return nil
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// nodeIDs names nodes n0, n1, ... in peer order, so graphs are stable.
func nodeIDs(peers []model.Peer) map[model.Peer]string {
	id := make(map[model.Peer]string, len(peers))
	for i, p := range peers {
		id[p] = fmt.Sprintf("n%d", i)
	}
	return id
}

// connectivityMermaid draws a Mermaid flowchart with a subgraph per namespace.
func connectivityMermaid(w *bufio.Writer, v View) error {
	nodes := graphNodes(v)
	id := nodeIDs(nodes)
	w.WriteString("graph LR\n")
	namespaces, members, others := byNamespace(nodes)
	for i, ns := range namespaces {
		fmt.Fprintf(w, "  subgraph ns%d [%s]\n", i, mermaidQuote(ns))
		for _, p := range members[ns] {
			fmt.Fprintf(w, "    %s[%s]\n", id[p], mermaidQuote(p.Name+"["+p.WorkloadKind+"]"))
		}
		w.WriteString("  end\n")
	}
	for _, p := range others {
		fmt.Fprintf(w, "  %s([%s])\n", id[p], mermaidQuote(p.String()))
	}
	for e, c := range v.Edges() {
		fmt.Fprintf(w, "  %s -->|%s| %s\n", id[e.Src], mermaidQuote(c.String()), id[e.Dst])
	}
	return nil
}

// mermaidQuote quotes a label; Mermaid takes HTML entities inside quotes.
func mermaidQuote(s string) string {
	return `"` + strings.NewReplacer(`"`, "#quot;", "|", "#124;").Replace(s) + `"`
}

// Findings writes one line per finding: "file:line: severity [code] message".
func Findings(w io.Writer, findings []model.Finding) error {
	bw := bufio.NewWriter(w)
	for _, f := range findings {
		bw.WriteString(f.String())
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
