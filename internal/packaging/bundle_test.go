package packaging

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/remote/oci"
)

// TestBundle builds the bundle of every task, pushes it to an in-memory
// registry and resolves each task from it with Tekton's own bundle resolver.
func TestBundle(t *testing.T) {
	tasks, err := Tasks(filepath.Join(repoRoot, "tasks"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != len(stages) {
		t.Fatalf("%d tasks, want %d", len(tasks), len(stages))
	}
	img, err := Bundle(tasks)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	again, err := Bundle(tasks)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("bundle not reproducible: %s then %s", d1, d2)
	}

	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/tightnet/tasks:v0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	resolver := oci.NewResolver(ref.String(), authn.DefaultKeychain)
	for _, stage := range stages {
		want := loadTask(t, stage)
		obj, _, err := resolver.Get(context.Background(), "task", want.Name)
		if err != nil {
			t.Fatalf("resolve %s: %v", want.Name, err)
		}
		got, ok := obj.(*v1.Task)
		if !ok {
			t.Fatalf("resolve %s: got %T, want a v1 Task", want.Name, obj)
		}
		if diff := cmp.Diff(want.Spec, got.Spec); diff != "" {
			t.Errorf("%s from the bundle differs (-file +bundle):\n%s", want.Name, diff)
		}
	}
}
