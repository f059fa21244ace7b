package clustergen

import (
	"fmt"
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/manifest"
)

// SyntheticOptions sizes a Synthetic cluster: Namespaces × WorkloadsPerNamespace
// workloads (and a Service for each workload that serves ports), Policies
// NetworkPolicies and AdminPolicies admin-tier policies (0 = none). Seed
// picks the random details (versions, which apps a policy names); the same
// options give the same cluster.
type SyntheticOptions struct {
	Namespaces, WorkloadsPerNamespace, Policies int
	// AdminPolicies is the number of cluster guardrails:
	// AdminNetworkPolicies, ClusterNetworkPolicies and the
	// BaselineAdminNetworkPolicy "default" together.
	AdminPolicies int
	Seed          uint64
}

// Synthetic builds a realistic large cluster for benchmarks: N namespaces ×
// M workloads with realistic labels (app, tier, team, env, version), and K
// policies mixing pod and namespace selectors, matchExpressions, ipBlocks
// with except, named ports, endPort, default-deny policies and DNS egress.
//
// With at least two namespaces the first is kube-system, whose first
// workload is CoreDNS (k8s-app=kube-dns), and with at least three the second
// is monitoring, whose first workload is Prometheus; the DNS and monitoring
// policies point at them. Policies go round-robin over the namespaces and
// cycle through the templates, so every kind of policy appears once K is
// large enough.
//
// With AdminPolicies, the cluster also has guardrails: first the
// BaselineAdminNetworkPolicy "default" (namespaces closed to each other,
// monitoring may scrape metrics), then, cycling, Baseline-tier
// ClusterNetworkPolicies opening the namespaces of a team to each other,
// DNS to CoreDNS allowed for every pod, kube-system closed to other
// namespaces except DNS (monitoring passed to NetworkPolicies), Prometheus
// scraping passed to the lower tiers, the cloud metadata service denied,
// production separated from dev and staging, HTTPS egress to the internet
// for frontends in the Baseline tier, and partner domain names for the
// payments API. They draw nothing from the seed, so the rest of the cluster
// is the same whatever AdminPolicies is.
func Synthetic(opts SyntheticOptions) *manifest.Objects {
	s := &synthGen{rng: rand.New(rand.NewPCG(opts.Seed, 0x636c757374657267))}
	objs := &manifest.Objects{}
	nNS := max(opts.Namespaces, 0)
	for i := range nNS {
		ns := s.namespace(i, nNS)
		s.namespaces = append(s.namespaces, ns)
		objs.Namespaces = append(objs.Namespaces, namespaceObject(ns.name, true, ns.labels...))
		for j := range max(opts.WorkloadsPerNamespace, 0) {
			w, svc := s.workload(ns, j)
			objs.Workloads = append(objs.Workloads, w)
			if svc.Object != nil {
				objs.Services = append(objs.Services, svc)
			}
		}
	}
	if nNS > 0 {
		for k := range max(opts.Policies, 0) {
			ns := s.namespaces[k%nNS]
			tmpl := policyTemplates[(k+k/nNS)%len(policyTemplates)]
			spec := tmpl.spec(s, ns)
			objs.Policies = append(objs.Policies, manifest.NetworkPolicy{Object: &networkingv1.NetworkPolicy{
				TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
				ObjectMeta: metav1.ObjectMeta{Namespace: ns.name, Name: fmt.Sprintf("%s-%d", tmpl.name, k)},
				Spec:       spec,
			}})
		}
	}
	s.guardrails(objs, opts.AdminPolicies)
	sortObjects(objs)
	return objs
}

type synthNamespace struct {
	name, team, env string
	labels          []string // label key/value pairs besides the name label
}

type synthGen struct {
	rng        *rand.Rand
	namespaces []synthNamespace
}

var (
	teams = []string{"payments", "catalog", "checkout", "identity", "search", "shipping", "ads", "platform"}
	envs  = []string{"prod", "staging", "dev"}
)

// app is a kind of workload a real cluster runs.
type app struct {
	name, tier, kind string
	ports            []corev1.ContainerPort
	// sidecarMetrics adds a metrics exporter container.
	sidecarMetrics bool
}

func tcp(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}
}

