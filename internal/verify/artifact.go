package verify

import (
	"fmt"
	"slices"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/model"
)

// Kind is the artifact kind of a Verification.
const Kind = "Verification"

// Verdict is what checking one rule found.
type Verdict uint8

const (
	// Satisfied: no connection contradicts the rule.
	Satisfied Verdict = iota
	// Violated: some connection contradicts the rule; the witnesses list
	// every one.
	Violated
	// Unchecked: the rule could not be checked against this input; the
	// reason says why and what to do.
	Unchecked
	numVerdicts
)

var verdictNames = [numVerdicts]string{Satisfied: "satisfied", Violated: "violated", Unchecked: "unchecked"}

func (v Verdict) String() string {
	if v < numVerdicts {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

func (v Verdict) MarshalText() ([]byte, error) {
	if v >= numVerdicts {
		return nil, fmt.Errorf("cannot marshal %v", v)
	}
	return []byte(v.String()), nil
}

func (v *Verdict) UnmarshalText(b []byte) error {
	for i, name := range verdictNames {
		if string(b) == name {
			*v = Verdict(i)
			return nil
		}
	}
	return fmt.Errorf("unknown verdict %q: want satisfied, violated or unchecked", b)
}

// Verification is the artifact of the verify stage: a verdict per baseline
// rule, in the order the rules were loaded, with the witnesses of every
// violation; sanity findings when asked for; and the findings of reading
// and evaluating the inputs.
type Verification struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Summary    Summary  `json:"summary"`
	Rules      []Result `json:"rules"`
	// Sanity lists what the sanity checks found, sorted; absent when they
	// did not run or found nothing.
	Sanity   []model.Finding `json:"sanity,omitempty"`
	Findings []model.Finding `json:"findings"`
}

// Summary counts the rules by verdict.
type Summary struct {
	Satisfied int `json:"satisfied"`
	Violated  int `json:"violated"`
	Unchecked int `json:"unchecked"`
}

// Result is the verdict on one rule.
type Result struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Action      baseline.Action `json:"action"`
	// From and To describe the rule's sides as baseline.End.String does.
	From  string              `json:"from"`
	To    string              `json:"to"`
	Conns model.ConnectionSet `json:"conns"`
	// Location is where the rule was read.
	Location model.Location `json:"location"`
	Verdict  Verdict        `json:"verdict"`
	// Reason says why an unchecked rule could not be checked, or remarks on
	// a satisfied rule that had nothing to check.
	Reason string `json:"reason,omitempty"`
	// Witnesses (of a violated rule) are, per pair of peers, the
	// connections the matrix allows that the deny rule covers, or the
	// connections the allow rule requires that the matrix does not allow;
	// sorted by source, then destination.
	Witnesses []Witness `json:"witnesses,omitempty"`
}

// Witness is one pair of peers and the connections between them that
// contradict a rule.
type Witness struct {
	Src   model.Peer          `json:"src"`
	Dst   model.Peer          `json:"dst"`
	Conns model.ConnectionSet `json:"conns"`
	// Location is where the workload concerned was read: the destination,
	// or the source when the destination is not a workload. Zero when the
	// inventory does not know.
	Location model.Location `json:"location,omitzero"`
}

// Failed reports whether some rule is violated or unchecked.
func (v Verification) Failed() bool { return v.Summary.Violated+v.Summary.Unchecked > 0 }

// newVerification wraps results as an artifact, counted.
func newVerification(results []Result) Verification {
	v := Verification{APIVersion: model.APIVersion, Kind: Kind, Rules: results, Findings: []model.Finding{}}
	if v.Rules == nil {
		v.Rules = []Result{}
	}
	for _, r := range results {
		switch r.Verdict {
		case Satisfied:
			v.Summary.Satisfied++
		case Violated:
			v.Summary.Violated++
		case Unchecked:
			v.Summary.Unchecked++
		}
	}
	return v
}

// WithFindings returns v with the findings of reading and evaluating the
// inputs, and the sanity findings (nil when the checks did not run), sorted.
func (v Verification) WithFindings(inputs, sanity []model.Finding) Verification {
	v.Findings = slices.SortedFunc(slices.Values(inputs), model.CompareFindings)
	if v.Findings == nil {
		v.Findings = []model.Finding{}
	}
	v.Sanity = nil
	if sanity != nil {
		v.Sanity = slices.SortedFunc(slices.Values(sanity), model.CompareFindings)
	}
	return v
}

// Unverified is the verification of rules none of which could be checked,
// for the reason given: inputs that could not be analysed, say.
func Unverified(rules []baseline.Rule, reason string) Verification {
	results := make([]Result, len(rules))
	for i, r := range rules {
		results[i] = result(r)
		results[i].Verdict, results[i].Reason = Unchecked, reason
	}
	return newVerification(results)
}

// result is a rule's Result without a verdict.
func result(r baseline.Rule) Result {
	return Result{
		Name: r.Name, Description: r.Description, Action: r.Action,
		From: r.From.String(), To: r.To.String(), Conns: r.Conns, Location: r.Source,
	}
}
