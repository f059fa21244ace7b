// Package action is the GitHub Action's entrypoint logic: it reads the
// action's inputs and the pull request event, runs a review, and reports it
// the ways GitHub shows things — the job summary, annotations on manifest
// lines, step outputs and a sticky pull request comment posted through the
// REST API. In mode apply it rolls approved policies out to a cluster
// instead (internal/rollout), reporting in the job summary and outputs.
//
// Input: a go-githubactions Action (inputs, environment, event payload) and
// an HTTP client for the GitHub API. Output: the job summary, outputs,
// annotations, a comment, and an error that says whether the step fails.
// It reaches the stages only through the flows that orchestrate them,
// internal/review and internal/rollout.
package action

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/tightnet/tightnet/internal/apply"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/review"
	"github.com/tightnet/tightnet/internal/rollout"
)

// Input names, as declared in actions/tightnet/action.yml.
const (
	InputPaths    = "paths"
	InputBase     = "base"
	InputBaseline = "baseline"
	InputMode     = "mode"
	InputFailOn   = "fail-on"
	InputComment  = "comment"
	InputSARIF    = "sarif"
	InputToken    = "token"
	InputOutDir   = "out-dir"
	// Mode apply only.
	InputKubeconfig = "kubeconfig"
	InputManifests  = "manifests"
	InputContext    = "context"
	InputOwner      = "owner"
	InputPrune      = "prune"
	InputDryRun     = "dry-run"
)

// Inputs lists every input Run reads; a test holds action.yml to it.
var Inputs = []string{InputPaths, InputBase, InputBaseline, InputMode, InputFailOn, InputComment, InputSARIF, InputToken, InputOutDir,
	InputKubeconfig, InputManifests, InputContext, InputOwner, InputPrune, InputDryRun}

// ReviewOutputs are the outputs a review sets, ApplyOutputs those mode
// apply sets; Outputs are both, which a test holds action.yml to.
var (
	ReviewOutputs = []string{"report", "policies", "sarif", "summary", "added", "removed", "changed", "violated", "unchecked", "findings"}
	ApplyOutputs  = []string{"summary", "created", "changed", "unchanged", "pruned", "violated"}
	Outputs       = slices.Compact(slices.Sorted(slices.Values(slices.Concat(ReviewOutputs, ApplyOutputs))))
)

// Marker is the hidden HTML comment that identifies tightnet's sticky
// comment among a pull request's comments.
const Marker = "<!-- tightnet-review -->"

// MaxAnnotations is how many findings become annotations per step; the rest
// are in the report.
const MaxAnnotations = 10

// maxCommentBytes is GitHub's limit on an issue comment's body.
const maxCommentBytes = 65536

// ErrFailOn is returned (wrapped) when the review found what the fail-on
// input asks to fail on; main exits 1 for it and 2 for any other error.
var ErrFailOn = errors.New("review found changes the fail-on input fails on")

// Reviewer runs a review; review.Run in production, a fake in tests.
type Reviewer func(context.Context, review.Options) (review.Result, error)

// Config is what Run needs beyond the action itself.
type Config struct {
	// Client talks to the GitHub REST API at APIURL
	// (https://api.github.com, or GITHUB_API_URL on GitHub Enterprise).
	Client *http.Client
	APIURL string
	// Review runs the review; nil means review.Run.
	Review Reviewer
	// Rollout applies policies in mode apply; nil means rollout.Run.
	Rollout Roller
}

// Run is the action: Config{client, apiURL, review.Run}.Run.
func Run(ctx context.Context, gha *githubactions.Action, client *http.Client, apiURL string) error {
	return Config{Client: client, APIURL: apiURL, Review: review.Run, Rollout: rollout.Run}.Run(ctx, gha)
}

// inputs are the action's validated inputs.
type inputs struct {
	paths, base, baseline []string
	mode, failOn, comment string
	sarif, token, outDir  string
	// Mode apply.
	kubeconfig, context, owner string
	manifests                  []string
	prune, dryRun              bool
}

