package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	yamlv3 "go.yaml.in/yaml/v3"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/tightnet/tightnet/internal/model"
)

// job is one YAML document or JSON value to decode. Files are split into
// jobs as they are read; jobs are decoded concurrently.
type job struct {
	file   string
	text   []byte
	isJSON bool
	// startLine is the line of text's first byte, line the line of the
	// document's first content.
	startLine, line int
	// longest is the length of the document's longest line (YAML only).
	longest int
	// namespace is where namespaced objects without metadata.namespace go;
	// "" means DefaultNamespace. A Helm chart's objects go to the release
	// namespace, as helm install puts them there.
	namespace string
}

// decoded is what decoding one job yields; the reader merges the results in
// input order, so output and logs do not depend on scheduling.
type decoded struct {
	objects  []object
	findings []model.Finding
	logs     []logEntry
}

type logEntry struct {
	msg  string
	args []any
}

func (s *decoded) finding(code string, sev model.Severity, loc model.Location, object, format string, args ...any) {
	s.findings = append(s.findings, model.Finding{
		Code:     code,
		Severity: sev,
		Message:  fmt.Sprintf(format, args...),
		Location: loc,
		Object:   object,
	})
}

func (s *decoded) debug(msg string, args ...any) { s.logs = append(s.logs, logEntry{msg, args}) }

// decodeAll decodes the jobs on every CPU and merges the results in order.
func (r *reader) decodeAll() error {
	results := make([]decoded, len(r.jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(r.jobs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(r.jobs) || r.ctx.Err() != nil {
					return
				}
				results[i] = r.jobs[i].decode()
			}
		})
	}
	wg.Wait()
	if err := r.cancelled(); err != nil {
		return err
	}
	for _, res := range results {
		r.objects = append(r.objects, res.objects...)
		r.findings = append(r.findings, res.findings...)
		for _, l := range res.logs {
			r.log.Debug(l.msg, l.args...)
		}
	}
	r.jobs = nil
	return nil
}

// document is one object's JSON and where it starts, before its kind is
// known.
type document struct {
	file string
	line int
	json []byte
	// itemLines returns the line of each element of the document's items
	// array, or nil when unknown; nil for a document inside a List.
	itemLines func() []int
	// namespace is the job's default namespace.
	namespace string
}

func (d document) loc() model.Location { return model.Location{File: d.file, Line: d.line} }

// parse splits one file into jobs. kubectl's rule decides the format: a
// stream whose first non-space character is "{" is JSON, anything else YAML.
func (r *reader) parse(file string, data []byte) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if i := bytes.IndexByte(data, 0); i >= 0 {
		r.finding(CodeMalformed, model.Error, model.Location{File: file, Line: lineAt(data, i)}, "",
			"file is binary, not YAML or JSON text, and was skipped; remove it from the inputs")
		return
	}
	if !utf8.Valid(data) {
		r.finding(CodeMalformed, model.Error, model.Location{File: file, Line: lineAt(data, firstInvalidUTF8(data))}, "",
			"file is not UTF-8 text and was skipped; save it as UTF-8")
		return
	}
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		r.splitJSON(file, data)
		return
	}
	r.splitYAML(file, data)
}

// splitJSON splits a stream of JSON values. A syntax error ends the file:
// a JSON stream cannot be resynchronised after one.
func (r *reader) splitJSON(file string, data []byte) {
	dec := json.NewDecoder(bytes.NewReader(data))
	lines := lineCounter{data: data}
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return
		}
		if err != nil {
			line := 0
			if se, ok := errors.AsType[*json.SyntaxError](err); ok {
				line = lines.at(int(se.Offset))
			}
			r.finding(CodeMalformed, model.Error, model.Location{File: file, Line: line}, "",
				"not valid JSON: %v; fix the syntax (the rest of the file was not read)", err)
			return
		}
		start := int(dec.InputOffset()) - len(raw)
		line := lines.at(start)
		r.jobs = append(r.jobs, job{file: file, text: raw, isJSON: true, startLine: line, line: line})
	}
}

// splitYAML splits a stream of YAML documents on lines that start with
// "---" followed by nothing but an optional comment, as kubectl does, so
// that an error in one document does not stop the others, and each
// document's first line is known without parsing it. Documents with no
// content (empty, or only comments) are dropped.
func (r *reader) splitYAML(file string, data []byte) {
	var (
		start       = 0 // offset of the current document
		startLine   = 1 // line of start
		contentLine = 0 // first line of the document that is not blank or a comment
		longest     = 0 // the longest line in the document
		line        = 1
	)
	flush := func(end int) {
		if contentLine != 0 {
			r.jobs = append(r.jobs, job{file: file, text: data[start:end], startLine: startLine, line: contentLine, longest: longest})
		}
	}
	for pos := 0; pos < len(data); line++ {
		next := len(data)
		if i := bytes.IndexByte(data[pos:], '\n'); i >= 0 {
			next = pos + i + 1
		}
		text := bytes.TrimRight(data[pos:next], "\r\n")
		if isSeparator(text) {
			flush(pos)
			start, startLine, contentLine, longest = next, line+1, 0, 0
		} else {
			longest = max(longest, len(text))
			if contentLine == 0 && isContent(text) {
				contentLine = line
			}
		}
		pos = next
	}
	flush(len(data))
}

