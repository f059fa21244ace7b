package extract_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

func configMap(ns, name string, data map[string]string) manifest.ConfigMap {
	return manifest.ConfigMap{
		Object: &corev1.ConfigMap{ObjectMeta: metaOf(ns, name), Data: data},
		Source: model.Location{File: ns + "/config.yaml", Line: 7},
	}
}

func secret(ns, name string, data map[string]string) manifest.Secret {
	s := &corev1.Secret{ObjectMeta: metaOf(ns, name), Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return manifest.Secret{Object: s, Source: model.Location{File: ns + "/secret.yaml", Line: 3}}
}

// reasons lists, for the connections of one source, "dst conns <- file:line
// object path: reason" for every provenance, sorted.
func reasons(a extract.Artifact, src string) []string {
	var out []string
	for _, c := range a.Connections {
		if c.Src.String() != src {
			continue
		}
		for _, p := range c.Provenance {
			out = append(out, c.Dst.String()+" "+p.Conns.String()+" <- "+p.Text())
		}
	}
	slices.Sort(out)
	return out
}

func cmRef(name string) *corev1.ConfigMapEnvSource {
	return &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}
}

// TestProvenance: every place a container takes addresses from, and the
// path and reason each connection gives.
func TestProvenance(t *testing.T) {
	objs := fixture()
	objs.ConfigMaps = []manifest.ConfigMap{
		configMap("shop", "env", map[string]string{"CHECKOUT_ADDR": "checkout:5050", "NOTE": "the cart is nice"}),
		configMap("shop", "files", map[string]string{
			"application.properties": "# where things are\ncart.url=http://cart:7070\ndescription = The cart service\n",
			"config.json":            "{\n  \"db\": {\n    \"host\": \"postgres.data\",\n    \"port\": 5432\n  }\n}\n",
			"app.ini":                "[redis]\nhost = redis-cart\nport = 6379\n",
		}),
	}
	objs.Secrets = []manifest.Secret{secret("shop", "db", map[string]string{"URL": "postgres://app:pw@postgres.data:5432/x"})}
	c := frontend(objs)
	c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: cmRef("env")}}
	c.Env = []corev1.EnvVar{
		{Name: "CART_HOST", Value: "cart"},
		{Name: "CART_PORT", Value: "7070"},
		{Name: "CHECKOUT", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "env"}, Key: "CHECKOUT_ADDR"}}},
		{Name: "DB_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "URL"}}},
	}
	c.Args = []string{"--cart=$(CART_HOST):$(CART_PORT)", "--db=$(DB_URL)"}
	w := &objs.Workloads[slices.IndexFunc(objs.Workloads, func(w manifest.Workload) bool { return w.Name == "frontend" })]
	w.Pod.InitContainers = []corev1.Container{{Name: "wait", Command: []string{"sh", "-c", "until nc -z checkout.shop 5050; do sleep 1; done"}}}
	w.Pod.Volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "files"}}}}}

	a := topology(t, objs, extract.Options{})
	equal(t, "provenance", reasons(a, "shop/frontend[Deployment]"), []string{
		`data/postgres[StatefulSet] TCP 5432 <- shop/config.yaml:7 ConfigMap shop/files data[config.json]: mounted as volume config: config.json line 3: db.host = "postgres.data"`,
		`data/postgres[StatefulSet] TCP 5432 <- shop/frontend.yaml:1 Deployment shop/frontend spec.template.spec.containers[app].args[1]: args[1] = "--db=$(DB_URL)"`,
		`data/postgres[StatefulSet] TCP 5432 <- shop/secret.yaml:3 Secret shop/db data[URL]: env DB_URL of container app: secret shop/db key URL`,
		`shop/cart[Deployment] TCP 7000 <- shop/config.yaml:7 ConfigMap shop/files data[application.properties]: mounted as volume config: application.properties line 2: cart.url = "http://cart:7070"`,
		`shop/cart[Deployment] TCP 7000 <- shop/frontend.yaml:1 Deployment shop/frontend spec.template.spec.containers[app].args[0]: args[0] = "--cart=$(CART_HOST):$(CART_PORT)"`,
		`shop/cart[Deployment] TCP 7000 <- shop/frontend.yaml:1 Deployment shop/frontend spec.template.spec.containers[app].env[CART_HOST]: env CART_HOST = "cart"`,
		`shop/checkout[Deployment] TCP 5050 <- shop/config.yaml:7 ConfigMap shop/env data[CHECKOUT_ADDR]: env CHECKOUT of container app = "checkout:5050"`,
		`shop/checkout[Deployment] TCP 5050 <- shop/config.yaml:7 ConfigMap shop/env data[CHECKOUT_ADDR]: envFrom of container app: CHECKOUT_ADDR = "checkout:5050"`,
		`shop/checkout[Deployment] TCP 5050 <- shop/frontend.yaml:1 Deployment shop/frontend spec.template.spec.initContainers[wait].command[2]: command[2] = "until nc -z checkout.shop 5050; do sleep 1; done"`,
		`shop/redis-cart[StatefulSet] TCP 6379 <- shop/config.yaml:7 ConfigMap shop/files data[app.ini]: mounted as volume config: app.ini line 2: redis.host = "redis-cart"`,
	})
	if len(a.Findings) != 0 {
		t.Errorf("findings: %v", a.Findings)
	}
}

