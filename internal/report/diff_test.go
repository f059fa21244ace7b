package report

import (
	"encoding/csv"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/model"
)

func conns(t *testing.T, s string) model.ConnectionSet {
	t.Helper()
	c, err := model.ParseConnectionSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sampleDiff has one change of each kind, an IPv6 range on the new side
// only and the ingress controller on the old side only.
func sampleDiff(t *testing.T) model.ConnectivityDiff {
	web := model.WorkloadPeer("shop", "web", "Deployment")
	db := model.WorkloadPeer("shop", "db", "StatefulSet")
	v6 := model.ExternalPeer(model.AllIPv6().Ranges()[0])
	ic := model.IngressController()
	return model.NewConnectivityDiff([]model.Peer{v6}, []model.Peer{ic}, []model.Change{
		{Kind: model.Removed, Src: ic, Dst: web, Old: conns(t, "TCP 80,443"), New: model.NoConnections()},
		{Kind: model.Changed, Src: web, Dst: db, Old: conns(t, "TCP 5432"), New: conns(t, "TCP 5432,UDP 53")},
		{Kind: model.Added, Src: web, Dst: v6, Old: model.NoConnections(), New: model.AllConnections()},
	})
}

func render(t *testing.T, f Format, v DiffView) string {
	t.Helper()
	var b strings.Builder
	if err := Diff(&b, f, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDiffSummary(t *testing.T) {
	d := sampleDiff(t)
	if got, want := DiffSummary(DiffViewOf(d)), "1 connection added, 1 removed, 1 changed; 1 peer added, 1 removed"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	d.Changes = append(d.Changes, d.Changes[2])
	d.AddedPeers, d.RemovedPeers = nil, nil
	if got, want := DiffSummary(DiffViewOf(d)), "2 connections added, 1 removed, 1 changed"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got := DiffSummary(DiffView{}); got != "no differences" {
		t.Errorf("empty summary %q", got)
	}
}

func TestDiffText(t *testing.T) {
	got := render(t, Text, DiffViewOf(sampleDiff(t)))
	want := `diff-type: removed, source: {ingress-controller} [removed peer], destination: shop/web[Deployment], old: TCP 80,443, new: No Connections
diff-type: changed, source: shop/web[Deployment], destination: shop/db[StatefulSet], old: TCP 5432, new: TCP 5432,UDP 53
diff-type: added, source: shop/web[Deployment], destination: ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff [added address range], old: No Connections, new: All Connections
added address range: ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
removed peer: {ingress-controller}
`
	if got != want {
		t.Errorf("text =\n%s\nwant\n%s", got, want)
	}
}

func TestDiffCSVParses(t *testing.T) {
	rows, err := csv.NewReader(strings.NewReader(render(t, CSV, DiffViewOf(sampleDiff(t))))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+3+2 || !slices.Equal(rows[0], []string{"diff-type", "src", "dst", "old", "new"}) {
		t.Fatalf("rows = %q", rows)
	}
	if !slices.Equal(rows[1], []string{"removed", "{ingress-controller}", "shop/web[Deployment]", "TCP 80,443", "No Connections"}) {
		t.Errorf("first change row = %q", rows[1])
	}
	if !slices.Equal(rows[5], []string{"removed peer", "{ingress-controller}", "", "", ""}) {
		t.Errorf("last peer row = %q", rows[5])
	}
}

// TestDiffGraphs: one edge per change in its colour, every node declared
// once, and Mermaid's linkStyle naming every edge exactly once.
func TestDiffGraphs(t *testing.T) {
	v := DiffViewOf(sampleDiff(t))
	dot := render(t, DOT, v)
	if n := strings.Count(dot, " -> "); n != 3 {
		t.Errorf("DOT has %d edges, want 3:\n%s", n, dot)
	}
	for kind, color := range changeColor {
		if !strings.Contains(dot, `color="`+color+`"`) {
			t.Errorf("DOT lacks the %v colour %s", kind, color)
		}
	}
	if strings.Count(dot, "{") != strings.Count(dot, "}") {
		t.Errorf("DOT braces do not balance:\n%s", dot)
	}
	mermaid := render(t, Mermaid, v)
	var styled []string
	for _, m := range regexp.MustCompile(`(?m)^  linkStyle ([0-9,]+) `).FindAllStringSubmatch(mermaid, -1) {
		styled = append(styled, strings.Split(m[1], ",")...)
	}
	slices.Sort(styled)
	if !slices.Equal(styled, []string{"0", "1", "2"}) {
		t.Errorf("linkStyle covers edges %v, want 0, 1, 2:\n%s", styled, mermaid)
	}
	for _, want := range []string{`:::added`, `:::removed`, ` -.->|"TCP 80,443"| `, ` ==>|"TCP 5432 → TCP 5432,UDP 53"| `} {
		if !strings.Contains(mermaid, want) {
			t.Errorf("Mermaid lacks %q:\n%s", want, mermaid)
		}
	}
}

func TestDiffEmptyAndJSON(t *testing.T) {
	for _, f := range []Format{Text, CSV, Markdown, DOT, Mermaid} {
		if out := render(t, f, DiffView{}); strings.Contains(out, "->") || strings.Contains(out, "diff-type: ") {
			t.Errorf("%s: an empty diff renders edges:\n%s", f, out)
		}
	}
	if err := Diff(&strings.Builder{}, JSON, DiffView{}); err == nil {
		t.Error("Diff renders JSON; the artifact is the JSON form")
	}
}

func TestDiffMarkdownEscapes(t *testing.T) {
	d := sampleDiff(t)
	d.Changes[0].Src = model.WorkloadPeer("a|b", "c", "Pod")
	md := render(t, Markdown, DiffViewOf(d))
	if !strings.Contains(md, `a\|b/c[Pod]`) {
		t.Errorf("a | in a cell is not escaped:\n%s", md)
	}
	if !strings.HasPrefix(md, "**1 connection added") {
		t.Errorf("Markdown does not open with the summary:\n%s", md)
	}
}
