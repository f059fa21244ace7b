package report

import (
	"bufio"
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/tightnet/tightnet/internal/model"
)

// reviewCSS styles the HTML report; it is inline so the page needs nothing
// but itself.
const reviewCSS = `body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em;color:#1f2328;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
.summary{font-size:1.15em;font-weight:600;padding:.6em 1em;border-radius:6px;background:#f6f8fa;border-left:6px solid #1a7f37}
.summary.violated{border-left-color:#cf222e}.summary.unchecked{border-left-color:#d97706}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;font-size:.9em}
th{background:#f6f8fa}code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
td.added,span.added{color:#1a7f37}td.removed,span.removed{color:#cf222e}td.changed,span.changed{color:#d97706}
td.violated{color:#cf222e}td.unchecked{color:#d97706}td.satisfied{color:#1a7f37}
pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:.85em}
svg{border:1px solid #d0d7de;border-radius:6px;background:#fff;max-width:100%;height:auto}
svg .ns{fill:#f6f8fa;stroke:#8c959f}svg .ns-label{font-weight:600;font-size:13px}
svg .peer rect,svg .peer ellipse{fill:#fff;stroke:#57606a}svg .peer text{font-size:12px}
svg .peer.added rect{stroke:#1a7f37;stroke-width:2}svg .peer.removed rect,svg .peer.removed ellipse{stroke:#cf222e;stroke-width:2;stroke-dasharray:5 3}
svg path.edge{fill:none;stroke-width:2}svg path.edge.added{stroke:#1a7f37}svg path.edge.removed{stroke:#cf222e;stroke-dasharray:6 4}svg path.edge.changed{stroke:#d97706}
svg text.edge-label{font-size:10px;paint-order:stroke;stroke:#fff;stroke-width:3px}`

// Geometry of the SVG graph.
const (
	svgMargin  = 20
	svgColumn  = 300 // width of a namespace column, gap included
	svgBoxW    = 240 // namespace box
	svgNodeW   = 200
	svgNodeH   = 28
	svgRow     = 48
	svgNSTop   = 36 // from the box's top to its first workload
	svgTopY    = 20
	svgOutside = 260 // width of the column of peers outside namespaces
)

