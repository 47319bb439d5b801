{{/* Names and labels. */}}
{{- define "ades.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ades.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ades.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ades.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component (api, worker, migration): pass (list . "api"). */}}
{{- define "ades.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "ades.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "ades.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "ades.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ades.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The account Calrissian and its tool pods run as. */}}
{{- define "ades.calrissianServiceAccountName" -}}
{{- printf "%s-calrissian" (include "ades.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ades.calrissianClaim" -}}
{{- default (printf "%s-calrissian" (include "ades.fullname" .)) .Values.calrissian.volume.existingClaim }}
{{- end }}

{{/* Whether the API pod keeps state of its own: SQLite or the embedded S3. */}}
{{- define "ades.stateful" -}}
{{- if or (not .Values.database.existingSecret) (not .Values.s3.endpoint) }}true{{- end }}
{{- end }}

{{- define "ades.calrissian" -}}
{{- if eq .Values.cwlRunner "calrissian" }}true{{- end }}
{{- end }}

{{/* Variables from Secrets, shared by the API, the workers and the migration Job. */}}
{{- define "ades.secretEnv" -}}
{{- with .Values.database.existingSecret }}
- name: ADES_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: {{ $.Values.database.urlKey | quote }}}
{{- end }}
{{- with .Values.broker.existingSecret }}
- name: ADES_BROKER_URL
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: {{ $.Values.broker.urlKey | quote }}}
{{- end }}
{{- with .Values.s3.existingSecret }}
- name: ADES_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: {{ $.Values.s3.accessKeyKey | quote }}}
- name: ADES_S3_SECRET_KEY
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: {{ $.Values.s3.secretKeyKey | quote }}}
{{- end }}
{{- end }}

{{/* Everything an API or worker container reads besides the ConfigMap. With Calrissian,
the data directory lies on the shared volume, one folder per pod: the server keeps its id
there, and replicas must not share one. */}}
{{- define "ades.podEnv" -}}
- name: HOME
  value: /tmp
{{- if eq (include "ades.calrissian" .) "true" }}
- name: POD_NAME
  valueFrom:
    fieldRef: {fieldPath: metadata.name}
- name: ADES_DATA_DIR
  value: {{ printf "%s/pods/$(POD_NAME)" .Values.calrissian.volume.mountPath | quote }}
{{- end }}
{{- include "ades.secretEnv" . }}
{{- end }}

{{- define "ades.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/ades
{{- if .Values.workspaces.existingClaim }}
- name: workspaces
  mountPath: {{ .Values.workspaces.path }}
  readOnly: true
{{- end }}
{{- if eq (include "ades.calrissian" .) "true" }}
- name: calrissian
  mountPath: {{ .Values.calrissian.volume.mountPath }}
{{- end }}
{{- end }}

{{/* Volumes of a pod; pass (list . "api") or (list . "worker"): only the API pod gets the
data claim, the workers' data directory holds job working directories only. */}}
{{- define "ades.volumes" -}}
{{- $root := index . 0 -}}
- name: tmp
  emptyDir: {}
- name: data
{{- if and (eq (index . 1) "api") (eq (include "ades.stateful" $root) "true") }}
  persistentVolumeClaim:
    claimName: {{ include "ades.fullname" $root }}-data
{{- else }}
  emptyDir: {}
{{- end }}
{{- with $root.Values.workspaces.existingClaim }}
- name: workspaces
  persistentVolumeClaim:
    claimName: {{ . }}
    readOnly: true
{{- end }}
{{- if eq (include "ades.calrissian" $root) "true" }}
- name: calrissian
  persistentVolumeClaim:
    claimName: {{ include "ades.calrissianClaim" $root }}
{{- end }}
{{- end }}

{{/* A checksum of the settings, so that pods restart when they change. */}}
{{- define "ades.configChecksum" -}}
{{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}

{{/* Combinations values.schema.json cannot say plainly: each refusal names the values at
fault and what to set. */}}
{{- define "ades.validate" -}}
{{- $v := .Values }}
{{- if eq $v.executor "celery" }}
{{- if not $v.broker.existingSecret }}
{{- fail "executor: celery needs broker.existingSecret: a Secret holding the broker URL (redis://… or amqp://…)" }}
{{- end }}
{{- if not $v.database.existingSecret }}
{{- fail "executor: celery needs database.existingSecret: workers and the API share one database, and SQLite lives in the API pod only" }}
{{- end }}
{{- if not $v.s3.endpoint }}
{{- fail "executor: celery needs s3.endpoint: the embedded S3 lives in the API pod, where workers cannot reach it" }}
{{- end }}
{{- end }}
{{- if gt (int $v.api.replicas) 1 }}
{{- if or (not $v.database.existingSecret) (not $v.s3.endpoint) }}
{{- fail (printf "api.replicas: %d needs database.existingSecret and s3.endpoint: SQLite and the embedded S3 serve one API pod only" (int $v.api.replicas)) }}
{{- end }}
{{- end }}
{{- if and $v.s3.endpoint (not $v.s3.existingSecret) }}
{{- fail "s3.endpoint is set: s3.existingSecret must name the Secret holding its access and secret keys" }}
{{- end }}
{{- if eq $v.auth.mode "oidc" }}
{{- if or (not $v.auth.oidc.issuer) (not $v.auth.oidc.audience) }}
{{- fail "auth.mode: oidc needs auth.oidc.issuer and auth.oidc.audience: the issuer and the audience every token must name" }}
{{- end }}
{{- end }}
{{- if and (ne $v.auth.mode "none") (ne (include "ades.calrissian" .) "true") (not $v.auth.allowUncontained) }}
{{- fail (printf "auth.mode: %s with cwlRunner: cwltool runs every package without a container, as the server's own user, able to read its environment and secrets: set auth.allowUncontained: true if every package deployed is trusted, or cwlRunner: calrissian" $v.auth.mode) }}
{{- end }}
{{- if gt (int $v.worker.autoscaling.minReplicas) (int $v.worker.autoscaling.maxReplicas) }}
{{- fail "worker.autoscaling.minReplicas is greater than worker.autoscaling.maxReplicas" }}
{{- end }}
{{- end }}
