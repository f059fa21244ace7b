// Command builder builds tightnet's container images (no Docker daemon) and
// optionally pushes them; `make images` and `make push` run it. It is build
// tooling, not a stage image.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/tightnet/tightnet/internal/imagebuild"
	"github.com/tightnet/tightnet/internal/packaging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := imagebuild.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, tektonBundle)
	stop()
	os.Exit(code)
}

// tektonBundle is the Tekton bundle of every task under root/tasks.
func tektonBundle(root string) (v1.Image, error) {
	tasks, err := packaging.Tasks(filepath.Join(root, "tasks"))
	if err != nil {
		return nil, err
	}
	return packaging.Bundle(tasks)
}
