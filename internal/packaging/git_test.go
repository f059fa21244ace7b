package packaging

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The synthesis flows' own steps run on third-party images: alpine/git
// (checkout, commit; the Tekton catalog's git-clone and git-cli) and
// curlimages/curl (open-pull-request). The tests run them with this
// machine's sh, git and curl instead, with only the env their YAML declares.

// requireTools skips the test when sh, git, git http-backend (which serves
// the test's Git remote) or curl is missing, and fails it under CI=true:
// .ci/run installs git and curl.
func requireTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, name := range []string{"sh", "git", "curl"} {
		if _, err := exec.LookPath(name); err != nil {
			missing = append(missing, name)
		}
	}
	if !slices.Contains(missing, "git") {
		if _, err := httpBackend(); err != nil {
			missing = append(missing, "git-http-backend ("+err.Error()+")")
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed, and CI=true: .ci/run installs them (apt-get install git curl)", strings.Join(missing, ", "))
	}
	t.Skipf("%s not installed; apt-get install git curl to run the flows' git and curl steps", strings.Join(missing, ", "))
}

// httpBackend is git http-backend, in git's exec path.
var httpBackend = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", fmt.Errorf("git --exec-path: %w", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	return path, nil
})

// imagePath is the PATH alpine/git and curlimages/curl set, as the
// container gets it from the image.
const imagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// imageEnv is env (see containerEnv) as a container of a third-party image
// gets it: the image's PATH — with the directories of this machine's sh, git
// and curl first — no system git configuration (the images hold none, and
// this machine's must not leak in), and a directory of its own wherever env
// names /tmp (the container's /tmp is its own; HOME=/tmp, for one).
func imageEnv(t *testing.T, env []string) []string {
	t.Helper()
	var dirs []string
	for _, name := range []string{"sh", "git", "curl"} {
		if p, err := exec.LookPath(name); err == nil && !slices.Contains(dirs, filepath.Dir(p)) {
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	out := []string{"PATH=" + strings.Join(append(dirs, imagePath), ":"), "GIT_CONFIG_NOSYSTEM=1"}
	var tmp string
	for _, e := range env {
		if name, value, _ := strings.Cut(e, "="); value == "/tmp" {
			if tmp == "" {
				tmp = t.TempDir()
			}
			e = name + "=" + tmp
		}
		out = append(out, e)
	}
	return out
}

// shCommand is sh running source, written to a file of the test's, as a
// container runs a script: Argo's script template with command [sh], a
// Tekton step's script under its #!/bin/sh.
func shCommand(t *testing.T, source string) *exec.Cmd {
	t.Helper()
	file := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(file, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	return exec.Command("sh", file)
}

// scriptStep is a step that runs a shell script on a third-party image: an
// Argo script template's, a Tekton embedded task's.
type scriptStep struct {
	image, source string
	env           []corev1.EnvVar
	inputs        []string       // the parameters the step takes
	anyVar        *regexp.Regexp // anything its engine substitutes
	inputRef      *regexp.Regexp // one of its parameters, standing alone; $1 is the name
}

// scriptEnvVar is a variable a script reads from its environment; the
// scripts' own variables are lower case.
var scriptEnvVar = regexp.MustCompile(`\$\{?([A-Z_][A-Z0-9_]*)`)

// checkScriptStep checks a script step as STYLE.md asks of any shell: it
// runs on a third-party image (a tightnet image takes arguments); nothing
// is substituted into the script's text; every variable it reads is set in
// its env, to a literal, to parameters or from a Secret named by
// parameters; every parameter reaches it.
func checkScriptStep(t *testing.T, s scriptStep) {
	t.Helper()
	if v := s.anyVar.FindString(s.source); v != "" {
		t.Errorf("the script's text holds %s; pass it in env", v)
	}
	if imageName(s.image) != "" {
		t.Errorf("runs %s: a tightnet image takes arguments, not a script", s.image)
	}
	set := map[string]bool{}
	used := map[string]bool{}
	uses := func(what, value string) {
		for _, v := range s.anyVar.FindAllString(value, -1) {
			m := s.inputRef.FindStringSubmatch(v)
			if m == nil || !slices.Contains(s.inputs, m[1]) {
				t.Errorf("%s: %s is not a parameter of the step", what, v)
				continue
			}
			used[m[1]] = true
		}
	}
	for _, e := range s.env {
		set[e.Name] = true
		switch {
		case e.ValueFrom == nil:
			uses("env "+e.Name, e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			uses("env "+e.Name+" secret name", e.ValueFrom.SecretKeyRef.Name)
			uses("env "+e.Name+" secret key", e.ValueFrom.SecretKeyRef.Key)
		default:
			t.Errorf("env %s: only values and secretKeyRef", e.Name)
		}
	}
	for _, m := range scriptEnvVar.FindAllStringSubmatch(s.source, -1) {
		if !set[m[1]] {
			t.Errorf("the script reads $%s, which its env does not set", m[1])
		}
	}
	for _, p := range s.inputs {
		if !used[p] {
			t.Errorf("parameter %s reaches the script through no env var", p)
		}
	}
}

// gitIdentity is who the test's own git commands commit as.
var gitIdentity = []string{"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com",
	"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com"}

// gitBytes runs the test's own git command in dir, with no global or
// system configuration, and returns its standard output.
func gitBytes(dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// gitOutput is gitBytes's output, trimmed.
func gitOutput(dir string, env []string, args ...string) (string, error) {
	out, err := gitBytes(dir, env, args...)
	return strings.TrimSpace(string(out)), err
}

func gitRun(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := gitOutput(dir, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gitRemote is a repository on a Git server standing in for GitHub's: a
// bare repository served over smart HTTP by git http-backend on 127.0.0.1.
// As for a public GitHub repository, anyone may fetch; pushing takes the
// token of the test's Secrets as the password (any user name), as GitHub
// takes an installation or fine-grained token.
type gitRemote struct {
	URL string // http://127.0.0.1:PORT/OWNER/NAME.git
	dir string // the bare repository

	mu     sync.Mutex
	pushes int // receive-pack requests served: pushes that reached the repository
}

// newGitRemote serves a repository fullName (OWNER/NAME) whose branches
// hold, each in one commit, the files of a directory: branch → directory.
// The server closes, and the repository goes, when the test ends.
func newGitRemote(t *testing.T, fullName string, branches map[string]string) *gitRemote {
	t.Helper()
	backend, err := httpBackend()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	r := &gitRemote{dir: filepath.Join(root, fullName+".git")}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gitRun(t, r.dir, nil, "init", "--quiet", "--bare")
	gitRun(t, r.dir, nil, "symbolic-ref", "HEAD", "refs/heads/main")
	names := make([]string, 0, len(branches))
	for name := range branches {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		index := filepath.Join(t.TempDir(), "index")
		env := append([]string{"GIT_DIR=" + r.dir, "GIT_INDEX_FILE=" + index, "GIT_WORK_TREE=" + branches[name]}, gitIdentity...)
		gitRun(t, branches[name], env, "add", "--all", ".")
		tree := gitRun(t, branches[name], env, "write-tree")
		commit := gitRun(t, branches[name], env, "commit-tree", "-m", "The application ("+name+")", tree)
		gitRun(t, r.dir, nil, "update-ref", "refs/heads/"+name, commit)
	}
	home := t.TempDir()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		push := req.URL.Query().Get("service") == "git-receive-pack" || strings.HasSuffix(req.URL.Path, "/git-receive-pack")
		env := []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + home}
		if push {
			// git asks its credential helper only when refused
			if _, password, ok := req.BasicAuth(); !ok || password != githubToken {
				w.Header().Set("WWW-Authenticate", `Basic realm="fake GitHub"`)
				http.Error(w, "authentication required to push", http.StatusUnauthorized)
				return
			}
			// git http-backend serves receive-pack to an authenticated user
			env = append(env, "REMOTE_USER=x-access-token")
			if req.Method == http.MethodPost {
				r.mu.Lock()
				r.pushes++
				r.mu.Unlock()
			}
		}
		(&cgi.Handler{Path: backend, Root: "/", Env: env, Stderr: testWriter{t}}).ServeHTTP(w, req)
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Git remote: %v", err)
	}
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/" + fullName + ".git"
	return r
}

// testWriter logs what git http-backend writes to its standard error.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("git http-backend: %s", bytes.TrimSpace(p))
	return len(p), nil
}

// branch is the commit branch name points at, and whether there is one.
func (r *gitRemote) branch(name string) (string, bool, error) {
	out, err := gitOutput(r.dir, nil, "for-each-ref", "--format=%(objectname)", "refs/heads/"+name)
	return out, out != "", err
}

// Branch is the commit branch name points at, "" when there is none.
func (r *gitRemote) Branch(t *testing.T, name string) string {
	t.Helper()
	sha, _, err := r.branch(name)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// File is the content of path at rev, and whether rev holds it.
func (r *gitRemote) File(t *testing.T, rev, path string) (string, bool) {
	t.Helper()
	if _, err := gitOutput(r.dir, nil, "cat-file", "-e", rev+":"+path); err != nil {
		return "", false
	}
	out, err := gitBytes(r.dir, nil, "cat-file", "blob", rev+":"+path)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), true
}

// Merge merges branch from into branch into, as merging a pull request on
// GitHub does with a merge commit; into must not have moved since from was
// cut from it, so from's tree is the merge's.
func (r *gitRemote) Merge(t *testing.T, from, into string) {
	t.Helper()
	if _, err := gitOutput(r.dir, nil, "merge-base", "--is-ancestor", into, from); err != nil {
		t.Fatalf("%s is not on %s: %v", into, from, err)
	}
	tree := gitRun(t, r.dir, nil, "rev-parse", from+"^{tree}")
	commit := gitRun(t, r.dir, gitIdentity, "commit-tree", "-p", into, "-p", from, "-m", "Merge "+from, tree)
	gitRun(t, r.dir, nil, "update-ref", "refs/heads/"+into, commit)
}

// Pushes is the number of pushes that reached the repository.
func (r *gitRemote) Pushes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pushes
}

// Log is git log -1 --format=format of rev.
func (r *gitRemote) Log(t *testing.T, rev, format string) string {
	t.Helper()
	return gitRun(t, r.dir, nil, "log", "-1", "--format="+format, rev)
}

// nextSecond waits, less than a second, for the clock's next second: git
// dates commits to the second, so a commit made after it differs from one
// made before with the same tree, parent and author, and pushing it is a
// push.
func nextSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now))
}

