#!/usr/bin/env python3
"""Drives `kai mcp` with the reference MCP client (PyPI `mcp`): stdio and streamable HTTP.

Usage: mcp-client.py KAI_BINARY WORKDIR

Checks: initialize, the tool list (schemas, annotations), every read tool on the demo sandbox,
a missing object, a forbidden kind, an unknown tool, an unreachable cluster (the server lives
on), writes refused by default, a write with --allow-writes --yes applied and audited with the
client's name, a protected namespace, elicitation accepted and declined, a client without
elicitation, progress and cancellation on a slow cluster, the `investigate` prompt, the
findings resources, and that no secret canary appears in any result.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

KAI = sys.argv[1]
WORK = Path(sys.argv[2])
CANARIES = ["S3CR3T-CANARY-7f3a9c", "tok-CANARY-91b2e4", "eyJhbGciOiJIUzI1NiJ9.CANARY.sig", "pw-CANARY-55d1"]
CLIENT = types.Implementation(name="kai-check-client", version="1.0")
READ_TOOLS = {"list_pods", "list_resources", "describe", "get_logs", "get_events", "diagnose"}
WRITE_TOOLS = {"restart", "scale", "rollout_undo"}
SEEN: list[str] = []  # every result, serialized, for the canary check


def env_for(name: str) -> dict[str, str]:
    home = WORK / name
    home.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "NO_COLOR": "1",
        "PATH": os.environ.get("PATH", ""),
    }


def audit(name: str) -> list[dict]:
    p = WORK / name / "state" / "kai" / "audit.jsonl"
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


@asynccontextmanager
async def kai(name: str, args: list[str], **session_kw):
    """A session with `kai ARGS` over stdio; its stderr goes to WORK/NAME/stderr.log."""
    params = StdioServerParameters(command=KAI, args=args, env=env_for(name))
    errlog = open(WORK / name / "stderr.log", "w")
    try:
        async with stdio_client(params, errlog=errlog) as (r, w):
            async with ClientSession(r, w, client_info=CLIENT, **session_kw) as s:
                init = await s.initialize()
                assert init.server_info.name == "kai", init.server_info
                caps = init.capabilities
                assert caps.tools is not None and caps.prompts is not None and caps.resources is not None, caps
                yield s
    finally:
        errlog.close()


def text_of(res: types.CallToolResult) -> str:
    return "\n".join(c.text for c in res.content if isinstance(c, types.TextContent))


def record(res) -> None:
    SEEN.append(res.model_dump_json())


async def ok(s: ClientSession, tool: str, args: dict, **kw) -> types.CallToolResult:
    res = await s.call_tool(tool, args, **kw)
    record(res)
    assert not res.is_error, f"{tool} {args}: {text_of(res)}"
    assert text_of(res).strip(), f"{tool} {args}: empty text"
    assert isinstance(res.structured_content, dict), f"{tool} {args}: {res.structured_content!r}"
    return res


async def err(s: ClientSession, tool: str, args: dict, *needles: str) -> str:
    res = await s.call_tool(tool, args)
    record(res)
    assert res.is_error, f"{tool} {args} should fail: {text_of(res)}"
    t = text_of(res)
    assert "\n" not in t.strip(), f"{tool}: error is not one line: {t!r}"
    for n in needles:
        assert n.lower() in t.lower(), f"{tool} {args}: {n!r} not in {t!r}"
    return t


def replicas(res: types.CallToolResult, name: str) -> int:
    """Desired replicas of deployment NAME in a `describe` result's structured content."""
    s = json.dumps(res.structured_content)
    data = res.structured_content
    for key in ("replicas", "desired"):
        v = find(data, key)
        if isinstance(v, int):
            return v
    raise AssertionError(f"no replicas for {name} in {s[:400]}")


def find(data, key):
    if isinstance(data, dict):
        if key in data and not isinstance(data[key], (dict, list)):
            return data[key]
        for v in data.values():
            r = find(v, key)
            if r is not None:
                return r
    if isinstance(data, list):
        for v in data:
            r = find(v, key)
            if r is not None:
                return r
    return None


