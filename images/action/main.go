// Command action is the GitHub Action image's entrypoint: it reviews a pull
// request with internal/action and exits 0 (nothing to fail on), 1 (the
// review found what fail-on fails on) or 2 (the action could not run).
package main

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sethvargo/go-githubactions"
	// The static image has no CA bundle: when the system has no roots,
	// crypto/x509 falls back to the Mozilla roots this package compiles in.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/tightnet/tightnet/internal/action"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	gha := githubactions.New()
	err := action.Run(ctx, gha, &http.Client{Timeout: time.Minute},
		cmp.Or(os.Getenv("GITHUB_API_URL"), "https://api.github.com"))
	stop()
	switch {
	case err == nil:
		os.Exit(0)
	case errors.Is(err, action.ErrFailOn):
		gha.Errorf("%v", err)
		os.Exit(1)
	default:
		gha.Errorf("tightnet: %v", err)
		os.Exit(2)
	}
}
