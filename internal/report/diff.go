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

// DiffView is a semantic diff to render: the peers only one configuration
// has, and the edges whose connections differ.
type DiffView struct {
	AddedPeers, RemovedPeers []model.Peer // sorted
	// Changes yields the changed edges sorted by source, then destination.
	// Renderers may range over it more than once.
	Changes iter.Seq[model.Change]
}

// DiffViewOf is the view of a ConnectivityDiff artifact.
func DiffViewOf(d model.ConnectivityDiff) DiffView {
	return DiffView{AddedPeers: d.AddedPeers, RemovedPeers: d.RemovedPeers, Changes: slices.Values(d.Changes)}
}

// DiffFormats lists the formats Diff renders, JSON (the artifact) included.
func DiffFormats() []Format { return []Format{Text, JSON, CSV, Markdown, DOT, Mermaid} }

// Colours of the graph formats: added green, removed red, changed orange.
var changeColor = map[model.ChangeKind]string{model.Added: "#1a7f37", model.Removed: "#cf222e", model.Changed: "#d97706"}

// Diff renders a diff in one of the human formats (not JSON, which is the
// artifact itself).
func Diff(w io.Writer, f Format, v DiffView) error {
	if v.Changes == nil {
		v.Changes = func(func(model.Change) bool) {}
	}
	return renderWith(w, "diff", f, map[Format]func(*bufio.Writer) error{
		Text:     func(bw *bufio.Writer) error { return diffText(bw, v) },
		CSV:      func(bw *bufio.Writer) error { return diffCSV(bw, v) },
		Markdown: func(bw *bufio.Writer) error { return diffMarkdown(bw, v) },
		DOT:      func(bw *bufio.Writer) error { return diffDOT(bw, v) },
		Mermaid:  func(bw *bufio.Writer) error { return diffMermaid(bw, v) },
	})
}

// DiffSummary counts a diff in one line: "3 connections added, 1 removed,
// 2 changed", then "; 1 peer added, 0 removed" when peers differ, or "no
// differences".
func DiffSummary(v DiffView) string {
	counts := map[model.ChangeKind]int{}
	if v.Changes != nil {
		for c := range v.Changes {
			counts[c.Kind]++
		}
	}
	added, removed := len(v.AddedPeers), len(v.RemovedPeers)
	if counts[model.Added]+counts[model.Removed]+counts[model.Changed]+added+removed == 0 {
		return "no differences"
	}
	s := fmt.Sprintf("%s added, %d removed, %d changed", plural(counts[model.Added], "connection"), counts[model.Removed], counts[model.Changed])
	if added+removed > 0 {
		s += fmt.Sprintf("; %s added, %d removed", plural(added, "peer"), removed)
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// peerDiffs says, for each peer only one side has, "added workload",
// "removed address range", ...
type peerDiffs map[model.Peer]string

func newPeerDiffs(v DiffView) peerDiffs {
	d := peerDiffs{}
	for _, p := range v.AddedPeers {
		d[p] = "added " + peerNoun(p)
	}
	for _, p := range v.RemovedPeers {
		d[p] = "removed " + peerNoun(p)
	}
	return d
}

func peerNoun(p model.Peer) string {
	switch p.Kind {
	case model.PeerWorkload:
		return "workload"
	case model.PeerExternal:
		return "address range"
	}
	return "peer"
}

// marked is the peer followed by " [added workload]" when it is on one
// side only.
func (d peerDiffs) marked(p model.Peer) string {
	if m, ok := d[p]; ok {
		return p.String() + " [" + m + "]"
	}
	return p.String()
}

// peers yields the peers only one side has with what they are ("added
// workload"): added ones, then removed ones.
func (v DiffView) peers() iter.Seq2[string, model.Peer] {
	return func(yield func(string, model.Peer) bool) {
		for _, p := range v.AddedPeers {
			if !yield("added "+peerNoun(p), p) {
				return
			}
		}
		for _, p := range v.RemovedPeers {
			if !yield("removed "+peerNoun(p), p) {
				return
			}
		}
	}
}

// diffText writes one line per changed edge,
//
//	diff-type: changed, source: SRC, destination: DST, old: CONNS, new: CONNS
//
// marking peers on one side only ("web/new[Deployment] [added workload]"),
// then one line per such peer, "added workload: web/new[Deployment]".
func diffText(w *bufio.Writer, v DiffView) error {
	marks := newPeerDiffs(v)
	for c := range v.Changes {
		fmt.Fprintf(w, "diff-type: %s, source: %s, destination: %s, old: %s, new: %s\n",
			c.Kind, marks.marked(c.Src), marks.marked(c.Dst), c.Old, c.New)
	}
	for what, p := range v.peers() {
		fmt.Fprintf(w, "%s: %s\n", what, p)
	}
	return nil
}

// diffCSV writes one row per changed edge, then one per peer on one side
// only, whose diff-type says what it is ("added workload") and whose src is
// the peer.
func diffCSV(w *bufio.Writer, v DiffView) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"diff-type", "src", "dst", "old", "new"})
	for c := range v.Changes {
		cw.Write([]string{c.Kind.String(), c.Src.String(), c.Dst.String(), c.Old.String(), c.New.String()})
	}
	for what, p := range v.peers() {
		cw.Write([]string{what, p.String(), "", "", ""})
	}
	cw.Flush()
	return cw.Error()
}

