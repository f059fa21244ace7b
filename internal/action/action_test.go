package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sethvargo/go-githubactions"
	"sigs.k8s.io/yaml"

	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/review"
)

const token = "ghs_test0123456789"

// fakeGitHub is the few GitHub REST endpoints the action calls, with
// comments in memory, recording every request.
type fakeGitHub struct {
	t        *testing.T
	readOnly bool // POST and PATCH answer 403, as for a fork's token

	mu       sync.Mutex
	nextID   int64
	comments map[int][]comment // by issue number
	requests []string          // "METHOD /path"
}

type comment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	User struct {
		Login string `json:"login"`
	} `json:"user"`
}

func newFakeGitHub(t *testing.T) (*fakeGitHub, *httptest.Server) {
	f := &fakeGitHub{t: t, nextID: 1000, comments: map[int][]comment{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/acme/shop/issues/{n}/comments", f.list)
	mux.HandleFunc("POST /repos/acme/shop/issues/{n}/comments", f.create)
	mux.HandleFunc("PATCH /repos/acme/shop/issues/comments/{id}", f.update)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

// seed adds a comment as if someone had posted it earlier.
func (f *fakeGitHub) seed(n int, login, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	c := comment{ID: f.nextID, Body: body}
	c.User.Login = login
	f.comments[n] = append(f.comments[n], c)
	return c.ID
}

func (f *fakeGitHub) list(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if perPage == 0 {
		perPage = 30
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	f.mu.Lock()
	all := f.comments[n]
	lo, hi := min(len(all), (page-1)*perPage), min(len(all), page*perPage)
	out := slices.Clone(all[lo:hi])
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (f *fakeGitHub) create(w http.ResponseWriter, r *http.Request) {
	if f.readOnly {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration"})
		return
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	var in struct{ Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	id := f.seed(n, "github-actions[bot]", in.Body)
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "body": in.Body})
}

func (f *fakeGitHub) update(w http.ResponseWriter, r *http.Request) {
	if f.readOnly {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration"})
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var in struct{ Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for n, cs := range f.comments {
		for i := range cs {
			if cs[i].ID == id {
				f.comments[n][i].Body = in.Body
				writeJSON(w, http.StatusOK, f.comments[n][i])
				return
			}
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// tightnetComments are the comments holding the marker on issue n.
func (f *fakeGitHub) tightnetComments(n int) []comment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []comment
	for _, c := range f.comments[n] {
		if strings.Contains(c.Body, Marker) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeGitHub) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if !strings.HasPrefix(r, "GET ") {
			out = append(out, r)
		}
	}
	return out
}

// run is one step of a workflow: the files GitHub gives the action, and
// what it printed.
type run struct {
	env               map[string]string
	output, summary   string // file paths
	log               bytes.Buffer
	gha               *githubactions.Action
	workspace, outDir string
}

func newRun(t *testing.T, event string, inputs map[string]string) *run {
	t.Helper()
	dir := t.TempDir()
	r := &run{
		output:    filepath.Join(dir, "output"),
		summary:   filepath.Join(dir, "summary.md"),
		workspace: dir,
		outDir:    filepath.Join(dir, "tightnet-review"),
	}
	r.env = map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_EVENT_NAME":   "pull_request",
		"GITHUB_REPOSITORY":   "acme/shop",
		"GITHUB_OUTPUT":       r.output,
		"GITHUB_STEP_SUMMARY": r.summary,
		"GITHUB_WORKSPACE":    dir,
		"INPUT_PATHS":         "examples/shop/manifests",
		"INPUT_TOKEN":         token,
		"INPUT_OUT-DIR":       r.outDir,
	}
	if event != "" {
		abs, err := filepath.Abs(filepath.Join("testdata", "events", event))
		if err != nil {
			t.Fatal(err)
		}
		r.env["GITHUB_EVENT_PATH"] = abs
	}
	for k, v := range inputs {
		r.env["INPUT_"+strings.ToUpper(k)] = v
	}
	r.gha = githubactions.New(
		githubactions.WithWriter(&r.log),
		githubactions.WithGetenv(func(k string) string { return r.env[k] }),
	)
	return r
}

func (r *run) readSummary(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(r.summary)
	if err != nil {
		t.Fatalf("job summary: %v", err)
	}
	return string(b)
}

var outputRE = regexp.MustCompile(`(?s)([\w-]+)<<(\S+)\n(.*?)\n(\S+)\n`)

func (r *run) outputs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(r.output)
	if err != nil {
		t.Fatalf("outputs: %v", err)
	}
	out := map[string]string{}
	for _, m := range outputRE.FindAllStringSubmatch(string(b), -1) {
		if m[2] != m[4] {
			t.Fatalf("outputs file: delimiter %q closed by %q", m[2], m[4])
		}
		out[m[1]] = m[3]
	}
	return out
}

// annotations are the workflow commands the step printed that GitHub turns
// into annotations.
func (r *run) annotations() []string {
	var out []string
	for _, line := range strings.Split(r.log.String(), "\n") {
		if strings.HasPrefix(line, "::error") || strings.HasPrefix(line, "::warning") || strings.HasPrefix(line, "::notice") {
			out = append(out, line)
		}
	}
	return out
}

// fakeResult is a review of a change that violates a rule, with findings of
// every severity.
func fakeResult(outDir string, findings int) review.Result {
	res := review.Result{
		Summary:  "3 connections added, 1 removed, 1 baseline rule violated",
		Markdown: "## tightnet review\n\n3 connections added, 1 removed, 1 baseline rule violated\n",
		Counts:   review.Counts{Added: 3, Removed: 1, Violated: 1, Findings: findings},
		Files: map[string]string{
			"report.md":          filepath.Join(outDir, "report.md"),
			"verification.sarif": filepath.Join(outDir, "verification.sarif"),
		},
	}
	sev := []model.Severity{model.Info, model.Warning, model.Error}
	for i := range findings {
		res.Findings = append(res.Findings, model.Finding{
			Code:     fmt.Sprintf("code-%02d", i),
			Severity: sev[i%3],
			Message:  fmt.Sprintf("finding %d", i),
			Location: model.Location{File: filepath.Join(outDir, "..", "manifests", fmt.Sprintf("f%02d.yaml", i%5)), Line: 10 + i},
		})
	}
	return res
}

// fakeReviewer writes the files a review would and returns result.
func fakeReviewer(result func(outDir string) review.Result) Reviewer {
	return func(_ context.Context, opts review.Options) (review.Result, error) {
		res := result(opts.OutDir)
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return res, err
		}
		for role, path := range res.Files {
			if err := os.WriteFile(path, []byte("content of "+role+"\n"), 0o644); err != nil {
				return res, err
			}
		}
		return res, nil
	}
}

func TestStickyCommentCreatedThenUpdated(t *testing.T) {
	gh, srv := newFakeGitHub(t)
	// Someone else's comments fill the first page, so finding ours needs
	// the second.
	for i := range 105 {
		gh.seed(42, "octocat", fmt.Sprintf("looks good %d", i))
	}
	cfg := Config{Client: srv.Client(), APIURL: srv.URL}

	// PR opened: the comment is created.
	cfg.Review = fakeReviewer(func(dir string) review.Result { return fakeResult(dir, 2) })
	r := newRun(t, "pull_request_opened.json", map[string]string{"fail-on": "never"})
	if err := cfg.Run(t.Context(), r.gha); err != nil {
		t.Fatalf("opened: %v", err)
	}
	if got, want := gh.writes(), []string{"POST /repos/acme/shop/issues/42/comments"}; !slices.Equal(got, want) {
		t.Fatalf("opened: writes %q, want %q", got, want)
	}
	first := gh.tightnetComments(42)
	if len(first) != 1 || !strings.Contains(first[0].Body, "3 connections added") {
		t.Fatalf("opened: tightnet comments %+v, want one with the report", first)
	}

	// PR synchronised: the same comment is updated, no new one.
	cfg.Review = fakeReviewer(func(dir string) review.Result {
		res := fakeResult(dir, 2)
		res.Markdown = "## tightnet review\n\nno connectivity change\n"
		return res
	})
	r = newRun(t, "pull_request_synchronize.json", map[string]string{"fail-on": "never"})
	if err := cfg.Run(t.Context(), r.gha); err != nil {
		t.Fatalf("synchronize: %v", err)
	}
	wantWrites := []string{
		"POST /repos/acme/shop/issues/42/comments",
		fmt.Sprintf("PATCH /repos/acme/shop/issues/comments/%d", first[0].ID),
	}
	if got := gh.writes(); !slices.Equal(got, wantWrites) {
		t.Fatalf("synchronize: writes %q, want %q", got, wantWrites)
	}
	after := gh.tightnetComments(42)
	if len(after) != 1 || after[0].ID != first[0].ID || !strings.Contains(after[0].Body, "no connectivity change") {
		t.Fatalf("synchronize: tightnet comments %+v, want comment %d updated", after, first[0].ID)
	}
	if !strings.HasPrefix(after[0].Body, Marker+"\n") {
		t.Errorf("comment body does not start with the marker: %q", after[0].Body)
	}
}

func TestStickyCommentFindsExistingComment(t *testing.T) {
	gh, srv := newFakeGitHub(t)
	gh.seed(42, "octocat", "please add tests")
	id := gh.seed(42, "github-actions[bot]", Marker+"\nan old review")
	cfg := Config{Client: srv.Client(), APIURL: srv.URL, Review: fakeReviewer(func(dir string) review.Result { return fakeResult(dir, 0) })}
	r := newRun(t, "pull_request_synchronize.json", map[string]string{"fail-on": "never"})
	if err := cfg.Run(t.Context(), r.gha); err != nil {
		t.Fatal(err)
	}
	if got, want := gh.writes(), []string{fmt.Sprintf("PATCH /repos/acme/shop/issues/comments/%d", id)}; !slices.Equal(got, want) {
		t.Errorf("writes %q, want %q", got, want)
	}
}

func TestCommentNewAndOff(t *testing.T) {
	for _, tc := range []struct {
		mode       string
		wantWrites int
	}{{"new", 2}, {"off", 0}} {
		t.Run(tc.mode, func(t *testing.T) {
			gh, srv := newFakeGitHub(t)
			cfg := Config{Client: srv.Client(), APIURL: srv.URL, Review: fakeReviewer(func(dir string) review.Result { return fakeResult(dir, 0) })}
			for _, ev := range []string{"pull_request_opened.json", "pull_request_synchronize.json"} {
				r := newRun(t, ev, map[string]string{"comment": tc.mode, "fail-on": "never"})
				if err := cfg.Run(t.Context(), r.gha); err != nil {
					t.Fatal(err)
				}
			}
			if got := gh.writes(); len(got) != tc.wantWrites {
				t.Errorf("writes %q, want %d", got, tc.wantWrites)
			}
			for _, w := range gh.writes() {
				if !strings.HasPrefix(w, "POST ") {
					t.Errorf("comment %s made %s, want only POSTs", tc.mode, w)
				}
			}
			if len(gh.tightnetComments(42)) != tc.wantWrites {
				t.Errorf("tightnet comments %d, want %d", len(gh.tightnetComments(42)), tc.wantWrites)
			}
		})
	}
}

func TestForkPullRequestSkipsComment(t *testing.T) {
	gh, srv := newFakeGitHub(t)
	gh.readOnly = true
	cfg := Config{Client: srv.Client(), APIURL: srv.URL, Review: fakeReviewer(func(dir string) review.Result { return fakeResult(dir, 1) })}
	r := newRun(t, "pull_request_fork.json", map[string]string{"fail-on": "never"})
	if err := cfg.Run(t.Context(), r.gha); err != nil {
		t.Fatalf("fork PR failed the step: %v", err)
	}
	if got, want := gh.writes(), []string{"POST /repos/acme/shop/issues/43/comments"}; !slices.Equal(got, want) {
		t.Errorf("writes %q, want %q", got, want)
	}
	summary := r.readSummary(t)
	if !strings.Contains(summary, "comment skipped: the token cannot write to this repository (fork pull request)") {
		t.Errorf("summary does not say the comment was skipped:\n%s", summary)
	}
	if !strings.Contains(summary, "3 connections added") {
		t.Errorf("summary lacks the report:\n%s", summary)
	}
	if out := r.outputs(t); out["violated"] != "1" {
		t.Errorf("outputs %v: want violated=1", out)
	}
}

func TestForkPullRequestStillFailsOnViolation(t *testing.T) {
	gh, srv := newFakeGitHub(t)
	gh.readOnly = true
	cfg := Config{Client: srv.Client(), APIURL: srv.URL, Review: fakeReviewer(func(dir string) review.Result { return fakeResult(dir, 1) })}
	r := newRun(t, "pull_request_fork.json", nil)
	if err := cfg.Run(t.Context(), r.gha); !errors.Is(err, ErrFailOn) {
		t.Fatalf("err = %v, want ErrFailOn: the skipped comment must not hide the violation", err)
	}
}

func TestCommentServerErrorFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "boom"})
	}))
	defer srv.Close()
	cfg := Config{Client: srv.Client(), APIURL: srv.URL, Review: fakeReviewer(func(dir string) review.Result { return fakeResult(dir, 0) })}
	r := newRun(t, "pull_request_opened.json", map[string]string{"fail-on": "never"})
	err := cfg.Run(t.Context(), r.gha)
	if err == nil || errors.Is(err, ErrFailOn) {
		t.Fatalf("err = %v, want an API error", err)
	}
}

