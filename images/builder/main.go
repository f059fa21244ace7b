// Command builder builds tightnet's container images (no Docker daemon) and
// optionally pushes them; `make images` and `make push` run it. It is build
// tooling, not a stage image.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tightnet/tightnet/internal/imagebuild"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := imagebuild.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
