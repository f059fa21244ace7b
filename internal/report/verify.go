package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/verify"
)

// SARIF is the Static Analysis Results Interchange Format 2.1.0, which
// GitHub code scanning reads.
const SARIF Format = "sarif"

// VerificationFormats lists the formats Verification renders, JSON (the
// artifact itself) excepted but listed, as the stage offers it.
func VerificationFormats() []Format { return []Format{Text, Markdown, JSON, SARIF} }

// Verification renders a verification in one of the human formats or as
// SARIF (not JSON, which is the artifact itself).
func Verification(w io.Writer, f Format, v verify.Verification) error {
	bw := bufio.NewWriter(w)
	var err error
	switch f {
	case Text:
		err = verificationText(bw, v)
	case Markdown:
		err = verificationMarkdown(bw, v)
	case SARIF:
		err = verificationSARIF(bw, v)
	default:
		return fmt.Errorf("render verification: format %q is not a report format", f)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// VerificationSummary counts the verdicts in one line: "2 of 9 baseline
// rules violated, 1 unchecked, 6 satisfied", or "all 9 baseline rules
// satisfied".
func VerificationSummary(v verify.Verification) string {
	s := v.Summary
	total := s.Satisfied + s.Violated + s.Unchecked
	switch {
	case total == 0:
		return "no baseline rules checked"
	case s.Satisfied == total:
		switch total {
		case 1:
			return "the baseline rule is satisfied"
		case 2:
			return "both baseline rules satisfied"
		}
		return fmt.Sprintf("all %d baseline rules satisfied", total)
	}
	return fmt.Sprintf("%d of %s violated, %d unchecked, %d satisfied", s.Violated, plural(total, "baseline rule"), s.Unchecked, s.Satisfied)
}

// mdVerdict writes a rule's Markdown list item: verdict icon, name, the
// rule on one line, its description and the reason for its verdict.
func mdVerdict(w *bufio.Writer, r verify.Result) {
	fmt.Fprintf(w, "- %s **%s** %s: %s", verdictIcon[r.Verdict], mdText(r.Name), r.Verdict, mdCode(ruleLine(r)))
	if r.Description != "" {
		fmt.Fprintf(w, " — %s", mdText(r.Description))
	}
	w.WriteByte('\n')
	if r.Reason != "" {
		fmt.Fprintf(w, "  <br>%s\n", mdText(r.Reason))
	}
}

// ruleLine is a rule as one line: "deny anything => anything : TCP 23".
func ruleLine(r verify.Result) string {
	return fmt.Sprintf("%s %s => %s : %s", r.Action, r.From, r.To, r.Conns)
}

// witnessHeading says what a rule's witnesses are.
func witnessHeading(r verify.Result) string {
	pairs := "1 pair of peers"
	if n := len(r.Witnesses); n != 1 {
		pairs = fmt.Sprintf("%d pairs of peers", n)
	}
	if r.Action == baseline.Deny {
		return "allowed, though the rule denies them (" + pairs + ")"
	}
	return "required by the rule, not allowed (" + pairs + ")"
}

func witnessLine(w verify.Witness) string {
	return w.Src.String() + " => " + w.Dst.String() + " : " + w.Conns.String()
}

// verificationText writes a line per rule, its verdict first, with the
// witnesses of a violation below it in the conventional notation, then the
// sanity findings, then the summary.
func verificationText(w *bufio.Writer, v verify.Verification) error {
	for _, r := range v.Rules {
		fmt.Fprintf(w, "%-9s  %s: %s\n", r.Verdict, r.Name, ruleLine(r))
		if r.Reason != "" {
			fmt.Fprintf(w, "  %s\n", r.Reason)
		}
		if len(r.Witnesses) > 0 {
			fmt.Fprintf(w, "  %s:\n", witnessHeading(r))
			for _, x := range r.Witnesses {
				fmt.Fprintf(w, "    %s\n", witnessLine(x))
			}
		}
	}
	if len(v.Sanity) > 0 {
		fmt.Fprintf(w, "\nSanity checks (%s):\n", plural(len(v.Sanity), "finding"))
		for _, f := range v.Sanity {
			w.WriteString(f.String() + "\n")
		}
	}
	if len(v.Rules) > 0 || len(v.Sanity) > 0 {
		w.WriteByte('\n')
	}
	w.WriteString(VerificationSummary(v) + "\n")
	return nil
}

var verdictIcon = map[verify.Verdict]string{verify.Satisfied: "✅", verify.Violated: "❌", verify.Unchecked: "⚠️"}

var severityIcon = map[model.Severity]string{model.Info: "ℹ️", model.Warning: "⚠️", model.Error: "❌"}

// mdText escapes text for Markdown outside code spans: HTML and table
// separators.
func mdText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "\\|").Replace(s)
}

// mdCode quotes text as a code span, which shows it verbatim.
func mdCode(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// verificationMarkdown writes a PR comment: the summary line first, then a
// line per rule with its verdict icon, the witnesses of a violation folded
// under it, and the sanity findings folded at the end.
func verificationMarkdown(w *bufio.Writer, v verify.Verification) error {
	icon := "✅"
	switch {
	case v.Summary.Violated > 0:
		icon = "❌"
	case v.Summary.Unchecked > 0:
		icon = "⚠️"
	}
	fmt.Fprintf(w, "**%s tightnet verify: %s**\n", icon, VerificationSummary(v))
	if len(v.Rules) > 0 {
		w.WriteByte('\n')
	}
	for _, r := range v.Rules {
		mdVerdict(w, r)
		if len(r.Witnesses) == 0 {
			continue
		}
		fmt.Fprintf(w, "  <details><summary>%s</summary>\n\n", witnessHeading(r))
		w.WriteString("  | source | destination | connections |\n  | --- | --- | --- |\n")
		for _, x := range r.Witnesses {
			fmt.Fprintf(w, "  | %s | %s | %s |\n", mdCell(mdCode(x.Src.String())), mdCell(mdCode(x.Dst.String())), mdCell(mdCode(x.Conns.String())))
		}
		w.WriteString("\n  </details>\n")
	}
	if len(v.Sanity) > 0 {
		fmt.Fprintf(w, "\n<details><summary>Sanity checks: %s</summary>\n\n", plural(len(v.Sanity), "finding"))
		for _, f := range v.Sanity {
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
	return nil
}
