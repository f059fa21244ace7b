package review_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium finds the browser: Debian's chromium package, which .ci/run
// installs. Locally the test skips without it; in CI (CI=true) it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI=true: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (/usr/bin/chromium); apt-get install chromium to run this test")
	return ""
}

// TestHTMLRendersInChromium opens the bundled example's report.html in
// headless Chromium and checks, in the DOM the browser built, that the
// summary line and the SVG graph with the added edges are there; a
// screenshot shows the page painted.
func TestHTMLRendersInChromium(t *testing.T) {
	bin := chromium(t)
	res, _ := reviewExample(t, "")
	page := res.Files["report.html"]
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	browse := func(t *testing.T, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir()}, args...)
		args = append(args, "file://"+abs)
		cmd := exec.CommandContext(ctx, bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}

	dom := browse(t, "--dump-dom")
	if !strings.Contains(dom, `<p class="summary violated" id="summary">`+res.Summary+`</p>`) {
		t.Errorf("the rendered page has no summary line %q", res.Summary)
	}
	if !strings.Contains(dom, "<svg") {
		t.Fatalf("the rendered page has no SVG graph")
	}
	added := regexp.MustCompile(`<path class="edge added"`).FindAllString(dom, -1)
	if len(added) != res.Counts.Added {
		t.Errorf("the graph has %d added edges, want %d", len(added), res.Counts.Added)
	}
	for _, ns := range []string{">web</text>", ">data</text>", "search[Deployment]</text>"} {
		if !strings.Contains(dom, ns) {
			t.Errorf("the graph does not show %s", ns)
		}
	}

	png := filepath.Join(t.TempDir(), "report.png")
	browse(t, "--screenshot="+png, "--window-size=1280,1200")
	st, err := os.Stat(png)
	if err != nil || st.Size() < 10_000 {
		t.Errorf("screenshot %s: %v, size %d; want a painted page", png, err, func() int64 {
			if st == nil {
				return 0
			}
			return st.Size()
		}())
	}
}
