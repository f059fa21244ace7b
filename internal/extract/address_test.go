package extract_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tightnet/tightnet/internal/extract"
)

func metaOf(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

const (
	cartAll   = "shop/cart[Deployment] TCP 7000,9102"
	cartGRPC  = "shop/cart[Deployment] TCP 7000"
	checkout  = "shop/checkout[Deployment] TCP 5050"
	postgres  = "data/postgres[StatefulSet] TCP 5432"
	redisCart = "shop/redis-cart[StatefulSet] TCP 6379"
	kafka     = "data/kafka[StatefulSet] TCP 9092"
)

// TestAddressForms sets one env var of shop/frontend to each value and
// checks which connections it implies. Every form cluster DNS resolves
// matches, with or without scheme, user info, port and path; prose, other
// namespaces' bare names, external hosts and values under non-host keys do
// not.
func TestAddressForms(t *testing.T) {
	for _, tc := range []struct {
		name, key, value string
		want             []string
	}{
		// The DNS forms, without a port: every port of the Service,
		// through its targetPorts (grpc is container port 7000).
		{"bare name", "CART", "cart", []string{cartAll}},
		{"svc.ns", "CART", "cart.shop", []string{cartAll}},
		{"svc.ns.svc", "CART", "cart.shop.svc", []string{cartAll}},
		{"svc.ns.svc.cluster.local", "CART", "cart.shop.svc.cluster.local", []string{cartAll}},
		{"absolute name", "CART", "cart.shop.svc.cluster.local.", []string{cartAll}},
		{"upper-case FQDN", "CART", "Cart.Shop.svc.cluster.local", []string{cartAll}},
		// Ports: the Service port, then its targetPort on the workload.
		{"host:port", "CART", "cart:7070", []string{cartGRPC}},
		{"svc.ns:port", "CART", "cart.shop:7070", []string{cartGRPC}},
		{"fqdn:port", "CART", "cart.shop.svc.cluster.local:9102", []string{"shop/cart[Deployment] TCP 9102"}},
		{"unset targetPort is the port", "CHECKOUT", "checkout:5050", []string{checkout}},
		{"cross-namespace", "DB", "postgres.data:5432", []string{postgres}},
		// URLs and connection strings.
		{"http URL with path", "CART_URL", "http://cart:7070/api/v1?x=1#top", []string{cartGRPC}},
		{"URL without port", "CART_URL", "grpc://cart.shop", []string{cartAll}},
		{"URL with user info", "CART_URL", "https://user:p%40ss@cart.shop.svc:7070/", []string{cartGRPC}},
		{"JDBC postgres", "JDBC", "jdbc:postgresql://postgres.data:5432/orders?sslmode=disable", []string{postgres}},
		{"JDBC SQL Server properties", "JDBC", "jdbc:sqlserver://postgres.data:5432;databaseName=cart", []string{postgres}},
		{"JDBC Oracle thin", "JDBC", "jdbc:oracle:thin:@postgres.data:5432:ORCL", []string{postgres}},
		{"JDBC Oracle service", "JDBC", "jdbc:oracle:thin:@//postgres.data.svc.cluster.local:5432/orders", []string{postgres}},
		{"Redis URL with password", "REDIS_URL", "redis://:hunter2@redis-cart:6379/0", []string{redisCart}},
		{"AMQP URL", "AMQP_URL", "amqp://guest:guest@checkout.shop:5050/vhost", []string{checkout}},
		{"Mongo host list", "MONGO", "mongodb://app:pw@cart:7070,checkout:5050/db?replicaSet=rs0", []string{cartGRPC, checkout}},
		{"user:pass@host:port", "DSN", "app:pw@postgres.data:5432", []string{postgres}},
		// Headless Services: pod names resolve, the port is the pod's.
		{"headless pod.svc", "REDIS", "redis-cart-0.redis-cart:6379", []string{redisCart}},
		{"headless pod.svc.ns.svc.domain", "BROKERS", "kafka-0.kafka.data.svc.cluster.local:9092", []string{kafka}},
		{"headless port not in the Service", "REDIS", "redis-cart:16379", []string{"shop/redis-cart[StatefulSet] TCP 16379"}},
		// Lists.
		{"host:port list", "BROKERS", "kafka-0.kafka.data:9092,kafka-1.kafka.data:9092", []string{kafka}},
		{"comma list of names", "BACKENDS", "cart, checkout", []string{cartAll, "shop/checkout[Deployment] TCP 5050"}},
		{"semicolon list", "BACKENDS", "cart:7070;checkout:5050", []string{cartGRPC, checkout}},
		{"JSON list", "BACKENDS", `["cart:7070", "checkout"]`, []string{cartGRPC, checkout}},
		{"space-separated host:ports", "BACKENDS", "cart:7070 checkout:5050", []string{cartGRPC, checkout}},
		// key=value and flags.
		{"flag=host:port", "ARGS", "--db=postgres.data:5432", []string{postgres}},
		{"flag=name", "ARGS", "--upstream=cart", []string{cartAll}},
		{"libpq keywords", "PGDSN", "host=postgres.data port=5432 dbname=cart", []string{postgres}},
		{"URL in a sentence", "NOTE", "the cart lives at http://cart:7070 for now", []string{cartGRPC}},
		{"FQDN in a sentence", "NOTE", "see cart.shop.svc.cluster.local for details", []string{cartAll}},

		// Must not match.
		{"name as a word in prose", "DESCRIPTION", "The cart service keeps baskets", nil},
		{"name at the end of a sentence", "DESCRIPTION", "Talk to cart.", nil},
		{"name in another namespace", "DB", "postgres:5432", nil},
		{"external URL with the name as path", "DOCS", "https://docs.example.com/cart", nil},
		{"external host", "API", "api.example.com:443", nil},
		{"IP address", "DB", "10.0.0.5:5432", nil},
		{"e-mail address", "MAIL", "ops@cart", nil},
		{"file path", "DIR", "/var/lib/cart", nil},
		{"upper-case word", "MODE", "CART", nil},
		{"database name", "DB_NAME", "cart", nil},
		{"service name setting", "OTEL_SERVICE_NAME", "cart", nil},
		{"user name", "username", "checkout", nil},
		{"key:value", "LABEL", "tier:cart", nil},
		{"time", "AT", "10:30", nil},
		{"pod form of a Service that is not headless", "CART", "cart-0.cart:7070", nil},
		{"port the Service does not have", "CART", "cart:7000", nil},
		{"Service without a selector", "DB", "legacy-db:5432", nil},
		{"Service selecting nothing", "X", "orphan:80", nil},
		{"other cluster domain", "CART", "cart.shop.svc.example.internal", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := fixture()
			frontend(objs).Env = []corev1.EnvVar{{Name: tc.key, Value: tc.value}}
			a := topology(t, objs, extract.Options{})
			equal(t, tc.key+"="+tc.value, from(a, "shop/frontend[Deployment]"), tc.want)
		})
	}
}

