package model

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// Severity ranks findings.
type Severity uint8

const (
	Info Severity = iota
	Warning
	Error
	numSeverities
)

var severityNames = [numSeverities]string{Info: "info", Warning: "warning", Error: "error"}

func (s Severity) String() string {
	if s < numSeverities {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

func (s Severity) MarshalText() ([]byte, error) {
	if s >= numSeverities {
		return nil, fmt.Errorf("cannot marshal %v", s)
	}
	return []byte(s.String()), nil
}

func (s *Severity) UnmarshalText(b []byte) error {
	for i, name := range severityNames {
		if strings.EqualFold(string(b), name) {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q: want info, warning or error", b)
}

// Location is a place in an input file; Line counts from 1, 0 when unknown.
type Location struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

func (l Location) String() string {
	switch {
	case l.File == "":
		return "<unknown>"
	case l.Line == 0:
		return l.File
	}
	return l.File + ":" + strconv.Itoa(l.Line)
}

// Compare orders locations by file, then line.
func (l Location) Compare(o Location) int {
	if c := cmp.Compare(l.File, o.File); c != 0 {
		return c
	}
	return cmp.Compare(l.Line, o.Line)
}

// A Finding is something a stage noticed about its input: not an error that
// stops the stage, but a fact a user should read. Code is stable across
// releases so that pipelines and suppressions can rely on it.
type Finding struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Location Location `json:"location,omitzero"`
	// Object names the object concerned, "Kind namespace/name", if any.
	Object string `json:"object,omitempty"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s [%s] %s", f.Location, f.Severity, f.Code, f.Message)
}

// CompareFindings orders findings by location, code and message.
func CompareFindings(a, b Finding) int {
	if c := a.Location.Compare(b.Location); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Code, b.Code); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Message, b.Message); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Severity, b.Severity); c != 0 {
		return c
	}
	return cmp.Compare(a.Object, b.Object)
}

// AtLeast lists the findings of severity s or worse, in their order.
func AtLeast(findings []Finding, s Severity) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Severity >= s {
			out = append(out, f)
		}
	}
	return out
}
