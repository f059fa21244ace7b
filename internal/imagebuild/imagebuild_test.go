package imagebuild

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

var testLabels = map[string]string{
	LabelSource:   "https://github.com/tightnet/tightnet",
	LabelRevision: "0123456789abcdef",
	LabelVersion:  "v0.1.0-test",
}

func hostPlatform() v1.Platform { return v1.Platform{OS: "linux", Architecture: runtime.GOARCH} }

func testPlatforms() []v1.Platform {
	if testing.Short() {
		return []v1.Platform{hostPlatform()}
	}
	return DefaultPlatforms
}

func helloSpec(user int) Spec {
	return Spec{
		Name:        "tightnet-hello",
		MainPackage: "./internal/imagebuild/testdata/hello",
		Dir:         "../..",
		Platforms:   testPlatforms(),
		Labels:      testLabels,
		User:        user,
	}
}

func build(t *testing.T, s Spec) v1.ImageIndex {
	t.Helper()
	idx, err := Build(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate index: %v", err)
	}
	return idx
}

func digest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// serve starts go-containerregistry's in-memory registry on 127.0.0.1.
func serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// extract unpacks img's flattened root filesystem into a new directory.
func extract(t *testing.T, img v1.Image) string {
	t.Helper()
	root := t.TempDir()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return root
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, os.FileMode(h.Mode&0o777)|modeBits(h.Mode)); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, os.FileMode(h.Mode&0o777)); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected entry type %q for %s", h.Typeflag, h.Name)
		}
	}
}

func modeBits(m int64) os.FileMode {
	if m&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

// TestBuildPushPullRun is the image's whole life: build, push to a registry
// on loopback, pull by platform, unpack, inspect, run.
func TestBuildPushPullRun(t *testing.T) {
	ctx := context.Background()
	idx := build(t, helloSpec(NonRoot))

	reg := serve(t)
	pushed, err := Push(ctx, reg+"/tightnet", []Named{{Name: "tightnet-hello", Tag: "v0.1.0-test", Index: idx}})
	if err != nil {
		t.Fatal(err)
	}
	ref := pushed["tightnet-hello"]
	if got, want := ref.DigestStr(), digest(t, idx).String(); got != want {
		t.Fatalf("pushed digest %s, want the built index's %s", got, want)
	}

	for _, p := range testPlatforms() {
		t.Run(p.String(), func(t *testing.T) {
			img, err := remote.Image(ref, remote.WithPlatform(p), remote.WithContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.OS != p.OS || cf.Architecture != p.Architecture {
				t.Errorf("pulled %s/%s, want %s", cf.OS, cf.Architecture, p)
			}
			if cf.Config.User != "65532:65532" {
				t.Errorf("User = %q, want 65532:65532", cf.Config.User)
			}
			for k, v := range testLabels {
				if cf.Config.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, cf.Config.Labels[k], v)
				}
			}
			if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/hello" {
				t.Errorf("Entrypoint = %q", got)
			}
			if !cf.Created.Time.Equal(helloSpec(0).created()) {
				t.Errorf("Created = %v, want the fixed epoch", cf.Created)
			}

			root := extract(t, img)
			passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(passwd), "nonroot:x:65532:65532:") {
				t.Errorf("/etc/passwd has no nonroot 65532:\n%s", passwd)
			}
			if fi, err := os.Stat(filepath.Join(root, "tmp")); err != nil || !fi.IsDir() || fi.Mode()&os.ModeSticky == 0 {
				t.Errorf("/tmp is not a sticky directory: %v %v", fi, err)
			}
			if fi, err := os.Stat(filepath.Join(root, CABundlePath)); err != nil || fi.Size() < 100_000 {
				t.Errorf("CA bundle missing or small: %v %v", fi, err)
			}

			if !p.Equals(hostPlatform()) || runtime.GOOS != "linux" {
				return // cannot run another architecture's binary here
			}
			cmd := exec.Command(filepath.Join(root, "usr/local/bin/hello"), "--help")
			cmd.Env = []string{"SSL_CERT_FILE=" + filepath.Join(root, CABundlePath)}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("run extracted binary: %v\n%s", err, out)
			}
			if want := "hello from " + p.String() + ` args=["--help"]`; strings.TrimSpace(string(out)) != want {
				t.Errorf("output %q, want %q", out, want)
			}
		})
	}
}

// TestReproducible builds twice and expects the same digests; the root
// variant for the GitHub action must share every layer.
func TestReproducible(t *testing.T) {
	a := build(t, helloSpec(NonRoot))
	b := build(t, helloSpec(NonRoot))
	if da, db := digest(t, a), digest(t, b); da != db {
		t.Fatalf("two builds of the same source differ: %s vs %s", da, db)
	}

	root := build(t, helloSpec(Root))
	derived, err := WithUser(a, Root)
	if err != nil {
		t.Fatal(err)
	}
	if dr, dd := digest(t, root), digest(t, derived); dr != dd {
		t.Errorf("Build with User 0 (%s) differs from WithUser(…, 0) (%s)", dr, dd)
	}
	for _, p := range testPlatforms() {
		nonroot, rootImg := platformImage(t, a, p), platformImage(t, root, p)
		cf, err := rootImg.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != "0:0" {
			t.Errorf("%s: root variant User = %q, want 0:0", p, cf.Config.User)
		}
		la, lb := layerDigests(t, nonroot), layerDigests(t, rootImg)
		if strings.Join(la, ",") != strings.Join(lb, ",") {
			t.Errorf("%s: root variant layers %v, want the same as %v", p, lb, la)
		}
		if digest(t, nonroot) == digest(t, rootImg) {
			t.Errorf("%s: root and non-root images have the same digest", p)
		}
	}
}

