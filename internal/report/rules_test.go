package report_test

import (
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/firewall"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
)

// TestFirewall pins the notation of every kind of rule side.
func TestFirewall(t *testing.T) {
	r, err := model.ParseIPRange("203.0.113.0-203.0.113.255")
	if err != nil {
		t.Fatal(err)
	}
	gatewayVisa := firewall.Endpoint{Kind: firewall.Pods, Namespaces: []string{"payments"},
		Selector: firewall.Selector{{Key: "app", Op: firewall.In, Values: []string{"gateway", "visa"}}}}
	db := firewall.Endpoint{Kind: firewall.Pods, Namespaces: []string{"db"}}
	tcp := func(port int) model.ConnectionSet { return model.Connections(model.TCP, model.Ports(port)) }
	rules := []firewall.Rule{
		{Src: gatewayVisa, Dst: db, Conns: tcp(5432)},
		{
			Src: firewall.Endpoint{Kind: firewall.Pods, AllNamespaces: true, Selector: firewall.Selector{
				{Key: "team", Op: firewall.Exists}, {Key: "tier", Op: firewall.NotIn, Values: []string{"db"}},
				{Key: "untrusted", Op: firewall.DoesNotExist},
			}},
			Dst:   firewall.Endpoint{Kind: firewall.Addresses, Addresses: model.RangeSet(r)},
			Conns: model.AllConnections(),
		},
		{
			Src:   firewall.Endpoint{Kind: firewall.Peers, List: []model.Peer{model.IngressController(), model.WorkloadPeer("web", "a", "Pod")}},
			Dst:   db,
			Conns: tcp(80),
		},
	}
	var b strings.Builder
	if err := report.Firewall(&b, rules); err != nil {
		t.Fatal(err)
	}
	want := "src_ns: [payments] src_pods: [app in (gateway,visa)] dst_ns: [db] dst_pods: [*] conn: TCP 5432\n" +
		"src_ns: [*] src_pods: [team,tier notin (db),!untrusted] dst_ip: [203.0.113.0-203.0.113.255] conn: All Connections\n" +
		"src: [{ingress-controller},web/a[Pod]] dst_ns: [db] dst_pods: [*] conn: TCP 80\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