async def read_only() -> None:
    async with kai("ro", ["--sandbox", "demo", "mcp"]) as s:
        tools = (await s.list_tools()).tools
        names = {t.name for t in tools}
        assert names == READ_TOOLS, names
        for t in tools:
            assert t.description, t.name
            assert t.input_schema.get("type") == "object", t
            a = t.annotations
            assert a is not None and a.read_only_hint is True and a.destructive_hint is False, (t.name, a)
            assert a.idempotent_hint is True, (t.name, a)

        pods = await ok(s, "list_pods", {})
        pod_names = re.findall(r"\b((?:backend|frontend)-[a-z0-9]+-[a-z0-9]+)\b", text_of(pods))
        assert pod_names, text_of(pods)
        await ok(s, "list_pods", {"all_namespaces": True, "only_unhealthy": True})
        await ok(s, "list_pods", {"label_selector": "app=backend"})
        for kind in ("deployments", "services", "secrets", "configmaps", "events", "namespaces"):
            await ok(s, "list_resources", {"kind": kind})
        await ok(s, "list_resources", {"kind": "nodes"})
        await ok(s, "describe", {"kind": "deployment", "name": "backend"})
        await ok(s, "describe", {"kind": "secret", "name": "backend-secrets"})
        await ok(s, "describe", {"kind": "pod", "name": pod_names[0]})
        await ok(s, "get_logs", {"workload": "backend"})
        await ok(s, "get_logs", {"pod": pod_names[0], "tail_lines": 20})
        await ok(s, "get_logs", {"workload": "frontend", "grep": "Authorization"})
        await ok(s, "get_events", {"warnings_only": True})
        diag = await ok(s, "diagnose", {})
        assert "backend" in text_of(diag), text_of(diag)
        await ok(s, "diagnose", {"all_namespaces": True})

        # Errors are results with isError, in one line, and the server lives on.
        await err(s, "describe", {"kind": "deployment", "name": "no-such-thing"}, "not found")
        await err(s, "list_resources", {"kind": "clusterrolebindings"})
        await err(s, "kubectl_exec", {"command": "rm -rf /"})
        await err(s, "list_pods", {"namespace": "shop", "bogus": 1}, "bogus")
        # Writes are neither listed nor run, and the refusal is audited.
        await err(s, "scale", {"kind": "deployment", "name": "backend", "replicas": 5}, "--allow-writes")
        after = await ok(s, "describe", {"kind": "deployment", "name": "backend"})
        assert replicas(after, "backend") != 5, after.structured_content
        entries = audit("ro")
        assert entries and entries[-1]["tool"] == "scale" and entries[-1]["decision"] == "denied", entries
        assert entries[-1]["client"] == CLIENT.name, entries[-1]

        # The prompt and the findings resources.
        prompts = (await s.list_prompts()).prompts
        assert [p.name for p in prompts] == ["investigate"], prompts
        p = await s.get_prompt("investigate", {"question": "why is backend crashing"})
        body = " ".join(m.content.text for m in p.messages)
        assert "why is backend crashing" in body and "diagnose" in body, body[:300]
        resources = (await s.list_resources()).resources
        uris = {str(r.uri) for r in resources}
        assert "kai://findings/namespace/shop" in uris and "kai://findings/all-namespaces" in uris, uris
        templates = (await s.list_resource_templates()).resource_templates
        assert templates and "{namespace}" in templates[0].uri_template, templates
        found = await s.read_resource("kai://findings/namespace/shop")
        record(found)
        doc = json.loads(found.contents[0].text)
        assert "backend" in json.dumps(doc), doc
        record(await s.read_resource("kai://findings/all-namespaces"))
        assert (await s.list_tools()).tools, "the server answers after the errors"
    print("mcp client: read-only server ok")


