package extract

import (
	"strings"
	"testing"
)

// FuzzValues reads arbitrary values and configuration files: nothing
// panics, and every reference found is a host with a valid port.
func FuzzValues(f *testing.F) {
	for _, seed := range []string{
		"cart", "cart:7070", "http://u:p@cart.shop.svc.cluster.local:7070/x?y=z", "jdbc:oracle:thin:@//db:1521/x",
		"mongodb://a:1,b:2/db", "[fd00::1]:80", "--a=b=c=d", "host=db port=5432", "<a>cart:1</a>", "a;b, c",
		"[section]\nkey = value\n", "{\"a\": [\"b:1\"]}\n", "x: &a [*a]\n", "@", "::", "=", "a@b@c:1",
	} {
		f.Add(seed, "KEY")
	}
	f.Fuzz(func(t *testing.T, value, key string) {
		for _, r := range references(value, key) {
			if r.host == "" || r.port < 0 || r.port > 65535 || strings.ContainsAny(r.host, " /@") {
				t.Fatalf("references(%q) = %+v", value, r)
			}
		}
		for _, e := range parseConfig("f.yaml", value) {
			references(e.value, e.key)
		}
		parseConfig("f.properties", value)
	})
}
