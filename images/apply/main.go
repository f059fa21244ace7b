// Command apply is the apply stage image's entrypoint.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tightnet/tightnet/internal/stage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := stage.Run(ctx, "apply", os.Args[1:], stage.Std())
	stop()
	os.Exit(code)
}