async def writes_with_yes() -> None:
    async with kai("yes", ["--sandbox", "demo", "mcp", "--allow-writes", "--yes"]) as s:
        tools = {t.name: t for t in (await s.list_tools()).tools}
        assert set(tools) == READ_TOOLS | WRITE_TOOLS, set(tools)
        for w in WRITE_TOOLS:
            a = tools[w].annotations
            assert a.read_only_hint is False and a.destructive_hint is True, (w, a)
        assert tools["scale"].annotations.idempotent_hint is True
        assert tools["restart"].annotations.idempotent_hint is False
        res = await ok(s, "scale", {"kind": "deployment", "name": "frontend", "replicas": 3})
        assert "3" in text_of(res), text_of(res)
        after = await ok(s, "describe", {"kind": "deployment", "name": "frontend"})
        assert replicas(after, "frontend") == 3, after.structured_content
        await err(s, "restart", {"kind": "deployment", "name": "coredns", "namespace": "kube-system"}, "protected")
        await err(s, "scale", {"kind": "deployment", "name": "nope", "replicas": 1}, "not found")
        entries = audit("yes")
        applied = [e for e in entries if e["tool"] == "scale" and e["result"] == "ok"]
        assert applied and applied[0]["client"] == CLIENT.name and applied[0]["decision"] == "allowed", entries
        assert "frontend" in applied[0]["target"], applied[0]
        protected = [e for e in entries if e["tool"] == "restart"]
        assert protected and protected[0]["decision"] == "denied", entries
    print("mcp client: --allow-writes --yes ok")


def elicitation(answer: str):
    asked: list[str] = []

    async def callback(context, params):
        asked.append(params.message)
        if answer == "accept":
            return types.ElicitResult(action="accept", content={"apply": True})
        return types.ElicitResult(action=answer)

    return callback, asked


async def writes_with_elicitation() -> None:
    accept, asked = elicitation("accept")
    async with kai("elicit", ["--sandbox", "demo", "mcp", "--allow-writes"], elicitation_callback=accept) as s:
        before = replicas(await ok(s, "describe", {"kind": "deployment", "name": "frontend"}), "frontend")
        res = await ok(s, "scale", {"kind": "deployment", "name": "frontend", "replicas": before + 2})
        assert asked and f"scale deployment shop/frontend: replicas {before} → {before + 2}" in asked[0], asked
        after = await ok(s, "describe", {"kind": "deployment", "name": "frontend"})
        assert replicas(after, "frontend") == before + 2, after.structured_content
        record(res)
    decline, asked = elicitation("decline")
    async with kai("decline", ["--sandbox", "demo", "mcp", "--allow-writes"], elicitation_callback=decline) as s:
        before = replicas(await ok(s, "describe", {"kind": "deployment", "name": "frontend"}), "frontend")
        await err(s, "scale", {"kind": "deployment", "name": "frontend", "replicas": before + 3}, "declined")
        assert asked, "the client was not asked"
        after = await ok(s, "describe", {"kind": "deployment", "name": "frontend"})
        assert replicas(after, "frontend") == before, after.structured_content
    async with kai("noelicit", ["--sandbox", "demo", "mcp", "--allow-writes"]) as s:
        await err(s, "scale", {"kind": "deployment", "name": "frontend", "replicas": 4}, "elicitation")
    decisions = [(e["decision"], e["result"]) for e in audit("elicit") + audit("decline") + audit("noelicit")]
    assert decisions == [("approved", "ok"), ("denied", "not-run"), ("denied", "not-run")], decisions
    assert all(e["client"] == CLIENT.name for e in audit("elicit") + audit("decline")), audit("decline")
    print("mcp client: elicitation accepted, declined, unsupported ok")


async def unreachable() -> None:
    kc = WORK / "dead.kubeconfig"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\n"
        "clusters: [{name: dead, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: dead, context: {cluster: dead, user: u, namespace: shop}}]\n"
    )
    async with kai("dead", ["--kubeconfig", str(kc), "mcp"]) as s:
        await err(s, "list_pods", {})
        await err(s, "diagnose", {"all_namespaces": True})
        assert len((await s.list_tools()).tools) == len(READ_TOOLS)
    print("mcp client: unreachable cluster ok")


