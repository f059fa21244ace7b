package stage_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tightnet/tightnet/internal/stage"
)

// fakeGitHub keeps one pull request's comments and can refuse writes.
type fakeGitHub struct {
	mu       sync.Mutex
	comments map[int64]string
	next     int64
	refuse   bool
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer secret" {
		http.Error(w, "bad credentials", http.StatusUnauthorized)
		return
	}
	var in struct{ Body string }
	if r.Method != http.MethodGet {
		if f.refuse {
			http.Error(w, "Resource not accessible by integration", http.StatusForbidden)
			return
		}
		json.NewDecoder(r.Body).Decode(&in)
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/repos/acme/shop/issues/42/comments":
		var out []map[string]any
		if r.URL.Query().Get("page") == "1" {
			for id, body := range f.comments {
				out = append(out, map[string]any{"id": id, "body": body})
			}
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/shop/issues/42/comments":
		f.next++
		f.comments[f.next] = in.Body
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("{}"))
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/acme/shop/issues/comments/"):
		for id := range f.comments {
			if r.URL.Path == "/repos/acme/shop/issues/comments/"+itoa(id) {
				f.comments[id] = in.Body
			}
		}
		w.Write([]byte("{}"))
	default:
		http.NotFound(w, r)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestComment: the first run adds the comment, the second updates it, a
// refused write is reported without failing, a missing token is a usage
// error.
func TestComment(t *testing.T) {
	gh := &fakeGitHub{comments: map[int64]string{}}
	srv := httptest.NewServer(gh)
	defer srv.Close()
	body := filepath.Join(t.TempDir(), "report.md")
	t.Setenv("GITHUB_TOKEN", "secret")
	for i, text := range []string{"first report", "second report"} {
		if err := os.WriteFile(body, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		r := tightnet(t, "", "comment", "--repo", "acme/shop", "--pr", "42", "--body-file", body, "--api-url", srv.URL)
		if r.code != stage.ExitOK {
			t.Fatalf("run %d: exit %d: %s", i, r.code, r.stder)
		}
	}
	if len(gh.comments) != 1 {
		t.Fatalf("%d comments, want one sticky comment", len(gh.comments))
	}
	for _, c := range gh.comments {
		if !strings.Contains(c, "second report") || !strings.Contains(c, "<!--") {
			t.Errorf("comment = %q, want the second report behind the marker", c)
		}
	}
	gh.refuse = true
	if r := tightnet(t, "", "comment", "--repo", "acme/shop", "--pr", "42", "--body-file", body, "--api-url", srv.URL); r.code != stage.ExitOK || !strings.Contains(r.stder, "comment skipped") {
		t.Errorf("refused write: exit %d, stderr %q", r.code, r.stder)
	}
	t.Setenv("GITHUB_TOKEN", "")
	if r := tightnet(t, "", "comment", "--repo", "acme/shop", "--pr", "42", "--body-file", body, "--api-url", srv.URL); r.code != stage.ExitError {
		t.Errorf("no token: exit %d", r.code)
	}
}
