package firewall_test

import (
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/firewall"
	"github.com/tightnet/tightnet/internal/model"
)

// cluster builds a matrix and inventory from workload labels
// ("ns/name[Kind]" → "k=v,k=v") and edges ("SRC => DST : CONNS").
func cluster(t *testing.T, labels map[string]string, edges ...string) (model.Matrix, firewall.Inventory) {
	t.Helper()
	inv := firewall.Inventory{PodLabels: map[model.Peer]map[string]string{}}
	b := model.NewMatrixBuilder()
	for name, kv := range labels {
		p, err := model.ParsePeer(name)
		if err != nil {
			t.Fatal(err)
		}
		l := map[string]string{}
		for pair := range strings.SplitSeq(kv, ",") {
			if k, v, ok := strings.Cut(pair, "="); ok {
				l[k] = v
			}
		}
		inv.PodLabels[p] = l
		b.AddPeer(p)
	}
	for _, line := range edges {
		pair, conns, ok := strings.Cut(line, " : ")
		src, dst, ok2 := strings.Cut(pair, " => ")
		if !ok || !ok2 {
			t.Fatalf("edge %q: want SRC => DST : CONNS", line)
		}
		s, err := model.ParsePeer(src)
		if err != nil {
			t.Fatal(err)
		}
		d, err := model.ParsePeer(dst)
		if err != nil {
			t.Fatal(err)
		}
		c, err := model.ParseConnectionSet(conns)
		if err != nil {
			t.Fatal(err)
		}
		b.Add(model.Edge{Src: s, Dst: d}, c)
	}
	return b.Matrix(), inv
}

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		edges  []string
		want   string
	}{{
		name: "a set of workloads is the smallest selector that matches exactly it",
		labels: map[string]string{
			"payments/gateway[Deployment]": "app=gateway", "payments/visa[Deployment]": "app=visa",
			"payments/ledger[Deployment]": "app=ledger", "db/postgres[StatefulSet]": "app=postgres",
		},
		edges: []string{
			"payments/gateway[Deployment] => db/postgres[StatefulSet] : TCP 5432",
			"payments/visa[Deployment] => db/postgres[StatefulSet] : TCP 5432",
		},
		want: "src_ns: [payments] src_pods: [app in (gateway,visa)] dst_ns: [db] dst_pods: [*] conn: TCP 5432\n",
	}, {
		name: "every pod of a namespace to every other is one rule, the edges to themselves being free",
		labels: map[string]string{
			"a/x[Deployment]": "app=x", "a/y[Deployment]": "app=y", "a/z[Deployment]": "app=z",
			"b/w[Deployment]": "app=w",
		},
		edges: []string{
			"a/x[Deployment] => a/y[Deployment] : TCP 80", "a/x[Deployment] => a/z[Deployment] : TCP 80",
			"a/y[Deployment] => a/x[Deployment] : TCP 80", "a/y[Deployment] => a/z[Deployment] : TCP 80",
			"a/z[Deployment] => a/x[Deployment] : TCP 80", "a/z[Deployment] => a/y[Deployment] : TCP 80",
		},
		want: "src_ns: [a] src_pods: [*] dst_ns: [a] dst_pods: [*] conn: TCP 80\n",
	}, {
		name: "namespaces that behave alike share a rule; all of them read *",
		labels: map[string]string{
			"a/x[Deployment]": "app=x", "b/y[Deployment]": "app=y", "c/z[Deployment]": "app=z",
		},
		edges: []string{
			"a/x[Deployment] => c/z[Deployment] : TCP 80", "b/y[Deployment] => c/z[Deployment] : TCP 80",
			"a/x[Deployment] => 0.0.0.0-255.255.255.255 : UDP 53",
			"b/y[Deployment] => 0.0.0.0-255.255.255.255 : UDP 53",
			"c/z[Deployment] => 0.0.0.0-255.255.255.255 : UDP 53",
		},
		want: "src_ns: [*] src_pods: [*] dst_ip: [0.0.0.0-255.255.255.255] conn: UDP 53\n" +
			"src_ns: [a,b] src_pods: [*] dst_ns: [c] dst_pods: [*] conn: TCP 80\n",
	}, {
		name: "address ranges with the same connections join; the ingress controller is listed",
		labels: map[string]string{
			"shop/frontend[Deployment]": "app=frontend", "shop/cart[Deployment]": "app=cart",
		},
		edges: []string{
			"0.0.0.0-9.255.255.255 => shop/frontend[Deployment] : TCP 8080",
			"11.0.0.0-255.255.255.255 => shop/frontend[Deployment] : TCP 8080",
			"{ingress-controller} => shop/frontend[Deployment] : TCP 8080",
			"shop/frontend[Deployment] => shop/cart[Deployment] : TCP 7070",
		},
		want: "src_ns: [shop] src_pods: [app=frontend] dst_ns: [shop] dst_pods: [app=cart] conn: TCP 7070\n" +
			"src: [{ingress-controller}] dst_ns: [shop] dst_pods: [app=frontend] conn: TCP 8080\n" +
			"src_ip: [0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255] dst_ns: [shop] dst_pods: [app=frontend] conn: TCP 8080\n",
	}, {
		name: "different connections never share a rule",
		labels: map[string]string{
			"a/x[Deployment]": "app=x", "a/y[Deployment]": "app=y", "a/z[Deployment]": "app=z",
		},
		edges: []string{
			"a/x[Deployment] => a/y[Deployment] : TCP 80",
			"a/x[Deployment] => a/z[Deployment] : TCP 80,443",
		},
		want: "src_ns: [a] src_pods: [app=x] dst_ns: [a] dst_pods: [app=y] conn: TCP 80\n" +
			"src_ns: [a] src_pods: [app=x] dst_ns: [a] dst_pods: [app=z] conn: TCP 80,443\n",
	}, {
		name: "a set no single conjunction matches takes several selectors",
		labels: map[string]string{
			"a/p[Deployment]": "x=1,y=1", "a/q[Deployment]": "x=2,y=2", "a/r[Deployment]": "x=1,y=2",
			"b/s[Deployment]": "app=s",
		},
		edges: []string{
			"a/p[Deployment] => b/s[Deployment] : TCP 80", "a/q[Deployment] => b/s[Deployment] : TCP 80",
		},
		want: "src_ns: [a] src_pods: [x=2] dst_ns: [b] dst_pods: [*] conn: TCP 80\n" +
			"src_ns: [a] src_pods: [y=1] dst_ns: [b] dst_pods: [*] conn: TCP 80\n",
	}, {
		name: "a selector of more than three requirements",
		labels: map[string]string{
			"a/t[Deployment]": "a=1,b=1,c=1,d=1", "a/o1[Deployment]": "a=2,b=1,c=1,d=1",
			"a/o2[Deployment]": "a=1,b=2,c=1,d=1", "a/o3[Deployment]": "a=1,b=1,c=2,d=1",
			"a/o4[Deployment]": "a=1,b=1,c=1,d=2",
		},
		edges: []string{"a/t[Deployment] => 0.0.0.0-255.255.255.255 : TCP 443"},
		want:  "src_ns: [a] src_pods: [a=1,b=1,c=1,d=1] dst_ip: [0.0.0.0-255.255.255.255] conn: TCP 443\n",
	}, {
		name: "workloads whose labels are the same but whose connections differ are listed by name",
		labels: map[string]string{
			"a/x[Deployment]": "app=web", "a/y[Pod]": "app=web", "a/db[StatefulSet]": "app=db",
		},
		edges: []string{"a/x[Deployment] => a/db[StatefulSet] : TCP 5432"},
		want:  "src: [a/x[Deployment]] dst_ns: [a] dst_pods: [app=db] conn: TCP 5432\n",
	}, {
		name: "absent labels, and exclusions when the inclusions would be a long list",
		labels: map[string]string{
			"a/w1[Deployment]": "app=w1", "a/w2[Deployment]": "app=w2", "a/w3[Deployment]": "app=w3",
			"a/w4[Deployment]": "app=w4", "a/z[Deployment]": "app=z", "a/job[Job]": "",
			"b/t[Deployment]": "app=t",
		},
		edges: []string{
			"a/job[Job] => b/t[Deployment] : TCP 1",
			"a/job[Job] => b/t[Deployment] : TCP 1-2",
			"a/w1[Deployment] => b/t[Deployment] : TCP 2", "a/w2[Deployment] => b/t[Deployment] : TCP 2",
			"a/w3[Deployment] => b/t[Deployment] : TCP 2", "a/w4[Deployment] => b/t[Deployment] : TCP 2",
			"b/t[Deployment] => a/w1[Deployment] : TCP 3", "b/t[Deployment] => a/w2[Deployment] : TCP 3",
			"b/t[Deployment] => a/w3[Deployment] : TCP 3", "b/t[Deployment] => a/w4[Deployment] : TCP 3",
			"b/t[Deployment] => a/job[Job] : TCP 3",
		},
		want: "src_ns: [a] src_pods: [app in (w1,w2,w3,w4)] dst_ns: [b] dst_pods: [*] conn: TCP 2\n" +
			"src_ns: [a] src_pods: [!app] dst_ns: [b] dst_pods: [*] conn: TCP 1-2\n" +
			"src_ns: [b] src_pods: [*] dst_ns: [a] dst_pods: [app notin (z)] conn: TCP 3\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m, inv := cluster(t, tc.labels, tc.edges...)
			msg, rules := roundTrip(m, inv)
			if msg != "" {
				t.Fatalf("%s\n%s", msg, dump(m, inv, rules))
			}
			if got := render(rules); got != tc.want {
				t.Errorf("rules:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestRulesOfAnEmptyMatrix(t *testing.T) {
	m, inv := cluster(t, map[string]string{"a/x[Deployment]": "app=x"})
	if rules := firewall.Rules(m, inv); len(rules) != 0 {
		t.Errorf("rules of a matrix without edges: %v", rules)
	}
}

func TestRequirements(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "front"}
	for _, tc := range []struct {
		r     firewall.Requirement
		text  string
		match bool
	}{
		{firewall.Requirement{Key: "app", Op: firewall.In, Values: []string{"web"}}, "app=web", true},
		{firewall.Requirement{Key: "app", Op: firewall.In, Values: []string{"api", "db"}}, "app in (api,db)", false},
		{firewall.Requirement{Key: "app", Op: firewall.NotIn, Values: []string{"web"}}, "app notin (web)", false},
		{firewall.Requirement{Key: "role", Op: firewall.NotIn, Values: []string{"a"}}, "role notin (a)", true},
		{firewall.Requirement{Key: "tier", Op: firewall.Exists}, "tier", true},
		{firewall.Requirement{Key: "tier", Op: firewall.DoesNotExist}, "!tier", false},
		{firewall.Requirement{Key: "role", Op: firewall.DoesNotExist}, "!role", true},
	} {
		if got := tc.r.String(); got != tc.text {
			t.Errorf("String() = %q, want %q", got, tc.text)
		}
		if got := tc.r.Matches(labels); got != tc.match {
			t.Errorf("%s matches %v = %v, want %v", tc.text, labels, got, tc.match)
		}
	}
	if got := (firewall.Selector{}).String(); got != "*" {
		t.Errorf("empty selector prints %q, want *", got)
	}
	if !(firewall.Selector{}).Matches(nil) {
		t.Error("the empty selector must match pods without labels")
	}
}

func TestEndpointMatches(t *testing.T) {
	web := model.WorkloadPeer("a", "web", "Deployment")
	inv := firewall.Inventory{PodLabels: map[model.Peer]map[string]string{web: {"app": "web"}}}
	r, err := model.ParseIPRange("10.0.0.0-10.255.255.255")
	if err != nil {
		t.Fatal(err)
	}
	ten := model.ExternalPeer(r)
	all := firewall.Endpoint{Kind: firewall.Pods, AllNamespaces: true}
	other := firewall.Endpoint{Kind: firewall.Pods, Namespaces: []string{"b"}}
	addrs := firewall.Endpoint{Kind: firewall.Addresses, Addresses: model.AllIPv4()}
	listed := firewall.Endpoint{Kind: firewall.Peers, List: []model.Peer{model.IngressController()}}
	for _, tc := range []struct {
		e    firewall.Endpoint
		p    model.Peer
		want bool
	}{
		{all, web, true}, {all, ten, false}, {other, web, false},
		{addrs, ten, true}, {addrs, web, false},
		{listed, model.IngressController(), true}, {listed, web, false},
	} {
		if got := tc.e.Matches(tc.p, inv); got != tc.want {
			t.Errorf("%+v matches %s = %v, want %v", tc.e, tc.p, got, tc.want)
		}
	}
}
