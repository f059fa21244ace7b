package report

import (
	"bufio"
	"fmt"
	"io"

	"github.com/tightnet/tightnet/internal/model"
)

// Explanation is one explained pair of peers, as the analysis produced it;
// report depends only on model, so the stage converts into this shape.
type Explanation struct {
	Src, Dst   model.Peer
	Conns      model.ConnectionSet
	Directions []ExplainedDirection
}

// ExplainedDirection is one side's decision.
type ExplainedDirection struct {
	Direction  string
	Pod, Other model.Peer
	Allowed    model.ConnectionSet
	Steps      []ExplainedStep
}

// ExplainedStep is one decision about part of the connections.
type ExplainedStep struct {
	Conns                       model.ConnectionSet
	Verdict, Tier, Policy, Rule string
	Location                    model.Location
	Reason                      string
}

// Explain writes explanations as plain sentences. When only is given (a
// single protocol and port), each direction says only what decided it.
func Explain(w io.Writer, explanations []Explanation, only *model.ConnectionSet) error {
	bw := bufio.NewWriter(w)
	for i, ex := range explanations {
		if i > 0 {
			bw.WriteString("\n")
		}
		conns := ex.Conns
		if only != nil {
			conns = conns.Intersect(*only)
		}
		fmt.Fprintf(bw, "%s => %s : %s\n", ex.Src, ex.Dst, conns)
		for _, d := range ex.Directions {
			allowed := d.Allowed
			if only != nil {
				allowed = allowed.Intersect(*only)
			}
			toward := "to"
			if d.Direction == "ingress" {
				toward = "from"
			}
			fmt.Fprintf(bw, "  %s of %s %s %s allows %s:\n", d.Direction, d.Pod, toward, d.Other, allowed)
			for _, s := range d.Steps {
				part := s.Conns
				if only != nil {
					if part = part.Intersect(*only); part.IsEmpty() {
						continue
					}
				}
				bw.WriteString("    " + sentence(part, s) + "\n")
			}
		}
	}
	return bw.Flush()
}

func sentence(part model.ConnectionSet, s ExplainedStep) string {
	what := part.String()
	if part.IsAll() {
		what = "all connections"
	}
	switch {
	case s.Policy != "":
		at := ""
		if s.Location.File != "" {
			at = " (" + s.Location.String() + ")"
		}
		return fmt.Sprintf("%s %s by %s, %s%s, in the %s tier: %s", what, s.Verdict, s.Policy, s.Rule, at, s.Tier, s.Reason)
	default:
		return fmt.Sprintf("%s %s: %s", what, s.Verdict, s.Reason)
	}
}
