package extract

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// podSpecPath is where a workload kind keeps its pods' spec.
func podSpecPath(kind string) string {
	switch kind {
	case "Pod":
		return "spec"
	case "CronJob":
		return "spec.jobTemplate.spec.template.spec"
	}
	return "spec.template.spec"
}

// podMetaPath is where a workload kind keeps its pods' metadata.
func podMetaPath(kind string) string {
	switch kind {
	case "Pod":
		return "metadata"
	case "CronJob":
		return "spec.jobTemplate.spec.template.metadata"
	}
	return "spec.template.metadata"
}

func workloadObject(w *manifest.Workload) string { return w.Kind + " " + w.Namespace + "/" + w.Name }

// workload reads every place a workload's pods take addresses from.
func (x *extractor) workload(wi int) {
	w := &x.ix.workloads[wi]
	prefix := podSpecPath(w.Kind)
	for i := range w.Pod.InitContainers {
		c := &w.Pod.InitContainers[i]
		x.container(wi, prefix+".initContainers["+c.Name+"]", c)
	}
	for i := range w.Pod.Containers {
		c := &w.Pod.Containers[i]
		x.container(wi, prefix+".containers["+c.Name+"]", c)
	}
	x.volumes(wi, prefix)
}

// envVar is an environment variable's value as a container sees it.
type envVar struct {
	value string
	// secret: the value is, or was expanded from, a Secret's.
	secret bool
}

// pending is a value to read once every variable of the container, and so
// every sibling port, is known.
type pending struct {
	site site
	key  string // the variable's name
	file string // the ConfigMap or Secret key the value was stored under
	// value is what the container sees; shown what provenance may quote
	// (the value as written, before $(VAR) expansion), "" for none.
	value, shown string
	fromEnvFrom  bool
}

// container reads a container's environment (envFrom, then env, with
// Kubernetes' $(VAR) expansion), command and args.
func (x *extractor) container(wi int, cpath string, c *corev1.Container) {
	w := &x.ix.workloads[wi]
	object := workloadObject(w)
	vars := map[string]envVar{}
	var values []pending
	for i, ef := range c.EnvFrom {
		from := fmt.Sprintf("%s.envFrom[%d]", cpath, i)
		switch {
		case ef.ConfigMapRef != nil:
			cm := x.configMap(wi, from, ef.ConfigMapRef.Name, ef.ConfigMapRef.Optional)
			if cm == nil {
				continue
			}
			for _, k := range slices.Sorted(maps.Keys(cm.Object.Data)) {
				name, v := ef.Prefix+k, cm.Object.Data[k]
				vars[name] = envVar{value: v}
				values = append(values, pending{
					site: configMapSite(wi, cm, k, fmt.Sprintf("envFrom of container %s: %s", c.Name, name)),
					key:  name, file: k, value: v, shown: v, fromEnvFrom: true,
				})
			}
		case ef.SecretRef != nil:
			sec := x.secret(wi, from, ef.SecretRef.Name, ef.SecretRef.Optional)
			if sec == nil {
				continue
			}
			for _, k := range secretKeys(sec) {
				name, v := ef.Prefix+k, secretValue(sec, k)
				vars[name] = envVar{value: v, secret: true}
				values = append(values, pending{
					site: secretSite(wi, sec, k, fmt.Sprintf("envFrom of container %s: secret %s key %s", c.Name, secretID(sec), k)),
					key:  name, file: k, value: v, fromEnvFrom: true,
				})
			}
		}
	}
	inEnv := map[string]bool{}
	for _, e := range c.Env {
		inEnv[e.Name] = true
		epath := cpath + ".env[" + e.Name + "]"
		switch {
		case e.ValueFrom == nil:
			v, secret := expand(e.Value, vars)
			vars[e.Name] = envVar{value: v, secret: secret}
			values = append(values, pending{
				site: site{wi: wi, loc: w.Source, object: object, path: epath, reason: "env " + e.Name, secret: secret},
				key:  e.Name, file: e.Name, value: v, shown: e.Value,
			})
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm := x.configMap(wi, epath, ref.Name, ref.Optional)
			if cm == nil {
				continue
			}
			v, ok := cm.Object.Data[ref.Key]
			if !ok {
				continue
			}
			vars[e.Name] = envVar{value: v}
			values = append(values, pending{
				site: configMapSite(wi, cm, ref.Key, fmt.Sprintf("env %s of container %s", e.Name, c.Name)),
				key:  e.Name, file: ref.Key, value: v, shown: v,
			})
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			sec := x.secret(wi, epath, ref.Name, ref.Optional)
			if sec == nil || !slices.Contains(secretKeys(sec), ref.Key) {
				continue
			}
			v := secretValue(sec, ref.Key)
			vars[e.Name] = envVar{value: v, secret: true}
			values = append(values, pending{
				site: secretSite(wi, sec, ref.Key, fmt.Sprintf("env %s of container %s: secret %s key %s", e.Name, c.Name, secretID(sec), ref.Key)),
				key:  e.Name, file: ref.Key, value: v,
			})
		}
	}
	hints := portHints{}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		hints.add(name, vars[name].value)
	}
	for _, p := range values {
		// env overrides envFrom: the value the container does not see is
		// not read.
		if p.fromEnvFrom && inEnv[p.key] {
			continue
		}
		x.scanData(p, hints)
	}
	for _, field := range []struct {
		name string
		list []string
	}{{"command", c.Command}, {"args", c.Args}} {
		for i, a := range field.list {
			v, secret := expand(a, vars)
			s := site{wi: wi, loc: w.Source, object: object, path: fmt.Sprintf("%s.%s[%d]", cpath, field.name, i),
				reason: fmt.Sprintf("%s[%d]", field.name, i), secret: secret}
			detail := fmt.Sprintf(" = %q", shown(a))
			scanValue(v, "", func(r reference) { x.reference(s, r, detail) })
		}
	}
}