// TestPodSpecPaths: the path to the pod spec follows the workload kind.
func TestPodSpecPaths(t *testing.T) {
	for kind, want := range map[string]string{
		"Pod":         "spec.containers[app].env[CART]",
		"Deployment":  "spec.template.spec.containers[app].env[CART]",
		"StatefulSet": "spec.template.spec.containers[app].env[CART]",
		"CronJob":     "spec.jobTemplate.spec.template.spec.containers[app].env[CART]",
	} {
		objs := fixture()
		frontend(objs).Env = []corev1.EnvVar{{Name: "CART", Value: "cart:7070"}}
		for i := range objs.Workloads {
			if objs.Workloads[i].Name == "frontend" {
				objs.Workloads[i].Kind = kind
			}
		}
		a := topology(t, objs, extract.Options{})
		if len(a.Connections) != 1 || a.Connections[0].Provenance[0].Path != want {
			t.Errorf("%s: connections %+v, want path %s", kind, a.Connections, want)
		}
	}
}

// TestEnvOverridesEnvFrom: a variable set in env hides the envFrom value of
// the same name, as in Kubernetes.
func TestEnvOverridesEnvFrom(t *testing.T) {
	objs := fixture()
	objs.ConfigMaps = []manifest.ConfigMap{configMap("shop", "env", map[string]string{"BACKEND": "checkout:5050"})}
	c := frontend(objs)
	c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: cmRef("env")}}
	c.Env = []corev1.EnvVar{{Name: "BACKEND", Value: "cart:7070"}}
	equal(t, "connections", from(topology(t, objs, extract.Options{}), "shop/frontend[Deployment]"), []string{cartGRPC})
}

// TestExpansion: $(VAR) expands variables defined before; $$ escapes.
func TestExpansion(t *testing.T) {
	objs := fixture()
	c := frontend(objs)
	c.Env = []corev1.EnvVar{
		{Name: "NS", Value: "shop"},
		{Name: "CART_URL", Value: "http://cart.$(NS):7070"},
		{Name: "ESCAPED", Value: "http://checkout.$$(NS):5050"},
	}
	equal(t, "connections", from(topology(t, objs, extract.Options{}), "shop/frontend[Deployment]"), []string{cartGRPC})
}

// TestMissingConfigMap: a ConfigMap or Secret not in the inputs is a
// finding, unless optional.
func TestMissingConfigMap(t *testing.T) {
	objs := fixture()
	yes := true
	c := frontend(objs)
	c.EnvFrom = []corev1.EnvFromSource{
		{ConfigMapRef: cmRef("absent")},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "maybe"}, Optional: &yes}},
	}
	a := topology(t, objs, extract.Options{})
	equal(t, "codes", codes(a), []string{extract.CodeConfigMissing})
	if !strings.Contains(a.Findings[0].Message, "ConfigMap shop/absent") {
		t.Errorf("message: %s", a.Findings[0].Message)
	}
}