// TestClusterDomain: the cluster domain is configurable, and the default
// one then no longer resolves.
func TestClusterDomain(t *testing.T) {
	for _, tc := range []struct {
		domain, value string
		want          []string
	}{
		{"corp.internal", "cart.shop.svc.corp.internal:7070", []string{cartGRPC}},
		{"corp.internal", "cart.shop.svc.cluster.local:7070", nil},
		{"", "cart.shop.svc.cluster.local:7070", []string{cartGRPC}},
	} {
		objs := fixture()
		frontend(objs).Env = []corev1.EnvVar{{Name: "CART", Value: tc.value}}
		a := topology(t, objs, extract.Options{ClusterDomain: tc.domain})
		equal(t, tc.domain+" "+tc.value, from(a, "shop/frontend[Deployment]"), tc.want)
	}
}

// TestFindingsForNamesThatResolveNowhere: cluster names that name no
// Service, ports a Service lacks, Services without selector or workloads
// are findings; external hosts and prose are not.
func TestFindingsForNamesThatResolveNowhere(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  []string
	}{
		{"missing.shop.svc.cluster.local:80", []string{extract.CodeServiceUnknown}},
		{"missing.shop:80", []string{extract.CodeServiceUnknown}},
		{"missing:80", []string{extract.CodeServiceUnknown}},
		{"cart:7000", []string{extract.CodeServicePortUnknown}},
		{"legacy-db", []string{extract.CodeServiceNoSelector}},
		{"orphan", []string{extract.CodeServiceNoWorkloads}},
		{"api.example.com:443", nil},
		{"localhost:8080", nil},
		{"a missing service", nil},
	} {
		objs := fixture()
		frontend(objs).Env = []corev1.EnvVar{{Name: "ADDR", Value: tc.value}}
		equal(t, tc.value, codes(topology(t, objs, extract.Options{})), tc.want)
	}
}

// TestExposures: Services open to every address (LoadBalancer, NodePort,
// externalIPs) and scrape annotations, with and without a port.
func TestExposures(t *testing.T) {
	objs := fixture()
	for i := range objs.Services {
		switch objs.Services[i].Object.Name {
		case "cart":
			objs.Services[i].Object.Spec.Type = corev1.ServiceTypeNodePort
		case "checkout":
			objs.Services[i].Object.Spec.ExternalIPs = []string{"192.0.2.10"}
			objs.Services[i].Object.Annotations = map[string]string{"prometheus.io/scrape": "true"}
		}
	}
	for i := range objs.Workloads {
		switch objs.Workloads[i].Name {
		case "frontend":
			objs.Workloads[i].PodAnnotations = map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "http"}
		case "redis-cart":
			objs.Workloads[i].PodAnnotations = map[string]string{"prometheus.io/scrape": "true"}
		case "postgres":
			objs.Workloads[i].PodAnnotations = map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "metrics"}
		}
	}
	a := topology(t, objs, extract.Options{})
	var got []string
	for _, e := range a.Exposures {
		got = append(got, e.Src.String()+" => "+e.Dst.String()+" : "+e.Conns.String())
	}
	equal(t, "exposures", got, []string{
		"0.0.0.0-255.255.255.255 => shop/cart[Deployment] : TCP 7000,9102",
		"0.0.0.0-255.255.255.255 => shop/checkout[Deployment] : TCP 5050",
		"monitoring/* => shop/checkout[Deployment] : TCP 5050",
		"monitoring/* => shop/frontend[Deployment] : TCP 8080",
		"monitoring/* => shop/redis-cart[StatefulSet] : TCP 6379",
	})
	equal(t, "codes", codes(a), []string{extract.CodeScrapePortUnknown})
}