// volumes reads the ConfigMaps and Secrets mounted as the pods' volumes,
// directly or projected.
func (x *extractor) volumes(wi int, prefix string) {
	w := &x.ix.workloads[wi]
	for _, v := range w.Pod.Volumes {
		vpath := prefix + ".volumes[" + v.Name + "]"
		reason := "mounted as volume " + v.Name
		switch {
		case v.ConfigMap != nil:
			x.mountConfigMap(wi, vpath, reason, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional)
		case v.Secret != nil:
			x.mountSecret(wi, vpath, reason, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional)
		case v.Projected != nil:
			for i, src := range v.Projected.Sources {
				spath := fmt.Sprintf("%s.projected.sources[%d]", vpath, i)
				if src.ConfigMap != nil {
					x.mountConfigMap(wi, spath, reason, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional)
				}
				if src.Secret != nil {
					x.mountSecret(wi, spath, reason, src.Secret.Name, src.Secret.Items, src.Secret.Optional)
				}
			}
		}
	}
}

// mounted lists the files a ConfigMap or Secret volume shows: the items
// selected (key and file name), or every key under its own name.
func mounted(keys []string, items []corev1.KeyToPath) [][2]string {
	var out [][2]string
	if len(items) == 0 {
		for _, k := range keys {
			out = append(out, [2]string{k, k})
		}
		return out
	}
	for _, it := range items {
		if slices.Contains(keys, it.Key) {
			out = append(out, [2]string{it.Key, it.Path})
		}
	}
	return out
}

func (x *extractor) mountConfigMap(wi int, vpath, reason, name string, items []corev1.KeyToPath, optional *bool) {
	cm := x.configMap(wi, vpath, name, optional)
	if cm == nil {
		return
	}
	hints := portHints{}
	keys := slices.Sorted(maps.Keys(cm.Object.Data))
	for _, k := range keys {
		hints.add(k, cm.Object.Data[k])
	}
	for _, kf := range mounted(keys, items) {
		v := cm.Object.Data[kf[0]]
		x.scanData(pending{site: configMapSite(wi, cm, kf[0], reason), key: kf[0], file: kf[1], value: v, shown: v}, hints)
	}
}

func (x *extractor) mountSecret(wi int, vpath, reason, name string, items []corev1.KeyToPath, optional *bool) {
	sec := x.secret(wi, vpath, name, optional)
	if sec == nil {
		return
	}
	hints := portHints{}
	keys := secretKeys(sec)
	for _, k := range keys {
		hints.add(k, secretValue(sec, k))
	}
	for _, kf := range mounted(keys, items) {
		s := secretSite(wi, sec, kf[0], fmt.Sprintf("%s: secret %s key %s", reason, secretID(sec), kf[0]))
		x.scanData(pending{site: s, key: kf[0], file: kf[1], value: secretValue(sec, kf[0])}, hints)
	}
}

