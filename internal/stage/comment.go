package stage

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/action"
)

type commentFlags struct {
	repo     string
	pr       int
	body     string
	mode     string
	tokenEnv string
	apiURL   string
}

// commentCommand posts a review report on a pull request, for pipelines
// that are not GitHub Actions (Tekton, Argo): the same sticky comment the
// action writes.
func commentCommand(g *globals) *cobra.Command {
	var fl commentFlags
	cmd := &cobra.Command{
		Use:   "comment --repo OWNER/NAME --pr N --body-file REPORT.md",
		Short: "Post a review report as a pull request comment (sticky by default)",
		Long: `Post a Markdown report (report.md from tightnet review) on a GitHub pull
request through the REST API. Sticky mode updates the comment tightnet wrote
before, found by a hidden marker, so a pull request carries one report.

The token is read from the environment variable --token-env (GITHUB_TOKEN by
default), never from a flag. A token that cannot write (a fork pull request)
is reported on standard error and does not fail the step.`,
		Example: `  GITHUB_TOKEN=... tightnet comment --repo acme/shop --pr 42 --body-file out/review/report.md`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runComment(cmd, g, &fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.repo, "repo", "", "the repository, owner/name (required)")
	f.IntVar(&fl.pr, "pr", 0, "the pull request number (required)")
	f.StringVar(&fl.body, "body-file", "", "the Markdown to post (required)")
	f.StringVar(&fl.mode, "mode", "sticky", "sticky: update tightnet's earlier comment; new: always add one")
	f.StringVar(&fl.tokenEnv, "token-env", "GITHUB_TOKEN", "environment variable holding the token")
	f.StringVar(&fl.apiURL, "api-url", "", "the REST API's base URL (default $GITHUB_API_URL or https://api.github.com)")
	return cmd
}

func runComment(cmd *cobra.Command, g *globals, fl *commentFlags) error {
	switch {
	case fl.repo == "" || fl.pr <= 0 || fl.body == "":
		return usagef("comment needs --repo, --pr and --body-file")
	case fl.mode != "sticky" && fl.mode != "new":
		return usagef("--mode %q: want sticky or new", fl.mode)
	}
	token := os.Getenv(fl.tokenEnv)
	if token == "" {
		return usagef("the environment variable %s holding the token is empty; set it or name another with --token-env", fl.tokenEnv)
	}
	body, err := os.ReadFile(fl.body)
	if err != nil {
		return fmt.Errorf("--body-file: %w", err)
	}
	err = action.Comment(cmd.Context(), action.CommentOptions{
		Client: http.DefaultClient, APIURL: cmp.Or(fl.apiURL, os.Getenv("GITHUB_API_URL")), Token: token,
		Repo: fl.repo, Number: fl.pr, Body: string(body), Sticky: fl.mode == "sticky",
	})
	if errors.Is(err, action.ErrCannotWrite) {
		fmt.Fprintf(g.streams.Err, "tightnet: comment skipped: %v\n", err)
		return nil
	}
	return err
}