// reviewHTML writes one self-contained page: the summary, the graph of the
// changed part, and tables of changes, verdicts, exposure and findings.
func reviewHTML(w *bufio.Writer, r Review) error {
	e := html.EscapeString
	w.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	w.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(w, "<title>tightnet review: %s</title>\n<style>\n%s\n</style>\n</head>\n<body>\n", e(r.Summary), reviewCSS)
	class := "summary"
	switch {
	case r.Counts.Violated > 0:
		class += " violated"
	case r.Counts.Unchecked > 0:
		class += " unchecked"
	}
	w.WriteString("<h1>tightnet review</h1>\n")
	fmt.Fprintf(w, "<p class=\"%s\" id=\"summary\">%s</p>\n", class, e(r.Summary))

	v := DiffViewOf(r.Diff)
	fmt.Fprintf(w, "<h2>Changes</h2>\n<p>%s</p>\n", e(DiffSummary(v)))
	if len(r.Diff.Changes)+len(r.Diff.AddedPeers)+len(r.Diff.RemovedPeers) > 0 {
		diffSVG(w, v)
	}
	if len(r.Diff.Changes) > 0 {
		marks := newPeerDiffs(v)
		w.WriteString("<table class=\"changes\">\n<tr><th>diff-type</th><th>source</th><th>destination</th><th>old</th><th>new</th></tr>\n")
		for _, c := range r.Diff.Changes {
			fmt.Fprintf(w, "<tr><td class=\"%s\">%s</td><td><code>%s</code></td><td><code>%s</code></td><td><code>%s</code></td><td><code>%s</code></td></tr>\n",
				c.Kind, c.Kind, e(marks.marked(c.Src)), e(marks.marked(c.Dst)), e(c.Old.String()), e(c.New.String()))
		}
		w.WriteString("</table>\n")
	}
	if len(r.Diff.AddedPeers)+len(r.Diff.RemovedPeers) > 0 {
		w.WriteString("<table class=\"peers\">\n<tr><th>peer-diff</th><th>peer</th></tr>\n")
		for what, p := range v.peers() {
			kind, _, _ := strings.Cut(what, " ")
			fmt.Fprintf(w, "<tr><td class=\"%s\">%s</td><td><code>%s</code></td></tr>\n", kind, e(what), e(p.String()))
		}
		w.WriteString("</table>\n")
	}

	if vr := r.Verification; vr != nil {
		fmt.Fprintf(w, "<h2>Baseline rules</h2>\n<p>%s</p>\n", e(VerificationSummary(*vr)))
		w.WriteString("<table class=\"verdicts\">\n<tr><th>verdict</th><th>rule</th><th>what it says</th><th>witnesses / reason</th></tr>\n")
		for _, res := range vr.Rules {
			fmt.Fprintf(w, "<tr><td class=\"%s\">%s %s</td><td>%s</td><td><code>%s</code>", res.Verdict, verdictIcon[res.Verdict], res.Verdict, e(res.Name), e(ruleLine(res)))
			if res.Description != "" {
				fmt.Fprintf(w, "<br>%s", e(res.Description))
			}
			w.WriteString("</td><td>")
			if res.Reason != "" {
				w.WriteString(e(res.Reason))
			}
			if len(res.Witnesses) > 0 {
				fmt.Fprintf(w, "%s:<ul>", e(witnessHeading(res)))
				for _, x := range res.Witnesses {
					fmt.Fprintf(w, "<li><code>%s</code></li>", e(witnessLine(x)))
				}
				w.WriteString("</ul>")
			}
			w.WriteString("</td></tr>\n")
		}
		w.WriteString("</table>\n")
	}

	exposed := exposedOnly(r.Exposure)
	w.WriteString("<h2>Exposure</h2>\n")
	if len(exposed) == 0 {
		w.WriteString("<p>No workload is exposed to the entire cluster or to every external address, and every workload is isolated.</p>\n")
	} else {
		w.WriteString("<table class=\"exposure\">\n<tr><th>workload</th><th>isolated</th><th>from entire cluster</th><th>from any address</th><th>to entire cluster</th><th>to any address</th></tr>\n")
		for _, x := range exposed {
			iso := []string{}
			if x.IngressIsolated {
				iso = append(iso, "ingress")
			}
			if x.EgressIsolated {
				iso = append(iso, "egress")
			}
			if len(iso) == 0 {
				iso = append(iso, "no")
			}
			fmt.Fprintf(w, "<tr><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", e(x.Peer.String()), strings.Join(iso, ", "),
				e(x.FromCluster.String()), e(x.FromExternal.String()), e(x.ToCluster.String()), e(x.ToExternal.String()))
		}
		w.WriteString("</table>\n")
	}

	fmt.Fprintf(w, "<h2>Findings</h2>\n")
	if len(r.Findings) == 0 {
		w.WriteString("<p>No findings.</p>\n")
	} else {
		w.WriteString("<table class=\"findings\">\n<tr><th>severity</th><th>code</th><th>location</th><th>object</th><th>message</th></tr>\n")
		for _, f := range r.Findings {
			loc := ""
			if f.Location.File != "" {
				loc = f.Location.String()
			}
			fmt.Fprintf(w, "<tr><td>%s %s</td><td><code>%s</code></td><td><code>%s</code></td><td>%s</td><td>%s</td></tr>\n",
				severityIcon[f.Severity], f.Severity, e(f.Code), e(loc), e(f.Object), e(f.Message))
		}
		w.WriteString("</table>\n")
	}
	if r.Policies != "" {
		fmt.Fprintf(w, "<h2>Proposed policies</h2>\n<details><summary>%d proposed</summary>\n<pre>%s</pre>\n</details>\n", r.Counts.Policies, e(r.Policies))
	}
	w.WriteString("</body>\n</html>\n")
	return nil
}

