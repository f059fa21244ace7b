package manifest

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package's dependency arrow: of tightnet's own
// packages, manifest uses only internal/model.
func TestImports(t *testing.T) {
	const module = "github.com/tightnet/tightnet/"
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, module) && path != module+"internal/model" {
				t.Errorf("%s imports %s; manifest may import only internal/model of tightnet's packages", name, path)
			}
		}
	}
}
