package manifest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKustomizeRemoteBaseNoNetwork pins that remote bases are refused
// before kustomize runs. Should a remote reference slip through, git cannot
// run (PATH is empty) and HTTP goes to a closed local port, so the test fails
// on the message, quickly, rather than reaching the network or hanging.
func TestKustomizeRemoteBaseNoNetwork(t *testing.T) {
	t.Setenv("PATH", "")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("NO_PROXY", "")
	refs := []string{
		"https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.4.0",
		"http://example.com/app.yaml",
		"github.com/example/app/deploy?ref=main",
		"git::https://example.com/app.git//deploy",
		"ssh://git@example.com/app.git",
		"git@github.com:example/app.git//deploy",
		"file:///srv/git/app.git",
	}
	dir := t.TempDir()
	for i, ref := range refs {
		write(t, filepath.Join(dir, string(rune('a'+i)), "kustomization.yaml"), "resources:\n- "+ref+"\n")
	}
	start := time.Now()
	o, err := Read(context.Background(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("reading remote bases took %v; they must be refused without any attempt to fetch them", d)
	}
	if len(o.Findings) != len(refs) {
		t.Fatalf("got %d findings, want one per remote base: %v", len(o.Findings), o.Findings)
	}
	for i, f := range o.Findings {
		if f.Code != CodeKustomize || !strings.Contains(f.Message, refs[i]) || !strings.Contains(f.Message, "which is remote") {
			t.Errorf("finding %d: got %s, want %s refusing %s as remote", i, f, CodeKustomize, refs[i])
		}
	}
}

// TestKustomizeBaseNamedAsPath pins that a base used by an overlay among the
// inputs is still built on its own when the user names it as a path.
func TestKustomizeBaseNamedAsPath(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "base", "kustomization.yaml"), "resources: [pod.yaml]\n")
	write(t, filepath.Join(dir, "base", "pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n")
	write(t, filepath.Join(dir, "prod", "kustomization.yaml"), "namespace: prod\nresources: [../base]\n")

	for _, tc := range []struct {
		paths []string
		want  []string
	}{
		{[]string{dir}, []string{"prod/p[Pod]"}},
		{[]string{dir, filepath.Join(dir, "base")}, []string{"default/p[Pod]", "prod/p[Pod]"}},
	} {
		o, err := Read(context.Background(), tc.paths, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, w := range o.Workloads {
			got = append(got, w.Peer().String())
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") || len(o.Findings) != 0 {
			t.Errorf("Read(%d paths): got workloads %v and findings %v; want %v and none", len(tc.paths), got, o.Findings, tc.want)
		}
	}
}

func write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