def start_sandbox(name: str, extra: list[str]) -> tuple[subprocess.Popen, Path]:
    kc = WORK / f"{name}.kubeconfig"
    log = open(WORK / f"{name}.sandbox.log", "w")
    proc = subprocess.Popen([KAI, "sandbox", "demo", "--write-kubeconfig", str(kc), *extra], stdout=log, stderr=log)
    for _ in range(300):  # the kubeconfig is written once the server listens; bounded
        if kc.exists() and kc.stat().st_size > 0:
            return proc, kc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the sandbox did not start: {(WORK / f'{name}.sandbox.log').read_text()}")


async def slow_cluster() -> None:
    proc, kc = start_sandbox("slow", ["--latency-ms", "700", "--forbid", "list:secrets"])
    try:
        notes: list[tuple[float, str | None]] = []
        started = anyio.Event()

        async def progress(p, total, message):
            notes.append((p, message))
            started.set()

        async with kai("slow", ["--kubeconfig", str(kc), "-v", "mcp"]) as s:
            res = await ok(s, "diagnose", {"all_namespaces": True}, progress_callback=progress)
            assert len(notes) >= 3, notes  # started, at least one beat, done
            assert [p for p, _ in notes] == sorted(p for p, _ in notes), notes
            assert notes[-1][1] and notes[-1][1].endswith("done"), notes
            record(res)
            # Cancel a slow call once it has started; the server answers the next request.
            notes.clear()
            started = anyio.Event()
            async with anyio.create_task_group() as tg:

                async def call():
                    await s.call_tool("diagnose", {"all_namespaces": True}, progress_callback=progress)

                tg.start_soon(call)
                with anyio.fail_after(30):
                    await started.wait()
                tg.cancel_scope.cancel()
            pods = await ok(s, "list_pods", {})
            record(pods)
            # RBAC refusing a kind is a result too, and the server lives on.
            await err(s, "list_resources", {"kind": "secrets"}, "forbidden")
            await ok(s, "list_resources", {"kind": "configmaps"})
        log = (WORK / "slow" / "stderr.log").read_text()
        assert "cancelled by the client" in log, log[-2000:]
    finally:
        proc.kill()
        proc.wait()
    print("mcp client: progress and cancellation ok")


async def http() -> None:
    env = env_for("http")
    err_path = WORK / "http" / "stderr.log"
    errf = open(err_path, "w")
    proc = subprocess.Popen(
        [KAI, "--sandbox", "demo", "mcp", "--http", "127.0.0.1:0"], env=env, stdout=subprocess.PIPE, stderr=errf
    )
    try:
        url = None
        for _ in range(300):  # the URL is printed once the server listens; bounded
            m = re.search(r"http://127\.0\.0\.1:\d+/mcp", err_path.read_text())
            if m:
                url = m.group(0)
                break
            assert proc.poll() is None, err_path.read_text()
            time.sleep(0.1)
        assert url, err_path.read_text()
        async with streamable_http_client(url) as (r, w):
            async with ClientSession(r, w, client_info=CLIENT) as s:
                await s.initialize()
                assert {t.name for t in (await s.list_tools()).tools} == READ_TOOLS
                await ok(s, "diagnose", {})
                await err(s, "describe", {"kind": "deployment", "name": "no-such-thing"}, "not found")
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: a graceful stop
        out, _ = proc.communicate(timeout=30)
        errf.close()
    assert out == b"", f"stdout is not empty: {out[:200]!r}"
    assert proc.returncode == 0, (proc.returncode, err_path.read_text()[-2000:])
    print("mcp client: streamable HTTP ok")


async def main() -> None:
    await read_only()
    await writes_with_yes()
    await writes_with_elicitation()
    await unreachable()
    await slow_cluster()
    await http()
    for blob in SEEN:
        for c in CANARIES:
            assert c not in blob, f"secret canary {c} in a result: {blob[:300]}"
    print(f"mcp client: no canary in {len(SEEN)} results; all ok")


if __name__ == "__main__":
    anyio.run(main)
