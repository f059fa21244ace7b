package imagebuild_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tightnet/tightnet/internal/imagebuild"
	"github.com/tightnet/tightnet/internal/packaging"
)

// TestMainBuildsPushesAndBundles runs the builder command as `make push`
// does, for one stage image: it writes the image and the Tekton bundle,
// pushes both to a registry on 127.0.0.1, and the bundle read back holds
// every task.
func TestMainBuildsPushesAndBundles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a stage binary")
	}
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	reg := u.Host + "/tightnet"
	out := t.TempDir()
	root, _ := filepath.Abs("../..")
	bundle := func(root string) (v1.Image, error) {
		tasks, err := packaging.Tasks(filepath.Join(root, "tasks"))
		if err != nil {
			return nil, err
		}
		return packaging.Bundle(tasks)
	}
	var stdout, stderr bytes.Buffer
	code := imagebuild.Main(context.Background(), []string{"--dir", root, "--out", out, "--only", "tightnet-connectivity",
		"--platforms", "linux/amd64", "--version", "v0.0.0-test", "--push", reg}, &stdout, &stderr, bundle)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr.String(), stdout.String())
	}
	if _, err := os.Stat(filepath.Join(out, "tightnet-tasks.tar")); err != nil {
		t.Error(err)
	}
	ref, err := name.ParseReference(reg + "/tightnet-tasks:v0.0.0-test")
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("bundle not pushed: %v\n%s", err, stdout.String())
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := filepath.Glob(filepath.Join(root, "tasks", "*", "*.yaml"))
	want := 0
	for _, f := range tasks {
		if strings.TrimSuffix(filepath.Base(f), ".yaml") == filepath.Base(filepath.Dir(f)) {
			want++
		}
	}
	if len(layers) != want {
		t.Errorf("bundle has %d layers, want one per task (%d)", len(layers), want)
	}
	if !strings.Contains(stdout.String(), "pushed "+reg+"/tightnet-connectivity") {
		t.Errorf("stage image not pushed:\n%s", stdout.String())
	}
}