var apps = []app{
	{name: "frontend", tier: "frontend", kind: "Deployment", ports: []corev1.ContainerPort{tcp("http", 8080), tcp("metrics", 9090)}},
	{name: "api", tier: "backend", kind: "Deployment", ports: []corev1.ContainerPort{tcp("http", 8080), tcp("grpc", 9000), tcp("metrics", 9090)}},
	{name: "worker", tier: "backend", kind: "Deployment", ports: []corev1.ContainerPort{tcp("metrics", 8081)}},
	{name: "postgres", tier: "data", kind: "StatefulSet", ports: []corev1.ContainerPort{tcp("postgres", 5432)}, sidecarMetrics: true},
	{name: "redis", tier: "cache", kind: "StatefulSet", ports: []corev1.ContainerPort{tcp("redis", 6379)}, sidecarMetrics: true},
	{name: "gateway", tier: "frontend", kind: "Deployment", ports: []corev1.ContainerPort{tcp("http", 80), tcp("https", 443)}},
	{name: "kafka", tier: "data", kind: "StatefulSet", ports: []corev1.ContainerPort{tcp("kafka", 9092), tcp("metrics", 8085)}},
	{name: "statsd", tier: "backend", kind: "DaemonSet", ports: []corev1.ContainerPort{{Name: "statsd", ContainerPort: 8125, Protocol: corev1.ProtocolUDP}}},
	{name: "sip", tier: "backend", kind: "Deployment", ports: []corev1.ContainerPort{{Name: "sctp", ContainerPort: 3868, Protocol: corev1.ProtocolSCTP}, tcp("http", 8080)}},
	{name: "cron", tier: "backend", kind: "CronJob"},
}

var (
	coreDNS = app{name: "coredns", tier: "system", kind: "Deployment", ports: []corev1.ContainerPort{
		{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}, tcp("dns-tcp", 53), tcp("metrics", 9153),
	}}
	prometheus = app{name: "prometheus", tier: "monitoring", kind: "StatefulSet", ports: []corev1.ContainerPort{tcp("web", 9090)}}
)

func (s *synthGen) namespace(i, n int) synthNamespace {
	switch {
	case i == 0 && n >= 2:
		return synthNamespace{name: "kube-system"}
	case i == 1 && n >= 3:
		return synthNamespace{name: "monitoring", team: "platform", env: "prod", labels: []string{"team", "platform", "env", "prod"}}
	}
	team := teams[i%len(teams)]
	env := envs[(i/len(teams))%len(envs)]
	name := team + "-" + env
	if round := i / (len(teams) * len(envs)); round > 0 {
		name = fmt.Sprintf("%s-%d", name, round)
	}
	return synthNamespace{name: name, team: team, env: env, labels: []string{"team", team, "env", env}}
}

func (s *synthGen) workload(ns synthNamespace, j int) (manifest.Workload, manifest.Service) {
	a := apps[j%len(apps)]
	switch {
	case j == 0 && ns.name == "kube-system":
		a = coreDNS
	case j == 0 && ns.name == "monitoring":
		a = prometheus
	}
	name := a.name
	if round := j / len(apps); round > 0 {
		name = fmt.Sprintf("%s-%d", a.name, round)
	}
	labels := map[string]string{"app": name, "tier": a.tier, "version": fmt.Sprintf("v%d", 1+s.rng.IntN(3))}
	if ns.team != "" {
		labels["team"], labels["env"] = ns.team, ns.env
	}
	if a.name == "coredns" {
		labels["k8s-app"] = "kube-dns"
	}
	spec := corev1.PodSpec{Containers: []corev1.Container{{
		Name: a.name, Image: "registry.example/" + a.name + ":1." + fmt.Sprint(s.rng.IntN(10)), Ports: a.ports,
	}}}
	if a.sidecarMetrics {
		spec.Containers = append(spec.Containers, corev1.Container{
			Name: "exporter", Image: "registry.example/exporter:1", Ports: []corev1.ContainerPort{tcp("metrics", 9187)},
		})
	}
	if a.kind == "CronJob" {
		spec.RestartPolicy = corev1.RestartPolicyOnFailure
	}
	w := manifest.Workload{Kind: a.kind, Namespace: ns.name, Name: name, PodLabels: labels, Pod: spec}
	if len(a.ports) == 0 {
		return w, manifest.Service{}
	}

	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.name, Name: name},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": name}},
	}
	for _, c := range spec.Containers {
		for _, cp := range c.Ports {
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
				Name: cp.Name, Protocol: cp.Protocol, Port: cp.ContainerPort, TargetPort: intstr.FromString(cp.Name),
			})
		}
	}
	return w, manifest.Service{Object: svc}
}

// pickApp names a random app of the namespace's kinds (not the special
// kube-system and monitoring ones).
func (s *synthGen) pickApp() string { return apps[s.rng.IntN(len(apps))].name }

func (s *synthGen) pickNamespace() synthNamespace { return s.namespaces[s.rng.IntN(len(s.namespaces))] }

type policyTemplate struct {
	name string
	spec func(s *synthGen, ns synthNamespace) networkingv1.NetworkPolicySpec
}

