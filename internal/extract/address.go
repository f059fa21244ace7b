package extract

import (
	"net/netip"
	"strconv"
	"strings"
)

// A reference is a candidate address found in a value: a host name or IP
// literal and the port written with it, if any. Whether it names a Service
// is decided later, by the service index.
type reference struct {
	// host is lower case, without a trailing dot.
	host string
	// port is the port written with the host; 0 when none was.
	port int
	// scheme is the URL scheme ("http", "jdbc:postgresql"), if any.
	scheme string
	// located is true when the host stands where an address stands: the
	// host of a URL, host:port, @host:port, or a whole value. Only located
	// references become external destinations.
	located bool
}

// references finds the candidate addresses in one value: an env value, an
// argument, a ConfigMap or Secret value, a value in a configuration file.
// key is the name the value is stored under ("" when none); it only stops
// bare names under keys that name something else (see nonHostKey).
//
// The value is cut into list items when no item holds whitespace, else into
// tokens; see the package documentation for the rules.
func references(value, key string) []reference {
	var out []reference
	scanValue(value, key, func(r reference) { out = append(out, r) })
	return out
}

// scanValue reads one value; emit receives every reference in order.
func scanValue(value, key string, emit func(reference)) {
	value = strings.TrimSpace(value)
	if value == "" {
		return
	}
	if items, ok := listItems(value); ok {
		for _, it := range items {
			// Markup around a value (<url>host:port</url>) is not part of
			// it; a single token left stands alone.
			if !strings.ContainsAny(it, "\"'`()[]{}<>") {
				scanItem(it, key, true, 0, emit)
				continue
			}
			toks := strings.FieldsFunc(it, isTokenSeparator)
			for _, tok := range toks {
				scanItem(tok, key, len(toks) == 1, 0, emit)
			}
		}
		return
	}
	for tok := range strings.FieldsFuncSeq(value, isTokenSeparator) {
		scanItem(tok, key, false, 0, emit)
	}
}

// listItems cuts a value into items on commas and semicolons, trimming
// space, quotes and brackets around each; ok is false when some item still
// holds whitespace, which makes the value text rather than a list. A value
// with neither is one item.
func listItems(value string) (items []string, ok bool) {
	for it := range strings.FieldsFuncSeq(value, func(r rune) bool { return r == ',' || r == ';' }) {
		it = strings.Trim(it, " \t\r\n\"'`()[]{}<>")
		if it == "" {
			continue
		}
		if strings.ContainsAny(it, " \t\r\n") {
			return nil, false
		}
		items = append(items, it)
	}
	return items, true
}

func isTokenSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', ',', ';', '"', '\'', '`', '(', ')', '[', ']', '{', '}', '<', '>':
		return true
	}
	return false
}

// maxKeyDepth bounds key=value nesting: --set=key=host:port is read,
// a=b=c=... no deeper.
const maxKeyDepth = 2

// maxToken bounds the items and tokens read: no address is longer, and
// longer ones (an embedded certificate, a minified script) are skipped.
const maxToken = 4096

// scanItem reads one item or token. whole says it stands alone — a whole
// value, a list item, the value of key=value — so that a bare single-label
// name in it counts.
func scanItem(tok, key string, whole bool, depth int, emit func(reference)) {
	tok = strings.Trim(tok, "\"'`()[]{}<>")
	tok = strings.TrimRight(tok, ".:!?")
	if tok == "" || len(tok) > maxToken {
		return
	}
	scheme := strings.Index(tok, "://")
	// key=value and --flag=value: the value stands alone. An "=" after
	// "://" or a "/" belongs to a URL's query or path.
	if eq := strings.IndexByte(tok, '='); eq > 0 && (scheme < 0 || eq < scheme) && !strings.ContainsAny(tok[:eq], "/@") {
		k := strings.TrimLeft(tok[:eq], "-")
		if k == "" || depth >= maxKeyDepth {
			return
		}
		scanItem(tok[eq+1:], k, true, depth+1, emit)
		return
	}
	if scheme > 0 {
		s := strings.ToLower(tok[:scheme])
		if !validScheme(s) {
			return
		}
		authority := tok[scheme+3:]
		if end := strings.IndexAny(authority, "/?#"); end >= 0 {
			authority = authority[:end]
		}
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			authority = authority[at+1:]
		}
		if host, port, ok := hostPort(authority); ok {
			emit(reference{host: host, port: port, scheme: s, located: true})
		}
		return
	}
	// user:pass@host:port, jdbc:oracle:thin:@host:1521:SID,
	// jdbc:oracle:thin:@//host:1521/service. Without a port it reads as an
	// e-mail address, which is not a connection.
	if at := strings.LastIndexByte(tok, '@'); at >= 0 {
		rest := strings.TrimPrefix(tok[at+1:], "//")
		if host, port, ok := hostPort(cutAfterPort(rest)); ok && port > 0 {
			emit(reference{host: host, port: port, located: true})
		}
		return
	}
	if host, port, ok := hostPort(cutAfterPort(tok)); ok && port > 0 {
		emit(reference{host: host, port: port, located: true})
		return
	}
	if strings.ContainsAny(tok, ":/") {
		return // a path, a time, key:value: not an address
	}
	if _, err := netip.ParseAddr(tok); err == nil {
		emit(reference{host: tok, located: whole})
		return
	}
	if !validHostName(tok) {
		return
	}
	if strings.Contains(tok, ".") {
		emit(reference{host: strings.ToLower(tok), located: whole})
		return
	}
	// A bare single-label name: only as written (lower case, as Service
	// names are), only where it stands alone, and not under a key that
	// names something other than a host.
	if whole && tok == strings.ToLower(tok) && !nonHostKey(key) {
		emit(reference{host: tok, located: true})
	}
}

