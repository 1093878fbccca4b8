{{/* The name of the operator's objects: the release name, with the chart's name when it lacks it. */}}
{{- define "worker-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "worker-operator.selectorLabels" -}}
app.kubernetes.io/name: worker-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "worker-operator.labels" -}}
{{ include "worker-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "worker-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "worker-operator.workerImage" -}}
{{- printf "%s:%s" .Values.workerImage.repository (.Values.workerImage.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* What the operator does with WorkerJobs and their workloads: the rules of the ClusterRole in
     manifests/rbac.yaml (files/rbac.yaml links to it), its first document, so there is one list of them. */}}
{{- define "worker-operator.rules" -}}
{{- $clusterRole := .Files.Get "files/rbac.yaml" | splitList "\n---\n" | first | fromYaml -}}
{{- if not $clusterRole.rules -}}
{{- fail "files/rbac.yaml: its first document should be the operator's ClusterRole with rules" -}}
{{- end -}}
{{- toYaml $clusterRole.rules -}}
{{- end -}}
