package extract

import (
	"bufio"
	"io"
	"strings"

	"github.com/tightnet/tightnet/internal/model"
)

// WriteText writes the Topology for a reader: one line per required
// connection, exposure and external destination, "SRC => DST : CONNS", each
// followed by its reasons, indented:
//
//	shop/frontend[Deployment] => shop/cart[Deployment] : TCP 7070
//	    manifests/frontend.yaml:1 Deployment shop/frontend spec.template.spec.containers[app].env[CART_ADDR]: env CART_ADDR = "cart:7070"
//
// A reason that needs only part of the connections says which part.
// Sections without entries are left out. The Topology's JSON form is the
// artifact; this view is for review and carries nothing JSON does not.
func WriteText(w io.Writer, a Artifact) error {
	bw := bufio.NewWriter(w)
	wrote := false
	section := func(title string) {
		if wrote {
			bw.WriteByte('\n')
		}
		wrote = true
		bw.WriteString(title)
		bw.WriteString(":\n")
	}
	if len(a.Connections) > 0 {
		section("Connections")
		for _, c := range a.Connections {
			writeEntry(bw, c.Src.String(), c.Dst.String(), c.Conns, c.Provenance)
		}
	}
	if len(a.Exposures) > 0 {
		section("Exposures")
		for _, e := range a.Exposures {
			writeEntry(bw, e.Src.String(), e.Dst.String(), e.Conns, e.Provenance)
		}
	}
	if len(a.External) > 0 {
		section("External destinations")
		for _, e := range a.External {
			writeEntry(bw, e.Src.String(), e.Host, e.Conns, e.Provenance)
		}
	}
	if !wrote {
		bw.WriteString("No connections found.\n")
	}
	return bw.Flush()
}

func writeEntry(bw *bufio.Writer, src, dst string, conns model.ConnectionSet, prov []Provenance) {
	bw.WriteString(src + " => " + dst + " : " + conns.String() + "\n")
	for _, p := range prov {
		bw.WriteString("    " + p.Text())
		if !p.Conns.Equal(conns) {
			bw.WriteString(" [" + p.Conns.String() + "]")
		}
		bw.WriteByte('\n')
	}
}

// Text is the provenance in one line: location, object, path, then the
// reason.
func (p Provenance) Text() string {
	var parts []string
	if p.File != "" {
		parts = append(parts, p.Location().String())
	}
	if p.Object != "" {
		parts = append(parts, p.Object)
	}
	if p.Path != "" {
		parts = append(parts, p.Path)
	}
	if len(parts) == 0 {
		return p.Reason
	}
	return strings.Join(parts, " ") + ": " + p.Reason
}
