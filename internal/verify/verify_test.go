package verify_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/verify"
)

func mustParse[T any](t *testing.T, parse func(string) (T, error), s string) T {
	t.Helper()
	v, err := parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fixture is a small matrix: shop/web and shop/db, three external ranges,
// the ingress controller; labels and sources for both workloads.
func fixture(t *testing.T) (model.Matrix, verify.Inventory) {
	t.Helper()
	b := model.NewMatrixBuilder()
	edge := func(src, dst, conns string) {
		b.Add(model.Edge{Src: mustParse(t, model.ParsePeer, src), Dst: mustParse(t, model.ParsePeer, dst)},
			mustParse(t, model.ParseConnectionSet, conns))
	}
	for _, p := range []string{"shop/web[Deployment]", "shop/db[StatefulSet]", "0.0.0.0-9.255.255.255",
		"10.0.0.0-10.255.255.255", "11.0.0.0-255.255.255.255", "{ingress-controller}"} {
		b.AddPeer(mustParse(t, model.ParsePeer, p))
	}
	edge("shop/web[Deployment]", "shop/db[StatefulSet]", "TCP 5432")
	edge("shop/db[StatefulSet]", "0.0.0.0-9.255.255.255", "All Connections")
	edge("shop/db[StatefulSet]", "10.0.0.0-10.255.255.255", "All Connections")
	edge("shop/db[StatefulSet]", "11.0.0.0-255.255.255.255", "All Connections")
	edge("0.0.0.0-9.255.255.255", "shop/web[Deployment]", "TCP 8080")
	edge("11.0.0.0-255.255.255.255", "shop/web[Deployment]", "TCP 8080")
	edge("{ingress-controller}", "shop/web[Deployment]", "TCP 80")
	web, db := model.WorkloadPeer("shop", "web", "Deployment"), model.WorkloadPeer("shop", "db", "StatefulSet")
	inv := verify.Inventory{
		PodLabels:       map[model.Peer]map[string]string{web: {"app": "web"}, db: {"app": "db", "tier": "data"}},
		NamespaceLabels: map[string]map[string]string{"shop": {"env": "prod"}},
		Sources:         map[model.Peer]model.Location{web: {File: "web.yaml", Line: 1}, db: {File: "db.yaml", Line: 3}},
	}
	return b.Matrix(), inv
}

func rule(t *testing.T, yaml string) baseline.Rule {
	t.Helper()
	rules, err := baseline.Parse("rules.yaml", []byte("- name: r\n  "+strings.ReplaceAll(strings.TrimSpace(yaml), "\n", "\n  ")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return rules[0]
}

func witnesses(r verify.Result) string {
	var lines []string
	for _, w := range r.Witnesses {
		lines = append(lines, w.Src.String()+" => "+w.Dst.String()+" : "+w.Conns.String())
	}
	return strings.Join(lines, "\n")
}

// TestCheck pins verdicts, witnesses and reasons rule by rule.
func TestCheck(t *testing.T) {
	m, inv := fixture(t)
	for _, tc := range []struct {
		name, rule string
		verdict    verify.Verdict
		witnesses  string
		reason     string // a substring of the reason; "" for none
	}{
		{"deny what is allowed", "action: deny\nfrom: app=web\nto: app=db\nprotocol: TCP\nport_min: 5432\nport_max: 5432",
			verify.Violated, "shop/web[Deployment] => shop/db[StatefulSet] : TCP 5432", ""},
		{"deny the part allowed", "action: deny\nfrom: app=web\nto: tier=data",
			verify.Violated, "shop/web[Deployment] => shop/db[StatefulSet] : TCP 5432", ""},
		{"deny what is not allowed", "action: deny\nfrom: app=web\nto: app=db\nprotocol: TCP\nport_min: 22\nport_max: 22",
			verify.Satisfied, "", ""},
		{"allow what is allowed", "action: allow\nfrom: app=web\nto_ns: env=prod\nprotocol: TCP\nport_min: 5432\nport_max: 5432",
			verify.Satisfied, "", ""},
		{"allow the part missing", "action: allow\nfrom: app=web\nto: app=db\nprotocol: TCP\nport_min: 5432\nport_max: 5433",
			verify.Violated, "shop/web[Deployment] => shop/db[StatefulSet] : TCP 5433", ""},
		{"allow, satisfied", "action: allow\nfrom: app=web\nto: app=db\nprotocol: TCP\nport_min: 5432\nport_max: 5432",
			verify.Satisfied, "", ""},
		{"a CIDR cuts a range", "action: deny\nto: 10.1.0.0/16\nprotocol: UDP",
			verify.Violated, "shop/db[StatefulSet] => 10.1.0.0-10.1.255.255 : UDP 1-65535", ""},
		{"adjacent ranges merge", "action: deny\nfrom: app=db\nto: 0.0.0.0/0\nprotocol: TCP\nport_min: 443\nport_max: 443",
			verify.Violated, "shop/db[StatefulSet] => 0.0.0.0-255.255.255.255 : TCP 443", ""},
		{"ranges apart stay apart", "action: deny\nfrom: 0.0.0.0/0\nprotocol: TCP\nport_min: 8080\nport_max: 8080",
			verify.Violated, "0.0.0.0-9.255.255.255 => shop/web[Deployment] : TCP 8080\n11.0.0.0-255.255.255.255 => shop/web[Deployment] : TCP 8080", ""},
		{"anything includes the ingress controller and addresses", "action: deny\nprotocol: TCP\nport_min: 80\nport_max: 80",
			verify.Violated, "{ingress-controller} => shop/web[Deployment] : TCP 80\nshop/db[StatefulSet] => 0.0.0.0-255.255.255.255 : TCP 80", ""},
		{"a namespace selector excludes addresses", "action: deny\nfrom_ns: env=prod\nprotocol: TCP\nport_min: 80\nport_max: 80",
			verify.Violated, "shop/db[StatefulSet] => 0.0.0.0-255.255.255.255 : TCP 80", ""},
		{"allow from everything", "action: allow\nto: app=web\nprotocol: TCP\nport_min: 8080\nport_max: 8080",
			verify.Violated, "{ingress-controller} => shop/web[Deployment] : TCP 8080\nshop/db[StatefulSet] => shop/web[Deployment] : TCP 8080\n10.0.0.0-10.255.255.255 => shop/web[Deployment] : TCP 8080", ""},
		{"deny selecting nothing is satisfied", "action: deny\nto_ns: kubernetes.io/metadata.name=kube-system",
			verify.Satisfied, "", "to (every pod in namespaces kubernetes.io/metadata.name=kube-system) selects no peer"},
		{"allow selecting nothing is unchecked", "action: allow\nfrom: app=gone\nto: app=db",
			verify.Unchecked, "", "from (pods app=gone) selects no peer"},
		{"only replicas of one workload", "action: allow\nfrom: app=web\nto: app=web",
			verify.Unchecked, "", "no pair of distinct peers"},
		{"only two addresses", "action: deny\nfrom: 10.0.0.0/8\nto_ns: kubernetes.io/metadata.name=other",
			verify.Satisfied, "", "to (every pod in namespaces kubernetes.io/metadata.name=other) selects no peer"},
		{"IPv6 outside the matrix", "action: deny\nto: fd00::/8",
			verify.Unchecked, "", "to reaches addresses the connectivity does not cover (fd00::-fdff:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verify.Check(m, inv, []baseline.Rule{rule(t, tc.rule)})
			r := v.Rules[0]
			if r.Verdict != tc.verdict {
				t.Errorf("verdict %v, want %v (reason %q)", r.Verdict, tc.verdict, r.Reason)
			}
			if got := witnesses(r); got != tc.witnesses {
				t.Errorf("witnesses:\n%s\nwant:\n%s", got, tc.witnesses)
			}
			if tc.reason == "" && r.Reason != "" || !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("reason %q, want one containing %q", r.Reason, tc.reason)
			}
		})
	}
}

// TestIngressControllerPlacement pins that selectors select the ingress
// controller only once the inventory places it.
func TestIngressControllerPlacement(t *testing.T) {
	m, inv := fixture(t)
	r := rule(t, "action: deny\nfrom: app.kubernetes.io/name=ingress-nginx\nfrom_ns: kubernetes.io/metadata.name=ingress")
	if got := verify.Check(m, inv, []baseline.Rule{r}).Rules[0]; got.Verdict != verify.Satisfied || got.Reason == "" {
		t.Errorf("unplaced: %v (%s), want satisfied with nothing to check", got.Verdict, got.Reason)
	}
	inv.IngressController = &verify.Placement{Namespace: "ingress", PodLabels: map[string]string{"app.kubernetes.io/name": "ingress-nginx"}}
	got := verify.Check(m, inv, []baseline.Rule{r}).Rules[0]
	if got.Verdict != verify.Violated || witnesses(got) != "{ingress-controller} => shop/web[Deployment] : TCP 80" {
		t.Errorf("placed: %v, witnesses %q", got.Verdict, witnesses(got))
	}
}

func TestWitnessLocations(t *testing.T) {
	m, inv := fixture(t)
	v := verify.Check(m, inv, []baseline.Rule{rule(t, "action: deny\nprotocol: TCP\nport_min: 80\nport_max: 80")})
	var got []string
	for _, w := range v.Rules[0].Witnesses {
		got = append(got, w.Location.String())
	}
	// The destination's manifest; the source's when the destination is an
	// address.
	if strings.Join(got, " ") != "web.yaml:1 db.yaml:3" {
		t.Errorf("locations %v", got)
	}
}

// TestNamesOnly pins what a matrix without labels (a ConnectivityMap) can
// check: namespaces by name, addresses, everything; not pod labels.
func TestNamesOnly(t *testing.T) {
	m, _ := fixture(t)
	inv := verify.Inventory{NamesOnly: true}
	rules := []baseline.Rule{
		rule(t, "action: deny\nfrom: app=web"),
		rule(t, "action: deny\nto_ns: env=prod"),
		rule(t, "action: deny\nfrom_ns: kubernetes.io/metadata.name in (shop)\nto: 0.0.0.0/0\nprotocol: TCP\nport_min: 443\nport_max: 443"),
		rule(t, "action: deny\nprotocol: UDP"),
	}
	v := verify.Check(m, inv, rules)
	want := []verify.Verdict{verify.Unchecked, verify.Unchecked, verify.Violated, verify.Violated}
	for i, r := range v.Rules {
		if r.Verdict != want[i] {
			t.Errorf("rule %d: %v (%s), want %v", i, r.Verdict, r.Reason, want[i])
		}
	}
	if !strings.Contains(v.Rules[0].Reason, "ConnectivityMap") {
		t.Errorf("reason %q does not say why", v.Rules[0].Reason)
	}
}

func TestSummaryAndUnverified(t *testing.T) {
	m, inv := fixture(t)
	rules := []baseline.Rule{
		rule(t, "action: deny\nprotocol: TCP\nport_min: 5432\nport_max: 5432"),
		rule(t, "action: deny\nfrom: app=web\nprotocol: TCP\nport_min: 22\nport_max: 22"),
		rule(t, "action: allow\nfrom: app=gone"),
	}
	v := verify.Check(m, inv, rules)
	if v.Summary != (verify.Summary{Satisfied: 1, Violated: 1, Unchecked: 1}) || !v.Failed() {
		t.Errorf("summary %+v, failed %v", v.Summary, v.Failed())
	}
	u := verify.Unverified(rules, "the inputs could not be analysed")
	if u.Summary != (verify.Summary{Unchecked: 3}) || u.Rules[1].Reason != "the inputs could not be analysed" || len(u.Rules[0].Witnesses) != 0 {
		t.Errorf("unverified: %+v", u)
	}
	ok := verify.Check(m, inv, rules[1:2])
	if ok.Failed() {
		t.Errorf("a satisfied rule failed: %+v", ok)
	}
}

// TestArtifactRoundTrip writes a Verification and reads it back with the
// artifact decoder, which rejects unknown fields.
func TestArtifactRoundTrip(t *testing.T) {
	m, inv := fixture(t)
	v := verify.Check(m, inv, []baseline.Rule{
		rule(t, "action: deny\nprotocol: TCP\nport_min: 80\nport_max: 80"),
		rule(t, "action: allow\nfrom: app=gone"),
	}).WithFindings([]model.Finding{{Code: "input-x", Severity: model.Warning, Message: "m"}},
		[]model.Finding{{Code: "sanity-y", Severity: model.Info, Message: "n"}})
	data, err := model.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back verify.Verification
	if err := model.Decode(data, verify.Kind, &back); err != nil {
		t.Fatal(err)
	}
	again, err := model.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Errorf("round trip changed the artifact:\n%s\nvs\n%s", data, again)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["apiVersion"] != model.APIVersion || raw["kind"] != "Verification" {
		t.Errorf("header %v %v", raw["apiVersion"], raw["kind"])
	}
	if err := model.Decode(data, model.KindConnectivityMap, &model.ConnectivityMap{}); err == nil {
		t.Error("a Verification decoded as a ConnectivityMap")
	}
}

func TestVerdictText(t *testing.T) {
	for _, v := range []verify.Verdict{verify.Satisfied, verify.Violated, verify.Unchecked} {
		b, err := v.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back verify.Verdict
		if err := back.UnmarshalText(b); err != nil || back != v {
			t.Errorf("%v: round trip gave %v, %v", v, back, err)
		}
	}
	if _, err := verify.Verdict(9).MarshalText(); err == nil {
		t.Error("marshalled an unknown verdict")
	}
	var v verify.Verdict
	if err := v.UnmarshalText([]byte("maybe")); err == nil {
		t.Error("read an unknown verdict")
	}
}
