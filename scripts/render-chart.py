"""Lints and renders a Helm chart with Helm's own SDK (helm-python-sdk), offline.

Usage: render-chart.py CHART NAMESPACE RELEASE [KEY=true|KEY=2 ...] > manifests.yaml
Exits 1 with the lint findings when the chart has lint errors.
"""
import sys

import helm_python


def main() -> int:
    chart_dir, namespace, release, *sets = sys.argv[1:]
    report = helm_python.lint(chart_dir, namespace=namespace, strict=True)
    messages = report.get("messages") or []
    errors = [m for m in messages if str(m.get("severity", "")).lower() in ("error", "warning")]
    if errors:
        print(f"helm lint {chart_dir}: {errors}", file=sys.stderr)
        return 1
    values: dict = {}
    for s in sets:
        path, _, raw = s.partition("=")
        node = values
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = int(raw) if raw.isdigit() else {"true": True, "false": False}.get(raw, raw)
    chart = helm_python.Chart.load(chart_dir)
    rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
    # A namespace document first: `helm install -n NS --create-namespace` makes it too.
    print(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}")
    for path in sorted(rendered):
        text = rendered[path].strip()
        if path.endswith(".yaml") and text:
            print(f"---\n# Source: {path}\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