func platformImage(t *testing.T, idx v1.ImageIndex, p v1.Platform) v1.Image {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(p) {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no image for %s", p)
	return nil
}

func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		out = append(out, digest(t, l).String())
	}
	return out
}

// TestWrite checks the OCI layout and tarballs read back to the same images.
func TestWrite(t *testing.T) {
	idx := build(t, helloSpec(NonRoot))
	dir := t.TempDir()
	if err := Write(dir, []Named{{Name: "tightnet-hello", Tag: "v1", Index: idx}}); err != nil {
		t.Fatal(err)
	}
	lp, err := layout.FromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	outer, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	om, err := outer.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(om.Manifests) != 1 || om.Manifests[0].Digest != digest(t, idx) ||
		om.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "tightnet-hello:v1" {
		t.Fatalf("layout index = %+v, want one entry for %s", om.Manifests, digest(t, idx))
	}
	for _, p := range testPlatforms() {
		file := filepath.Join(dir, "tightnet-hello-"+p.OS+"-"+p.Architecture+".tar")
		tag := name.MustParseReference("tightnet-hello:v1").(name.Tag)
		img, err := tarball.ImageFromPath(file, &tag)
		if err != nil {
			t.Fatal(err)
		}
		// A docker tarball re-wraps the image in a Docker manifest, so compare
		// what it carries: the config and the layers.
		want := platformImage(t, idx, p)
		gotCfg, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		wantCfg, err := want.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		if gotCfg != wantCfg {
			t.Errorf("%s: tarball config %s, want %s", file, gotCfg, wantCfg)
		}
		if got, want := strings.Join(layerDigests(t, img), ","), strings.Join(layerDigests(t, want), ","); got != want {
			t.Errorf("%s: tarball layers %s, want %s", file, got, want)
		}
	}
}

func TestRewriteReferences(t *testing.T) {
	refs := map[string]string{
		"tightnet-action":       "127.0.0.1:5000/tn/tightnet-action@sha256:" + strings.Repeat("a", 64),
		"tightnet-connectivity": "127.0.0.1:5000/tn/tightnet-connectivity@sha256:" + strings.Repeat("b", 64),
	}
	in := `runs:
  image: docker://ghcr.io/tightnet/tightnet-action:v0.1.0
# pin by digest (docker://ghcr.io/tightnet/tightnet-action@sha256:...)
steps:
  - image: ghcr.io/tightnet/tightnet-connectivity@sha256:` + strings.Repeat("c", 64) + `
  - image: ghcr.io/tightnet/tightnet-diff:v0.1.0
  - image: example.com:443/a/b/tightnet-connectivity:v2@sha256:` + strings.Repeat("d", 64) + `
source: https://github.com/tightnet/tightnet
`
	want := `runs:
  image: docker://` + refs["tightnet-action"] + `
# pin by digest (docker://ghcr.io/tightnet/tightnet-action@sha256:...)
steps:
  - image: ` + refs["tightnet-connectivity"] + `
  - image: ghcr.io/tightnet/tightnet-diff:v0.1.0
  - image: ` + refs["tightnet-connectivity"] + `
source: https://github.com/tightnet/tightnet
`
	got := string(RewriteReferences([]byte(in), refs))
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if again := string(RewriteReferences([]byte(got), refs)); again != got {
		t.Errorf("rewriting is not idempotent:\n%s", again)
	}
}

func TestImages(t *testing.T) {
	specs, err := Images("../..")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Spec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	for _, n := range []string{"tightnet", "tightnet-connectivity", "tightnet-diff", "tightnet-explain", "tightnet-extract", "tightnet-synthesize", "tightnet-verify", "tightnet-review", "tightnet-apply", "tightnet-action"} {
		if _, ok := byName[n]; !ok {
			t.Errorf("image %s missing from %v", n, specs)
		}
	}
	if _, ok := byName["tightnet-builder"]; ok {
		t.Error("the builder is tooling and must not be an image")
	}
	if byName["tightnet-action"].User != Root || byName["tightnet-connectivity"].User != NonRoot {
		t.Error("the action image must run as root and stage images as 65532")
	}
}

// TestStageImage builds a real stage image for the host platform and runs
// its binary from the unpacked root filesystem.
func TestStageImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the connectivity stage (a minute or two cold)")
	}
	s := Spec{Name: "tightnet-connectivity", MainPackage: "./images/connectivity", Dir: "../..",
		Platforms: []v1.Platform{hostPlatform()}, Labels: testLabels, User: NonRoot}
	img := platformImage(t, build(t, s), hostPlatform())
	root := extract(t, img)
	out, _ := exec.Command(filepath.Join(root, "usr/local/bin/connectivity"), "--help").CombinedOutput()
	if !strings.Contains(string(out), "connectivity") || !strings.Contains(string(out), "--") {
		t.Errorf("connectivity --help printed:\n%s", out)
	}
}