func TestOutputsSummaryAndSARIF(t *testing.T) {
	_, srv := newFakeGitHub(t)
	cfg := Config{Client: srv.Client(), APIURL: srv.URL, Review: fakeReviewer(func(dir string) review.Result { return fakeResult(dir, 0) })}
	r := newRun(t, "pull_request_opened.json", map[string]string{"fail-on": "never", "comment": "off"})
	r.env["INPUT_OUT-DIR"] = filepath.Join(r.workspace, "out")
	sarif := filepath.Join(r.workspace, "results", "tightnet.sarif")
	r.env["INPUT_SARIF"] = sarif
	if err := cfg.Run(t.Context(), r.gha); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"report": "out/report.md", "policies": "", "sarif": "results/tightnet.sarif",
		"summary": "3 connections added, 1 removed, 1 baseline rule violated",
		"added":   "3", "removed": "1", "changed": "0", "violated": "1", "unchecked": "0", "findings": "0",
	}
	got := r.outputs(t)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, slices.Sorted(slices.Values(ReviewOutputs))) {
		t.Errorf("outputs set %v, want exactly %v", keys, ReviewOutputs)
	}
	if b, err := os.ReadFile(sarif); err != nil || string(b) != "content of verification.sarif\n" {
		t.Errorf("SARIF copy: %q, %v", b, err)
	}
	if s := r.readSummary(t); !strings.HasPrefix(s, "## tightnet review\n") {
		t.Errorf("summary:\n%s", s)
	}
}

