package extract

import (
	"path"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// entry is one value of a configuration file: its line in the file
// (counting from 1), the key it is stored under ("" for a line of free
// text; nested keys joined with dots) and the value.
type entry struct {
	line  int
	key   string
	value string
}

// Limits on what is read out of one configuration file, against inputs
// built to exhaust memory.
const (
	maxEntries    = 100_000
	maxNesting    = 64
	maxValueShown = 160
)

// isConfigFile reports whether a ConfigMap or Secret value is a file to
// read entry by entry rather than one value: it holds several lines, or
// its key is named like a configuration file.
func isConfigFile(key, value string) bool {
	if strings.Contains(strings.TrimRight(value, "\r\n"), "\n") {
		return true
	}
	switch strings.ToLower(path.Ext(key)) {
	case ".properties", ".json", ".yaml", ".yml", ".ini", ".conf", ".cfg", ".env", ".toml", ".xml", ".txt":
		return true
	}
	return false
}

// parseConfig reads a configuration file's entries. JSON and YAML files
// (by name, or content starting with { or [) give their scalars, under
// their dotted key paths; other files, and JSON or YAML that does not
// parse, are read line by line: "key = value", "key: value",
// "export KEY=value", INI/TOML [section] headers prefixing the keys that
// follow, comments (#, ;, !, //) skipped, a trailing backslash continuing a
// properties line, any other line as free text.
func parseConfig(name, text string) []entry {
	ext := strings.ToLower(path.Ext(name))
	trimmed := strings.TrimSpace(text)
	var structured bool
	switch ext {
	case ".json", ".yaml", ".yml":
		structured = true
	case ".ini", ".toml", ".properties", ".cfg", ".conf", ".env":
		// [section] headers look like JSON arrays.
		structured = strings.HasPrefix(trimmed, "{")
	default:
		structured = strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[")
	}
	if structured {
		var doc yamlv3.Node
		if err := yamlv3.Unmarshal([]byte(text), &doc); err == nil {
			var out []entry
			walkYAML(&doc, "", 0, &out)
			return out
		}
	}
	return parseLines(text)
}

func walkYAML(n *yamlv3.Node, key string, depth int, out *[]entry) {
	if n == nil || depth > maxNesting || len(*out) >= maxEntries {
		return
	}
	switch n.Kind {
	case yamlv3.DocumentNode:
		for _, c := range n.Content {
			walkYAML(c, key, depth+1, out)
		}
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if key != "" {
				k = key + "." + k
			}
			walkYAML(n.Content[i+1], k, depth+1, out)
		}
	case yamlv3.SequenceNode:
		// Items keep their list's key: hosts: [a, b] are both hosts.
		for _, c := range n.Content {
			walkYAML(c, key, depth+1, out)
		}
	case yamlv3.ScalarNode:
		*out = append(*out, entry{line: n.Line, key: key, value: n.Value})
	}
	// Aliases are not followed: their target is read where it is defined.
}

func parseLines(text string) []entry {
	var out []entry
	section := ""
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines) && len(out) < maxEntries; i++ {
		line := i + 1
		t := strings.TrimSpace(lines[i])
		// A properties line ending in a backslash continues on the next.
		for strings.HasSuffix(t, `\`) && i+1 < len(lines) {
			i++
			t = strings.TrimSuffix(t, `\`) + strings.TrimSpace(lines[i])
		}
		switch {
		case t == "", t[0] == '#', t[0] == ';', t[0] == '!', strings.HasPrefix(t, "//"):
			continue
		case t[0] == '[' && t[len(t)-1] == ']' && !strings.ContainsAny(t, " \t,:"):
			section = strings.Trim(t, "[]")
			continue
		}
		t = strings.TrimPrefix(t, "export ")
		if k, v, ok := splitKeyValue(t); ok {
			if section != "" {
				k = section + "." + k
			}
			out = append(out, entry{line: line, key: k, value: v})
			continue
		}
		out = append(out, entry{line: line, value: t})
	}
	return out
}

// splitKeyValue splits "key = value" and "key: value" at the first "=" or
// ": ", whichever comes first; the key must be one word. "host:port" and
// "http://..." are not split.
func splitKeyValue(t string) (key, value string, ok bool) {
	eq := strings.IndexByte(t, '=')
	colon := -1
	for i := 0; i+1 < len(t); i++ {
		if t[i] == ':' && (t[i+1] == ' ' || t[i+1] == '\t') {
			colon = i
			break
		}
	}
	if strings.HasSuffix(t, ":") && colon < 0 {
		colon = len(t) - 1
	}
	at := eq
	if at < 0 || colon >= 0 && colon < at {
		at = colon
	}
	if at <= 0 {
		return "", "", false
	}
	key = strings.TrimSpace(t[:at])
	if key == "" || strings.ContainsAny(key, " \t/\"'") {
		return "", "", false
	}
	return key, strings.TrimSpace(t[at+1:]), true
}

// shown is a value as provenance quotes it: cut short when long.
func shown(v string) string {
	if len(v) <= maxValueShown {
		return v
	}
	cut := maxValueShown
	for cut > 0 && v[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return v[:cut] + "…"
}
