package extract_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/model"
)

func hubbleLine(src, dst, extra string) string {
	return `{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.1.5","destination":"10.0.2.7","ipVersion":"IPv4"},` +
		`"l4":{"TCP":{"source_port":40000,"destination_port":7000,"flags":{"SYN":true}}},` +
		`"source":` + src + `,"destination":` + dst + `,"Type":"L3_L4","traffic_direction":"EGRESS"` + extra + `},"node_name":"n1"}`
}

func readTraffic(t *testing.T, text string) ([]extract.Flow, []model.Finding) {
	t.Helper()
	flows, findings, err := extract.ReadTraffic(strings.NewReader(text), "flows")
	if err != nil {
		t.Fatal(err)
	}
	return flows, findings
}

func findingLines(fs []model.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%d %s %s", f.Location.Line, f.Severity, f.Code))
	}
	return out
}

// TestReadTrafficForms: the three forms, told apart by their first
// character, with malformed records reported at their line.
func TestReadTrafficForms(t *testing.T) {
	t.Run("hubble", func(t *testing.T) {
		fe := `{"namespace":"shop","labels":["k8s:app=frontend","k8s:io.kubernetes.pod.namespace=shop"],"pod_name":"frontend-5d9c7b6f4d-x7k2p"}`
		cart := `{"namespace":"shop","labels":["k8s:app=cart"],"podName":"cart-7c9f8b5d6-qq4tz","workloads":[{"name":"cart","kind":"Deployment"}]}`
		text := strings.Join([]string{
			hubbleLine(fe, cart, ""),
			hubbleLine(fe, cart, `,"is_reply":true`),
			`{"node_status":{"state_change":"NODE_CONNECTED"}}`,
			``,
			hubbleLine(fe, cart, ``)[:40],
			strings.Replace(hubbleLine(fe, cart, ""), "FORWARDED", "DROPPED", 1),
			strings.Replace(hubbleLine(fe, cart, ""), `"TCP":{"source_port":40000,"destination_port":7000`, `"UDP":{"source_port":40000,"destination_port":53`, 1),
		}, "\n")
		flows, findings := readTraffic(t, text)
		if len(flows) != 2 {
			t.Fatalf("flows: %+v", flows)
		}
		f := flows[0]
		if f.Src.Pod != "frontend-5d9c7b6f4d-x7k2p" || f.Src.Labels["app"] != "frontend" || f.Dst.Workload != "cart" || f.Dst.Kind != "Deployment" ||
			f.Port != 7000 || f.Protocol != model.TCP || f.Source.Line != 1 || f.Verdict != "FORWARDED" {
			t.Errorf("flow: %+v", f)
		}
		if flows[1].Protocol != model.UDP || flows[1].Port != 53 || flows[1].Source.Line != 7 {
			t.Errorf("UDP flow: %+v", flows[1])
		}
		equal(t, "findings", findingLines(findings), []string{"5 error traffic-malformed", "6 info traffic-ignored"})
	})
	t.Run("csv", func(t *testing.T) {
		flows, findings := readTraffic(t, "# observed in staging\nsrc,dst,protocol,port,count\n"+
			"shop/frontend,shop/cart,TCP,7000,12\n"+
			"shop/cart-7c9f8b5d6-qq4tz,data/postgres[StatefulSet],,5432\n"+
			"203.0.113.9,shop/frontend,tcp,8080\n"+
			"shop/frontend,198.51.100.20,UDP,443\n"+
			"frontend,shop/cart,TCP,7000\n"+
			"shop/frontend,shop/cart,ICMP,7000\n"+
			"shop/frontend,shop/cart,TCP,http\n")
		var got []string
		for _, f := range flows {
			got = append(got, fmt.Sprintf("%d %s -> %s %s %d", f.Source.Line, f.Src, f.Dst, f.Protocol, f.Port))
		}
		equal(t, "flows", got, []string{
			"3 shop/frontend -> shop/cart TCP 7000",
			"4 shop/cart-7c9f8b5d6-qq4tz -> data/postgres TCP 5432",
			"5 203.0.113.9 -> shop/frontend TCP 8080",
			"6 shop/frontend -> 198.51.100.20 UDP 443",
		})
		equal(t, "findings", findingLines(findings), []string{
			"7 error traffic-malformed", "8 error traffic-malformed", "9 error traffic-malformed"})
	})
	t.Run("csv without header", func(t *testing.T) {
		_, findings := readTraffic(t, "shop/frontend,shop/cart,TCP,7000\n")
		equal(t, "findings", findingLines(findings), []string{"1 error traffic-malformed"})
	})
	t.Run("json", func(t *testing.T) {
		flows, findings := readTraffic(t, "[\n  {\"src\": \"shop/frontend\", \"dst\": \"shop/cart\", \"protocol\": \"TCP\", \"port\": 7000},\n"+
			"  {\"src\": \"shop/frontend\", \"dst\": \"nowhere\", \"port\": 1},\n"+
			"  {\"src\": \"shop/cart\", \"dst\": \"data/postgres\", \"port\": 5432}\n]\n")
		if len(flows) != 2 || flows[0].Source.Line != 2 || flows[1].Source.Line != 4 || flows[1].Protocol != model.TCP {
			t.Errorf("flows: %+v", flows)
		}
		equal(t, "findings", findingLines(findings), []string{"3 error traffic-malformed"})
	})
	t.Run("empty", func(t *testing.T) {
		if flows, findings := readTraffic(t, "\n"); len(flows)+len(findings) != 0 {
			t.Errorf("flows %v findings %v", flows, findings)
		}
	})
}

