package extract_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// The fixture: a shop namespace and a data namespace.
//
//	shop/frontend   Deployment  (the workload whose values the tests vary)
//	shop/cart       Deployment  container ports grpc 7000, metrics 9102
//	                Service cart: 7070 -> targetPort grpc, 9102 -> 9102
//	shop/checkout   Deployment  Service checkout: 5050
//	shop/redis-cart StatefulSet headless Service redis-cart: 6379
//	shop/legacy-db  Service without a selector
//	shop/orphan     Service whose selector matches nothing
//	data/postgres   StatefulSet Service postgres: 5432 -> 5432
//	data/kafka      StatefulSet headless Service kafka: 9092 (TCP)

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func workload(kind, ns, name string, containers ...corev1.Container) manifest.Workload {
	return manifest.Workload{
		Kind: kind, Namespace: ns, Name: name,
		PodLabels: labels("app", name),
		Pod:       corev1.PodSpec{Containers: containers},
		Source:    model.Location{File: ns + "/" + name + ".yaml", Line: 1},
	}
}

func container(name string, ports ...corev1.ContainerPort) corev1.Container {
	return corev1.Container{Name: name, Ports: ports}
}

func port(name string, n int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: n}
}

func service(ns, name string, selector map[string]string, ports ...corev1.ServicePort) manifest.Service {
	return manifest.Service{
		Object: &corev1.Service{
			ObjectMeta: metaOf(ns, name),
			Spec:       corev1.ServiceSpec{Selector: selector, Ports: ports},
		},
		Source: model.Location{File: ns + "/" + name + ".yaml", Line: 20},
	}
}

func svcPort(name string, p int32, target intstr.IntOrString) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: p, TargetPort: target}
}

func fixture() *manifest.Objects {
	headless := func(s manifest.Service) manifest.Service {
		s.Object.Spec.ClusterIP = corev1.ClusterIPNone
		return s
	}
	objs := &manifest.Objects{
		Namespaces: []manifest.Namespace{
			{Name: "data", Labels: labels(manifest.NamespaceNameLabel, "data"), Declared: true},
			{Name: "shop", Labels: labels(manifest.NamespaceNameLabel, "shop"), Declared: true},
		},
		Workloads: []manifest.Workload{
			workload("StatefulSet", "data", "kafka", container("broker", port("kafka", 9092))),
			workload("StatefulSet", "data", "postgres", container("db", port("pg", 5432))),
			workload("Deployment", "shop", "cart", container("server", port("grpc", 7000), port("metrics", 9102))),
			workload("Deployment", "shop", "checkout", container("server", port("grpc", 5050))),
			workload("Deployment", "shop", "frontend", container("app", port("http", 8080))),
			workload("StatefulSet", "shop", "redis-cart", container("redis", port("redis", 6379))),
		},
		Services: []manifest.Service{
			headless(service("data", "kafka", labels("app", "kafka"), svcPort("kafka", 9092, intstr.FromInt32(9092)))),
			service("data", "postgres", labels("app", "postgres"), svcPort("pg", 5432, intstr.FromString("pg"))),
			service("shop", "cart", labels("app", "cart"),
				svcPort("grpc", 7070, intstr.FromString("grpc")), svcPort("metrics", 9102, intstr.FromInt32(9102))),
			service("shop", "checkout", labels("app", "checkout"), svcPort("grpc", 5050, intstr.IntOrString{})),
			service("shop", "legacy-db", nil, svcPort("pg", 5432, intstr.FromInt32(5432))),
			service("shop", "orphan", labels("app", "nothing-here"), svcPort("http", 80, intstr.FromInt32(8080))),
			headless(service("shop", "redis-cart", labels("app", "redis-cart"), svcPort("redis", 6379, intstr.FromInt32(6379)))),
		},
	}
	return objs
}

// frontend is the fixture's referring workload.
func frontend(objs *manifest.Objects) *corev1.Container {
	for i := range objs.Workloads {
		if objs.Workloads[i].Name == "frontend" {
			return &objs.Workloads[i].Pod.Containers[0]
		}
	}
	panic("no frontend")
}

func topology(t *testing.T, objs *manifest.Objects, opts extract.Options) extract.Artifact {
	t.Helper()
	a, err := extract.Topology(context.Background(), objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// from lists the connections of one source as "dst conns", sorted.
func from(a extract.Artifact, src string) []string {
	var out []string
	for _, c := range a.Connections {
		if c.Src.String() == src {
			out = append(out, c.Dst.String()+" "+c.Conns.String())
		}
	}
	return out
}

// codes lists the finding codes, sorted.
func codes(a extract.Artifact) []string {
	var out []string
	for _, f := range a.Findings {
		out = append(out, f.Code)
	}
	slices.Sort(out)
	return out
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %s\n want %s", what, strings.Join(got, " | "), strings.Join(want, " | "))
	}
}

func intstrName(s string) intstr.IntOrString { return intstr.FromString(s) }
