package report

import (
	"bufio"
	"io"
	"strings"

	"github.com/tightnet/tightnet/internal/firewall"
)

// Firewall writes firewall rules (the Rules format), one line each, in the order given:
//
//	src_ns: [payments] src_pods: [app in (gateway,visa)] dst_ns: [db] dst_pods: [*] conn: TCP 5432
//
// A side selecting pods reads "ns: [NAMESPACES] pods: [SELECTOR]", where "*"
// is every namespace or every pod and the selector is in kubectl's -l
// notation; external addresses read "ip: [RANGES]"; peers listed one by one
// (the ingress controller, workloads no selector singles out) read
// "src: [PEERS]" or "dst: [PEERS]" in the peer notation.
func Firewall(w io.Writer, rules []firewall.Rule) error {
	bw := bufio.NewWriter(w)
	for _, r := range rules {
		bw.WriteString(RuleLine(r))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// RuleLine is the line Firewall writes for one rule, without the newline.
func RuleLine(r firewall.Rule) string {
	var b strings.Builder
	writeEndpoint(&b, "src", r.Src)
	b.WriteByte(' ')
	writeEndpoint(&b, "dst", r.Dst)
	b.WriteString(" conn: ")
	b.WriteString(r.Conns.String())
	return b.String()
}

func writeEndpoint(b *strings.Builder, side string, e firewall.Endpoint) {
	switch e.Kind {
	case firewall.Pods:
		ns := strings.Join(e.Namespaces, ",")
		if e.AllNamespaces {
			ns = "*"
		}
		b.WriteString(side + "_ns: [" + ns + "] " + side + "_pods: [" + e.Selector.String() + "]")
	case firewall.Peers:
		names := make([]string, len(e.List))
		for i, p := range e.List {
			names[i] = p.String()
		}
		b.WriteString(side + ": [" + strings.Join(names, ",") + "]")
	case firewall.Addresses:
		b.WriteString(side + "_ip: [" + e.Addresses.String() + "]")
	}
}