// cutAfterPort drops what follows host:port — a path, or a further
// ":field" as in Oracle's host:port:SID — so that hostPort sees host:port.
func cutAfterPort(s string) string {
	if end := strings.IndexAny(s, "/?#"); end >= 0 {
		s = s[:end]
	}
	if strings.HasPrefix(s, "[") {
		return s
	}
	if first := strings.IndexByte(s, ':'); first >= 0 {
		if second := strings.IndexByte(s[first+1:], ':'); second >= 0 {
			s = s[:first+1+second]
		}
	}
	return s
}

// hostPort splits "host", "host:port" or "[v6]:port"; ok is false when the
// host is not a DNS name or an IP literal, or the port not a number from 1
// to 65535. The host is returned lower case without a trailing dot.
func hostPort(s string) (host string, port int, ok bool) {
	host = s
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, false
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			p, ok := parsePort(strings.TrimPrefix(rest, ":"))
			if !ok || !strings.HasPrefix(rest, ":") {
				return "", 0, false
			}
			port = p
		}
		if _, err := netip.ParseAddr(host); err != nil {
			return "", 0, false
		}
		return host, port, true
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		p, ok := parsePort(s[i+1:])
		if !ok {
			return "", 0, false
		}
		host, port = s[:i], p
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return "", 0, false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host, port, true
	}
	if !validHostName(host) {
		return "", 0, false
	}
	return host, port, true
}

func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	return p, true
}

// validHostName reports whether s is a DNS name: dot-separated labels of
// letters, digits and inner hyphens, at most 63 characters each and 253 in
// all, with at least one letter somewhere (so that 3.14 and 2024 are not
// names).
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	letter := false
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
				letter = true
			case c >= '0' && c <= '9', c == '-':
			default:
				return false
			}
		}
	}
	return letter
}

func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// nonHostKey reports whether a key names something that is not a host, so
// that its value is not read as a bare Service name even when it equals
// one: DB_NAME=orders is a database, not the orders Service. Hosts with a
// port or in a URL are found under any key.
func nonHostKey(key string) bool {
	k := normalizeKey(key)
	if k == "" {
		return false
	}
	last := k
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		last = k[i+1:]
	}
	switch last {
	case "name", "dbname", "database", "schema", "user", "username", "login", "password", "passwd", "pass",
		"topic", "queue", "exchange", "bucket", "table", "collection", "namespace", "ns", "group", "id", "mode",
		"level", "profile", "env", "environment", "region", "zone", "version", "tag", "image", "label", "role",
		"kind", "type", "path", "file", "dir", "key", "token", "secret", "app", "component",
		"title", "description", "desc", "text", "message", "msg", "comment", "note", "summary", "banner", "motd", "greeting":
		return true
	}
	return strings.HasSuffix(last, "name") && !strings.HasSuffix(last, "hostname") && !strings.HasSuffix(last, "servername")
}

// normalizeKey lower-cases a key and turns "_", "-" and "/" into ".", so
// that REDIS_HOST, redis.host and redis-host compare alike.
func normalizeKey(key string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '/':
			return '.'
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, key)
}

// hostKeyPrefix returns the prefix of a key naming a host (REDIS_HOST,
// redis.hostname, dbServer, cart-addr) and true; the prefix is what a
// sibling port key shares (REDIS_PORT).
func hostKeyPrefix(key string) (string, bool) {
	k := normalizeKey(key)
	for _, suffix := range []string{"hostname", "host", "server", "address", "addr"} {
		if p, ok := strings.CutSuffix(k, suffix); ok {
			return p, true
		}
	}
	return "", false
}

// portKeyPrefix returns the prefix of a key naming a port (REDIS_PORT).
func portKeyPrefix(key string) (string, bool) {
	return strings.CutSuffix(normalizeKey(key), "port")
}

// portHints collects, from sibling keys and values, the ports written
// beside host keys: {REDIS_HOST: redis, REDIS_PORT: 6379} gives redis port
// 6379. The result maps a key prefix to its port.
type portHints map[string]int

func (h portHints) add(key, value string) {
	prefix, ok := portKeyPrefix(key)
	if !ok {
		return
	}
	if p, ok := parsePort(strings.Trim(strings.TrimSpace(value), "\"'")); ok {
		h[prefix] = p
	}
}

// apply gives a reference without a port the port of its host key's
// sibling, if there is one.
func (h portHints) apply(key string, r reference) reference {
	if r.port != 0 || len(h) == 0 {
		return r
	}
	if prefix, ok := hostKeyPrefix(key); ok {
		if p, ok := h[prefix]; ok {
			r.port = p
		}
	}
	return r
}
