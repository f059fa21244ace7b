package model

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func mustConns(t testing.TB, s string) ConnectionSet {
	t.Helper()
	c, err := ParseConnectionSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sampleMatrix is a small cluster: a frontend reaching a database, the
// ingress controller reaching the frontend, the internet reaching nothing,
// and one peer no edge touches.
func sampleMatrix(t testing.TB) Matrix {
	fe := WorkloadPeer("shop", "frontend", "Deployment")
	db := WorkloadPeer("shop", "db", "StatefulSet")
	batch := WorkloadPeer("jobs", "report", "CronJob")
	internet := ExternalPeer(AllIPv4().Subtract(mustPrefixSet(t, "10.0.0.0/8")).Ranges()[1])
	mapped := ExternalPeer(mustPrefixSet(t, "::/80").Ranges()[0])

	b := NewMatrixBuilder()
	b.AddPeer(batch)
	b.Add(Edge{fe, db}, mustConns(t, "TCP 5432"))
	b.Add(Edge{fe, db}, mustConns(t, "TCP 5433,UDP 53"))
	b.Add(Edge{IngressController(), fe}, mustConns(t, "TCP 80,443"))
	b.Add(Edge{internet, fe}, NoConnections())
	b.Add(Edge{db, mapped}, AllConnections())
	return b.Matrix()
}

func sampleFindings() []Finding {
	return []Finding{
		{Code: "TN002", Severity: Error, Message: "named port \"pg\" not found", Location: Location{"policies/db.yaml", 12}, Object: "NetworkPolicy shop/db"},
		{Code: "TN001", Severity: Warning, Message: "policy selects no pods", Location: Location{"policies/db.yaml", 3}},
		{Code: "TN003", Severity: Info, Message: "no policies in namespace jobs"},
	}
}

func equalMatrices(a, b Matrix) bool {
	if !slices.Equal(a.Peers(), b.Peers()) || !slices.Equal(a.Edges(), b.Edges()) || a.Len() != b.Len() {
		return false
	}
	for _, e := range a.Edges() {
		if !a.Get(e).Equal(b.Get(e)) {
			return false
		}
	}
	return true
}

func TestMatrixBuilder(t *testing.T) {
	m := sampleMatrix(t)
	fe := WorkloadPeer("shop", "frontend", "Deployment")
	db := WorkloadPeer("shop", "db", "StatefulSet")
	if got := m.Get(Edge{fe, db}).String(); got != "TCP 5432-5433,UDP 53" {
		t.Errorf("frontend => db = %q; Add must union", got)
	}
	if got := m.Get(Edge{db, fe}); !got.IsEmpty() {
		t.Errorf("db => frontend = %v, want No Connections", got)
	}
	if m.Len() != 3 || len(m.Edges()) != 3 {
		t.Errorf("Len() = %d, Edges() = %v; empty additions must not become edges", m.Len(), m.Edges())
	}
	var peers []string
	for _, p := range m.Peers() {
		peers = append(peers, p.String())
	}
	want := []string{"{ingress-controller}", "jobs/report[CronJob]", "shop/db[StatefulSet]", "shop/frontend[Deployment]", "11.0.0.0-255.255.255.255", "::-::ffff:255.255.255.255"}
	if !slices.Equal(peers, want) {
		t.Errorf("Peers() = %q\nwant %q", peers, want)
	}
	if !slices.IsSortedFunc(m.Edges(), Edge.Compare) {
		t.Errorf("Edges() is not sorted: %v", m.Edges())
	}
	m.Peers()[0] = WorkloadPeer("x", "y", "Pod")
	if m.Peers()[0] != IngressController() {
		t.Error("Peers() shares its slice with the matrix")
	}
}

func TestConnectivityMapRoundTrip(t *testing.T) {
	m := sampleMatrix(t)
	cm := NewConnectivityMap(m, sampleFindings())
	if cm.APIVersion != APIVersion || cm.Kind != KindConnectivityMap {
		t.Errorf("header = %q %q", cm.APIVersion, cm.Kind)
	}
	if !slices.IsSortedFunc(cm.Findings, CompareFindings) {
		t.Errorf("findings are not sorted: %v", cm.Findings)
	}
	data, err := Marshal(cm)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "connectivitymap.golden.json", data)

	var back ConnectivityMap
	if err := Decode(data, KindConnectivityMap, &back); err != nil {
		t.Fatal(err)
	}
	if !equalMatrices(back.Matrix(), m) {
		t.Errorf("decoded matrix differs:\n got %v\nwant %v", back.Matrix().Edges(), m.Edges())
	}
	if !slices.Equal(back.Findings, cm.Findings) {
		t.Errorf("decoded findings = %v\nwant %v", back.Findings, cm.Findings)
	}
	again, err := Marshal(back)
	if err != nil || string(again) != string(data) {
		t.Errorf("re-marshaling the decoded artifact changed it (%v):\n%s", err, again)
	}
}