func TestAnnotationsMostSevereFirstAtMostTen(t *testing.T) {
	_, srv := newFakeGitHub(t)
	cfg := Config{Client: srv.Client(), APIURL: srv.URL, Review: fakeReviewer(func(dir string) review.Result { return fakeResult(dir, 14) })}
	r := newRun(t, "pull_request_opened.json", map[string]string{"fail-on": "never", "comment": "off"})
	r.env["INPUT_OUT-DIR"] = filepath.Join(r.workspace, "out")
	if err := cfg.Run(t.Context(), r.gha); err != nil {
		t.Fatal(err)
	}
	got := r.annotations()
	if len(got) != MaxAnnotations {
		t.Fatalf("%d annotations, want %d:\n%s", len(got), MaxAnnotations, strings.Join(got, "\n"))
	}
	// 14 findings: i%3 == 2 errors (2,5,8,11), == 1 warnings (1,4,7,10,13),
	// == 0 notices (0,3,6,9,12): errors, then warnings, then the first
	// notice by location (f00.yaml line 10, finding 0).
	want := []string{
		"::error file=manifests/f00.yaml,line=15,title=tightnet code-05::finding 5",
		"::error file=manifests/f01.yaml,line=21,title=tightnet code-11::finding 11",
		"::error file=manifests/f02.yaml,line=12,title=tightnet code-02::finding 2",
		"::error file=manifests/f03.yaml,line=18,title=tightnet code-08::finding 8",
		"::warning file=manifests/f00.yaml,line=20,title=tightnet code-10::finding 10",
		"::warning file=manifests/f01.yaml,line=11,title=tightnet code-01::finding 1",
		"::warning file=manifests/f02.yaml,line=17,title=tightnet code-07::finding 7",
		"::warning file=manifests/f03.yaml,line=23,title=tightnet code-13::finding 13",
		"::warning file=manifests/f04.yaml,line=14,title=tightnet code-04::finding 4",
		"::notice file=manifests/f00.yaml,line=10,title=tightnet code-00::finding 0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("annotations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := r.readSummary(t); !strings.Contains(s, "4 more findings are not annotated") {
		t.Errorf("summary does not mention the findings left out:\n%s", s)
	}
}

func TestFailOn(t *testing.T) {
	for _, tc := range []struct {
		failOn string
		counts review.Counts
		fail   bool
	}{
		{"violation", review.Counts{Violated: 1}, true},
		{"violation", review.Counts{Unchecked: 1}, true},
		{"violation", review.Counts{Added: 5}, false},
		{"change", review.Counts{Added: 1}, true},
		{"change", review.Counts{Removed: 1}, true},
		{"change", review.Counts{Changed: 1}, true},
		{"change", review.Counts{Violated: 3}, false},
		{"never", review.Counts{Violated: 3, Added: 2}, false},
		{"", review.Counts{Violated: 1}, true}, // default: violation
	} {
		t.Run(fmt.Sprintf("%s/%+v", tc.failOn, tc.counts), func(t *testing.T) {
			cfg := Config{Review: fakeReviewer(func(dir string) review.Result {
				return review.Result{Markdown: "report\n", Counts: tc.counts}
			})}
			r := newRun(t, "", map[string]string{"fail-on": tc.failOn, "comment": "off"})
			err := cfg.Run(t.Context(), r.gha)
			if tc.fail != errors.Is(err, ErrFailOn) || (!tc.fail && err != nil) {
				t.Errorf("err = %v, want failure %v", err, tc.fail)
			}
		})
	}
}

func TestBadInputs(t *testing.T) {
	for name, inputs := range map[string]map[string]string{
		"no paths": {"paths": ""},
		"mode":     {"mode": "apply"},
		"fail-on":  {"fail-on": "always"},
		"comment":  {"comment": "yes"},
	} {
		t.Run(name, func(t *testing.T) {
			called := false
			cfg := Config{Review: func(context.Context, review.Options) (review.Result, error) {
				called = true
				return review.Result{}, nil
			}}
			r := newRun(t, "", inputs)
			if err := cfg.Run(t.Context(), r.gha); err == nil || errors.Is(err, ErrFailOn) {
				t.Errorf("err = %v, want an input error", err)
			}
			if called {
				t.Error("review ran despite bad inputs")
			}
		})
	}
}

func TestInputsReachReview(t *testing.T) {
	var got review.Options
	cfg := Config{Review: func(_ context.Context, opts review.Options) (review.Result, error) {
		got = opts
		return review.Result{}, nil
	}}
	r := newRun(t, "", map[string]string{
		"paths":    "deploy/app\ndeploy/db, charts/web\n",
		"base":     "base/deploy",
		"baseline": "rules/a.yaml,rules/b.yaml",
		"mode":     "synthesize",
		"out-dir":  "out",
	})
	if err := cfg.Run(t.Context(), r.gha); err != nil {
		t.Fatal(err)
	}
	want := review.Options{
		Head: []string{"deploy/app", "deploy/db", "charts/web"}, Base: []string{"base/deploy"},
		Baseline: []string{"rules/a.yaml", "rules/b.yaml"}, OutDir: "out", Mode: "synthesize",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("options %+v, want %+v", got, want)
	}
}

// TestActionYAML holds actions/tightnet/action.yml to what Run reads and
// sets, so that renaming an input on one side breaks this test.
func TestActionYAML(t *testing.T) {
	b, err := os.ReadFile("../../actions/tightnet/action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		Inputs map[string]struct {
			Description string  `json:"description"`
			Required    bool    `json:"required"`
			Default     *string `json:"default"`
		} `json:"inputs"`
		Outputs map[string]struct {
			Description string `json:"description"`
		} `json:"outputs"`
		Runs struct {
			Using string `json:"using"`
			Image string `json:"image"`
		} `json:"runs"`
	}
	if err := yaml.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	declared := slices.Sorted(maps.Keys(def.Inputs))
	if read := slices.Sorted(slices.Values(Inputs)); !slices.Equal(declared, read) {
		t.Errorf("action.yml inputs %v, but the action reads %v", declared, read)
	}
	for name, in := range def.Inputs {
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
		if !in.Required && in.Default == nil {
			t.Errorf("optional input %s has no default", name)
		}
	}
	if !def.Inputs[InputPaths].Required {
		t.Errorf("input %s must be required", InputPaths)
	}
	declaredOut := slices.Sorted(maps.Keys(def.Outputs))
	if set := slices.Sorted(slices.Values(Outputs)); !slices.Equal(declaredOut, set) {
		t.Errorf("action.yml outputs %v, but the action sets %v", declaredOut, set)
	}
	for name, out := range def.Outputs {
		if out.Description == "" {
			t.Errorf("output %s has no description", name)
		}
	}
	if def.Runs.Using != "docker" || !strings.HasPrefix(def.Runs.Image, "docker://") {
		t.Errorf("runs: using %q image %q, want a docker action running a pushed image", def.Runs.Using, def.Runs.Image)
	}
}