// Commit commits a file, path holding content, on branch, as a push of
// someone else's would.
func (r *gitRemote) Commit(t *testing.T, branch, path, content string) {
	t.Helper()
	blob := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(blob, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"GIT_INDEX_FILE=" + filepath.Join(t.TempDir(), "index")}, gitIdentity...)
	gitRun(t, r.dir, env, "read-tree", branch)
	sha := gitRun(t, r.dir, env, "hash-object", "-w", blob)
	gitRun(t, r.dir, env, "update-index", "--add", "--cacheinfo", "100644,"+sha+","+path)
	tree := gitRun(t, r.dir, env, "write-tree")
	commit := gitRun(t, r.dir, env, "commit-tree", "-p", branch, "-m", "Add "+path, tree)
	gitRun(t, r.dir, env, "update-ref", "refs/heads/"+branch, commit)
}

// expectSettled checks a rerun that changed nothing on the remote: branch
// still at at, pushes pushes in all, and still one pull request.
func expectSettled(t *testing.T, remote *gitRemote, gh *fakeGitHub, repo, branch, at string, pushes int) {
	t.Helper()
	if got := remote.Branch(t, branch); got != at {
		t.Errorf("%s moved from %s to %s; the proposal did not change", branch, at, got)
	}
	if n := remote.Pushes(); n != pushes {
		t.Errorf("%d pushes, want still %d", n, pushes)
	}
	if pulls := gh.Pulls(repo); len(pulls) != 1 {
		t.Errorf("%d pull requests, want still 1: %+v", len(pulls), pulls)
	}
}