func labelSel(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func npPort(proto corev1.Protocol, port intstr.IntOrString) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr(proto), Port: &port}
}

var policyTemplates = []policyTemplate{
	{"default-deny", func(*synthGen, synthNamespace) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		}
	}},
	{"allow-dns", func(*synthGen, synthNamespace) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: labelSel(manifest.NamespaceNameLabel, "kube-system"),
					PodSelector:       labelSel("k8s-app", "kube-dns"),
				}},
				Ports: []networkingv1.NetworkPolicyPort{
					npPort(corev1.ProtocolUDP, intstr.FromInt32(53)),
					npPort(corev1.ProtocolTCP, intstr.FromInt32(53)),
				},
			}},
		}
	}},
	{"allow-frontend", func(s *synthGen, _ synthNamespace) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{
			PodSelector: *labelSel("app", s.pickApp()),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: labelSel("tier", "frontend")}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromString("http"))}},
			}},
		}
	}},
	{"allow-team", func(s *synthGen, _ synthNamespace) networkingv1.NetworkPolicySpec {
		other := s.pickNamespace()
		team := other.team
		if team == "" {
			team = teams[0]
		}
		return networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"backend", "data"}},
			}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{
						MatchLabels: map[string]string{"team": team},
						MatchExpressions: []metav1.LabelSelectorRequirement{
							{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod", "staging"}},
						},
					},
					PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
						{Key: "app", Operator: metav1.LabelSelectorOpExists},
						{Key: "version", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"v1"}},
					}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{
					{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(8080)), EndPort: ptr(int32(8090))},
					npPort(corev1.ProtocolTCP, intstr.FromString("grpc")),
				},
			}},
		}
	}},
	{"allow-monitoring", func(*synthGen, synthNamespace) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: labelSel(manifest.NamespaceNameLabel, "monitoring"),
					PodSelector:       labelSel("app", "prometheus"),
				}},
				Ports: []networkingv1.NetworkPolicyPort{
					{Port: ptr(intstr.FromString("metrics"))},
					{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(8080)), EndPort: ptr(int32(8089))},
				},
			}},
		}
	}},
	{"allow-internet-egress", func(*synthGen, synthNamespace) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{
			PodSelector: *labelSel("tier", "frontend"),
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{
					{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}}},
					{IPBlock: &networkingv1.IPBlock{CIDR: "::/0", Except: []string{"fd00::/8"}}},
				},
				Ports: []networkingv1.NetworkPolicyPort{npPort(corev1.ProtocolTCP, intstr.FromInt32(443))},
			}},
		}
	}},
	{"allow-db", func(*synthGen, synthNamespace) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{
				MatchLabels: map[string]string{"tier": "data"},
				MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "debug", Operator: metav1.LabelSelectorOpDoesNotExist},
				},
			},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{PodSelector: labelSel("tier", "backend")}},
				Ports: []networkingv1.NetworkPolicyPort{
					npPort(corev1.ProtocolTCP, intstr.FromString("postgres")),
					npPort(corev1.ProtocolTCP, intstr.FromInt32(6379)),
					npPort(corev1.ProtocolTCP, intstr.FromString("kafka")),
				},
			}},
		}
	}},
	{"allow-office", func(*synthGen, synthNamespace) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{
			PodSelector: *labelSel("app", "gateway"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{
					{IPBlock: &networkingv1.IPBlock{CIDR: "203.0.113.0/24", Except: []string{"203.0.113.128/25"}}},
					{IPBlock: &networkingv1.IPBlock{CIDR: "2001:db8::/32", Except: []string{"2001:db8:dead::/48"}}},
					{NamespaceSelector: labelSel(manifest.NamespaceNameLabel, "ingress-nginx")},
				},
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromString("https"))}, {Port: ptr(intstr.FromInt32(80))}},
			}},
		}
	}},
	{"allow-telemetry-egress", func(*synthGen, synthNamespace) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{
					To:    []networkingv1.NetworkPolicyPeer{{PodSelector: labelSel("app", "statsd")}},
					Ports: []networkingv1.NetworkPolicyPort{npPort(corev1.ProtocolUDP, intstr.FromString("statsd"))},
				},
				{
					To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}, PodSelector: labelSel("app", "sip")}},
					Ports: []networkingv1.NetworkPolicyPort{npPort(corev1.ProtocolSCTP, intstr.FromInt32(3868))},
				},
			},
		}
	}},
	{"allow-same-namespace", func(s *synthGen, _ synthNamespace) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{
			PodSelector: *labelSel("app", s.pickApp()),
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
		}
	}},
}
