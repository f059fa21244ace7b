package packaging

import (
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
// with this machine's git and sh. A version the pipeline moves to must be
// emulated anew. (Its open-pull-request is its own, embedded: pipelineRun
// runs that script itself.)
func synthesisCatalog(t *testing.T, pt v1.PipelineTask, params, bound map[string]string) map[string]string {
	t.Helper()
	switch task := catalogTask(pt); task {
	case "git-clone@0.9":
		return gitCloneTask(t, params, bound)
	case "git-cli@0.4":
		return gitCLITask(t, params, bound)
	default:
		t.Fatalf("%s runs %q, which is not emulated", pt.Name, task)
		return nil
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

// The synthesis pipeline's runs propose policies for synthesisRepo on the
// branch its commit pushes, proposedBranch.
const synthesisRepo, proposedBranch = "acme/shop", "tightnet/proposed-policies"

// synthesisFixture is where the synthesis pipeline runs: the application's
// repository on a Git server on 127.0.0.1 (gitRemote), its main branch
// examples/review's head, known to the fake GitHub API; the basic-auth
// workspace that lets git-cli push to it, bound to a Secret as git-cli's
// README shows; and the pipeline's params, github-api-url the fake's.
type synthesisFixture struct {
	p        *v1.Pipeline
	remote   *gitRemote
	gh       *fakeGitHub
	auth     string
	params   map[string]string
	policies string // the proposal's policies.yaml, under policies-dir's default
}

// newSynthesisFixture makes the fixture, skipping the test under -short
// (the runs build the stage binaries) or without sh, git and curl
// (requireTools).
func newSynthesisFixture(t *testing.T) *synthesisFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the stage binaries")
	}
	requireTools(t)
	f := &synthesisFixture{p: loadPipeline(t, "synthesize-pipeline.yaml")}
	for _, ps := range f.p.Spec.Params {
		if ps.Name == "policies-dir" && ps.Default != nil {
			f.policies = path.Join(ps.Default.StringVal, "policies.yaml")
		}
	}
	f.remote = newGitRemote(t, synthesisRepo, map[string]string{"main": filepath.Join(workspace(t), "new")})
	f.gh = newFakeGitHub(t)
	f.gh.Remote(synthesisRepo, f.remote)
	u, err := url.Parse(f.remote.URL)
	if err != nil {
		t.Fatal(err)
	}
	f.auth = secretVolume(t, secrets{"git-basic-auth": {
		".gitconfig":       "[credential]\n\thelper = store\n",
		".git-credentials": "http://x-access-token:" + githubToken + "@" + u.Host + "\n",
	}}, "git-basic-auth", false)
	f.params = map[string]string{"repo-url": f.remote.URL, "repo-full-name": synthesisRepo, "path": "manifests", "github-api-url": f.gh.URL,
		"github-token-secret-name": "review-bot", "github-token-secret-key": "pat"}
	return f
}

// run runs the pipeline on a fresh source workspace with the Secrets sec,
// fails the task that must fail (see pipelineRun), and returns its tasks'
// results and the policies it synthesized.
func (f *synthesisFixture) run(t *testing.T, sec secrets, fails string) (map[string]map[string]string, string) {
	t.Helper()
	ws := t.TempDir()
	results := pipelineRun{p: f.p, params: f.params, bound: map[string]string{"source": ws, "basic-auth": f.auth}, sec: sec,
		catalog: synthesisCatalog, fails: fails}.run(t)
	return results, readFile(t, filepath.Join(ws, "repo", f.policies))
}

// TestPipelineSynthesisProposes runs tightnet-synthesize-policies whole,
// its catalog tasks emulated (synthesisCatalog) and its open-pull-request
// script run with sh and curl: clone fetches the application's main branch
// (synthesisFixture), extract and synthesize write the proposal into the
// checkout, commit's GIT_SCRIPT pushes it to the branch
// tightnet/proposed-policies with the credentials of the basic-auth
// workspace, and open-pull-request opens the pull request on the fake
// GitHub API with the token of the Secret the params name. Run again while
// the pull request is open, commit pushes nothing and open-pull-request
// opens no other; after a commit to main, commit pushes the proposal onto
// the new main and open-pull-request, finding the pull request open,
// succeeds and opens no other; once the pull request is merged, commit finds
// nothing to propose and open-pull-request does not run.
func TestPipelineSynthesisProposes(t *testing.T) {
	f := newSynthesisFixture(t)
	// proposes checks a run whose commit's result, the commit the branch
	// points at, is not the cloned commit, and whose open-pull-request ran.
	proposes := func(t *testing.T, results map[string]map[string]string) {
		t.Helper()
		if got := results["commit"]["commit"]; got == results["clone"]["commit"] || got != f.remote.Branch(t, proposedBranch) {
			t.Errorf("commit's result is %s, want the commit %s points at, %s", got, proposedBranch, f.remote.Branch(t, proposedBranch))
		}
		if _, ok := results["open-pull-request"]; !ok {
			t.Error("open-pull-request did not run")
		}
	}
	var proposal string // the commit the branch points at
	if !t.Run("proposes", func(t *testing.T) {
		results, synthesized := f.run(t, runSecrets, "")
		proposes(t, results)
		proposal = f.remote.Branch(t, proposedBranch)
		expectProposed(t, f.remote, f.gh, synthesisRepo, proposedBranch, f.policies, synthesized)
	}) {
		return
	}
	if !t.Run("rerun with the pull request open", func(t *testing.T) {
		nextSecond()
		results, _ := f.run(t, runSecrets, "")
		proposes(t, results)
		expectSettled(t, f.remote, f.gh, synthesisRepo, proposedBranch, proposal, 1)
	}) {
		return
	}
	if !t.Run("rerun after main moved", func(t *testing.T) {
		f.remote.Commit(t, "main", "CONTRIBUTING.md", "Pull requests welcome.\n")
		results, _ := f.run(t, runSecrets, "")
		proposes(t, results)
		proposal = expectRebased(t, f.remote, f.gh, synthesisRepo, proposedBranch, proposal, 2)
	}) {
		return
	}
	t.Run("rerun after the merge", func(t *testing.T) {
		f.remote.Merge(t, proposedBranch, "main")
		f.gh.Close(t, synthesisRepo, f.gh.Pulls(synthesisRepo)[0].Number)
		results, _ := f.run(t, runSecrets, "")
		if got, want := results["commit"]["commit"], results["clone"]["commit"]; got != want {
			t.Errorf("commit's result is %s, want the cloned commit %s: nothing to propose", got, want)
		}
		if _, ok := results["open-pull-request"]; ok {
			t.Error("open-pull-request ran; its when should skip it")
		}
		expectSettled(t, f.remote, f.gh, synthesisRepo, proposedBranch, proposal, 2)
	})
}

// TestPipelineSynthesisRecovers runs tightnet-synthesize-policies after a
// run whose pull request failed to open: the token in the Secret the params
// name is one GitHub refuses, while git-cli pushes with the basic-auth
// workspace's, so the branch proposes the policies, no pull request is open
// and the run fails at open-pull-request. The rerun, with a good token,
// pushes nothing; open-pull-request runs all the same — its when lets it run
// whenever the branch proposes the policies, not only after a push — and
// opens the pull request.
func TestPipelineSynthesisRecovers(t *testing.T) {
	f := newSynthesisFixture(t)
	var proposal string
	if !t.Run("pull request refused", func(t *testing.T) {
		refused := secrets{"review-bot": {"pat": "revoked-" + githubToken}}
		f.run(t, refused, "open-pull-request")
		if proposal = f.remote.Branch(t, proposedBranch); proposal == "" {
			t.Fatalf("no branch %s on the remote", proposedBranch)
		}
		if pulls := f.gh.Pulls(synthesisRepo); len(pulls) != 0 {
			t.Errorf("%d pull requests, want none: %+v", len(pulls), pulls)
		}
	}) {
		return
	}
	t.Run("rerun", func(t *testing.T) {
		nextSecond()
		results, synthesized := f.run(t, runSecrets, "")
		if got := results["commit"]["commit"]; got != proposal {
			t.Errorf("commit's result is %s, want %s, the commit %s points at", got, proposal, proposedBranch)
		}
		expectProposed(t, f.remote, f.gh, synthesisRepo, proposedBranch, f.policies, synthesized)
	})
}
