package packaging

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// githubToken is the token the emulated Secrets hold; the fake GitHub API
// refuses every request without it.
const githubToken = "packaging-test-token"

// stickyMarker opens tightnet's sticky pull request comment (action.Marker).
const stickyMarker = "<!-- tightnet-review -->"

// fakeGitHub is the little of GitHub's REST API that `tightnet comment`
// calls — list, add and edit the comments of a pull request — and that the
// synthesis flows' open-pull-request step calls — list and open pull
// requests — listening on 127.0.0.1 only, closed when the test ends.
type fakeGitHub struct {
	URL string

	mu         sync.Mutex
	comments   []fakeComment
	pulls      []fakePull
	remotes    map[string]*gitRemote // repository → its Git remote, whose branches pull requests must name
	unexpected []string
}

type fakeComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	repo string
	pr   int
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	gh := &fakeGitHub{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", gh.list)
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", gh.add)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", gh.edit)
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", gh.listPulls)
	mux.HandleFunc("POST /repos/{owner}/{repo}/pulls", gh.openPull)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		gh.mu.Lock()
		gh.unexpected = append(gh.unexpected, r.Method+" "+r.URL.Path)
		gh.mu.Unlock()
		http.NotFound(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fake GitHub API: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+githubToken {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		for _, r := range gh.unexpected {
			t.Errorf("fake GitHub API: unexpected request %s", r)
		}
	})
	gh.URL = srv.URL
	return gh
}

func pullRequest(r *http.Request) (string, int, error) {
	n, err := strconv.Atoi(r.PathValue("number"))
	return r.PathValue("owner") + "/" + r.PathValue("repo"), n, err
}

func (gh *fakeGitHub) list(w http.ResponseWriter, r *http.Request) {
	repo, pr, err := pullRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	out := []fakeComment{}
	if page := r.URL.Query().Get("page"); page == "" || page == "1" {
		for _, c := range gh.comments {
			if c.repo == repo && c.pr == pr {
				out = append(out, c)
			}
		}
	}
	json.NewEncoder(w).Encode(out)
}

func (gh *fakeGitHub) add(w http.ResponseWriter, r *http.Request) {
	repo, pr, err := pullRequest(r)
	var in struct{ Body string }
	if err == nil {
		err = json.NewDecoder(r.Body).Decode(&in)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	c := fakeComment{ID: int64(len(gh.comments) + 1), Body: in.Body, repo: repo, pr: pr}
	gh.comments = append(gh.comments, c)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(c)
}

func (gh *fakeGitHub) edit(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var in struct{ Body string }
	if err == nil {
		err = json.NewDecoder(r.Body).Decode(&in)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	for i, c := range gh.comments {
		if c.ID == id && c.repo == repo {
			gh.comments[i].Body = in.Body
			json.NewEncoder(w).Encode(gh.comments[i])
			return
		}
	}
	http.NotFound(w, r)
}

// fakePull is a pull request as GitHub's pulls API returns it, in part.
type fakePull struct {
	Number  int         `json:"number"`
	State   string      `json:"state"` // open or closed
	Title   string      `json:"title"`
	Body    string      `json:"body"`
	HTMLURL string      `json:"html_url"`
	Head    fakePullRef `json:"head"`
	Base    fakePullRef `json:"base"`
	repo    string
}

// fakePullRef is a pull request's head or base: label is OWNER:BRANCH.
type fakePullRef struct {
	Label string `json:"label"`
	Ref   string `json:"ref"`
}

// githubError is GitHub's 422 body: a message and the reason.
func githubError(w http.ResponseWriter, code int, message, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"message": message, "errors": []map[string]string{{"resource": "PullRequest", "code": "custom", "message": reason}}})
}

// listPulls lists a repository's pull requests, filtered as GitHub filters
// them: state (open by default, closed or all), head (OWNER:BRANCH, which
// GitHub requires in that form) and base. One page holds them all.
func (gh *fakeGitHub) listPulls(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "":
		state = "open"
	case "open", "closed", "all":
	default:
		githubError(w, http.StatusUnprocessableEntity, "Validation Failed", "state must be open, closed or all")
		return
	}
	head := q.Get("head")
	if head != "" && !strings.Contains(head, ":") {
		githubError(w, http.StatusUnprocessableEntity, "Validation Failed", "head must be OWNER:BRANCH")
		return
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	out := []fakePull{}
	for _, p := range gh.pulls {
		if p.repo == repo && (state == "all" || p.State == state) && (head == "" || p.Head.Label == head) && (q.Get("base") == "" || p.Base.Ref == q.Get("base")) {
			out = append(out, p)
		}
	}
	json.NewEncoder(w).Encode(out)
}

