package packaging

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// catalogTask is the catalog task a pipeline task resolves from Artifact
// Hub, NAME@VERSION; "" for any other.
func catalogTask(pt v1.PipelineTask) string {
	if pt.TaskRef == nil || pt.TaskRef.Resolver != "hub" {
		return ""
	}
	var name, version string
	for _, p := range pt.TaskRef.Params {
		switch p.Name {
		case "name":
			name = p.Value.StringVal
		case "version":
			version = p.Value.StringVal
		}
	}
	return name + "@" + version
}

// takesOnly fails the test when a catalog task is given a param its
// emulation does not honour: the others must keep their defaults.
func takesOnly(t *testing.T, task string, params map[string]string, names ...string) {
	t.Helper()
	for name := range params {
		if !slices.Contains(names, name) {
			t.Fatalf("%s: param %s is not emulated (only %v)", task, name, names)
		}
	}
}

// synthesisCatalog emulates the catalog tasks the synthesis pipeline
// calls, at the versions it pins, as their published YAML
// (tektoncd/catalog, task/NAME/VERSION) runs them: git-clone and git-cli
// with this machine's git and sh, github-open-pr's request against gh. A
// version the pipeline moves to must be emulated anew.
func synthesisCatalog(gh *fakeGitHub, sec secrets) func(t *testing.T, pt v1.PipelineTask, params, bound map[string]string) map[string]string {
	return func(t *testing.T, pt v1.PipelineTask, params, bound map[string]string) map[string]string {
		t.Helper()
		switch task := catalogTask(pt); task {
		case "git-clone@0.9":
			return gitCloneTask(t, params, bound)
		case "git-cli@0.4":
			return gitCLITask(t, params, bound)
		case "github-open-pr@0.2":
			return githubOpenPRTask(t, gh, params, sec)
		default:
			t.Fatalf("%s runs %q, which is not emulated", pt.Name, task)
			return nil
		}
	}
}

// gitCloneTask is git-clone 0.9 with its defaults (depth 1, deleteExisting):
// the output workspace's subdirectory emptied, then git-init's fetch of
// the revision into a new repository, checked out detached; its results
// the commit, the URL and the commit's date.
func gitCloneTask(t *testing.T, params, bound map[string]string) map[string]string {
	t.Helper()
	takesOnly(t, "git-clone", params, "url", "revision", "subdirectory")
	dir := filepath.Join(bound["output"], params["subdirectory"])
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := imageEnv(t, []string{"HOME=" + t.TempDir()})
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git-clone: git %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "--quiet")
	git("remote", "add", "origin", params["url"])
	git("fetch", "--quiet", "--depth=1", "origin", "--update-head-ok", "--force", params["revision"])
	git("checkout", "--quiet", "-f", "FETCH_HEAD")
	return map[string]string{"commit": git("rev-parse", "HEAD"), "url": params["url"], "committer-date": git("log", "-1", "--pretty=%ct")}
}

// gitCLITask is git-cli 0.4's step: as root (HOME /root, a directory of
// the test's here), the basic-auth workspace's .gitconfig and
// .git-credentials copied into HOME, the user set, GIT_SCRIPT run by sh
// (set -eu) in the source workspace, and HEAD afterwards its commit
// result. The catalog splices GIT_SCRIPT's text into the step's script;
// so does this.
func gitCLITask(t *testing.T, params, bound map[string]string) map[string]string {
	t.Helper()
	takesOnly(t, "git-cli", params, "GIT_USER_NAME", "GIT_USER_EMAIL", "GIT_SCRIPT")
	home := t.TempDir()
	if auth, ok := bound["basic-auth"]; ok {
		for _, f := range []string{".git-credentials", ".gitconfig"} {
			if err := os.WriteFile(filepath.Join(home, f), []byte(readFile(t, filepath.Join(auth, f))), 0o400); err != nil {
				t.Fatal(err)
			}
		}
	}
	results := t.TempDir()
	script := filepath.Join(t.TempDir(), "script")
	text := "set -eu\n" +
		"git config --global user.email \"$GIT_USER_EMAIL\"\n" +
		"git config --global user.name \"$GIT_USER_NAME\"\n" +
		params["GIT_SCRIPT"] + "\n" +
		"printf '%s' \"$(git rev-parse HEAD)\" >\"$RESULTS/commit\"\n"
	if err := os.WriteFile(script, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", script)
	cmd.Dir = bound["source"]
	cmd.Env = imageEnv(t, []string{"HOME=" + home, "GIT_USER_NAME=" + params["GIT_USER_NAME"], "GIT_USER_EMAIL=" + params["GIT_USER_EMAIL"], "RESULTS=" + results})
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git-cli: %v\n%s", err, out)
	}
	t.Logf("git-cli:\n%s", out)
	return map[string]string{"commit": readFile(t, filepath.Join(results, "commit"))}
}