func readInputs(gha *githubactions.Action) (inputs, error) {
	in := inputs{
		paths:    list(gha.GetInput(InputPaths)),
		base:     list(gha.GetInput(InputBase)),
		baseline: list(gha.GetInput(InputBaseline)),
		mode:     cmp.Or(gha.GetInput(InputMode), "review"),
		failOn:   cmp.Or(gha.GetInput(InputFailOn), "violation"),
		comment:  cmp.Or(gha.GetInput(InputComment), "sticky"),
		sarif:    gha.GetInput(InputSARIF),
		token:    gha.GetInput(InputToken),
		outDir:   cmp.Or(gha.GetInput(InputOutDir), "tightnet-review"),

		kubeconfig: gha.GetInput(InputKubeconfig),
		manifests:  list(gha.GetInput(InputManifests)),
		context:    gha.GetInput(InputContext),
		owner:      cmp.Or(gha.GetInput(InputOwner), apply.DefaultOwner),
	}
	for _, b := range []struct {
		name string
		to   *bool
	}{{InputPrune, &in.prune}, {InputDryRun, &in.dryRun}} {
		v := cmp.Or(gha.GetInput(b.name), "false")
		parsed, err := strconv.ParseBool(v)
		if err != nil {
			return in, fmt.Errorf("input %q is %q; want true or false", b.name, v)
		}
		*b.to = parsed
	}
	if len(in.paths) == 0 {
		return in, fmt.Errorf("input %q is empty; name the manifest directories or files to review", InputPaths)
	}
	for _, c := range []struct {
		name, value string
		allowed     []string
	}{
		{InputMode, in.mode, []string{"review", "synthesize", "apply"}},
		{InputFailOn, in.failOn, []string{"violation", "change", "never"}},
		{InputComment, in.comment, []string{"sticky", "new", "off"}},
	} {
		if !slices.Contains(c.allowed, c.value) {
			return in, fmt.Errorf("input %q is %q; want one of %s", c.name, c.value, strings.Join(c.allowed, ", "))
		}
	}
	return in, nil
}

// list splits an input holding one path per line or comma-separated paths.
func list(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Run reads the inputs and event, reviews, and reports. Its error is nil on
// success, wraps ErrFailOn when the review found what fail-on fails on, and
// is anything else when the action could not do its job.
func (c Config) Run(ctx context.Context, gha *githubactions.Action) error {
	in, err := readInputs(gha)
	if err != nil {
		return err
	}
	if in.token != "" {
		gha.AddMask(in.token)
	}
	if in.mode == "apply" {
		return c.runApply(ctx, gha, in)
	}
	ev, err := readEvent(gha.Getenv("GITHUB_EVENT_PATH"))
	if err != nil {
		return err
	}
	reviewer := c.Review
	if reviewer == nil {
		reviewer = review.Run
	}
	res, err := reviewer(ctx, review.Options{
		Head: in.paths, Base: in.base, Baseline: in.baseline,
		OutDir: in.outDir, Mode: in.mode,
	})
	if err != nil {
		return fmt.Errorf("review %s: %w", strings.Join(in.paths, ", "), err)
	}
	workspace := gha.Getenv("GITHUB_WORKSPACE")

	if in.sarif != "" {
		if err := copySARIF(res, in.sarif); err != nil {
			return err
		}
	}

	notes := annotate(gha, res.Findings, workspace)

	commentNote, err := c.comment(ctx, gha, in, ev, res)
	if err != nil {
		return err
	}
	if commentNote != "" {
		notes = append(notes, commentNote)
	}

	summary := res.Markdown
	if len(notes) > 0 {
		summary = strings.TrimRight(summary, "\n") + "\n\n" + strings.Join(notes, "\n\n") + "\n"
	}
	if gha.Getenv("GITHUB_STEP_SUMMARY") != "" {
		gha.AddStepSummary(summary)
	} else {
		gha.Infof("%s", summary)
	}

	if gha.Getenv("GITHUB_OUTPUT") != "" {
		for _, o := range []struct{ k, v string }{
			{"report", relative(res.Files["report.md"], workspace)},
			{"policies", relative(res.Files["policies.yaml"], workspace)},
			{"sarif", relative(cmp.Or(in.sarif, res.Files["verification.sarif"]), workspace)},
			{"summary", res.Summary},
			{"added", strconv.Itoa(res.Counts.Added)},
			{"removed", strconv.Itoa(res.Counts.Removed)},
			{"changed", strconv.Itoa(res.Counts.Changed)},
			{"violated", strconv.Itoa(res.Counts.Violated)},
			{"unchecked", strconv.Itoa(res.Counts.Unchecked)},
			{"findings", strconv.Itoa(res.Counts.Findings)},
		} {
			gha.SetOutput(o.k, o.v)
		}
	}

	return failOn(in.failOn, res)
}

// failOn decides whether the step fails.
func failOn(mode string, res review.Result) error {
	n := res.Counts
	switch {
	case mode == "violation" && n.Violated+n.Unchecked > 0:
		return fmt.Errorf("%w: %d baseline rules violated, %d unchecked", ErrFailOn, n.Violated, n.Unchecked)
	case mode == "change" && n.Added+n.Removed+n.Changed > 0:
		return fmt.Errorf("%w: %d connections added, %d removed, %d changed", ErrFailOn, n.Added, n.Removed, n.Changed)
	}
	return nil
}

func copySARIF(res review.Result, dst string) error {
	src, ok := res.Files["verification.sarif"]
	if !ok {
		return fmt.Errorf("input %q is set but the review wrote no SARIF; give baseline rules to verify", InputSARIF)
	}
	if filepath.Clean(src) == filepath.Clean(dst) {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copy SARIF: %w", err)
	}
	if dir := filepath.Dir(dst); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("copy SARIF: %w", err)
		}
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("copy SARIF: %w", err)
	}
	return nil
}

