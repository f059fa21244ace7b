package kubetest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Main runs a package's tests and then stops the shared server; call it
// from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Deployment is the YAML of a Deployment whose pods are labelled app=name
// and have one container listening on ports.
func Deployment(namespace, name string, ports ...int) string {
	var ps []string
	for _, p := range ports {
		ps = append(ps, fmt.Sprintf("{containerPort: %d}", p))
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[2]s, namespace: %[1]q}
spec:
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}}
    spec: {containers: [{name: %[2]s, image: %[2]s, ports: [%[3]s]}]}
`, namespace, name, strings.Join(ps, ", "))
}
