// Command hello is a tiny main for imagebuild's tests: it reports its
// platform and whether the CA bundle the image promises is readable.
package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"runtime"
)

func main() {
	pem, err := os.ReadFile(os.Getenv("SSL_CERT_FILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fmt.Fprintln(os.Stderr, "no certificates in", os.Getenv("SSL_CERT_FILE"))
		os.Exit(2)
	}
	fmt.Printf("hello from %s/%s args=%q\n", runtime.GOOS, runtime.GOARCH, os.Args[1:])
}
