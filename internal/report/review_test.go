package report

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/verify"
)

// largeReview is a review of a change touching many workloads: changes
// rows, witnesses, findings and policies each longer than a comment.
func largeReview(t *testing.T, changes, witnesses, findings, policyLines int) Review {
	t.Helper()
	var cs []model.Change
	for i := range changes {
		src := model.WorkloadPeer(fmt.Sprintf("ns-%d", i%7), fmt.Sprintf("client-%04d", i), "Deployment")
		dst := model.WorkloadPeer("backend", fmt.Sprintf("server-%04d", i), "Deployment")
		cs = append(cs, model.Change{Kind: model.Added, Src: src, Dst: dst, Old: model.NoConnections(), New: conns(t, "TCP 8080")})
	}
	var ws []verify.Witness
	for i := range witnesses {
		ws = append(ws, verify.Witness{Src: model.WorkloadPeer("ns-1", fmt.Sprintf("client-%04d", i), "Deployment"),
			Dst: model.WorkloadPeer("backend", "db", "StatefulSet"), Conns: conns(t, "TCP 5432")})
	}
	v := verify.Verification{APIVersion: model.APIVersion, Kind: verify.Kind, Summary: verify.Summary{Violated: 1},
		Rules: []verify.Result{{Name: "only-api-reads-db", Action: baseline.Deny, From: "anything", To: "pods app=db", Conns: conns(t, "TCP 5432"),
			Verdict: verify.Violated, Witnesses: ws}}}
	var fs []model.Finding
	for i := range findings {
		fs = append(fs, model.Finding{Code: "extract-example", Severity: model.Warning, Message: fmt.Sprintf("finding number %d about something in the inputs", i),
			Location: model.Location{File: "manifests/app.yaml", Line: i + 1}})
	}
	var pol strings.Builder
	for i := range policyLines {
		fmt.Fprintf(&pol, "# policy line %d of the proposal, long enough to count\n", i)
	}
	counts := ReviewCounts{Added: changes, Violated: 1, Findings: findings, Policies: 1}
	return Review{APIVersion: model.APIVersion, Kind: KindReview, Mode: "synthesize", Summary: ReviewSummary(counts, true), Counts: counts,
		Diff: model.NewConnectivityDiff(nil, nil, cs), Verification: &v, Findings: fs, Policies: pol.String()}
}

func TestTrimmedMarkdown(t *testing.T) {
	fits := func(t *testing.T, md string) {
		t.Helper()
		if n := utf8.RuneCountInString(md); n > CommentLimit {
			t.Fatalf("trimmed report has %d characters, over the limit %d", n, CommentLimit)
		}
		if !strings.HasPrefix(md, "**❌ tightnet review: ") {
			t.Errorf("trimmed report does not start with the summary line")
		}
		if !strings.Contains(md, "the full report is `report.md` in the artifacts") {
			t.Errorf("trimmed report does not point at report.md")
		}
	}
	small := largeReview(t, 3, 2, 2, 2)
	var full strings.Builder
	if err := RenderReview(&full, Markdown, small); err != nil {
		t.Fatal(err)
	}
	if got := TrimmedMarkdown(small, CommentLimit, "report.md"); got != full.String() {
		t.Errorf("a report under the limit was changed by trimming")
	}

	t.Run("policies go first", func(t *testing.T) {
		md := TrimmedMarkdown(largeReview(t, 10, 5, 5, 3000), CommentLimit, "report.md")
		fits(t, md)
		if strings.Contains(md, "Proposed policies") {
			t.Errorf("policies kept")
		}
		if !strings.Contains(md, "Findings: 5") || !strings.Contains(md, "| `ns-1/client-0004[Deployment]` |") {
			t.Errorf("findings or witnesses cut though cutting the policies was enough")
		}
	})
	t.Run("then findings, then witnesses", func(t *testing.T) {
		md := TrimmedMarkdown(largeReview(t, 10, 3000, 3000, 3000), CommentLimit, "report.md")
		fits(t, md)
		if strings.Contains(md, "Proposed policies") || strings.Contains(md, "<summary>Findings") || strings.Contains(md, "| `ns-1/client-0004[Deployment]` |") {
			t.Errorf("policies, findings or witnesses kept")
		}
		if !strings.Contains(md, "left out here, see `report.md`") {
			t.Errorf("the violated rule does not say where its witnesses are")
		}
		if !strings.Contains(md, "```mermaid") || !strings.Contains(md, "client-0009") {
			t.Errorf("the changes were cut though cutting the rest was enough")
		}
	})
	t.Run("changes table last", func(t *testing.T) {
		md := TrimmedMarkdown(largeReview(t, 5000, 3000, 3000, 3000), CommentLimit, "report.md")
		fits(t, md)
		if strings.Contains(md, "```mermaid") {
			t.Errorf("graph kept")
		}
		if !strings.Contains(md, "| added | ns-0/client-0000[Deployment] |") || !strings.Contains(md, "more, in `report.md`") {
			t.Errorf("the changes table is not cut to its first rows with a pointer to the rest")
		}
	})
}

func TestReviewSummary(t *testing.T) {
	for _, tc := range []struct {
		c        ReviewCounts
		verified bool
		want     string
	}{
		{ReviewCounts{Added: 3, Removed: 1, Violated: 2}, true, "3 connections added, 1 removed, 0 changed, 2 baseline rules violated"},
		{ReviewCounts{Added: 1}, false, "1 connection added, 0 removed, 0 changed"},
		{ReviewCounts{Violated: 1, Unchecked: 1, Policies: 1}, true, "0 connections added, 0 removed, 0 changed, 1 baseline rule violated, 1 unchecked, 1 policy proposed"},
	} {
		if got := ReviewSummary(tc.c, tc.verified); got != tc.want {
			t.Errorf("ReviewSummary(%+v) = %q, want %q", tc.c, got, tc.want)
		}
	}
}
