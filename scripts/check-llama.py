#!/usr/bin/env python3
"""Runs kai against a real OpenAI-compatible server (llama-cpp-python) through a recording proxy.

Called by scripts/check-llama.sh once the server is up. Every check is about the protocol and
kai's handling of it, never about the model's wording:
  1. a one-shot in model mode ends on its own within a bounded time (answer, cut answer, step
     limit, or a named fallback);
  2. a turn with a tool call: the request that carries the tool's result (an assistant message
     with `content: ""` and its tool message) is answered 200 by the server;
  3. a context overflow (a long piped log) is reported as such, streaming on and off;
  4. the REPL prints a model answer once.
The proxy records each exchange and, for checks 2 and 4, sets `tool_choice` on the way to the
server (a named tool to force a call; "none" for a plain text answer), so that what the small
model decides does not decide what is checked.
"""

import argparse
import html
import http.server
import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

EXCHANGES = []
REWRITE = {"tool_choice": None, "first_only": True}
LOCK = threading.Lock()


class Proxy(http.server.BaseHTTPRequestHandler):
    """Forwards /v1/chat/completions to the server, relaying the stream as it comes."""

    protocol_version = "HTTP/1.0"
    upstream = ""

    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.loads(raw or b"{}")
        with LOCK:
            choice = REWRITE["tool_choice"]
            if choice is not None and body.get("tools"):
                body["tool_choice"] = choice
                if REWRITE["first_only"]:
                    REWRITE["tool_choice"] = None
        req = urllib.request.Request(
            self.upstream + self.path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        record = {"request": body, "status": None, "response": b"", "started": time.time()}
        with LOCK:
            EXCHANGES.append(record)
        try:
            resp = urllib.request.urlopen(req, timeout=600)
        except urllib.error.HTTPError as e:
            resp = e
        except OSError:
            # kai gave up on it (its deadline): nothing to relay.
            return
        record["status"] = resp.status
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
            self.end_headers()
            while True:
                chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
                if not chunk:
                    break
                record["response"] += chunk
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            record["abandoned"] = True


def answer_text(record):
    """The text a recorded response carried (streamed deltas or a whole message)."""
    text = record["response"].decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        try:
            msg = json.loads(text)["choices"][0]["message"] or {}
            return msg.get("content") or ""
        except (ValueError, KeyError, IndexError):
            return ""
    out = []
    for line in text.splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            try:
                delta = json.loads(line[5:])["choices"][0].get("delta") or {}
            except (ValueError, KeyError, IndexError):
                continue
            out.append(delta.get("content") or "")
    return "".join(out)


def fail(msg):
    print(f"llama: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def run_kai(kai, args, env, stdin=None, limit=600):
    start = time.time()
    try:
        p = subprocess.run(
            [kai, *args], input=stdin, capture_output=True, text=True, env=env, timeout=limit
        )
    except subprocess.TimeoutExpired:
        fail(f"kai {' '.join(args)} did not end within {limit}s")
    return p, time.time() - start


def check_oneshot(kai, base, env):
    with LOCK:
        EXCHANGES.clear()
    args = ["--sandbox", "demo", "--base-url", base, "--model", "local", "--max-steps", "3",
            "--max-tokens", "96", "--output", "json", "why is backend crashing"]
    p, secs = run_kai(kai, args, env)
    if p.returncode not in (0, 1, 4, 5):
        fail(f"one-shot exited {p.returncode}\n{p.stderr}")
    doc = json.loads(p.stdout)
    if not doc["answer"].strip():
        fail("one-shot printed a blank answer")
    if doc["mode"] != "model" and "answering offline:" not in p.stderr:
        fail(f"one-shot answered offline without saying why\n{p.stderr}")
    print(f"llama: one-shot ended in {secs:.0f}s: mode {doc['mode']}, exit {p.returncode}, "
          f"{len(doc['steps'])} steps, {len(EXCHANGES)} requests; warnings {doc.get('warnings')}")
    if doc["mode"] != "model":
        print("llama: (the model path ended in a named fallback: "
              + p.stderr.split("answering offline:")[1].splitlines()[0].strip() + ")")


def check_tool_turn(kai, base, env):
    with LOCK:
        EXCHANGES.clear()
        REWRITE["tool_choice"] = {"type": "function", "function": {"name": "list_pods"}}
        REWRITE["first_only"] = True
    args = ["--sandbox", "demo", "--base-url", base, "--model", "local", "--max-steps", "2",
            "--max-tokens", "96", "--output", "json", "which pods run in shop"]
    p, secs = run_kai(kai, args, env)
    doc = json.loads(p.stdout)
    calls = [s for s in doc["steps"]]
    if not calls:
        fail(f"the forced tool call did not reach kai's steps\n{p.stderr}")
    follow = [e for e in EXCHANGES
              if any(m.get("role") == "tool" for m in e["request"].get("messages", []))]
    if not follow:
        fail(f"no request carried a tool result\n{p.stderr}")
    first = follow[0]
    assistant = [m for m in first["request"]["messages"] if m.get("role") == "assistant"][0]
    if assistant.get("content") != "":
        fail(f"assistant tool-call message without content \"\": {assistant}")
    if first["status"] != 200:
        fail(f"the request after the tool call was answered {first['status']}: "
             f"{first['response'][:300]!r}")
    if EXCHANGES[0]["request"].get("max_tokens") is None:
        fail("kai sent no max_tokens")
    print(f"llama: tool call {calls[0]['tool']} answered; the next request got 200 "
          f"({len(EXCHANGES)} requests, {secs:.0f}s, exit {p.returncode}, mode {doc['mode']})")


def check_overflow(kai, base, env, stream):
    with LOCK:
        EXCHANGES.clear()
    log = "".join(
        f"2026-01-01T00:00:{i % 60:02d}Z ERROR worker-{i} connection to db-{i % 7}.shop:5432 "
        f"refused; retrying in {i % 9}s (attempt {i})\n"
        for i in range(3000)
    )
    args = ["--sandbox", "demo", "--base-url", base, "--model", "local",
            "what do these logs mean"]
    p, secs = run_kai(kai, args, env, stdin=log)
    err = p.stderr
    if "context window" not in err or "answering offline" not in err:
        fail(f"overflow (stream {stream}) not reported as such (exit {p.returncode}):\n{err}")
    statuses = [(e["request"].get("stream", False), e["status"]) for e in EXCHANGES]
    print(f"llama: overflow with stream {'on' if stream else 'off'} reported in {secs:.0f}s: "
          f"requests (stream, status) {statuses}; "
          + err.split("answering offline:")[1].splitlines()[0].strip())


def check_repl(kai, base, env):
    with LOCK:
        EXCHANGES.clear()
        REWRITE["tool_choice"] = "none"
        REWRITE["first_only"] = False
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(kai, [kai, "--sandbox", "demo", "--base-url", base, "--model", "local",
                        "--max-tokens", "48"], env)
    out = b""

    def read_until(pattern, limit):
        nonlocal out
        end = time.time() + limit
        start = len(out)
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break
                if re.search(pattern, out[start:].decode("utf-8", "replace")):
                    return out[start:].decode("utf-8", "replace")
        fail(f"REPL: no {pattern!r} within {limit}s; output so far:\n"
             + out.decode("utf-8", "replace")[-2000:])

    read_until(r"\(local\) > ", 60)
    os.write(fd, b"say hello to the cluster operator\r")
    shown = read_until(r"\(local\) > ", 300)
    os.write(fd, b"/exit\r")
    time.sleep(0.5)
    os.close(fd)
    os.waitpid(pid, 0)
    with LOCK:
        REWRITE["tool_choice"] = None
    answers = [answer_text(e) for e in EXCHANGES if e["status"] == 200]
    answers = [a for a in answers if a.strip()]
    if not answers:
        fail(f"REPL: the model answered nothing to compare; output:\n{shown}")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    norm = lambda s: re.sub(r"[^0-9A-Za-z]+", "", s)
    # What kai shows: the text before any chat-template token, entities decoded.
    shown_answer = html.unescape(re.split(r"<\|?/?[A-Za-z_]+\|?>", answers[-1].lstrip())[0])
    key = norm(shown_answer)[:24]
    if not key:
        fail(f"REPL: the answer had no letters to look for: {answers[-1]!r}")
    count = norm(plain).count(key)
    if count != 1:
        fail(f"REPL printed the answer {count} times:\n{plain}")
    print(f"llama: REPL printed the answer once ({len(answers[-1])} characters)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kai", required=True)
    ap.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", default="oneshot,tool,overflow,repl")
    a = ap.parse_args()

    Proxy.upstream = a.upstream
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"

    def env_with(config):
        d = os.path.join(a.work, f"cfg-{abs(hash(config))}")
        os.makedirs(os.path.join(d, "kai"), exist_ok=True)
        with open(os.path.join(d, "kai", "config.toml"), "w") as f:
            f.write(config)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("KAI_", "OPENAI_"))}
        env.update({"XDG_CONFIG_HOME": d, "XDG_STATE_HOME": os.path.join(a.work, "state"),
                    "HOME": a.work, "NO_COLOR": "1", "TERM": "dumb"})
        return env

    # Bounds for a slow CPU (a shared 2-core machine: the ~2,300-token system prompt and tool
    # schemas take tens of seconds to read there): one request may take 180 s, one question 400 s.
    bounds = "turn_timeout_secs = 180\ntotal_timeout_secs = 400\nidle_timeout_secs = 120\n"
    env = env_with(bounds)
    only = a.only.split(",")
    if "oneshot" in only:
        check_oneshot(a.kai, base, env)
    if "tool" in only:
        check_tool_turn(a.kai, base, env)
    if "overflow" in only:
        check_overflow(a.kai, base, env, stream=True)
        check_overflow(a.kai, base, env_with(bounds + "stream = false\n"), stream=False)
    if "repl" in only:
        check_repl(a.kai, base, env)
    print("llama: ok")


if __name__ == "__main__":
    main()
