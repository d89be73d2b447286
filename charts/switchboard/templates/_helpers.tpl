{{/* The release's objects are named <release>-switchboard, or <release> if it says switchboard. */}}
{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* Not managed-by=switchboard: that label marks what the operator itself owns and watches. */}}
{{- define "switchboard.labels" -}}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/part-of: switchboard
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/*
What the operator does in a namespace it watches, and nothing more: the integration test
tests/integration/test_chart.py runs it with exactly these rules and records every request.
*/}}
{{- define "switchboard.namespacedRules" -}}
# ContactCenters: watched, read back, and their status written. Never their spec.
- apiGroups: [switchboard.io]
  resources: [contactcenters]
  verbs: [get, list, watch]
- apiGroups: [switchboard.io]
  resources: [contactcenters/status]
  verbs: [patch]
# Children: listed and watched (the operator reads them from its caches, never one by one),
# server-side applied (a patch, which is authorized as create too when the object is new),
# and pruned when the spec drops them.
- apiGroups: [""]
  resources: [configmaps, services]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list, watch, create, patch, delete]
# The bot's HTTPRoute, where the cluster serves the Gateway API (its weights follow a canary).
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [list, watch, create, patch, delete]
# The PodMonitor scraping the contact center's pods, where the Prometheus Operator runs.
- apiGroups: [monitoring.coreos.com]
  resources: [podmonitors]
  verbs: [list, watch, create, patch, delete]
# The retention job and its ServiceAccount (which is bound to no role).
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [list, watch, create, patch, delete]
# The gateways' cert-manager Certificate, where the cluster runs cert-manager (spec.tls).
- apiGroups: [cert-manager.io]
  resources: [certificates]
  verbs: [list, watch, create, patch, delete]
# Secrets: generated credentials created once and re-owned on a deletion policy change;
# referenced ones read; watched so that a renewed TLS certificate rolls the gateways. Never
# rewritten, never deleted (owner references do).
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch]
# The ConfigMap holding the bot's model (`configmap://` model URIs), waited for before
# anything is applied; read, never written.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
# Data volumes grown when the spec asks for more storage.
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, patch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end -}}

{{/* Cluster-scoped: kopf follows the CRD (to notice it installed or upgraded after the operator
started); StorageClasses are read for encryption at rest. */}}
{{- define "switchboard.clusterRules" -}}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
# StorageClasses, read when a ContactCenter requires encryption at rest.
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [list]
{{- end -}}
