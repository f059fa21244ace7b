package model

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestSeverityText(t *testing.T) {
	for _, s := range []Severity{Info, Warning, Error} {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v round trips to %v, %v", s, back, err)
		}
	}
	var s Severity
	if err := s.UnmarshalText([]byte("WARNING")); err != nil || s != Warning {
		t.Errorf("WARNING reads as %v, %v", s, err)
	}
	if err := s.UnmarshalText([]byte("fatal")); err == nil {
		t.Error("fatal reads as a severity")
	}
	if _, err := Severity(3).MarshalText(); err == nil {
		t.Error("Severity(3) marshals")
	}
	if !(Info < Warning && Warning < Error) {
		t.Error("severities do not rank info < warning < error")
	}
}

func TestFindingJSON(t *testing.T) {
	f := Finding{Code: "TN001", Severity: Warning, Message: "m", Location: Location{"a.yaml", 2}, Object: "NetworkPolicy a/b"}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"code":"TN001","severity":"warning","message":"m","location":{"file":"a.yaml","line":2},"object":"NetworkPolicy a/b"}`
	if string(b) != want {
		t.Errorf("finding marshals to %s\nwant %s", b, want)
	}
	var back Finding
	if err := json.Unmarshal(b, &back); err != nil || back != f {
		t.Errorf("finding round trips to %+v, %v", back, err)
	}
	b, err = json.Marshal(Finding{Code: "TN002", Severity: Info, Message: "m"})
	if err != nil || string(b) != `{"code":"TN002","severity":"info","message":"m"}` {
		t.Errorf("a finding without location or object marshals to %s, %v", b, err)
	}
}

func TestCompareFindings(t *testing.T) {
	fs := []Finding{
		{Code: "B", Message: "x", Location: Location{"b.yaml", 1}},
		{Code: "A", Message: "y", Location: Location{"a.yaml", 10}},
		{Code: "A", Message: "x", Location: Location{"a.yaml", 10}},
		{Code: "Z", Message: "x", Location: Location{"a.yaml", 9}},
		{Code: "A", Message: "x"},
	}
	slices.SortFunc(fs, CompareFindings)
	var got []string
	for _, f := range fs {
		got = append(got, f.Location.String()+" "+f.Code+" "+f.Message)
	}
	want := []string{"<unknown> A x", "a.yaml:9 Z x", "a.yaml:10 A x", "a.yaml:10 A y", "b.yaml:1 B x"}
	if !slices.Equal(got, want) {
		t.Errorf("sorted findings = %q\nwant %q", got, want)
	}
}