// TestTrafficMatching: flows join workloads by name, by pod-name prefix
// (Deployment and StatefulSet pods) and by labels; outside addresses
// become exposures and external destinations; what matches nothing is a
// finding, once per endpoint.
func TestTrafficMatching(t *testing.T) {
	pod := func(ns, name string, labels ...string) string {
		var ls []string
		for _, l := range labels {
			ls = append(ls, `"k8s:`+l+`"`)
		}
		return fmt.Sprintf(`{"namespace":%q,"pod_name":%q,"labels":[%s]}`, ns, name, strings.Join(ls, ","))
	}
	world := `{"labels":["reserved:world"]}`
	host := `{"labels":["reserved:host"]}`
	lines := []string{
		hubbleLine(pod("shop", "frontend-5d9c7b6f4d-x7k2p"), pod("shop", "cart-7c9f8b5d6-qq4tz"), ""),
		hubbleLine(pod("shop", "frontend-5d9c7b6f4d-abcde"), pod("shop", "cart-7c9f8b5d6-zzzzz"), ""),
		hubbleLine(pod("shop", "cart-7c9f8b5d6-qq4tz"), pod("shop", "redis-cart-0"), ""),
		hubbleLine(pod("shop", "x-1", "app=checkout"), pod("data", "postgres-1"), ""),
		hubbleLine(world, pod("shop", "frontend-5d9c7b6f4d-x7k2p"), ""),
		hubbleLine(pod("shop", "frontend-5d9c7b6f4d-x7k2p"), world, ""),
		hubbleLine(pod("shop", "ghost-6f7d8-abcde"), pod("shop", "cart-7c9f8b5d6-qq4tz"), ""),
		hubbleLine(pod("shop", "ghost-6f7d8-fghij"), pod("shop", "cart-7c9f8b5d6-qq4tz"), ""),
		hubbleLine(host, pod("shop", "cart-7c9f8b5d6-qq4tz"), ""),
	}
	flows, findings := readTraffic(t, strings.Join(lines, "\n"))
	a := topology(t, fixture(), extract.Options{Traffic: flows})
	a.AddFindings(findings...)
	var got []string
	for _, c := range a.Connections {
		got = append(got, fmt.Sprintf("%s => %s : %s <- %s", c.Src, c.Dst, c.Conns, c.Provenance[0].Text()))
	}
	for _, e := range a.Exposures {
		got = append(got, fmt.Sprintf("%s => %s : %s", e.Src, e.Dst, e.Conns))
	}
	for _, e := range a.External {
		got = append(got, fmt.Sprintf("%s => %s : %s", e.Src, e.Host, e.Conns))
	}
	want := []string{
		"shop/cart[Deployment] => shop/redis-cart[StatefulSet] : TCP 7000 <- flows:3: observed flow shop/cart-7c9f8b5d6-qq4tz (10.0.1.5) => shop/redis-cart-0 (10.0.2.7) TCP 7000 (FORWARDED)",
		"shop/checkout[Deployment] => data/postgres[StatefulSet] : TCP 7000 <- flows:4: observed flow shop/x-1 (10.0.1.5) => data/postgres-1 (10.0.2.7) TCP 7000 (FORWARDED)",
		"shop/frontend[Deployment] => shop/cart[Deployment] : TCP 7000 <- flows:1: observed flow shop/frontend-5d9c7b6f4d-x7k2p (10.0.1.5) => shop/cart-7c9f8b5d6-qq4tz (10.0.2.7) TCP 7000 (FORWARDED), 2 records",
		"10.0.1.5 => shop/frontend[Deployment] : TCP 7000",
		"shop/frontend[Deployment] => 10.0.2.7 : TCP 7000",
	}
	equal(t, "topology", got, want)
	equal(t, "findings", findingLines(a.Findings), []string{"7 warning traffic-unmatched", "9 info traffic-ignored"})
	if !strings.Contains(a.Findings[0].Message, "flow endpoint shop/ghost-6f7d8-* matches") || !strings.Contains(a.Findings[0].Message, "2 flows were not used") {
		t.Errorf("unmatched finding: %s", a.Findings[0].Message)
	}
}