// isSeparator reports whether a line separates YAML documents: "---" alone
// or followed by a comment. "--- value" starts a document with content and
// is not split on, as in kubectl.
func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	return len(rest) == 0 || rest[0] == '#'
}

// isContent reports whether a line holds a YAML node, rather than being
// blank, a comment, a directive or a document end marker.
func isContent(line []byte) bool {
	t := bytes.TrimLeft(line, " \t")
	switch {
	case len(t) == 0, t[0] == '#', line[0] == '%':
		return false
	case bytes.HasPrefix(line, []byte("...")) && len(bytes.TrimSpace(line[3:])) == 0:
		return false
	}
	return true
}

// maxSafeLineLength bounds the lines of a document handed straight to
// sigs.k8s.io/yaml. Its parser (yaml.v2) limits flow nesting ([ and {) but
// not block nesting, and recurses once per level, so a document nested
// deeply enough would exhaust the goroutine stack, which no recover
// catches. Block nesting needs indentation or a "- " per level, so it is at
// most about twice the longest line; documents with longer lines are first
// parsed by yaml.v3, which limits both kinds of nesting to 10,000 levels.
const maxSafeLineLength = 4096

// yamlErrorLine matches the position yaml.v2 and yaml.v3 put at the start of
// syntax errors. It is used only to turn the line within the document into a
// line within the file; when it does not match, the finding points at the
// document.
var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): `)

// decode decodes one job.
func (j job) decode() decoded {
	var s decoded
	if j.isJSON {
		s.document(document{file: j.file, line: j.line, json: j.text, namespace: j.namespace, itemLines: func() []int { return jsonItemLines(j.text, j.line) }}, 0)
		return s
	}
	var node *yamlv3.Node
	if j.longest > maxSafeLineLength {
		node = new(yamlv3.Node)
		if err := yamlv3.Unmarshal(j.text, node); err != nil {
			s.yamlError(j, err)
			return s
		}
	}
	js, err := sigsyaml.YAMLToJSON(j.text)
	if err != nil {
		s.yamlError(j, err)
		return s
	}
	s.document(document{
		file:      j.file,
		line:      j.line,
		json:      js,
		namespace: j.namespace,
		itemLines: func() []int {
			if node == nil {
				node = new(yamlv3.Node)
				if yamlv3.Unmarshal(j.text, node) != nil {
					return nil
				}
			}
			return yamlItemLines(node, j.startLine)
		},
	}, 0)
	return s
}

func (s *decoded) yamlError(j job, err error) {
	loc := model.Location{File: j.file, Line: j.line}
	msg := err.Error()
	if m := yamlErrorLine.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			loc.Line = j.startLine + n - 1
			msg = msg[len(m[0]):]
		}
	}
	s.finding(CodeMalformed, model.Error, loc, "",
		"not valid YAML: %s; fix the document (the other documents were read)", trimYAMLPrefix(msg))
}

func trimYAMLPrefix(msg string) string {
	msg, _ = strings.CutPrefix(msg, "yaml: ")
	return msg
}

// yamlItemLines finds the lines of the elements of the top-level items
// sequence in a parsed YAML document. Lines in node count from the start of
// the document's text, which is at startLine in the file.
func yamlItemLines(doc *yamlv3.Node, startLine int) []int {
	n := doc
	if n.Kind == yamlv3.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	n = resolveAlias(n)
	if n == nil || n.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "items" {
			continue
		}
		seq := resolveAlias(n.Content[i+1])
		if seq == nil || seq.Kind != yamlv3.SequenceNode {
			return nil
		}
		lines := make([]int, len(seq.Content))
		for j, item := range seq.Content {
			lines[j] = startLine + item.Line - 1
		}
		return lines
	}
	return nil
}

func resolveAlias(n *yamlv3.Node) *yamlv3.Node {
	for range 10 {
		if n == nil || n.Kind != yamlv3.AliasNode {
			return n
		}
		n = n.Alias
	}
	return nil
}

// jsonItemLines finds the lines of the elements of the items array of a
// JSON object that starts at line.
func jsonItemLines(raw []byte, line int) []int {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	lines := lineCounter{data: raw}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		if key != "items" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil
		}
		var out []int
		for dec.More() {
			var item json.RawMessage
			if dec.Decode(&item) != nil {
				return nil
			}
			start := int(dec.InputOffset()) - len(item)
			out = append(out, line+lines.at(start)-1)
		}
		return out
	}
	return nil
}

// header is what is read of every document before its kind is known.
type header struct {
	APIVersion json.RawMessage `json:"apiVersion"`
	Kind       json.RawMessage `json:"kind"`
	Metadata   json.RawMessage `json:"metadata"`
	Items      json.RawMessage `json:"items"`
}

// maxListDepth bounds Lists inside Lists.
const maxListDepth = 8

// document reads one object, or the items of a List.
func (s *decoded) document(d document, depth int) {
	js := bytes.TrimSpace(d.json)
	switch {
	case len(js) == 0 || bytes.Equal(js, []byte("null")):
		return // an empty document, or only comments
	case js[0] != '{':
		s.finding(CodeInvalidObject, model.Error, d.loc(), "",
			"document is %s, not a mapping; each document must be one Kubernetes object with apiVersion, kind and metadata", jsonKind(js[0]))
		return
	}
	var h header
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &h); err != nil {
		if ok, _ := sigsjson.SyntaxErrorOffset(err); ok {
			s.finding(CodeMalformed, model.Error, d.loc(), "", "document cannot be read: %v; simplify the document", err)
			return
		}
		s.finding(CodeInvalidObject, model.Error, d.loc(), "", "document cannot be read: %v", err)
		return
	}
	apiVersion, err1 := jsonString(h.APIVersion)
	kind, err2 := jsonString(h.Kind)
	switch {
	case err1 != nil:
		s.finding(CodeInvalidObject, model.Error, d.loc(), "", "apiVersion is %s, not a string; write it as group/version, such as apps/v1", err1)
		return
	case err2 != nil:
		s.finding(CodeInvalidObject, model.Error, d.loc(), "", "kind is %s, not a string; write the object's kind, such as Deployment", err2)
		return
	case kind == "" && apiVersion == "":
		s.finding(CodeInvalidObject, model.Error, d.loc(), "", "document has no apiVersion and no kind; every Kubernetes object needs both, or remove the document if it is not one")
		return
	case kind == "":
		s.finding(CodeInvalidObject, model.Error, d.loc(), "", "document has no kind; add the object's kind, such as Deployment")
		return
	case apiVersion == "":
		s.finding(CodeInvalidObject, model.Error, d.loc(), "", "%s has no apiVersion; add it, such as apps/v1", kind)
		return
	}
	if isList(kind, h.Items) {
		s.list(d, kind, h.Items, depth)
		return
	}
	s.object(d, apiVersion, kind, h.Metadata)
}

// isList reports whether a document is a List: kubectl accepts any kind
// ending in "List" with an items array (List, PodList, NetworkPolicyList...).
func isList(kind string, items json.RawMessage) bool {
	items = bytes.TrimSpace(items)
	return strings.HasSuffix(kind, "List") && len(items) > 0 && items[0] == '['
}

func (s *decoded) list(d document, kind string, itemsJSON json.RawMessage, depth int) {
	if depth >= maxListDepth {
		s.finding(CodeInvalidObject, model.Error, d.loc(), "", "%s nests Lists more than %d deep; flatten it", kind, maxListDepth)
		return
	}
	var items []json.RawMessage
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(itemsJSON, &items); err != nil {
		s.finding(CodeInvalidObject, model.Error, d.loc(), "", "%s items cannot be read: %v", kind, err)
		return
	}
	var lines []int
	if d.itemLines != nil {
		lines = d.itemLines()
	}
	if len(lines) != len(items) {
		lines = nil // point every item at the List
	}
	for i, item := range items {
		line := d.line
		if lines != nil {
			line = lines[i]
		}
		s.document(document{file: d.file, line: line, json: item, namespace: d.namespace}, depth+1)
	}
}

// jsonString decodes an optional JSON string; null and absent are "".
func jsonString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	if raw[0] != '"' {
		return "", errors.New(jsonKind(raw[0]))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("an invalid string: %w", err)
	}
	return s, nil
}

// jsonKind names the kind of JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '{':
		return "a mapping"
	case '[':
		return "a sequence"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// lineAt is the line, counting from 1, of the byte at offset.
func lineAt(data []byte, offset int) int {
	return bytes.Count(data[:min(offset, len(data))], []byte("\n")) + 1
}

func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// lineCounter turns increasing offsets into lines in linear time overall.
type lineCounter struct {
	data       []byte
	off, lines int // lines before off
}

func (c *lineCounter) at(offset int) int {
	offset = min(max(offset, 0), len(c.data))
	if offset < c.off {
		c.off, c.lines = 0, 0
	}
	c.lines += bytes.Count(c.data[c.off:offset], []byte("\n"))
	c.off = offset
	return c.lines + 1
}
