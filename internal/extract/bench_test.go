package extract_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// benchService is one of the twelve services of the benchmark application:
// its port, and how it names the services it calls.
type benchService struct {
	name  string
	port  int32
	env   map[string]string // literal env values
	files map[string]string // ConfigMap files mounted as a volume
	cm    map[string]string // ConfigMap keys read with envFrom
	args  []string
	db    string // a Secret's database URL
}

var benchApp = []benchService{
	{name: "web", port: 8080, env: map[string]string{"API_URL": "http://api:8080/v1"},
		cm: map[string]string{"AUTH_ADDR": "auth:9000", "SEARCH_URL": "http://search.NS.svc.cluster.local:9200", "TITLE": "The web shop of the api team"}},
	{name: "api", port: 8080, files: map[string]string{
		"application.properties": "cart.url=http://cart:7070\ncatalog.host=catalog\ncatalog.port=7100\ncheckout.addr=checkout:5050\ndescription=The api calls the cart\n",
	}, db: "jdbc:postgresql://db:5432/app?user=api&password=bench"},
	{name: "auth", port: 9000, files: map[string]string{"config.json": `{"db": {"host": "db", "port": 5432}, "cache": "redis://cache:6379/1"}`}},
	{name: "cart", port: 7070, args: []string{"--redis=cache:6379", "--listen=:7070"}},
	{name: "catalog", port: 7100, env: map[string]string{"DB_HOST": "db", "DB_PORT": "5432", "SEARCH": "search:9200"}},
	{name: "checkout", port: 5050, env: map[string]string{"PAYMENT_ADDR": "payment:50051", "SHIPPING_ADDR": "shipping:50052", "EMAIL_ADDR": "email:5000"}},
	{name: "payment", port: 50051, env: map[string]string{"PROVIDER": "https://pay.example.com/v2"}},
	{name: "shipping", port: 50052, files: map[string]string{"app.ini": "[quotes]\nendpoint = catalog.NS:7100\n"}},
	{name: "email", port: 5000, env: map[string]string{"SMTP": "smtp.example.com:587"}},
	{name: "search", port: 9200},
	{name: "cache", port: 6379},
	{name: "db", port: 5432},
}

// benchObjects builds the application in n namespaces, in memory.
func benchObjects(n int) *manifest.Objects {
	objs := &manifest.Objects{}
	for i := range n {
		ns := fmt.Sprintf("tenant-%03d", i)
		objs.Namespaces = append(objs.Namespaces, manifest.Namespace{Name: ns, Labels: labels(manifest.NamespaceNameLabel, ns), Declared: true})
		for _, s := range benchApp {
			loc := model.Location{File: ns + "/" + s.name + ".yaml", Line: 1}
			c := corev1.Container{Name: s.name, Args: s.args, Ports: []corev1.ContainerPort{{Name: "main", ContainerPort: s.port}}}
			for k, v := range s.env {
				c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: replaceNS(v, ns)})
			}
			w := manifest.Workload{Kind: "Deployment", Namespace: ns, Name: s.name, PodLabels: labels("app", s.name, "tier", "backend"),
				Pod: corev1.PodSpec{}, Source: loc}
			if s.cm != nil {
				data := map[string]string{}
				for k, v := range s.cm {
					data[k] = replaceNS(v, ns)
				}
				objs.ConfigMaps = append(objs.ConfigMaps, manifest.ConfigMap{
					Object: &corev1.ConfigMap{ObjectMeta: metaOf(ns, s.name+"-env"), Data: data}, Source: loc})
				c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{ConfigMapRef: cmRef(s.name + "-env")})
			}
			if s.files != nil {
				data := map[string]string{}
				for k, v := range s.files {
					data[k] = replaceNS(v, ns)
				}
				objs.ConfigMaps = append(objs.ConfigMaps, manifest.ConfigMap{
					Object: &corev1.ConfigMap{ObjectMeta: metaOf(ns, s.name+"-files"), Data: data}, Source: loc})
				w.Pod.Volumes = append(w.Pod.Volumes, corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{
					ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: s.name + "-files"}}}})
			}
			if s.db != "" {
				objs.Secrets = append(objs.Secrets, secret(ns, s.name+"-db", map[string]string{"url": s.db}))
				c.Env = append(c.Env, corev1.EnvVar{Name: "DB_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: s.name + "-db"}, Key: "url"}}})
			}
			w.Pod.Containers = []corev1.Container{c}
			objs.Workloads = append(objs.Workloads, w)
			objs.Services = append(objs.Services, service(ns, s.name, labels("app", s.name),
				corev1.ServicePort{Name: "main", Port: s.port, TargetPort: intstr.FromString("main")}))
		}
	}
	return objs
}

func replaceNS(s, ns string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		if i+2 <= len(s) && s[i:i+2] == "NS" {
			out = append(out, ns...)
			i++
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}

// BenchmarkExtract extracts the Topology of 300 copies of a 12-service
// application, one per namespace: 3,600 workloads, their Services,
// ConfigMaps (env and mounted files) and Secrets, built in memory. The
// issue asks for under a second.
func BenchmarkExtract(b *testing.B) {
	objs := benchObjects(300)
	var a extract.Artifact
	for b.Loop() {
		var err error
		a, err = extract.Topology(context.Background(), objs, extract.Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	// 12 connections per copy, each derived from the copy's own config.
	if want := 300 * 16; len(a.Connections) != want {
		b.Fatalf("%d connections, want %d", len(a.Connections), want)
	}
	b.ReportMetric(float64(len(objs.Workloads)), "workloads")
	b.ReportMetric(float64(len(a.Connections)), "connections")
}

// TestBenchmarkApplication checks the benchmark's application once, in one
// namespace: every reference resolves, none crosses namespaces.
func TestBenchmarkApplication(t *testing.T) {
	a := topology(t, benchObjects(2), extract.Options{})
	if len(a.Connections) != 2*16 {
		for _, c := range a.Connections {
			t.Log(c.Src, "=>", c.Dst, c.Conns)
		}
		t.Fatalf("%d connections, want %d", len(a.Connections), 2*16)
	}
	for _, c := range a.Connections {
		if c.Src.Namespace != c.Dst.Namespace {
			t.Errorf("%s => %s crosses namespaces", c.Src, c.Dst)
		}
	}
	if len(a.Findings) != 0 {
		t.Errorf("findings: %v", a.Findings)
	}
}