// scanData reads one value: as a configuration file entry by entry, or as
// one value. Provenance quotes p.shown, and nothing of a Secret's value.
func (x *extractor) scanData(p pending, hints portHints) {
	s := p.site
	if !isConfigFile(p.file, p.value) {
		detail := ""
		if p.shown != "" {
			detail = fmt.Sprintf(" = %q", shown(p.shown))
		}
		scanValue(p.value, p.key, func(r reference) { x.reference(s, hints.apply(p.key, r), detail) })
		return
	}
	cacheKey := fileKey{s.object, s.path, p.file}
	entries, ok := x.files[cacheKey]
	if !ok {
		entries = parseConfig(p.file, p.value)
		x.files[cacheKey] = entries
	}
	fileHints := portHints{}
	for _, e := range entries {
		fileHints.add(e.key, e.value)
	}
	for _, e := range entries {
		var detail string
		switch {
		case s.secret && p.shown == "":
			detail = fmt.Sprintf(", line %d", e.line)
		case e.key != "":
			detail = fmt.Sprintf(": %s line %d: %s = %q", p.file, e.line, e.key, shown(e.value))
		default:
			detail = fmt.Sprintf(": %s line %d: %q", p.file, e.line, shown(e.value))
		}
		scanValue(e.value, e.key, func(r reference) { x.reference(s, fileHints.apply(e.key, r), detail) })
	}
}

func configMapSite(wi int, cm *manifest.ConfigMap, key, reason string) site {
	return site{wi: wi, loc: cm.Source, object: "ConfigMap " + cm.Object.Namespace + "/" + cm.Object.Name,
		path: "data[" + key + "]", reason: reason}
}

func secretSite(wi int, sec *manifest.Secret, key, reason string) site {
	path := "data[" + key + "]"
	if _, ok := sec.Object.StringData[key]; ok {
		path = "stringData[" + key + "]"
	}
	return site{wi: wi, loc: sec.Source, object: "Secret " + secretID(sec), path: path, reason: reason, secret: true}
}

func secretID(sec *manifest.Secret) string { return sec.Object.Namespace + "/" + sec.Object.Name }

// secretKeys are the keys of a Secret's data and stringData, sorted.
func secretKeys(sec *manifest.Secret) []string {
	keys := slices.Collect(maps.Keys(sec.Object.Data))
	for k := range sec.Object.StringData {
		if _, ok := sec.Object.Data[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// secretValue is a Secret key's value; stringData wins over data, as the
// API server merges them.
func secretValue(sec *manifest.Secret, key string) string {
	if v, ok := sec.Object.StringData[key]; ok {
		return v
	}
	return string(sec.Object.Data[key])
}

// configMap finds a ConfigMap in the workload's namespace; a missing one
// that is not optional is a finding.
func (x *extractor) configMap(wi int, path, name string, optional *bool) *manifest.ConfigMap {
	w := &x.ix.workloads[wi]
	if cm := x.configMaps[objKey{w.Namespace, name}]; cm != nil {
		return cm
	}
	x.missing(w, path, "ConfigMap", name, optional)
	return nil
}

func (x *extractor) secret(wi int, path, name string, optional *bool) *manifest.Secret {
	w := &x.ix.workloads[wi]
	if s := x.secrets[objKey{w.Namespace, name}]; s != nil {
		return s
	}
	x.missing(w, path, "Secret", name, optional)
	return nil
}

func (x *extractor) missing(w *manifest.Workload, path, kind, name string, optional *bool) {
	if optional != nil && *optional {
		return
	}
	x.report(model.Finding{
		Code: CodeConfigMissing, Severity: model.Warning, Location: w.Source, Object: workloadObject(w),
		Message: fmt.Sprintf("%s %s/%s, read at %s, is not in the inputs, so the addresses it holds are not seen; add its manifest to the inputs",
			kind, w.Namespace, name, path),
	})
}

// expand applies Kubernetes' dependent variable expansion to an env value,
// command or argument: $(NAME) of a variable defined before is replaced by
// its value, $$ is a single $, and anything else is kept as written
// (including $(NAME) of an undefined variable). secret reports whether a
// Secret's value was used.
func expand(s string, vars map[string]envVar) (out string, secret bool) {
	if !strings.Contains(s, "$") {
		return s, false
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i+2:], ')'); end >= 0 {
				name := s[i+2 : i+2+end]
				if v, ok := vars[name]; ok {
					b.WriteString(v.value)
					secret = secret || v.secret
				} else {
					b.WriteString(s[i : i+3+end])
				}
				i += 2 + end
				continue
			}
		}
		b.WriteByte('$')
	}
	return b.String(), secret
}