// diffSVG draws the changed part of the graph: one rounded box per
// namespace in a column, its workloads in rows inside, the peers outside
// namespaces (address ranges, the ingress controller) in a last column, and
// one curve per changed edge in the colour of its change (class added,
// removed or changed), drawn under the nodes.
func diffSVG(w *bufio.Writer, v DiffView) {
	e := html.EscapeString
	nodes := diffNodes(v)
	namespaces, members, others := byNamespace(nodes)
	type box struct{ x, y float64 }
	at := map[model.Peer]box{}
	height := 0.0
	for i, ns := range namespaces {
		x := float64(svgMargin + i*svgColumn)
		for j, p := range members[ns] {
			at[p] = box{x + (svgBoxW-svgNodeW)/2, float64(svgTopY + svgNSTop + j*svgRow)}
		}
		height = math.Max(height, float64(svgTopY+svgNSTop+len(members[ns])*svgRow))
	}
	outsideX := float64(svgMargin + len(namespaces)*svgColumn)
	for j, p := range others {
		at[p] = box{outsideX, float64(svgTopY + svgNSTop + j*svgRow)}
		height = math.Max(height, float64(svgTopY+svgNSTop+(j+1)*svgRow))
	}
	width := outsideX + svgMargin
	if len(others) > 0 {
		width += svgOutside
	}
	height += svgMargin
	kindOf := map[model.Peer]string{}
	for _, p := range v.AddedPeers {
		kindOf[p] = " added"
	}
	for _, p := range v.RemovedPeers {
		kindOf[p] = " removed"
	}
	fmt.Fprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" role=\"img\" aria-label=\"changed connections\">\n", width, height, width, height)
	w.WriteString("<defs>\n")
	for _, k := range []model.ChangeKind{model.Added, model.Removed, model.Changed} {
		fmt.Fprintf(w, "<marker id=\"arrow-%s\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"%s\"/></marker>\n", k, changeColor[k])
	}
	w.WriteString("</defs>\n")
	for i, ns := range namespaces {
		x := float64(svgMargin + i*svgColumn)
		h := float64(svgNSTop + len(members[ns])*svgRow - (svgRow - svgNodeH) + 12)
		fmt.Fprintf(w, "<g class=\"namespace\"><rect class=\"ns\" x=\"%g\" y=\"%d\" width=\"%d\" height=\"%g\" rx=\"12\"/><text class=\"ns-label\" x=\"%g\" y=\"%d\">%s</text></g>\n",
			x, svgTopY, svgBoxW, h, x+12, svgTopY+22, e(ns))
	}
	// Edges leave a node's right side and enter the other's left side; an
	// edge within one column bows out to the right.
	// Labels that would overlap an earlier one move down a line.
	var labels []box
	place := func(x, y float64) (float64, float64) {
		for moved := true; moved; {
			moved = false
			for _, l := range labels {
				if math.Abs(l.x-x) < 90 && math.Abs(l.y-y) < 12 {
					y, moved = l.y+12, true
				}
			}
		}
		labels = append(labels, box{x, y})
		return x, y
	}
	for c := range v.Changes {
		a, b := at[c.Src], at[c.Dst]
		x1, y1 := a.x+svgNodeW, a.y+svgNodeH/2
		x2, y2 := b.x, b.y+svgNodeH/2
		var d string
		var lx, ly float64
		switch {
		case c.Src == c.Dst:
			d = fmt.Sprintf("M%g,%g C%g,%g %g,%g %g,%g", x1, y1-6, x1+40, y1-30, x1+40, y1+30, x1, y1+6)
			lx, ly = x1+44, y1
		case a.x == b.x:
			x2 = b.x + svgNodeW
			bow := 50 + math.Abs(y2-y1)/4
			d = fmt.Sprintf("M%g,%g C%g,%g %g,%g %g,%g", x1, y1, x1+bow, y1, x2+bow, y2, x2, y2)
			lx, ly = x1+bow*0.75, (y1+y2)/2
		case b.x < a.x:
			x1, x2 = a.x, b.x+svgNodeW
			mid := (x1 + x2) / 2
			d = fmt.Sprintf("M%g,%g C%g,%g %g,%g %g,%g", x1, y1, mid, y1, mid, y2, x2, y2)
			lx, ly = mid, (y1+y2)/2
		default:
			mid := (x1 + x2) / 2
			d = fmt.Sprintf("M%g,%g C%g,%g %g,%g %g,%g", x1, y1, mid, y1, mid, y2, x2, y2)
			lx, ly = mid, (y1+y2)/2
		}
		lx, ly = place(lx, ly)
		fmt.Fprintf(w, "<g class=\"change %s\"><title>%s: %s =&gt; %s : %s</title><path class=\"edge %s\" d=\"%s\" marker-end=\"url(#arrow-%s)\"/><text class=\"edge-label\" x=\"%g\" y=\"%g\" text-anchor=\"middle\" fill=\"%s\">%s</text></g>\n",
			c.Kind, c.Kind, e(c.Src.String()), e(c.Dst.String()), e(changeLabel(c)), c.Kind, d, c.Kind, lx, ly-4, changeColor[c.Kind], e(changeLabel(c)))
	}
	for _, p := range nodes {
		b := at[p]
		if p.Kind == model.PeerWorkload {
			fmt.Fprintf(w, "<g class=\"peer%s\"><title>%s</title><rect x=\"%g\" y=\"%g\" width=\"%d\" height=\"%d\" rx=\"6\"/><text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text></g>\n",
				kindOf[p], e(p.String()), b.x, b.y, svgNodeW, svgNodeH, b.x+svgNodeW/2, b.y+18, e(p.Name+"["+p.WorkloadKind+"]"))
			continue
		}
		fmt.Fprintf(w, "<g class=\"peer outside%s\"><title>%s</title><ellipse cx=\"%g\" cy=\"%g\" rx=\"%d\" ry=\"%d\"/><text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text></g>\n",
			kindOf[p], e(p.String()), b.x+svgNodeW/2, b.y+svgNodeH/2, svgNodeW/2+20, svgNodeH/2+2, b.x+svgNodeW/2, b.y+18, e(p.String()))
	}
	w.WriteString("</svg>\n")
}