// TestTwoNamespacesAreIndependent: the same application in two namespaces
// yields one set of connections in each, never across.
func TestTwoNamespacesAreIndependent(t *testing.T) {
	objs := &manifest.Objects{}
	for _, ns := range []string{"blue", "green"} {
		fe := workload("Deployment", ns, "frontend", container("app"))
		fe.Pod.Containers[0].Env = []corev1.EnvVar{{Name: "CART", Value: "cart:7070"}, {Name: "DB", Value: "db"}}
		objs.Workloads = append(objs.Workloads, fe,
			workload("Deployment", ns, "cart", container("server", port("grpc", 7000))),
			workload("StatefulSet", ns, "db", container("db", port("pg", 5432))))
		objs.Services = append(objs.Services,
			service(ns, "cart", labels("app", "cart"), svcPort("grpc", 7070, intstrName("grpc"))),
			service(ns, "db", labels("app", "db"), svcPort("pg", 5432, intstrName("pg"))))
	}
	a := topology(t, objs, extract.Options{})
	var got []string
	for _, c := range a.Connections {
		got = append(got, c.Src.String()+" => "+c.Dst.String()+" : "+c.Conns.String())
	}
	equal(t, "connections", got, []string{
		"blue/frontend[Deployment] => blue/cart[Deployment] : TCP 7000",
		"blue/frontend[Deployment] => blue/db[StatefulSet] : TCP 5432",
		"green/frontend[Deployment] => green/cart[Deployment] : TCP 7000",
		"green/frontend[Deployment] => green/db[StatefulSet] : TCP 5432",
	})
}

// TestNamedTargetPortUnresolved: a targetPort name a selected workload does
// not declare opens nothing there, with a finding.
func TestNamedTargetPortUnresolved(t *testing.T) {
	objs := fixture()
	for i := range objs.Workloads {
		if objs.Workloads[i].Name == "cart" {
			objs.Workloads[i].Pod.Containers[0].Ports = []corev1.ContainerPort{port("metrics", 9102)}
		}
	}
	frontend(objs).Env = []corev1.EnvVar{{Name: "CART", Value: "cart"}}
	a := topology(t, objs, extract.Options{})
	equal(t, "connections", from(a, "shop/frontend[Deployment]"), []string{"shop/cart[Deployment] TCP 9102"})
	equal(t, "codes", codes(a), []string{extract.CodeTargetPortUnresolved})
}

// TestSecretValuesNeverPrinted: a Secret's values are read to find
// addresses, but appear in no output — JSON, text or findings — not even
// when they name an unknown Service, a missing port or an external host.
func TestSecretValuesNeverPrinted(t *testing.T) {
	const password = "Sup3r-S3cret-pw"
	values := map[string]string{
		"DB_URL":     "postgres://app:" + password + "@postgres.data:5432/orders",
		"WRONG_PORT": "jdbc:postgresql://postgres.data:6543/" + password,
		"UNKNOWN":    "redis://:" + password + "@missing.shop.svc.cluster.local:6379",
		"EXTERNAL":   "https://" + password + ".example.com/api",
		"app.yaml":   "db:\n  url: postgres://app:" + password + "@postgres.data:5432/x\n",
	}
	objs := fixture()
	objs.Secrets = []manifest.Secret{secret("shop", "creds", values)}
	c := frontend(objs)
	c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}}}
	c.Args = []string{"--db=$(DB_URL)"}
	objs.Workloads[slices.IndexFunc(objs.Workloads, func(w manifest.Workload) bool { return w.Name == "frontend" })].Pod.Volumes = []corev1.Volume{{
		Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}},
	}}
	a := topology(t, objs, extract.Options{})
	equal(t, "connections", from(a, "shop/frontend[Deployment]"), []string{postgres})
	if len(a.External) != 0 {
		t.Errorf("external destinations from a Secret: %+v", a.External)
	}
	js, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	if err := extract.WriteText(&txt, a); err != nil {
		t.Fatal(err)
	}
	var findings strings.Builder
	for _, f := range a.Findings {
		findings.WriteString(f.String() + "\n")
	}
	for name, out := range map[string]string{"json": string(js), "txt": txt.String(), "findings": findings.String()} {
		for _, leak := range []string{password, "missing.shop", "6543"} {
			if strings.Contains(out, leak) {
				t.Errorf("%s output shows %q from a Secret:\n%s", name, leak, out)
			}
		}
	}
	if !slices.Contains(codes(a), extract.CodeServiceUnknown) || !slices.Contains(codes(a), extract.CodeServicePortUnknown) {
		t.Errorf("want findings about the unknown Service and port, got %v", codes(a))
	}
}

