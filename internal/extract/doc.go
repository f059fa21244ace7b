// Package extract infers the connections an application needs from its
// configuration: the extract stage.
//
// Input: manifest.Objects (workloads, Services, ConfigMaps, Secrets, routes,
// policies, as manifest.Read returns them) and, optionally, flows observed in
// a cluster (ReadTraffic). Output: a Topology artifact — workloads, Services,
// exposures, the required connections between workloads, external
// destinations, the policies already in the inputs carried unchanged, and
// findings — in which every connection says where it came from.
//
// Dependencies: internal/manifest and internal/model of tightnet's own
// packages, Kubernetes API types and a YAML parser; never analyze, report
// or stage.
//
// # Where addresses are looked for
//
// For every container and initContainer of every workload: env values
// (literal, configMapKeyRef, secretKeyRef), envFrom ConfigMaps and Secrets,
// command and args (with Kubernetes' $(VAR) expansion), and the ConfigMaps
// and Secrets mounted as volumes (directly or projected). A value holding
// several lines, or under a key named like a file (.properties, .json,
// .yaml, .ini, .conf, .env, .toml), is read as a configuration file: JSON
// and YAML scalars one by one, other formats line by line as key = value,
// key: value or free text. Secret values are read but never printed: the
// provenance of a reference found in a Secret names the Secret and the key.
//
// # How a value is read (address.go)
//
// A value is cut into items on commas and semicolons when none of the items
// holds whitespace ("cart:7070,checkout:5050", "a;b"); otherwise into tokens
// on whitespace, commas, semicolons, quotes and brackets. Markup around an
// item (<url>host:port</url>) is cut away the same way. Each item or token
// is tried as, in order: key=value (the value is read again as a whole
// value), a URL (scheme://user:pass@host:port/path, jdbc:postgresql://...,
// redis://, amqp://, mongodb://h1:p1,h2:p2/db), @host:port (Oracle thin
// JDBC, user:pass@host:port), host:port[/path], and a bare host name.
//
// The one rule that keeps prose from matching: a bare single-label name
// ("cart") is a reference only when it stands where an address stands — the
// whole value, an item of a list, the value of key=value, or the host of a
// URL or host:port — and never when it is one word among others
// ("The cart service keeps baskets" names nothing). A whole value is not
// read as a bare name when its key says it is something else (DB_NAME,
// username, topic, ...: see nonHostKey). Names of several labels (cart.shop,
// cart.shop.svc.cluster.local) are specific enough to match anywhere.
//
// # How a name resolves (services.go)
//
// As cluster DNS resolves it, for a pod in namespace N with the configured
// cluster domain D: svc (in N), svc.ns, svc.ns.svc, svc.ns.svc.D, and for
// headless Services the pod forms pod.svc (in N), pod.svc.ns,
// pod.svc.ns.svc, pod.svc.ns.svc.D. A written port picks the Service port of
// that number, whose targetPort — a number, or a container port name
// resolved on each selected workload — is the connection; no port means
// every port of the Service. A headless Service is not load-balanced:
// clients connect to the pod's address, so a written port is the pod port
// itself. A Service without a selector selects no workload. A name that
// resolves to no Service (an external host, an IP) is not a connection
// between workloads; when it is the host of a URL or host:port with a port
// (or an http/https scheme) it is listed as an external destination.
//
// Workloads are keyed by namespace and name: the same application in two
// namespaces yields two independent sets of connections, since a bare name
// resolves in the referring workload's namespace. A workload that names its
// own Service (the members of a cluster finding each other) needs a
// connection to itself, and gets one.
//
// # Provenance
//
// Every connection, exposure and external destination lists its reasons:
// the file and line of the object that holds the value (manifest.Read knows
// where objects start, not where each field is), the object, the path
// inside it (spec.template.spec.containers[app].env[CART_ADDR],
// data[application.properties]) and in words what was found, with the line
// inside a configuration file. Values from ConfigMaps and Secrets point at
// the ConfigMap or Secret; the reason says how the workload reads them.
// Observed flows point at the traffic record (the first of identical ones,
// with a count).
//
// # Exposure (exposure.go)
//
// LoadBalancer and NodePort Services (and Services with externalIPs) expose
// their target ports to every address; Ingress, OpenShift Route and Gateway
// API route backends to the ingress controller; pods annotated
// prometheus.io/scrape: "true" (on the pod template or a Service selecting
// them) to every pod of the monitoring namespace, on prometheus.io/port or
// else every declared TCP container port.
//
// Speed: Services are indexed by namespace and name, workloads by namespace
// and label, so each reference costs a few map lookups and the whole
// extraction is linear in the input.
package extract
