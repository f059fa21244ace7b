package model

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// checkGolden compares got with testdata/name byte for byte, or rewrites the
// file under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test -update to create it", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-want +got):\n%s\nrun go test -update if the change is intended", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff is a small longest-common-subsequence diff of two texts: "-" for
// lines only in want, "+" for lines only in got, and up to two unchanged
// lines of context around each change.
func lineDiff(want, got string) string {
	a, b := strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type row struct {
		op   byte
		text string
	}
	var rows []row
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			rows = append(rows, row{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			rows = append(rows, row{'-', a[i]})
			i++
		default:
			rows = append(rows, row{'+', b[j]})
			j++
		}
	}
	const context = 2
	var out strings.Builder
	last := -1
	for k, r := range rows {
		near := false
		for d := max(0, k-context); d <= min(len(rows)-1, k+context); d++ {
			near = near || rows[d].op != ' '
		}
		if !near {
			continue
		}
		if last >= 0 && k > last+1 {
			out.WriteString("  ...\n")
		}
		fmt.Fprintf(&out, "%c %q\n", r.op, r.text)
		last = k
	}
	return out.String()
}

func TestLineDiff(t *testing.T) {
	got := lineDiff("a\nb\nc\nd\ne\nf\ng\n", "a\nc\nd\ne\nf\ng\nh\n")
	want := "  \"a\\n\"\n- \"b\\n\"\n  \"c\\n\"\n  \"d\\n\"\n  ...\n  \"f\\n\"\n  \"g\\n\"\n+ \"h\\n\"\n  \"\"\n"
	if got != want {
		t.Errorf("lineDiff =\n%s\nwant\n%s", got, want)
	}
	if got := lineDiff("same\n", "same\n"); got != "" {
		t.Errorf("lineDiff of equal texts = %q, want nothing", got)
	}
}

// TestNotationGolden pins the conventional notation of constructed values:
// every line is "name: notation".
func TestNotationGolden(t *testing.T) {
	ipset := func(cidrs ...string) IPSet { return mustPrefixSet(t, cidrs...) }
	tcp := func(ps PortSet) ConnectionSet { return Connections(TCP, ps) }
	rows := []struct {
		name string
		v    fmt.Stringer
	}{
		{"no connections", NoConnections()},
		{"zero connection set", ConnectionSet{}},
		{"all connections", AllConnections()},
		{"all built from protocols", Connections(SCTP, AllPorts()).Union(tcp(AllPorts())).Union(Connections(UDP, AllPorts()))},
		{"tcp 80", tcp(Ports(80))},
		{"every tcp port", tcp(AllPorts())},
		{"brief example", Connections(SCTP, AllPorts()).Union(tcp(Ports(80).Union(PortRange(8080, 8090)))).Union(Connections(UDP, Ports(53)))},
		{"adjacent ports merge", tcp(Ports(80, 81, 82, 84))},
		{"edge ports", tcp(Ports(1, 65535)).Union(Connections(UDP, Ports(1)))},
		{"all but port 1", AllConnections().Subtract(tcp(Ports(1)))},
		{"all but port 65535", AllConnections().Subtract(Connections(UDP, Ports(65535)))},
		{"intersection", tcp(PortRange(1, 1000)).Intersect(tcp(PortRange(500, 2000)).Union(Connections(UDP, AllPorts())))},
		{"protocols print in order", Connections(UDP, Ports(53)).Union(Connections(SCTP, Ports(9))).Union(tcp(Ports(22)))},
		{"port set", Ports(443, 80, 8080, 8081, 8082)},
		{"empty port set", NoPorts()},
		{"all ports", AllPorts()},
		{"protocol", TCP},
		{"unknown protocol", Protocol(3)},
		{"ipv4 /8", ipset("10.1.2.3/8")},
		{"internet minus private", AllIPv4().Subtract(ipset("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))},
		{"both families", ipset("192.168.1.1", "fd00::/8", "0.0.0.0/32")},
		{"ipv4-mapped prefix", ipset("::ffff:10.0.0.0/104")},
		{"ipv6 range into the mapped block", ipset("::/80")},
		{"empty ip set", IPSet{}},
		{"all ips", AllIPs()},
		{"ip range", IPRange{ipset("10.0.0.0/30").Ranges()[0].First, ipset("10.0.0.0/30").Ranges()[0].Last}},
		{"workload peer", WorkloadPeer("payments", "db", "StatefulSet")},
		{"external peer", ExternalPeer(ipset("0.0.0.0/0").Ranges()[0])},
		{"single address peer", ExternalPeer(ipset("2001:db8::1").Ranges()[0])},
		{"ingress controller", IngressController()},
		{"edge", Edge{IngressController(), WorkloadPeer("shop", "frontend", "Deployment")}},
		{"severity", Warning},
		{"unknown severity", Severity(7)},
		{"location", Location{File: "policies/db.yaml", Line: 12}},
		{"location without line", Location{File: "policies/db.yaml"}},
		{"unknown location", Location{}},
		{"finding", Finding{Code: "TN001", Severity: Error, Message: "policy selects no pods", Location: Location{"p.yaml", 3}}},
	}
	var b bytes.Buffer
	for _, r := range rows {
		fmt.Fprintf(&b, "%s: %s\n", r.name, r.v)
	}
	checkGolden(t, "notation.golden", b.Bytes())
}