// TestExampleWorkflows holds examples/github's workflows to the action's
// inputs: a step using the action may only name inputs it reads, with
// values it accepts, and every action is pinned by a full commit SHA.
func TestExampleWorkflows(t *testing.T) {
	files, err := filepath.Glob("../../examples/github/*.yml")
	if err != nil || len(files) < 2 {
		t.Fatalf("example workflows: %v, %v", files, err)
	}
	pinned := regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Jobs map[string]struct {
				Steps []struct {
					Uses string            `json:"uses"`
					With map[string]string `json:"with"`
				} `json:"steps"`
			} `json:"jobs"`
		}
		if err := yaml.Unmarshal(b, &wf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		used := false
		for _, job := range wf.Jobs {
			for _, s := range job.Steps {
				if s.Uses == "" {
					continue
				}
				if !pinned.MatchString(s.Uses) {
					t.Errorf("%s: %q is not pinned by a full commit SHA", file, s.Uses)
				}
				if !strings.HasPrefix(s.Uses, "tightnet/tightnet/actions/tightnet@") {
					continue
				}
				used = true
				for k := range s.With {
					if !slices.Contains(Inputs, k) {
						t.Errorf("%s: input %q is not one the action reads", file, k)
					}
				}
				r := newRun(t, "", nil)
				for k, v := range s.With {
					r.env["INPUT_"+strings.ToUpper(k)] = v
				}
				if _, err := readInputs(r.gha); err != nil {
					t.Errorf("%s: %v", file, err)
				}
			}
		}
		if !used {
			t.Errorf("%s does not use the tightnet action", file)
		}
	}
}
