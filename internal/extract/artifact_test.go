package extract_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/extract -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func readApp(t *testing.T) *manifest.Objects {
	t.Helper()
	objs, err := manifest.Read(context.Background(), []string{"testdata/app"}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestTopologyGolden pins the artifact and its text form on an application
// with every kind of exposure, a Secret, a headless Service and policies of
// two tiers; the JSON decodes back to the same bytes.
func TestTopologyGolden(t *testing.T) {
	a := topology(t, readApp(t), extract.Options{})
	js, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "topology.json", js)
	var txt bytes.Buffer
	if err := extract.WriteText(&txt, a); err != nil {
		t.Fatal(err)
	}
	golden(t, "topology.txt", txt.Bytes())

	back, err := extract.Decode(js)
	if err != nil {
		t.Fatal(err)
	}
	again, err := back.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, js) {
		t.Errorf("decoding and encoding again changes the artifact:\n%s", again)
	}
	if strings.Contains(string(js)+txt.String(), "n0t-in-any-output") {
		t.Error("a Secret's value is in the output")
	}
}

// TestDecodeRejectsOtherArtifacts: another kind or an unknown apiVersion is
// an error that says what to do.
func TestDecodeRejectsOtherArtifacts(t *testing.T) {
	for _, doc := range []string{
		`{"apiVersion": "tightnet.dev/v1alpha1", "kind": "ConnectivityMap"}`,
		`{"apiVersion": "tightnet.dev/v9", "kind": "Topology"}`,
	} {
		if _, err := extract.Decode([]byte(doc)); !errors.Is(err, model.ErrArtifactKind) {
			t.Errorf("%s: error %v, want %v", doc, err, model.ErrArtifactKind)
		}
	}
	if _, err := extract.Decode([]byte(`{"apiVersion": "tightnet.dev/v1alpha1", "kind": "Topology", "extra": 1}`)); err == nil {
		t.Error("an unknown field was accepted")
	}
}

// TestDeterministic: the same input gives the same bytes.
func TestDeterministic(t *testing.T) {
	first, _ := topology(t, readApp(t), extract.Options{}).Marshal()
	for range 5 {
		again, _ := topology(t, readApp(t), extract.Options{}).Marshal()
		if !bytes.Equal(first, again) {
			t.Fatal("two runs on the same input differ")
		}
	}
}

// TestMonitoringNamespace: scrapes come from the namespace given.
func TestMonitoringNamespace(t *testing.T) {
	a := topology(t, readApp(t), extract.Options{MonitoringNamespace: "observability"})
	n := 0
	for _, e := range a.Exposures {
		if e.Src.Namespace != "" {
			n++
			if e.Src.String() != "observability/*" {
				t.Errorf("scrape source %s", e.Src)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d scrape exposures, want 2", n)
	}
}
