// Package kubetest starts a real Kubernetes API server for integration
// tests: kube-apiserver built from the k8s.io/kubernetes module with etcd
// embedded (tools/kube-apiserver), on 127.0.0.1, with bearer-token
// authentication, stopped when the tests end or their process dies.
//
// The binary comes from $TIGHTNET_KUBE_APISERVER, or from the cache
// tools/kube-apiserver/build fills. Without one the tests skip, unless
// CI=true, where they fail: CI must not silently lose them.
package kubetest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// Server is a running API server.
type Server struct {
	// Config reaches the server as a member of system:masters.
	Config *rest.Config
	// Kubeconfig is a kubeconfig file for Config; its context is "kubetest".
	Kubeconfig string
	cmd        *exec.Cmd
	dir        string
	logs       *lockedBuffer
}

var (
	shared    *Server
	sharedErr error
	once      sync.Once
)

// Shared returns the test binary's one API server, starting it on first
// use. Tests share it: each works in namespaces and names of its own. Call
// Stop from TestMain after m.Run.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin, err := binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kube-apiserver: %v", err)
		}
		t.Skipf("kube-apiserver: %v", err)
	}
	once.Do(func() { shared, sharedErr = start(bin) })
	if sharedErr != nil {
		t.Fatalf("kube-apiserver: %v", sharedErr)
	}
	return shared
}

// Stop stops the shared server, if one was started.
func Stop() {
	if shared != nil {
		shared.stop()
	}
}

// binary finds the kube-apiserver binary.
func binary() (string, error) {
	if p := os.Getenv("TIGHTNET_KUBE_APISERVER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("TIGHTNET_KUBE_APISERVER: %w", err)
		}
		return p, nil
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "tools", "kube-apiserver", "build")
	out, err := exec.Command(script, "--cached").Output()
	if err != nil {
		return "", fmt.Errorf("not built; run %q (or make kube-apiserver) once, or set TIGHTNET_KUBE_APISERVER", "tools/kube-apiserver/build")
	}
	return strings.TrimSpace(string(out)), nil
}

func start(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "kubetest-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	token := randomToken()
	s := &Server{dir: dir, logs: &lockedBuffer{}}
	s.cmd = exec.Command(bin, "--data-dir", dir, "--port", strconv.Itoa(port), "--token", token)
	s.cmd.Stderr = s.logs
	// The server dies with this process even if Stop is never called.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			s.stop()
			return nil, fmt.Errorf("exited before it was ready:\n%s", s.logs.tail(40))
		}
	case <-time.After(90 * time.Second):
		s.stop()
		return nil, fmt.Errorf("not ready after 90s:\n%s", s.logs.tail(40))
	}
	host := "https://127.0.0.1:" + strconv.Itoa(port)
	s.Config = &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}, // loopback, self-signed
		QPS:             1000,
		Burst:           1000,
	}
	s.Kubeconfig = filepath.Join(dir, "kubeconfig")
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: kubetest
  user:
    token: %s
contexts:
- name: kubetest
  context: {cluster: kubetest, user: kubetest}
current-context: kubetest
`, host, token)
	if err := os.WriteFile(s.Kubeconfig, []byte(kubeconfig), 0o600); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(s.dir)
}

// Logs returns the end of the server's log, for failure messages.
func (s *Server) Logs() string { return s.logs.tail(60) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 1<<20 {
		b.buf = b.buf[len(b.buf)-(1<<19):]
	}
	return len(p), nil
}

func (b *lockedBuffer) tail(lines int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	all := strings.Split(strings.TrimRight(string(b.buf), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}
