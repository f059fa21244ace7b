package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/verify"
)

// KindReview is the kind of the review artifact (review.json).
const KindReview = "Review"

// HTML is a self-contained web page: inline CSS and an inline SVG graph.
const HTML Format = "html"

// CommentLimit is the longest comment GitHub accepts on a pull request, in
// characters; a job summary has a similar bound.
const CommentLimit = 65536

// Review is everything a review found, as one artifact: what the change
// does to connectivity, the baseline verdicts on the head, how exposed the
// head's workloads are, the findings of every stage, and the proposed
// policies when the review synthesized them.
type Review struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Mode is "review" or "synthesize".
	Mode    string       `json:"mode"`
	Summary string       `json:"summary"`
	Counts  ReviewCounts `json:"counts"`
	// Diff is base → head.
	Diff model.ConnectivityDiff `json:"diff"`
	// Verification is absent when no baseline rules were given.
	Verification *verify.Verification `json:"verification,omitempty"`
	Exposure     []model.Exposure     `json:"exposure"`
	// Findings are every stage's findings, sorted.
	Findings []model.Finding `json:"findings"`
	// Policies is the proposed policies' YAML (mode synthesize).
	Policies string `json:"policies,omitempty"`
}

// ReviewCounts summarise a review for pipelines.
type ReviewCounts struct {
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Changed   int `json:"changed"`
	Violated  int `json:"violated"`
	Unchecked int `json:"unchecked"`
	Findings  int `json:"findings"`
	Policies  int `json:"policies"`
}

// ReviewFormats lists the formats a Review renders in, JSON (the artifact
// itself) included.
func ReviewFormats() []Format { return []Format{Markdown, HTML, Text, JSON} }

// ReviewSummary is the review in one line: "3 connections added, 1
// removed, 0 changed, 2 baseline rules violated", with unchecked rules and
// proposed policies when there are any.
func ReviewSummary(c ReviewCounts, verified bool) string {
	s := fmt.Sprintf("%s added, %d removed, %d changed", plural(c.Added, "connection"), c.Removed, c.Changed)
	if verified {
		s += ", " + plural(c.Violated, "baseline rule") + " violated"
		if c.Unchecked > 0 {
			s += fmt.Sprintf(", %d unchecked", c.Unchecked)
		}
	}
	switch {
	case c.Policies == 1:
		s += ", 1 policy proposed"
	case c.Policies > 1:
		s += fmt.Sprintf(", %d policies proposed", c.Policies)
	}
	return s
}

// RenderReview renders a review in Markdown (in full), HTML or text; JSON
// is the artifact itself (model.Marshal).
func RenderReview(w io.Writer, f Format, r Review) error {
	return renderWith(w, "review", f, map[Format]func(*bufio.Writer) error{
		Markdown: func(bw *bufio.Writer) error { return reviewMarkdown(bw, r, fullMarkdown) },
		Text:     func(bw *bufio.Writer) error { return reviewText(bw, r) },
		HTML:     func(bw *bufio.Writer) error { return reviewHTML(bw, r) },
	})
}

// mdParts says which parts of the Markdown report to write; the trimmer
// leaves parts out from the end until the report fits.
type mdParts struct {
	policies, findings, witnesses, exposure, graph bool
	// maxChanges bounds the rows of the changes table; -1 for all.
	maxChanges int
	// trimmed says the report was cut and names the full file.
	trimmed string
}

var fullMarkdown = mdParts{policies: true, findings: true, witnesses: true, exposure: true, graph: true, maxChanges: -1}

