"""Runs a Helm v4 release lifecycle against a cluster with Helm's own SDK (helm-python-sdk),
all defaults (server-side apply, Secret storage): install, upgrade, history, rollback,
uninstall. Checks the cluster's objects after each step through the API.

Usage: helm-release.py KUBECONFIG CHART NAMESPACE RELEASE
Prints one line per step; exits 1 with the reason on the first step that fails.
"""
import json
import re
import sys
import urllib.error
import urllib.request

import helm_python


def api(server: str, path: str):
    """GET a path of the API server as JSON; None on 404."""
    req = urllib.request.Request(server + path, headers={"Authorization": "Bearer kai-sandbox"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def fail(why: str) -> None:
    print(f"helm: {why}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    kubeconfig, chart, ns, release = sys.argv[1:]
    server = re.search(r"server:\s*(\S+)", open(kubeconfig).read()).group(1)
    deploy = f"/apis/apps/v1/namespaces/{ns}/deployments/{release}-backend"
    secrets = f"/api/v1/namespaces/{ns}/secrets?labelSelector=owner%3Dhelm%2Cname%3D{release}"
    cfg = helm_python.Config(kubeconfig_path=kubeconfig, namespace=ns)
    cfg.check_reachable()

    rel = cfg.install(chart, release, create_namespace=True)
    if rel.get("status") != "deployed" or rel.get("revision") != 1:
        fail(f"install: status {rel.get('status')}, revision {rel.get('revision')}")
    d = api(server, deploy)
    if d is None or d["spec"]["replicas"] != 2:
        fail(f"install: backend deployment {d and d['spec']}")
    managers = {(m["manager"], m["operation"]) for m in d["metadata"].get("managedFields", [])}
    # Helm names its field manager after the program (`helm`, here `python`).
    if not any(op == "Apply" for _, op in managers):
        fail(f"install: expected a server-side apply, managers {managers}")
    print(f"helm: install: revision 1 deployed, backend replicas 2, applied by {sorted(managers)}")

    rel = cfg.upgrade(chart, release, {"backend": {"replicas": 3, "image": "shop/backend:1.4.0"}})
    d = api(server, deploy)
    if rel.get("revision") != 2 or d["spec"]["replicas"] != 3:
        fail(f"upgrade: revision {rel.get('revision')}, replicas {d['spec']['replicas']}")
    image = d["spec"]["template"]["spec"]["containers"][0]["image"]
    if image != "shop/backend:1.4.0":
        fail(f"upgrade: image {image}")
    print("helm: upgrade: revision 2, backend replicas 3, image shop/backend:1.4.0")

    history = cfg.history(release)
    items = history if isinstance(history, list) else history.get("releases", [])
    versions = sorted(r["revision"] for r in items)
    if versions != [1, 2]:
        fail(f"history: {versions}")
    stored = api(server, secrets)["items"]
    if len(stored) != 2 or any(s["type"] != "helm.sh/release.v1" for s in stored):
        fail(f"history: release secrets {[(s['metadata']['name'], s['type']) for s in stored]}")
    print(f"helm: history: revisions {versions}, stored as {len(stored)} helm.sh/release.v1 Secrets")

    cfg.rollback(release, version=1)
    d = api(server, deploy)
    image = d["spec"]["template"]["spec"]["containers"][0]["image"]
    if d["spec"]["replicas"] != 2 or image != "shop/backend:1.3.2":
        fail(f"rollback: replicas {d['spec']['replicas']}, image {image}")
    status = cfg.status(release)
    if status.get("revision") != 3 or status.get("status") != "deployed":
        fail(f"rollback: revision {status.get('revision')}, status {status.get('status')}")
    print("helm: rollback: revision 3 deployed, backend back to replicas 2, shop/backend:1.3.2")

    cfg.uninstall(release)
    if api(server, deploy) is not None:
        fail("uninstall: the backend deployment is still there")
    left = api(server, secrets)["items"]
    if left:
        fail(f"uninstall: release secrets left: {[s['metadata']['name'] for s in left]}")
    print("helm: uninstall: release objects and release secrets gone")


if __name__ == "__main__":
    main()
