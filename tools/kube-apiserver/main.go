// Command kube-apiserver runs a real Kubernetes API server, built from the
// k8s.io/kubernetes module, over an etcd embedded in the same process. It
// exists for tightnet's integration tests: everything listens on 127.0.0.1,
// clients authenticate with one bearer token that belongs to system:masters,
// and all state lives under --data-dir.
//
//	kube-apiserver --data-dir DIR --port 6443 --token SECRET [-- extra kube-apiserver flags]
//
// It prints "ready" on stdout once /readyz answers, and stops on SIGTERM.
// Whoever starts it should have it killed when they exit (the tests set
// the parent-death signal).
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kube-apiserver:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("kube-apiserver", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "directory for etcd, certificates and keys (required)")
	port := fs.Int("port", 6443, "secure port on 127.0.0.1")
	token := fs.String("token", "", "bearer token granted system:masters (required)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *dataDir == "" || *token == "" {
		return errors.New("--data-dir and --token are required")
	}
	etcdURL, stopEtcd, err := startEtcd(filepath.Join(*dataDir, "etcd"))
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer stopEtcd()

	files, err := writeCredentials(*dataDir, *token)
	if err != nil {
		return err
	}
	args := []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(*port),
		"--etcd-servers=" + etcdURL,
		"--cert-dir=" + filepath.Join(*dataDir, "certs"),
		"--token-auth-file=" + files.tokens,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + files.saKey,
		"--service-account-signing-key-file=" + files.saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--enable-priority-and-fairness=false",
		"--disable-admission-plugins=ServiceAccount",
		"--profiling=false",
		"--v=0",
	}
	args = append(args, fs.Args()...)

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	go announceReady(ctx, *port, *token)

	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(args)
	errc := make(chan error, 1)
	go func() { errc <- cmd.Execute() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
}

// startEtcd runs etcd in this process on a free loopback port.
func startEtcd(dir string) (string, func(), error) {
	clientURL, err := freeURL()
	if err != nil {
		return "", nil, err
	}
	peerURL, err := freeURL()
	if err != nil {
		return "", nil, err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = cfg.Name + "=" + peerURL.String()
	cfg.LogLevel = "error"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return "", nil, errors.New("not ready after 60s")
	}
	return clientURL.String(), e.Close, nil
}

func freeURL() (*url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return &url.URL{Scheme: "http", Host: l.Addr().String()}, nil
}

type credentials struct{ tokens, saKey string }

// writeCredentials writes the token file and the service-account signing
// key the API server insists on.
func writeCredentials(dir, token string) (credentials, error) {
	c := credentials{tokens: filepath.Join(dir, "tokens.csv"), saKey: filepath.Join(dir, "sa.key")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c, err
	}
	line := fmt.Sprintf("%s,tightnet-admin,tightnet-admin,\"system:masters\"\n", token)
	if err := os.WriteFile(c.tokens, []byte(line), 0o600); err != nil {
		return c, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return c, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return c, err
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return c, os.WriteFile(c.saKey, block, 0o600)
}

// announceReady prints "ready" once /readyz answers 200.
func announceReady(ctx context.Context, port int, token string) {
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // loopback, self-signed
	}
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/readyz", port), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Println("ready")
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}
