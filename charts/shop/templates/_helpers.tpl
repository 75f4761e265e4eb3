{{- define "shop.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: shop
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
