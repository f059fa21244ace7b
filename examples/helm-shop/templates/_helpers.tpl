{{/*
The name prefix of every object: the release name, followed by the chart
name unless the release name already holds it.
*/}}
{{- define "shop.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels selecting the pods of one component: (dict "root" $ "component" "cart"). */}}
{{- define "shop.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
A Deployment and its Service for one component of the shop:
(dict "root" $ "component" "cart" "port" 9001 "env" (dict "KEY" "value")).
Every component but the collector sends its traces to the collector.
*/}}
{{- define "shop.component" -}}
{{- $root := .root -}}
{{- $env := merge (dict) (.env | default dict) -}}
{{- if and $root.Values.collector.enabled (ne .component "collector") -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" (printf "http://%s-collector:%v" (include "shop.fullname" $root) $root.Values.collector.port) -}}
{{- end -}}
{{- $portName := .portName | default "http" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "shop.fullname" $root }}-{{ .component }}
  labels:
    {{- include "shop.selector" . | nindent 4 }}
    app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
spec:
  replicas: {{ .replicas | default 1 }}
  selector:
    matchLabels:
      {{- include "shop.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "shop.selector" . | nindent 8 }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $root.Values.metrics.port | quote }}
    spec:
      containers:
        - name: {{ .component }}
          image: {{ $root.Values.image.registry }}/{{ .component }}:{{ $root.Chart.AppVersion }}
          ports:
            - name: {{ $portName }}
              containerPort: {{ .port }}
            - name: metrics
              containerPort: {{ $root.Values.metrics.port }}
          {{- with $env }}
          env:
            {{- range $name, $value := . }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
          {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "shop.fullname" $root }}-{{ .component }}
  labels:
    {{- include "shop.selector" . | nindent 4 }}
spec:
  type: {{ .serviceType | default "ClusterIP" }}
  selector:
    {{- include "shop.selector" . | nindent 4 }}
  ports:
    - name: {{ $portName }}
      port: {{ if eq (.serviceType | default "ClusterIP") "LoadBalancer" }}80{{ else }}{{ .port }}{{ end }}
      targetPort: {{ $portName }}
      protocol: TCP
{{- end -}}