// TestConfigFileFormats: a ConfigMap file of each format, mounted as a
// volume, and the connections its entries imply.
func TestConfigFileFormats(t *testing.T) {
	for _, tc := range []struct {
		file, text string
		want       []string
	}{
		{"application.properties", "cart.host=cart\ncart.port=7070\n# checkout:5050 in a comment\n", []string{cartGRPC}},
		{"app.properties", "upstreams=cart:7070,\\\n    checkout:5050\n", []string{cartGRPC, checkout}},
		{"application.yaml", "spring:\n  datasource:\n    url: jdbc:postgresql://postgres.data:5432/x\nclients:\n  - host: cart\n    port: 7070\n", []string{postgres, cartGRPC}},
		{"settings.yml", "redis:\n  host: redis-cart\n  port: 6379\nmotd: the checkout is open\n", []string{redisCart}},
		{"config.json", `{"backends": ["cart:7070", "checkout"], "about": "cart and checkout"}`, []string{cartGRPC, checkout}},
		{"app.ini", "[database]\nhost = postgres.data\nport = 5432\n[ui]\ntitle = cart\n", []string{postgres}},
		{"service.toml", "[upstream]\nservers = [\"cart:7070\", \"checkout:5050\"]\n", []string{cartGRPC, checkout}},
		{"app.env", "export CART_ADDR=\"cart:7070\"\nGREETING='welcome to checkout'\n", []string{cartGRPC}},
		{"nginx.conf", "upstream api {\n  server checkout:5050;\n}\nlocation / { proxy_pass http://cart:7070; }\n", []string{cartGRPC, checkout}},
		{"logback.xml", "<appender><destination>checkout.shop:5050</destination></appender>\n", []string{checkout}},
		{"notes", "line one\ncart\n", []string{cartAll}},
		{"notes.txt", "The cart and the checkout\nare services.\n", nil},
		{"broken.json", "{\"url\": \"http://cart:7070\",\n", []string{cartGRPC}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			objs := fixture()
			objs.ConfigMaps = []manifest.ConfigMap{configMap("shop", "files", map[string]string{tc.file: tc.text})}
			w := &objs.Workloads[slices.IndexFunc(objs.Workloads, func(w manifest.Workload) bool { return w.Name == "frontend" })]
			w.Pod.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "files"}}}}}
			equal(t, tc.file, from(topology(t, objs, extract.Options{}), "shop/frontend[Deployment]"), tc.want)
		})
	}
}

// TestProjectedVolumeItems: projected volumes are read, and only the keys
// a volume's items select.
func TestProjectedVolumeItems(t *testing.T) {
	objs := fixture()
	objs.ConfigMaps = []manifest.ConfigMap{configMap("shop", "files", map[string]string{"a.properties": "x=cart:7070\n", "b.properties": "y=checkout:5050\n"})}
	objs.Secrets = []manifest.Secret{secret("shop", "creds", map[string]string{"db.yaml": "url: postgres.data:5432\n"})}
	w := &objs.Workloads[slices.IndexFunc(objs.Workloads, func(w manifest.Workload) bool { return w.Name == "frontend" })]
	w.Pod.Volumes = []corev1.Volume{{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "files"},
				Items: []corev1.KeyToPath{{Key: "b.properties", Path: "app/b.properties"}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
		}}}}}
	a := topology(t, objs, extract.Options{})
	equal(t, "provenance", reasons(a, "shop/frontend[Deployment]"), []string{
		"data/postgres[StatefulSet] TCP 5432 <- shop/secret.yaml:3 Secret shop/creds data[db.yaml]: mounted as volume all: secret shop/creds key db.yaml, line 1",
		`shop/checkout[Deployment] TCP 5050 <- shop/config.yaml:7 ConfigMap shop/files data[b.properties]: mounted as volume all: app/b.properties line 1: y = "checkout:5050"`,
	})
}
