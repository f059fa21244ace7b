package report

import (
	"bufio"
	"fmt"
	"io"

	"github.com/tightnet/tightnet/internal/model"
)

// Names for the two "everyone" peers of the exposure view.
const (
	EntireCluster = "entire-cluster"
	AnyAddress    = "any-address"
)

// Exposure writes how open each workload is, in text or Markdown: first
// workloads no NetworkPolicy isolates, then what they accept from the
// entire cluster and from every external address (ingress, "<="), then what
// they may open to them (egress, "=>"). Workloads open in no way are left
// out; a closing line says when nothing is exposed.
func Exposure(w io.Writer, f Format, exposure []model.Exposure) error {
	bw := bufio.NewWriter(w)
	type line struct{ peer, arrow, other, conns string }
	var unisolated []string
	var in, out []line
	for _, x := range exposure {
		p := x.Peer.String()
		switch {
		case !x.IngressIsolated && !x.EgressIsolated:
			unisolated = append(unisolated, p+" : not isolated for ingress or egress")
		case !x.IngressIsolated:
			unisolated = append(unisolated, p+" : not isolated for ingress")
		case !x.EgressIsolated:
			unisolated = append(unisolated, p+" : not isolated for egress")
		}
		if !x.FromCluster.IsEmpty() {
			in = append(in, line{p, "<=", EntireCluster, x.FromCluster.String()})
		}
		if !x.FromExternal.IsEmpty() {
			in = append(in, line{p, "<=", AnyAddress, x.FromExternal.String()})
		}
		if !x.ToCluster.IsEmpty() {
			out = append(out, line{p, "=>", EntireCluster, x.ToCluster.String()})
		}
		if !x.ToExternal.IsEmpty() {
			out = append(out, line{p, "=>", AnyAddress, x.ToExternal.String()})
		}
	}
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		if f == Markdown {
			fmt.Fprintf(bw, "\n#### %s\n\n", title)
			for _, l := range lines {
				fmt.Fprintf(bw, "- `%s`\n", l)
			}
			return
		}
		fmt.Fprintf(bw, "\n%s:\n", title)
		for _, l := range lines {
			bw.WriteString(l + "\n")
		}
	}
	render := func(ls []line) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = l.peer + " " + l.arrow + " " + l.other + " : " + l.conns
		}
		return out
	}
	switch f {
	case Markdown:
		bw.WriteString("\n### Exposure\n")
	case Text:
		bw.WriteString("\nExposure analysis:\n")
	default:
		return fmt.Errorf("render exposure: format %q is not supported; use txt, md or json", f)
	}
	section("Workloads not isolated", unisolated)
	section("Ingress exposure", render(in))
	section("Egress exposure", render(out))
	if len(unisolated)+len(in)+len(out) == 0 {
		bw.WriteString("no workload is exposed to the entire cluster or to every external address\n")
	}
	return bw.Flush()
}
