{{/* The release's resource name: <release>-scim2ldap, or the release name when it already says scim2ldap. */}}
{{- define "scim2ldap.fullname" -}}
{{- if contains "scim2ldap" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-scim2ldap" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "scim2ldap.selectorLabels" -}}
app.kubernetes.io/name: scim2ldap
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "scim2ldap.labels" -}}
{{ include "scim2ldap.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "scim2ldap.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "scim2ldap.mappingConfigMap" -}}
{{- .Values.mapping.existingConfigMap | default (printf "%s-mapping" (include "scim2ldap.fullname" .)) -}}
{{- end -}}

{{- define "scim2ldap.credentialsSecret" -}}
{{- .Values.credentials.existingSecret | default (printf "%s-credentials" (include "scim2ldap.fullname" .)) -}}
{{- end -}}

{{/* The mapping text: mapping.content, else the example mapping shipped with the chart. */}}
{{- define "scim2ldap.mapping" -}}
{{- .Values.mapping.content | default (.Files.Get "files/mappings.yaml") -}}
{{- end -}}

{{/* Refuse values that are still the documentation's placeholders. */}}
{{- define "scim2ldap.checkValues" -}}
{{- if hasPrefix "CHANGE-ME" (toString .Values.credentials.ldapBindPassword) -}}
{{- fail "credentials.ldapBindPassword is still a CHANGE-ME placeholder: set the service account's password (docs/directory.md) or credentials.existingSecret" -}}
{{- end -}}
{{- if and (not .Values.credentials.existingSecret) (not .Values.credentials.ldapBindPassword) -}}
{{- fail "set credentials.existingSecret (a Secret of yours) or credentials.ldapBindPassword (the chart makes the Secret, with a random bearer token)" -}}
{{- end -}}
{{- if not (has .Values.credentials.existingSecretFormat (list "credentials.yaml" "tokens")) -}}
{{- fail "credentials.existingSecretFormat must be credentials.yaml or tokens" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- fail "tls.enabled needs tls.existingSecret (a kubernetes.io/tls Secret, e.g. from cert-manager); or set tls.enabled=false behind a TLS-terminating ingress" -}}
{{- end -}}
{{- end -}}