// githubOpenPRTask is github-open-pr 0.2's request, its Python step's: the
// pull request's head, base, title and body POSTed to the pulls API with
// the token of the Secret its params name (mounted as a volume), any
// status but 2xx failing the task. GITHUB_HOST_URL and API_PATH_PREFIX
// keep their defaults (api.github.com); gh stands in for it.
func githubOpenPRTask(t *testing.T, gh *fakeGitHub, params map[string]string, sec secrets) map[string]string {
	t.Helper()
	takesOnly(t, "github-open-pr", params, "REPO_FULL_NAME", "HEAD", "BASE", "TITLE", "BODY", "GITHUB_TOKEN_SECRET_NAME", "GITHUB_TOKEN_SECRET_KEY")
	name, key := cmp.Or(params["GITHUB_TOKEN_SECRET_NAME"], "github"), cmp.Or(params["GITHUB_TOKEN_SECRET_KEY"], "token")
	token := readFile(t, filepath.Join(secretVolume(t, sec, name, false), key))
	body, err := json.Marshal(map[string]string{"head": params["HEAD"], "base": params["BASE"], "title": params["TITLE"], "body": params["BODY"]})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, gh.URL+"/repos/"+params["REPO_FULL_NAME"]+"/pulls", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/vnd.github.v3+json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("github-open-pr: %v", err)
	}
	defer resp.Body.Close()
	var created struct {
		Number  int    `json:"number"`
		HTMLURL string `json:"html_url"`
	}
	if resp.StatusCode/100 != 2 {
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		t.Fatalf("github-open-pr: %s: %s", resp.Status, msg.Bytes())
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		t.Fatalf("github-open-pr: %v", err)
	}
	return map[string]string{"NUMBER": strconv.Itoa(created.Number), "URL": created.HTMLURL}
}

// TestPipelineSynthesisProposes runs tightnet-synthesize-policies whole,
// its catalog tasks emulated (synthesisCatalog): clone fetches the
// application's main branch from a Git server on 127.0.0.1 (gitRemote),
// extract and synthesize write the proposal into the checkout, commit's
// GIT_SCRIPT pushes it to the branch tightnet/proposed-policies with the
// credentials of the basic-auth workspace, and open-pull-request opens the
// pull request on the fake GitHub API. Run again while the pull request is
// open, commit pushes nothing and open-pull-request does not run; so too
// once the pull request is merged, when commit finds nothing to propose.
func TestPipelineSynthesisProposes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the stage binaries")
	}
	requireTools(t)
	p := loadPipeline(t, "synthesize-pipeline.yaml")
	const repo, branch = "acme/shop", "tightnet/proposed-policies"
	var policies string
	for _, ps := range p.Spec.Params {
		if ps.Name == "policies-dir" && ps.Default != nil {
			policies = path.Join(ps.Default.StringVal, "policies.yaml")
		}
	}
	remote := newGitRemote(t, repo, map[string]string{"main": filepath.Join(workspace(t), "new")})
	gh := newFakeGitHub(t)
	gh.Remote(repo, remote)
	u, err := url.Parse(remote.URL)
	if err != nil {
		t.Fatal(err)
	}
	// the basic-auth workspace, bound to a Secret as git-cli's README shows
	auth := secretVolume(t, secrets{"git-basic-auth": {
		".gitconfig":       "[credential]\n\thelper = store\n",
		".git-credentials": "http://x-access-token:" + githubToken + "@" + u.Host + "\n",
	}}, "git-basic-auth", false)
	params := map[string]string{"repo-url": remote.URL, "repo-full-name": repo, "path": "manifests",
		"github-token-secret-name": "review-bot", "github-token-secret-key": "pat"}
	// run runs the pipeline on a fresh source workspace and returns its
	// tasks' results and the policies it synthesized.
	run := func(t *testing.T) (map[string]map[string]string, string) {
		t.Helper()
		ws := t.TempDir()
		results := pipelineRun{p: p, params: params, bound: map[string]string{"source": ws, "basic-auth": auth}, sec: runSecrets,
			catalog: synthesisCatalog(gh, runSecrets)}.run(t)
		return results, readFile(t, filepath.Join(ws, "repo", policies))
	}
	var proposal string // the commit the branch points at
	if !t.Run("proposes", func(t *testing.T) {
		results, synthesized := run(t)
		if results["commit"]["commit"] == results["clone"]["commit"] {
			t.Error("commit's result is the cloned commit; it should be the proposal's")
		}
		if proposal = remote.Branch(t, branch); proposal != results["commit"]["commit"] {
			t.Fatalf("branch %s is at %q, want commit's result %s", branch, proposal, results["commit"]["commit"])
		}
		pr := expectProposed(t, remote, gh, repo, branch, policies, synthesized)
		if got, want := results["open-pull-request"]["NUMBER"], strconv.Itoa(pr.Number); got != want {
			t.Errorf("open-pull-request's NUMBER = %q, want %s", got, want)
		}
	}) {
		return
	}
	// rerun checks a run that pushes nothing and opens nothing.
	rerun := func(t *testing.T) {
		t.Helper()
		results, _ := run(t)
		if got, want := results["commit"]["commit"], results["clone"]["commit"]; got != want {
			t.Errorf("commit's result is %s, want the cloned commit %s: nothing to push", got, want)
		}
		if _, ok := results["open-pull-request"]; ok {
			t.Error("open-pull-request ran; its when should skip it")
		}
		expectSettled(t, remote, gh, repo, branch, proposal, 1)
	}
	if !t.Run("rerun with the pull request open", func(t *testing.T) {
		nextSecond()
		rerun(t)
	}) {
		return
	}
	t.Run("rerun after the merge", func(t *testing.T) {
		remote.Merge(t, branch, "main")
		gh.Close(t, repo, gh.Pulls(repo)[0].Number)
		rerun(t)
	})
}