// diffMarkdown writes the summary in bold, a table of changed edges and a
// table of peers on one side only; empty tables are left out.
func diffMarkdown(w *bufio.Writer, v DiffView) error {
	fmt.Fprintf(w, "**%s**\n", DiffSummary(v))
	marks := newPeerDiffs(v)
	first := true
	for c := range v.Changes {
		if first {
			w.WriteString("\n| diff-type | src | dst | old | new |\n|-----------|-----|-----|-----|-----|\n")
			first = false
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", c.Kind, mdCell(marks.marked(c.Src)), mdCell(marks.marked(c.Dst)),
			mdCell(c.Old.String()), mdCell(c.New.String()))
	}
	first = true
	for what, p := range v.peers() {
		if first {
			w.WriteString("\n| peer-diff | peer |\n|-----------|------|\n")
			first = false
		}
		fmt.Fprintf(w, "| %s | %s |\n", what, mdCell(p.String()))
	}
	return nil
}

// diffNodes lists the peers a diff graph draws: those on a changed edge and
// those on one side only, sorted.
func diffNodes(v DiffView) []model.Peer {
	seen := map[model.Peer]bool{}
	for c := range v.Changes {
		seen[c.Src], seen[c.Dst] = true, true
	}
	for _, p := range slices.Concat(v.AddedPeers, v.RemovedPeers) {
		seen[p] = true
	}
	out := make([]model.Peer, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.SortFunc(out, model.Peer.Compare)
	return out
}

// changeLabel is what a graph edge says: the new connections of an added
// edge, the old of a removed one, "old → new" for a changed one.
func changeLabel(c model.Change) string {
	switch c.Kind {
	case model.Added:
		return c.New.String()
	case model.Removed:
		return c.Old.String()
	}
	return c.Old.String() + " → " + c.New.String()
}

// diffDOT draws the peers of the diff, one cluster per namespace, and only
// the changed edges: added green, removed red and dashed, changed orange
// and labelled "old → new". Peers on one side only are drawn in the colour
// of their side, removed ones dashed; the graph's label is the summary.
func diffDOT(w *bufio.Writer, v DiffView) error {
	nodes := diffNodes(v)
	id := nodeIDs(nodes)
	peerKind := map[model.Peer]model.ChangeKind{}
	for _, p := range v.AddedPeers {
		peerKind[p] = model.Added
	}
	for _, p := range v.RemovedPeers {
		peerKind[p] = model.Removed
	}
	nodeAttrs := func(p model.Peer, style string) string {
		k, ok := peerKind[p]
		if !ok {
			return ""
		}
		attrs := fmt.Sprintf(", color=%s, fontcolor=%s, penwidth=2", dotQuote(changeColor[k]), dotQuote(changeColor[k]))
		if k == model.Removed {
			attrs += `, style="` + style + `dashed"`
		}
		return attrs
	}
	w.WriteString("digraph diff {\n")
	fmt.Fprintf(w, "\tgraph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, label=%s];\n", dotQuote(DiffSummary(v)))
	w.WriteString("\tnode [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	w.WriteString("\tedge [fontname=\"Helvetica\", fontsize=10];\n")
	namespaces, members, others := byNamespace(nodes)
	for i, ns := range namespaces {
		fmt.Fprintf(w, "\tsubgraph cluster_%d {\n\t\tlabel=%s;\n", i, dotQuote(ns))
		for _, p := range members[ns] {
			fmt.Fprintf(w, "\t\t%s [label=%s%s];\n", id[p], dotQuote(p.Name+"["+p.WorkloadKind+"]"), nodeAttrs(p, "rounded,"))
		}
		w.WriteString("\t}\n")
	}
	for _, p := range others {
		attrs := nodeAttrs(p, "")
		if attrs == "" {
			attrs = ", style=dashed"
		}
		fmt.Fprintf(w, "\t%s [label=%s, shape=ellipse%s];\n", id[p], dotQuote(p.String()), attrs)
	}
	for c := range v.Changes {
		color := dotQuote(changeColor[c.Kind])
		style := ""
		if c.Kind == model.Removed {
			style = ", style=dashed"
		}
		fmt.Fprintf(w, "\t%s -> %s [label=%s, color=%s, fontcolor=%s%s];\n", id[c.Src], id[c.Dst], dotQuote(changeLabel(c)), color, color, style)
	}
	w.WriteString("}\n")
	return nil
}

// diffMermaid draws the same graph as a Mermaid flowchart: added edges
// "-->", removed "-.->", changed "==>", coloured by linkStyle, and peers on
// one side only in the classes "added" and "removed".
func diffMermaid(w *bufio.Writer, v DiffView) error {
	nodes := diffNodes(v)
	id := nodeIDs(nodes)
	class := map[model.Peer]string{}
	for _, p := range v.AddedPeers {
		class[p] = ":::added"
	}
	for _, p := range v.RemovedPeers {
		class[p] = ":::removed"
	}
	w.WriteString("graph LR\n")
	namespaces, members, others := byNamespace(nodes)
	for i, ns := range namespaces {
		fmt.Fprintf(w, "  subgraph ns%d [%s]\n", i, mermaidQuote(ns))
		for _, p := range members[ns] {
			fmt.Fprintf(w, "    %s[%s]%s\n", id[p], mermaidQuote(p.Name+"["+p.WorkloadKind+"]"), class[p])
		}
		w.WriteString("  end\n")
	}
	for _, p := range others {
		fmt.Fprintf(w, "  %s([%s])%s\n", id[p], mermaidQuote(p.String()), class[p])
	}
	arrow := map[model.ChangeKind]string{model.Added: "-->", model.Removed: "-.->", model.Changed: "==>"}
	links := map[model.ChangeKind][]string{}
	n := 0
	for c := range v.Changes {
		fmt.Fprintf(w, "  %s %s|%s| %s\n", id[c.Src], arrow[c.Kind], mermaidQuote(changeLabel(c)), id[c.Dst])
		links[c.Kind] = append(links[c.Kind], fmt.Sprint(n))
		n++
	}
	if len(v.AddedPeers) > 0 {
		fmt.Fprintf(w, "  classDef added stroke:%s,stroke-width:2px,color:%s\n", changeColor[model.Added], changeColor[model.Added])
	}
	if len(v.RemovedPeers) > 0 {
		fmt.Fprintf(w, "  classDef removed stroke:%s,stroke-width:2px,stroke-dasharray:5 3,color:%s\n", changeColor[model.Removed], changeColor[model.Removed])
	}
	for _, k := range []model.ChangeKind{model.Added, model.Removed, model.Changed} {
		if len(links[k]) > 0 {
			fmt.Fprintf(w, "  linkStyle %s stroke:%s,color:%s\n", strings.Join(links[k], ","), changeColor[k], changeColor[k])
		}
	}
	return nil
}