func TestConnectivityMapEmpty(t *testing.T) {
	data, err := Marshal(NewConnectivityMap(NewMatrixBuilder().Matrix(), nil))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "apiVersion": "tightnet.dev/v1alpha1",
  "kind": "ConnectivityMap",
  "peers": [],
  "connections": [],
  "findings": []
}
`
	if string(data) != want {
		t.Errorf("empty artifact =\n%s\nwant\n%s", data, want)
	}
	var back ConnectivityMap
	if err := Decode(data, KindConnectivityMap, &back); err != nil {
		t.Fatal(err)
	}
	if back.Matrix().Len() != 0 || len(back.Matrix().Peers()) != 0 {
		t.Errorf("empty artifact decodes to %v", back)
	}
}

func TestDecodeRejects(t *testing.T) {
	valid, err := Marshal(NewConnectivityMap(sampleMatrix(t), sampleFindings()))
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		if !strings.Contains(string(valid), old) {
			t.Fatalf("sample artifact lacks %q", old)
		}
		return []byte(strings.Replace(string(valid), old, new, 1))
	}
	tests := []struct {
		name     string
		data     []byte
		wantKind bool // errors.Is(err, ErrArtifactKind)
	}{
		{"wrong kind", replace(`"kind": "ConnectivityMap"`, `"kind": "PolicySet"`), true},
		{"missing kind", replace(`"kind": "ConnectivityMap",`, ``), true},
		{"empty kind", replace(`"kind": "ConnectivityMap"`, `"kind": ""`), true},
		{"unknown apiVersion", replace(`"tightnet.dev/v1alpha1"`, `"tightnet.dev/v2"`), true},
		{"missing apiVersion", replace(`"apiVersion": "tightnet.dev/v1alpha1",`, ``), true},
		{"unknown top-level field", replace(`"peers": [`, `"extra": 1, "peers": [`), false},
		{"unknown nested field", replace(`"code": "TN001",`, `"code": "TN001", "hint": "x",`), false},
		{"bad connection set", replace(`"TCP 80,443"`, `"TCP 0"`), false},
		{"bad peer", replace(`"shop/db[StatefulSet]"`, `"shop/db"`), false},
		{"bad severity", replace(`"warning"`, `"fatal"`), false},
		{"not JSON", []byte("apiVersion: tightnet.dev/v1alpha1\nkind: ConnectivityMap\n"), false},
		{"JSON array", []byte(`[]`), false},
		{"trailing garbage", append(append([]byte{}, valid...), "{}"...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cm ConnectivityMap
			err := Decode(tt.data, KindConnectivityMap, &cm)
			if err == nil {
				t.Fatalf("Decode accepted:\n%s", tt.data)
			}
			if got := errors.Is(err, ErrArtifactKind); got != tt.wantKind {
				t.Errorf("errors.Is(%v, ErrArtifactKind) = %v, want %v", err, got, tt.wantKind)
			}
			if !strings.HasPrefix(err.Error(), "decode ConnectivityMap: ") {
				t.Errorf("error %q does not name the operation", err)
			}
		})
	}
	// Asking for another kind rejects a valid ConnectivityMap.
	var other struct{ APIVersion, Kind string }
	if err := Decode(valid, "PolicySet", &other); !errors.Is(err, ErrArtifactKind) {
		t.Errorf("Decode as PolicySet: %v, want ErrArtifactKind", err)
	}
}

func TestDecodeIPv4MappedPeers(t *testing.T) {
	// A peer written with IPv4-mapped addresses reads as the IPv4 peer, and
	// an IPv6 range ending in ::ffff:0:0/96 stays IPv6.
	data := []byte(`{"apiVersion": "tightnet.dev/v1alpha1", "kind": "ConnectivityMap",
	  "peers": ["::ffff:10.0.0.1-::ffff:10.0.0.9", "::-::ffff:255.255.255.255"], "connections": [], "findings": []}`)
	var cm ConnectivityMap
	if err := Decode(data, KindConnectivityMap, &cm); err != nil {
		t.Fatal(err)
	}
	want := []Peer{
		ExternalPeer(IPRange{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.9")}),
		ExternalPeer(mustPrefixSet(t, "::/80").Ranges()[0]),
	}
	if !slices.Equal(cm.Peers, want) {
		t.Errorf("peers = %v, want %v", cm.Peers, want)
	}
}