// expectRebased checks a rerun after main moved (Commit of CONTRIBUTING.md):
// branch moved from was onto main's new commit, pushes pushes in all, and
// still one pull request, open. It returns the commit branch points at.
func expectRebased(t *testing.T, remote *gitRemote, gh *fakeGitHub, repo, branch, was string, pushes int) string {
	t.Helper()
	moved := remote.Branch(t, branch)
	if moved == was {
		t.Errorf("%s did not move onto the new main", branch)
	}
	if got := remote.Log(t, branch+"^", "%s"); got != "Add CONTRIBUTING.md" {
		t.Errorf("%s's parent is %q, want main's new commit", branch, got)
	}
	if n := remote.Pushes(); n != pushes {
		t.Errorf("%d pushes, want %d", n, pushes)
	}
	if pulls := gh.Pulls(repo); len(pulls) != 1 || pulls[0].State != "open" {
		t.Errorf("%d pull requests, want still 1, open: %+v", len(pulls), pulls)
	}
	return moved
}

// expectProposed checks a first run: the synthesized policies committed on
// branch by tightnet in one push, and one pull request, which it returns.
func expectProposed(t *testing.T, remote *gitRemote, gh *fakeGitHub, repo, branch, policies, synthesized string) fakePull {
	t.Helper()
	if got, ok := remote.File(t, branch, policies); !ok || got != synthesized {
		t.Errorf("%s on %s is not the synthesized policies (found: %v)", policies, branch, ok)
	}
	if got, want := remote.Log(t, branch, "%an <%ae>: %s"), "tightnet <tightnet@users.noreply.github.com>: Propose least-privilege NetworkPolicies (tightnet)"; got != want {
		t.Errorf("%s's commit is %q, want %q", branch, got, want)
	}
	if n := remote.Pushes(); n != 1 {
		t.Errorf("%d pushes, want 1", n)
	}
	pulls := gh.Pulls(repo)
	if len(pulls) != 1 {
		t.Fatalf("%d pull requests, want 1: %+v", len(pulls), pulls)
	}
	pr := pulls[0]
	if pr.State != "open" || pr.Head.Ref != branch || pr.Base.Ref != "main" || pr.Title != "Propose least-privilege NetworkPolicies" {
		t.Errorf("pull request %+v, want an open one from %s into main titled \"Propose least-privilege NetworkPolicies\"", pr, branch)
	}
	return pr
}
