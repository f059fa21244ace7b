package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/verify"
)

// The SARIF 2.1.0 log, as far as tightnet fills it in. Field order follows
// the specification's examples; every slice is sorted, so equal input gives
// byte-equal output.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	ShortDescription     sarifMessage    `json:"shortDescription"`
	FullDescription      *sarifMessage   `json:"fullDescription,omitempty"`
	DefaultConfiguration sarifConfig     `json:"defaultConfiguration"`
	Properties           sarifProperties `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifProperties struct {
	Tags []string `json:"tags"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

// sarifText is a message text: SARIF reserves "{" and "}" for placeholders
// and spells literal ones "{{" and "}}" (§3.11.5), as in
// {{ingress-controller}}.
func sarifText(s string) sarifMessage {
	return sarifMessage{Text: strings.NewReplacer("{", "{{", "}", "}}").Replace(s)}
}

type sarifResult struct {
	RuleID           string          `json:"ruleId"`
	RuleIndex        int             `json:"ruleIndex"`
	Level            string          `json:"level"`
	Message          sarifMessage    `json:"message"`
	Locations        []sarifLocation `json:"locations"`
	RelatedLocations []sarifLocation `json:"relatedLocations,omitempty"`
}

type sarifLocation struct {
	ID               int           `json:"id,omitempty"`
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
	Message          *sarifMessage `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// The OASIS schema of SARIF 2.1.0 (errata 01), as CodeQL writes it.
const sarifSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// verificationSARIF writes one run of tool "tightnet" with a rule per
// baseline rule (id: the rule's name) and one per finding code, and a
// result per witness of a violated rule (at the manifest of the workload
// concerned, the rule's own place related), per unchecked rule (at the
// rule), and per sanity or input finding that has a location. Satisfied
// rules have no result. Findings without a file are left out: code
// scanning needs a location.
func verificationSARIF(w *bufio.Writer, v verify.Verification) error {
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "tightnet", InformationURI: "https://github.com/tightnet/tightnet", Rules: []sarifRule{}}},
		Results: []sarifResult{},
	}
	for i, r := range v.Rules {
		rule := sarifRule{
			ID:                   r.Name,
			ShortDescription:     sarifText("Baseline rule " + r.Name + ": " + ruleLine(r)),
			DefaultConfiguration: sarifConfig{Level: "error"},
			Properties:           sarifProperties{Tags: []string{"baseline", r.Action.String(), "security"}},
		}
		if r.Description != "" {
			d := sarifText(r.Description)
			rule.FullDescription = &d
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)
		at := sarifLocationOf(r.Location, 0, "")
		switch r.Verdict {
		case verify.Unchecked:
			run.Results = append(run.Results, sarifResult{
				RuleID: r.Name, RuleIndex: i, Level: "warning",
				Message:   sarifText(fmt.Sprintf("Baseline rule %s could not be checked: %s", r.Name, r.Reason)),
				Locations: []sarifLocation{at},
			})
		case verify.Violated:
			for _, x := range r.Witnesses {
				loc := at
				if x.Location.File != "" {
					loc = sarifLocationOf(x.Location, 0, "")
				}
				run.Results = append(run.Results, sarifResult{
					RuleID: r.Name, RuleIndex: i, Level: "error",
					Message:          sarifText(witnessMessage(r, x)),
					Locations:        []sarifLocation{loc},
					RelatedLocations: []sarifLocation{sarifLocationOf(r.Location, 1, "baseline rule "+r.Name)},
				})
			}
		}
	}
	findings := slices.Concat(v.Sanity, v.Findings)
	codes := map[string]int{}
	var byCode []string
	for _, f := range findings {
		if _, ok := codes[f.Code]; !ok {
			codes[f.Code] = 0
			byCode = append(byCode, f.Code)
		}
	}
	slices.Sort(byCode)
	for _, code := range byCode {
		codes[code] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID:                   code,
			ShortDescription:     sarifText(strings.ReplaceAll(code, "-", " ")),
			DefaultConfiguration: sarifConfig{Level: "warning"},
			Properties:           sarifProperties{Tags: []string{strings.SplitN(code, "-", 2)[0]}},
		})
	}
	for _, f := range findings {
		if f.Location.File == "" {
			continue
		}
		text := f.Message
		if f.Object != "" {
			text = f.Object + ": " + text
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.Code, RuleIndex: codes[f.Code], Level: sarifLevel(f.Severity),
			Message:   sarifText(text),
			Locations: []sarifLocation{sarifLocationOf(f.Location, 0, "")},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sarifLog{Schema: sarifSchema, Version: "2.1.0", Runs: []sarifRun{run}}); err != nil {
		return fmt.Errorf("render verification as SARIF: %w", err)
	}
	return nil
}

// witnessMessage says what a witness contradicts.
func witnessMessage(r verify.Result, x verify.Witness) string {
	if r.Action == baseline.Deny {
		return fmt.Sprintf("%s is allowed, but baseline rule %s denies it (%s)", witnessLine(x), r.Name, ruleLine(r))
	}
	return fmt.Sprintf("%s is not allowed, but baseline rule %s requires it (%s)", witnessLine(x), r.Name, ruleLine(r))
}

// sarifLocationOf is a file and line as a SARIF location; a line unknown
// (0) is the first. The path becomes a relative URI reference.
func sarifLocationOf(l model.Location, id int, message string) sarifLocation {
	loc := sarifLocation{ID: id, PhysicalLocation: sarifPhysical{
		ArtifactLocation: sarifArtifact{URI: (&url.URL{Path: strings.ReplaceAll(l.File, `\`, "/")}).String()},
		Region:           sarifRegion{StartLine: max(l.Line, 1)},
	}}
	if message != "" {
		m := sarifText(message)
		loc.Message = &m
	}
	return loc
}

func sarifLevel(s model.Severity) string {
	switch s {
	case model.Error:
		return "error"
	case model.Warning:
		return "warning"
	}
	return "note"
}