// TrimmedMarkdown is the Markdown report cut to fit within limit
// characters: whole sections are left out from the end — the proposed
// policies first, then the findings, then the witnesses of violations, the
// exposure and the graph, and at last rows of the changes table — and a
// line points at fullName, the untrimmed report among the artifacts.
func TrimmedMarkdown(r Review, limit int, fullName string) string {
	render := func(p mdParts) string {
		var b bytes.Buffer
		bw := bufio.NewWriter(&b)
		reviewMarkdown(bw, r, p)
		bw.Flush()
		return b.String()
	}
	p := fullMarkdown
	if s := render(p); utf8.RuneCountInString(s) <= limit {
		return s
	}
	p.trimmed = fullName
	steps := []func(){
		func() { p.policies = false },
		func() { p.findings = false },
		func() { p.witnesses = false },
		func() { p.exposure = false },
		func() { p.graph = false },
	}
	for _, step := range steps {
		step()
		if s := render(p); utf8.RuneCountInString(s) <= limit {
			return s
		}
	}
	// Only the changes table is left too long: keep as many rows as fit.
	lo, hi := 0, len(r.Diff.Changes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		p.maxChanges = mid
		if utf8.RuneCountInString(render(p)) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	p.maxChanges = lo
	return render(p)
}

// reviewIcon is the verdict of the review at a glance.
func reviewIcon(r Review) string {
	switch {
	case r.Counts.Violated > 0:
		return "❌"
	case r.Counts.Unchecked > 0:
		return "⚠️"
	}
	return "✅"
}

func reviewMarkdown(w *bufio.Writer, r Review, p mdParts) error {
	fmt.Fprintf(w, "**%s tightnet review: %s**\n", reviewIcon(r), mdText(r.Summary))
	if p.trimmed != "" {
		fmt.Fprintf(w, "\n> This report was trimmed to fit GitHub's comment limit; the full report is `%s` in the artifacts.\n", p.trimmed)
	}
	v := DiffViewOf(r.Diff)
	nChanges := len(r.Diff.Changes) + len(r.Diff.AddedPeers) + len(r.Diff.RemovedPeers)
	fmt.Fprintf(w, "\n<details open><summary>Changes: %s</summary>\n\n", mdText(DiffSummary(v)))
	if nChanges == 0 {
		w.WriteString("The change leaves connectivity as it was.\n")
	} else {
		if p.graph && len(r.Diff.Changes) > 0 {
			w.WriteString("```mermaid\n")
			diffMermaid(w, v)
			w.WriteString("```\n\n")
		}
		shown := r.Diff
		if p.maxChanges >= 0 && p.maxChanges < len(shown.Changes) {
			shown.Changes = shown.Changes[:p.maxChanges]
		}
		var b bytes.Buffer
		bw := bufio.NewWriter(&b)
		diffMarkdown(bw, DiffViewOf(shown))
		bw.Flush()
		// diffMarkdown starts with the summary line, already in the heading.
		_, tables, _ := strings.Cut(b.String(), "\n")
		w.WriteString(strings.TrimPrefix(tables, "\n"))
		if n := len(r.Diff.Changes) - len(shown.Changes); n > 0 {
			fmt.Fprintf(w, "\n… and %s more, in `%s`.\n", plural(n, "changed edge"), p.trimmed)
		}
	}
	w.WriteString("\n</details>\n")

	if vr := r.Verification; vr != nil {
		fmt.Fprintf(w, "\n<details open><summary>Baseline rules: %s</summary>\n\n", mdText(VerificationSummary(*vr)))
		for _, res := range vr.Rules {
			mdVerdict(w, res)
			if len(res.Witnesses) == 0 {
				continue
			}
			if !p.witnesses {
				fmt.Fprintf(w, "  <br>%s: left out here, see `%s`\n", witnessHeading(res), p.trimmed)
				continue
			}
			fmt.Fprintf(w, "  <details><summary>%s</summary>\n\n", witnessHeading(res))
			w.WriteString("  | source | destination | connections |\n  | --- | --- | --- |\n")
			for _, x := range res.Witnesses {
				fmt.Fprintf(w, "  | %s | %s | %s |\n", mdCell(mdCode(x.Src.String())), mdCell(mdCode(x.Dst.String())), mdCell(mdCode(x.Conns.String())))
			}
			w.WriteString("\n  </details>\n")
		}
		w.WriteString("\n</details>\n")
	}

	if p.exposure {
		exposed := exposedOnly(r.Exposure)
		fmt.Fprintf(w, "\n<details><summary>Exposure: %s</summary>\n", plural(len(exposed), "workload")+" open to the entire cluster, every address, or not isolated")
		var b bytes.Buffer
		Exposure(&b, Markdown, exposed)
		w.WriteString(strings.TrimPrefix(b.String(), "\n### Exposure\n"))
		w.WriteString("\n</details>\n")
	}

	if p.findings {
		fmt.Fprintf(w, "\n<details><summary>Findings: %d</summary>\n\n", len(r.Findings))
		if len(r.Findings) == 0 {
			w.WriteString("No findings.\n")
		}
		for _, f := range r.Findings {
			fmt.Fprintf(w, "- %s %s", severityIcon[f.Severity], mdCode(f.Code))
			if f.Location.File != "" {
				fmt.Fprintf(w, " %s", mdCode(f.Location.String()))
			}
			if f.Object != "" {
				fmt.Fprintf(w, " %s:", mdText(f.Object))
			}
			fmt.Fprintf(w, " %s\n", mdText(f.Message))
		}
		w.WriteString("\n</details>\n")
	}

	if p.policies && r.Policies != "" {
		fmt.Fprintf(w, "\n<details><summary>Proposed policies: %d</summary>\n\n", r.Counts.Policies)
		fence := "```"
		for strings.Contains(r.Policies, fence) {
			fence += "`"
		}
		fmt.Fprintf(w, "%syaml\n%s", fence, r.Policies)
		if !strings.HasSuffix(r.Policies, "\n") {
			w.WriteByte('\n')
		}
		fmt.Fprintf(w, "%s\n\n</details>\n", fence)
	}
	return nil
}

// exposedOnly keeps the workloads open in some way.
func exposedOnly(xs []model.Exposure) []model.Exposure {
	var out []model.Exposure
	for _, x := range xs {
		if x.Exposed() {
			out = append(out, x)
		}
	}
	return out
}

// reviewText is the report for a terminal or a log: the summary, then the
// same sections as the Markdown report, in the conventional notation.
func reviewText(w *bufio.Writer, r Review) error {
	fmt.Fprintf(w, "tightnet review: %s\n", r.Summary)
	v := DiffViewOf(r.Diff)
	fmt.Fprintf(w, "\nChanges (%s):\n", DiffSummary(v))
	diffText(w, v)
	if vr := r.Verification; vr != nil {
		w.WriteString("\nBaseline rules:\n")
		verificationText(w, *vr)
	}
	w.Flush()
	Exposure(w, Text, exposedOnly(r.Exposure))
	fmt.Fprintf(w, "\nFindings (%d):\n", len(r.Findings))
	for _, f := range r.Findings {
		w.WriteString(f.String() + "\n")
	}
	if r.Policies != "" {
		fmt.Fprintf(w, "\nProposed policies (%d):\n%s", r.Counts.Policies, r.Policies)
	}
	return nil
}