// relative makes a path under the workspace relative to it: the action runs
// in a container where the workspace is mounted at another path than on the
// runner, so later steps can only use workspace-relative paths.
func relative(path, workspace string) string {
	if path == "" || workspace == "" || !filepath.IsAbs(path) {
		return filepath.ToSlash(path)
	}
	if rel, err := filepath.Rel(workspace, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(path)
}

// annotate emits at most MaxAnnotations findings as annotations, the most
// severe first, then by location, and returns a note for the summary when
// some were left out.
func annotate(gha *githubactions.Action, findings []model.Finding, workspace string) []string {
	sorted := slices.Clone(findings)
	slices.SortStableFunc(sorted, func(a, b model.Finding) int {
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		return model.CompareFindings(a, b)
	})
	shown := sorted[:min(len(sorted), MaxAnnotations)]
	for _, f := range shown {
		fields := map[string]string{"title": "tightnet " + f.Code}
		if f.Location.File != "" {
			fields["file"] = relative(f.Location.File, workspace)
			if f.Location.Line > 0 {
				fields["line"] = strconv.Itoa(f.Location.Line)
			}
		}
		msg := f.Message
		if f.Object != "" {
			msg = f.Object + ": " + msg
		}
		a := gha.WithFieldsMap(fields)
		switch f.Severity {
		case model.Error:
			a.Errorf("%s", msg)
		case model.Warning:
			a.Warningf("%s", msg)
		default:
			a.Noticef("%s", msg)
		}
	}
	if rest := len(sorted) - len(shown); rest > 0 {
		return []string{fmt.Sprintf("%d more findings are not annotated; they are in the report.", rest)}
	}
	return nil
}

// event is the part of a webhook payload the action reads.
type event struct {
	Number      int          `json:"number"`
	PullRequest *pullRequest `json:"pull_request"`
	Repository  struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
}

type pullRequest struct {
	Number int `json:"number"`
	Head   struct {
		Repo *struct {
			FullName string `json:"full_name"`
		} `json:"repo"`
	} `json:"head"`
	Base struct {
		Repo struct {
			FullName string `json:"full_name"`
		} `json:"repo"`
	} `json:"base"`
}

// fork says whether the pull request comes from another repository, whose
// workflows get a read-only token. A deleted fork has no head repo.
func (pr *pullRequest) fork() bool {
	return pr.Head.Repo == nil || pr.Head.Repo.FullName != pr.Base.Repo.FullName
}

// readEvent reads the event payload; no path (a local run) is no event.
func readEvent(path string) (event, error) {
	var ev event
	if path == "" {
		return ev, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ev, fmt.Errorf("read event payload (GITHUB_EVENT_PATH): %w", err)
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, fmt.Errorf("read event payload %s: %w", path, err)
	}
	return ev, nil
}

// comment posts or updates the pull request comment and returns a note for
// the summary when it did not.
func (c Config) comment(ctx context.Context, gha *githubactions.Action, in inputs, ev event, res review.Result) (string, error) {
	pr := ev.PullRequest
	switch {
	case in.comment == "off":
		return "", nil
	case pr == nil:
		return "", nil // not a pull request event: nothing to comment on
	case in.token == "":
		return fmt.Sprintf("comment skipped: input %q is empty.", InputToken), nil
	}
	repo := cmp.Or(pr.Base.Repo.FullName, ev.Repository.FullName, gha.Getenv("GITHUB_REPOSITORY"))
	number := cmp.Or(pr.Number, ev.Number)
	err := Comment(ctx, CommentOptions{Client: c.Client, APIURL: c.APIURL, Token: in.token, Repo: repo, Number: number,
		Body: res.Markdown, Sticky: in.comment == "sticky"})
	if errors.Is(err, ErrCannotWrite) {
		if pr.fork() {
			return "comment skipped: the token cannot write to this repository (fork pull request)", nil
		}
		return "comment skipped: the token cannot write to this repository (read-only token; grant `pull-requests: write`)", nil
	}
	return "", err
}

// ErrCannotWrite is wrapped by Comment when the API refuses the write (403
// or 404): a fork pull request's token, or one without pull-requests: write.
var ErrCannotWrite = errors.New("the token cannot write to this repository")

// CommentOptions say where and what to comment.
type CommentOptions struct {
	Client *http.Client
	// APIURL is the REST API's base; https://api.github.com when empty.
	APIURL string
	Token  string
	// Repo is owner/name; Number the pull request (or issue) number.
	Repo   string
	Number int
	// Body is the comment's Markdown; the hidden Marker is prepended.
	Body string
	// Sticky updates the comment holding the marker, if any, instead of
	// adding a new one.
	Sticky bool
}

// Comment posts a review comment on a pull request through the GitHub REST
// API: sticky (found by the hidden Marker and updated) or new. A body over
// GitHub's limit is cut with a pointer to the full report.
func Comment(ctx context.Context, o CommentOptions) error {
	gh := githubAPI{client: o.Client, base: strings.TrimRight(cmp.Or(o.APIURL, "https://api.github.com"), "/"), token: o.Token}
	body := Marker + "\n" + o.Body
	if len(body) > maxCommentBytes {
		const cut = "\n\n… (truncated; the full report is in the job summary)\n"
		body = strings.ToValidUTF8(body[:maxCommentBytes-len(cut)], "") + cut
	}
	var err error
	id := int64(0)
	if o.Sticky {
		id, err = gh.findComment(ctx, o.Repo, o.Number)
	}
	if err == nil {
		if id != 0 {
			err = gh.do(ctx, http.MethodPatch, fmt.Sprintf("/repos/%s/issues/comments/%d", o.Repo, id), map[string]string{"body": body}, nil)
		} else {
			err = gh.do(ctx, http.MethodPost, fmt.Sprintf("/repos/%s/issues/%d/comments", o.Repo, o.Number), map[string]string{"body": body}, nil)
		}
	}
	var se *statusError
	if errors.As(err, &se) && (se.code == http.StatusForbidden || se.code == http.StatusNotFound) {
		return fmt.Errorf("comment on %s#%d: %w (%v)", o.Repo, o.Number, ErrCannotWrite, err)
	}
	if err != nil {
		return fmt.Errorf("comment on %s#%d: %w", o.Repo, o.Number, err)
	}
	return nil
}

// githubAPI is the little of the GitHub REST API the action uses.
type githubAPI struct {
	client      *http.Client
	base, token string
}

type statusError struct {
	method, url string
	code        int
	body        string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.method, e.url, e.code, http.StatusText(e.code), e.body)
}

// findComment returns the id of the first comment holding the marker, or 0.
func (g githubAPI) findComment(ctx context.Context, repo string, number int) (int64, error) {
	const perPage = 100
	for page := 1; ; page++ {
		var comments []struct {
			ID   int64  `json:"id"`
			Body string `json:"body"`
		}
		path := fmt.Sprintf("/repos/%s/issues/%d/comments?per_page=%d&page=%d", repo, number, perPage, page)
		if err := g.do(ctx, http.MethodGet, path, nil, &comments); err != nil {
			return 0, err
		}
		for _, c := range comments {
			if strings.Contains(c.Body, Marker) {
				return c.ID, nil
			}
		}
		if len(comments) < perPage {
			return 0, nil
		}
	}
}

func (g githubAPI) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	url := g.base + path
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", "Bearer "+g.token)
	req.Header.Set("User-Agent", "tightnet-action")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := g.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &statusError{method: method, url: url, code: resp.StatusCode, body: strings.TrimSpace(string(msg))}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, url, err)
	}
	return nil
}
