{{- define "kai.labels" -}}
app.kubernetes.io/name: kai
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "kai.selector" -}}
app.kubernetes.io/name: kai
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kai.name" -}}
{{ .Release.Name }}-kai
{{- end -}}

{{/* The environment every kai container gets: the model endpoint and its key. */}}
{{- define "kai.env" -}}
- name: XDG_STATE_HOME
  value: /var/lib/kai
{{- with .Values.model.name }}
- name: KAI_MODEL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.model.baseUrl }}
- name: KAI_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- if .Values.model.apiKeySecret.name }}
- name: KAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.model.apiKeySecret.name }}
      key: {{ .Values.model.apiKeySecret.key }}
{{- end }}
{{- end -}}

{{/* Non-root, read-only root file system, nothing added. */}}
{{- define "kai.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "kai.scopeArgs" -}}
{{- if .Values.watch.allNamespaces }}
- "-A"
{{- else if .Values.watch.namespace }}
- "-n"
- {{ .Values.watch.namespace | quote }}
{{- end }}
{{- with .Values.watch.selector }}
- "-l"
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Whether the watch elects a leader: when it remediates and leader election is not turned off. */}}
{{- define "kai.leaderElect" -}}
{{- if and .Values.remediation.enabled .Values.leaderElection.enabled -}}true{{- end -}}
{{- end -}}

{{- define "kai.leaseName" -}}
{{ .Values.leaderElection.leaseName | default (include "kai.name" .) }}
{{- end -}}