// openPull opens a pull request, refusing as GitHub does one without a
// title, head or base, one whose head or base is not a branch of the
// repository's Git remote (when the test gave one), and a second open pull
// request from the same head into the same base.
func (gh *fakeGitHub) openPull(w http.ResponseWriter, r *http.Request) {
	owner := r.PathValue("owner")
	repo := owner + "/" + r.PathValue("repo")
	var in struct{ Title, Head, Base, Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, `{"message":"Problems parsing JSON"}`, http.StatusBadRequest)
		return
	}
	head := strings.TrimPrefix(in.Head, owner+":")
	if in.Title == "" || head == "" || in.Base == "" {
		githubError(w, http.StatusUnprocessableEntity, "Validation Failed", "title, head and base are required")
		return
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if remote := gh.remotes[repo]; remote != nil {
		for _, b := range []string{head, in.Base} {
			if _, ok, err := remote.branch(b); err != nil || !ok {
				githubError(w, http.StatusUnprocessableEntity, "Validation Failed", fmt.Sprintf("no branch %s (%v)", b, err))
				return
			}
		}
	}
	for _, p := range gh.pulls {
		if p.repo == repo && p.State == "open" && p.Head.Ref == head && p.Base.Ref == in.Base {
			githubError(w, http.StatusUnprocessableEntity, "Validation Failed", "A pull request already exists for "+owner+":"+head+".")
			return
		}
	}
	n := len(gh.pulls) + 1
	p := fakePull{Number: n, State: "open", Title: in.Title, Body: in.Body, repo: repo,
		HTMLURL: fmt.Sprintf("https://github.com/%s/pull/%d", repo, n),
		Head:    fakePullRef{Label: owner + ":" + head, Ref: head},
		Base:    fakePullRef{Label: owner + ":" + in.Base, Ref: in.Base}}
	gh.pulls = append(gh.pulls, p)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(p)
}

// Remote makes remote the Git remote of repo: a pull request must then
// name two of its branches.
func (gh *fakeGitHub) Remote(repo string, remote *gitRemote) {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if gh.remotes == nil {
		gh.remotes = map[string]*gitRemote{}
	}
	gh.remotes[repo] = remote
}

// Pulls are the pull requests of repo, open and closed, in the order they
// were opened.
func (gh *fakeGitHub) Pulls(repo string) []fakePull {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	var out []fakePull
	for _, p := range gh.pulls {
		if p.repo == repo {
			out = append(out, p)
		}
	}
	return out
}

// Close closes pull request number of repo, as merging it does.
func (gh *fakeGitHub) Close(t *testing.T, repo string, number int) {
	t.Helper()
	gh.mu.Lock()
	defer gh.mu.Unlock()
	for i, p := range gh.pulls {
		if p.repo == repo && p.Number == number {
			gh.pulls[i].State = "closed"
			return
		}
	}
	t.Fatalf("no pull request %s#%d", repo, number)
}

// Comments are the bodies of the comments on pull request pr of repo, in
// the order they were added.
func (gh *fakeGitHub) Comments(repo string, pr int) []string {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	var out []string
	for _, c := range gh.comments {
		if c.repo == repo && c.pr == pr {
			out = append(out, c.Body)
		}
	}
	return out
}

// checkReportComment checks that pull request pr of repo carries one
// comment, tightnet's sticky one: the marker, then the report.
func checkReportComment(t *testing.T, gh *fakeGitHub, repo string, pr int, report string) {
	t.Helper()
	comments := gh.Comments(repo, pr)
	if len(comments) != 1 {
		t.Fatalf("%s#%d has %d comments, want one sticky comment", repo, pr, len(comments))
	}
	body, ok := strings.CutPrefix(comments[0], stickyMarker)
	if !ok {
		t.Errorf("comment does not start with the marker %s:\n%s", stickyMarker, comments[0])
	}
	if strings.TrimSpace(body) != strings.TrimSpace(report) {
		t.Errorf("comment is not the report:\n--- comment\n%s\n--- report\n%s", body, report)
	}
	if strings.TrimSpace(report) == "" {
		t.Error("the report is empty")
	}
}

// secrets are the Kubernetes Secrets of a run's namespace: name → key →
// value.
type secrets map[string]map[string]string

// containerEnv is the environment a step's container gets: the image's HOME
// (a fresh directory here), then env as the controller resolves it — values
// with expand applied (the engine's variable substitution), secretKeyRef
// names and keys expanded and read from secrets. A missing Secret or key
// stops a pod from starting unless the reference is optional; here it fails
// the test. Nothing of the test process's own environment is passed on.
func containerEnv(t *testing.T, env []corev1.EnvVar, expand func(string) string, sec secrets) []string {
	t.Helper()
	out := []string{"HOME=" + t.TempDir()}
	for _, e := range env {
		switch {
		case e.ValueFrom == nil:
			out = append(out, e.Name+"="+expand(e.Value))
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			name, key := expand(ref.Name), expand(ref.Key)
			v, ok := sec[name][key]
			if !ok {
				if ref.Optional != nil && *ref.Optional {
					continue
				}
				t.Fatalf("env %s: no key %q in Secret %q; the pod would not start (Secrets: %v)", e.Name, key, name, secretNames(sec))
			}
			out = append(out, e.Name+"="+v)
		default:
			t.Fatalf("env %s: only values and secretKeyRef are emulated", e.Name)
		}
	}
	return out
}

func secretNames(sec secrets) string {
	var names []string
	for name, keys := range sec {
		for key := range keys {
			names = append(names, name+"/"+key)
		}
	}
	slices.Sort(names)
	return fmt.Sprint(names)
}
