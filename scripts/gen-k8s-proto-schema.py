#!/usr/bin/env python3
"""Writes sandbox/src/server/protobuf/k8s-proto.json: the Kubernetes protobuf messages the
sandbox serves (field numbers and types from the k8s-pb crate, JSON names from k8s-openapi).

The sandbox builds a prost-reflect descriptor pool from it, so protobuf bodies are read and
written by a maintained wire-format crate. Re-run after bumping k8s-pb or k8s-openapi:

    python3 scripts/gen-k8s-proto-schema.py
"""
import glob
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "sandbox/src/server/protobuf/k8s-proto.json")

# Packages whose kinds the sandbox serves (and those their requests carry).
PACKAGES = [
    "api/core/v1", "api/apps/v1", "api/batch/v1", "api/autoscaling/v1", "api/autoscaling/v2",
    "api/policy/v1", "api/networking/v1", "api/storage/v1", "api/discovery/v1",
    "api/events/v1", "api/admissionregistration/v1", "api/rbac/v1",
    "api/authentication/v1", "api/authorization/v1", "api/coordination/v1",
    "api/scheduling/v1", "api/node/v1",
    "apiextensions_apiserver/pkg/apis/apiextensions/v1",
    "metrics/pkg/apis/metrics/v1beta1",
    "apimachinery/pkg/apis/meta/v1", "apimachinery/pkg/runtime",
    "apimachinery/pkg/util/intstr", "apimachinery/pkg/api/resource",
]


def crate_dir(name, version):
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"], cwd=ROOT))
    for p in meta["packages"]:
        if p["name"] == name and (version is None or p["version"] == version):
            return os.path.dirname(p["manifest_path"])
    hits = sorted(glob.glob(os.path.expanduser(f"~/.cargo/registry/src/*/{name}-{version or '*'}")))
    if hits:
        return hits[-1]
    sys.exit(f"{name} {version or ''} not found: run `cargo fetch` (or `cargo info {name}`) first")


def json_names(openapi_src):
    """(module path, struct snake name) -> {rust field: json name}, and a global fallback."""
    per, glob_names = {}, {}
    for path in glob.glob(os.path.join(openapi_src, "**/*.rs"), recursive=True):
        rel = os.path.relpath(path, openapi_src)
        mod, fname = os.path.split(rel)
        text = open(path, encoding="utf-8").read()
        pairs = re.findall(r'"([A-Za-z0-9_$-]+)" => Field::Key_([a-z0-9_]+),', text)
        if not pairs:
            continue
        m = {}
        for j, r in pairs:
            m[r] = j
            glob_names.setdefault(r, j)
        per[(mod, fname[:-3])] = m
    return per, glob_names


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def camel(rust):
    head, *rest = rust.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


FIELD_HEAD = re.compile(r'#\[prost\(([^\]]*?)tag = "(\d+)"\)\]\s*pub ([a-z0-9_#]+):\s*', re.S)


def fields_of(body):
    """(attributes, tag, rust name, type) of each field; a type ends at a top-level comma."""
    for m in FIELD_HEAD.finditer(body):
        depth, i = 0, m.end()
        while i < len(body) and not (body[i] == "," and depth == 0):
            depth += {"<": 1, ">": -1}.get(body[i], 0)
            i += 1
        yield m.group(1), m.group(2), m.group(3), " ".join(body[m.end():i].split())


def resolve(mod, ty):
    """A Rust type path as written in `mod` -> 'pkg/path.Name'."""
    ty = ty.replace(" ", "").rstrip(",")
    while True:
        m = re.match(r"^[:\w]*(Option|Vec|Box)<(.*)>$", ty)
        if not m:
            break
        ty = m.group(2).rstrip(",")
    parts = ty.split("::")
    if len(parts) == 1:
        return f"{mod}.{parts[0]}"
    base = mod.split("/")
    while parts and parts[0] == "super":
        base.pop()
        parts.pop(0)
    if parts and parts[0] == "crate":
        base, parts = [], parts[1:]
    return "/".join(base + parts[:-1]) + "." + parts[-1]


INLINE = []
CANDIDATES = []


def main():
    pb = os.path.join(crate_dir("k8s-pb", "0.9.0"), "src")
    oa = os.path.join(crate_dir("k8s-openapi", None), "src", "v1_33")
    per, glob_names = json_names(oa)
    messages, kinds = {}, {}
    for mod in PACKAGES:
        text = open(os.path.join(pb, mod, "mod.rs"), encoding="utf-8").read()
        for m in re.finditer(r"pub struct (\w+) \{(\}|.*?\n\})", text, re.S):
            name, body = m.group(1), m.group(2)
            names = {k.replace("_", ""): v for k, v in per.get((mod, snake(name)), {}).items()}
            fields = []
            for attrs, tag, rust, ty in fields_of(body):
                tag = int(tag)
                rust_key = rust.replace("r#", "")
                jname = (names.get(rust_key.replace("_", "")) or glob_names.get(rust_key)
                         or camel(rust_key))
                kind = attrs.split(",")[0].strip()
                repeated = "repeated" in attrs
                ref = None
                if attrs.startswith("btree_map"):
                    k, v = re.search(r'"(\w+), (\w+)"', attrs).groups()
                    kind = f"map:{v}"
                    if v == "message":
                        ref = resolve(mod, ty.replace(" ", "").rstrip(">").rstrip(",").rsplit(",", 1)[1])
                elif kind.startswith("bytes"):
                    kind = "bytes"
                elif kind == "message":
                    ref = resolve(mod, ty)
                # Go embeds some structs inline (Probe's ProbeHandler, Volume's VolumeSource):
                # their fields sit in the parent's JSON, which k8s-openapi shows.
                candidate = (bool(names) and rust_key.replace("_", "") not in names
                             and kind == "message" and not repeated)
                if candidate:
                    CANDIDATES.append((f"{mod}.{name}", len(fields), set(names.values())))
                field = [jname, tag, kind, 1 if repeated else 0]
                if ref:
                    field.append(ref)
                fields.append(field)
            messages[f"{mod}.{name}"] = fields
        for m in re.finditer(r'impl crate::Resource for (\w+) \{\s*const API_VERSION: &\'static str = "([^"]+)";'
                             r'.*?const KIND: &\'static str = "([^"]+)";', text, re.S):
            kinds[f"{m.group(2)}/{m.group(3)}"] = f"{mod}.{m.group(1)}"
    # Inline for real only when the embedded message's fields all sit in the parent's JSON
    # (a field k8s-openapi lacks because it is newer than v1_33 is not inline).
    for parent, i, parent_json in CANDIDATES:
        f = messages[parent][i]
        inner = {g[0] for g in messages[f[4]]}
        if inner and len(inner & parent_json) * 2 >= len(inner):
            f[3] = 2
            INLINE.append(f"{parent}.{f[0]}")
    # Every kind's list, where the package has one.
    for gvk, msg in list(kinds.items()):
        if msg + "List" in messages:
            kinds[gvk + "List"] = msg + "List"
    missing = {f[4] for fs in messages.values() for f in fs if len(f) > 4} - set(messages)
    if missing:
        sys.exit(f"types referenced but not generated (add their package): {sorted(missing)}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as out:
        json.dump({"source": "k8s-pb 0.9.0, k8s-openapi v1_33", "kinds": kinds,
                   "messages": messages}, out, separators=(",", ":"), sort_keys=True)
        out.write("\n")
    print(f"{OUT}: {len(messages)} messages, {len(kinds)} kinds; inline: {', '.join(INLINE)}")


main()
