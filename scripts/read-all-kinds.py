"""Reads every object of a sandbox with the official Python client's typed models.

Usage: read-all-kinds.py KUBECONFIG
Lists each served kind (`list_*_for_all_namespaces`, or the cluster-scoped list) through the
`kubernetes` package, which decodes every item into its typed model and fails on a malformed
one (a missing required field, a wrong type, an unparsable date). Prints one line per kind with
objects and exits non-zero on the first failure, naming the kind and the error.
"""
import sys

from kubernetes import client, config

config.load_kube_config(config_file=sys.argv[1])
api = client.ApiClient()
core = client.CoreV1Api(api)
apps = client.AppsV1Api(api)
batch = client.BatchV1Api(api)
LISTS = [
    ("namespaces", core.list_namespace),
    ("nodes", core.list_node),
    ("pods", core.list_pod_for_all_namespaces),
    ("services", core.list_service_for_all_namespaces),
    ("endpoints", core.list_endpoints_for_all_namespaces),
    ("events", core.list_event_for_all_namespaces),
    ("configmaps", core.list_config_map_for_all_namespaces),
    ("secrets", core.list_secret_for_all_namespaces),
    ("serviceaccounts", core.list_service_account_for_all_namespaces),
    ("persistentvolumeclaims", core.list_persistent_volume_claim_for_all_namespaces),
    ("persistentvolumes", core.list_persistent_volume),
    ("resourcequotas", core.list_resource_quota_for_all_namespaces),
    ("limitranges", core.list_limit_range_for_all_namespaces),
    ("deployments", apps.list_deployment_for_all_namespaces),
    ("replicasets", apps.list_replica_set_for_all_namespaces),
    ("statefulsets", apps.list_stateful_set_for_all_namespaces),
    ("daemonsets", apps.list_daemon_set_for_all_namespaces),
    ("controllerrevisions", apps.list_controller_revision_for_all_namespaces),
    ("jobs", batch.list_job_for_all_namespaces),
    ("cronjobs", batch.list_cron_job_for_all_namespaces),
    ("horizontalpodautoscalers",
     client.AutoscalingV2Api(api).list_horizontal_pod_autoscaler_for_all_namespaces),
    ("poddisruptionbudgets", client.PolicyV1Api(api).list_pod_disruption_budget_for_all_namespaces),
    ("ingresses", client.NetworkingV1Api(api).list_ingress_for_all_namespaces),
    ("ingressclasses", client.NetworkingV1Api(api).list_ingress_class),
    ("networkpolicies", client.NetworkingV1Api(api).list_network_policy_for_all_namespaces),
    ("storageclasses", client.StorageV1Api(api).list_storage_class),
    ("endpointslices", client.DiscoveryV1Api(api).list_endpoint_slice_for_all_namespaces),
    ("events.k8s.io", client.EventsV1Api(api).list_event_for_all_namespaces),
    ("roles", client.RbacAuthorizationV1Api(api).list_role_for_all_namespaces),
    ("rolebindings", client.RbacAuthorizationV1Api(api).list_role_binding_for_all_namespaces),
    ("clusterroles", client.RbacAuthorizationV1Api(api).list_cluster_role),
    ("clusterrolebindings", client.RbacAuthorizationV1Api(api).list_cluster_role_binding),
    ("customresourcedefinitions",
     client.ApiextensionsV1Api(api).list_custom_resource_definition),
    ("validatingwebhookconfigurations",
     client.AdmissionregistrationV1Api(api).list_validating_webhook_configuration),
    ("mutatingwebhookconfigurations",
     client.AdmissionregistrationV1Api(api).list_mutating_webhook_configuration),
]

total = 0
for name, fn in LISTS:
    try:
        items = fn().items
    except Exception as e:  # a decode failure names the model and the field
        sys.exit(f"python client: listing {name} failed: {type(e).__name__}: {e}")
    total += len(items)
    if items:
        print(f"  {name}: {len(items)}")
if total == 0:
    sys.exit("python client: the sandbox served no objects at all")
print(f"python client: {total} objects of {len(LISTS)} kinds decoded")
