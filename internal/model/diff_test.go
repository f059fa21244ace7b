package model

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestChangeOf(t *testing.T) {
	for _, tt := range []struct {
		old, new string
		want     ChangeKind
		ok       bool
	}{
		{"No Connections", "No Connections", 0, false},
		{"TCP 80", "TCP 80", 0, false},
		{"No Connections", "TCP 80", Added, true},
		{"TCP 80", "No Connections", Removed, true},
		{"TCP 80", "TCP 80,443", Changed, true},
		{"All Connections", "TCP 1-65535,UDP 1-65535", Changed, true},
		{"All Connections", "SCTP 1-65535,TCP 1-65535,UDP 1-65535", 0, false},
	} {
		kind, ok := ChangeOf(mustConns(t, tt.old), mustConns(t, tt.new))
		if kind != tt.want || ok != tt.ok {
			t.Errorf("ChangeOf(%s, %s) = %v, %v; want %v, %v", tt.old, tt.new, kind, ok, tt.want, tt.ok)
		}
	}
}

func TestChangeKindText(t *testing.T) {
	for _, k := range []ChangeKind{Added, Removed, Changed} {
		b, err := k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back ChangeKind
		if err := back.UnmarshalText(b); err != nil || back != k {
			t.Errorf("%v round-trips to %v (%v)", k, back, err)
		}
	}
	for _, k := range []ChangeKind{0, numChangeKinds, 200} {
		if _, err := k.MarshalText(); err == nil {
			t.Errorf("%v marshals", k)
		}
		if !strings.HasPrefix(k.String(), "ChangeKind(") {
			t.Errorf("String() = %q", k.String())
		}
	}
	var k ChangeKind
	if err := k.UnmarshalText([]byte("Added")); err == nil {
		t.Error(`"Added" parses; the notation is lower case`)
	}
}

func sampleDiff(t *testing.T) ConnectivityDiff {
	fe := WorkloadPeer("shop", "frontend", "Deployment")
	db := WorkloadPeer("shop", "db", "StatefulSet")
	cart := WorkloadPeer("shop", "cart", "Deployment")
	legacy := WorkloadPeer("shop", "legacy", "Deployment")
	internet := ExternalPeer(AllIPv4().Ranges()[0])
	return NewConnectivityDiff([]Peer{cart}, []Peer{legacy}, []Change{
		{Kind: Removed, Src: legacy, Dst: db, Old: mustConns(t, "TCP 5432"), New: NoConnections()},
		{Kind: Changed, Src: fe, Dst: db, Old: mustConns(t, "TCP 5432"), New: mustConns(t, "TCP 5432,UDP 53")},
		{Kind: Added, Src: cart, Dst: internet, Old: NoConnections(), New: AllConnections()},
	})
}

func TestConnectivityDiffRoundTrip(t *testing.T) {
	d := sampleDiff(t)
	data, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "connectivitydiff.golden.json", data)
	var back ConnectivityDiff
	if err := Decode(data, KindConnectivityDiff, &back); err != nil {
		t.Fatal(err)
	}
	again, err := Marshal(back)
	if err != nil || string(again) != string(data) {
		t.Errorf("re-marshaling the decoded artifact changed it (%v):\n%s", err, again)
	}
	var cm ConnectivityMap
	if err := Decode(data, KindConnectivityMap, &cm); !errors.Is(err, ErrArtifactKind) {
		t.Errorf("a ConnectivityDiff decodes as a ConnectivityMap: %v", err)
	}
	bad := strings.Replace(string(data), `"diff": "added"`, `"diff": "moved"`, 1)
	if err := Decode([]byte(bad), KindConnectivityDiff, &back); err == nil {
		t.Error("an unknown change kind decodes")
	}
}

func TestConnectivityDiffEmpty(t *testing.T) {
	data, err := json.Marshal(NewConnectivityDiff(nil, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"tightnet.dev/v1alpha1","kind":"ConnectivityDiff","addedPeers":[],"removedPeers":[],"changes":[]}`
	if string(data) != want {
		t.Errorf("empty diff = %s\nwant %s", data, want)
	}
}
