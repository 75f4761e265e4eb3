#!/usr/bin/env python3
"""Benchmark helper (not a test): the bytes kai sends to a model in one investigation.

Serves a scripted OpenAI-compatible endpoint on 127.0.0.1 that answers the first request with a
call of `diagnose` over all namespaces and the second with a short answer, runs
`kai --base-url ... "why is something failing"` against the kubeconfig in $KUBECONFIG, and
prints one line of figures:

  requests=<n> sent_bytes=<all request bodies> tool_bytes=<the diagnose tool message>

Usage: bench-model-bytes.py KAI_BIN
"""

import http.server
import json
import os
import subprocess
import sys
import threading

BODIES = []


def reply(handler, stream, message):
    """Answers one chat completion, streamed (SSE) or as one document."""
    if stream:
        delta = dict(message)
        delta.setdefault("role", "assistant")
        chunks = [
            {"id": "b", "object": "chat.completion.chunk", "model": "bench",
             "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {"id": "b", "object": "chat.completion.chunk", "model": "bench",
             "choices": [{"index": 0, "delta": {},
                          "finish_reason": "tool_calls" if "tool_calls" in message else "stop"}]},
        ]
        body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        ctype = "text/event-stream"
    else:
        body = json.dumps({"id": "b", "object": "chat.completion", "model": "bench",
                           "choices": [{"index": 0, "message": {"role": "assistant", **message},
                                        "finish_reason": "tool_calls" if "tool_calls" in message else "stop"}],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
        ctype = "application/json"
    data = body.encode()
    handler.send_response(200)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class Model(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        data = json.dumps({"object": "list", "data": [{"id": "bench", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        BODIES.append(raw)
        req = json.loads(raw or b"{}")
        stream = bool(req.get("stream"))
        if len(BODIES) == 1:
            call = {"id": "call_1", "type": "function",
                    "function": {"name": "diagnose", "arguments": json.dumps({"all_namespaces": True})}}
            msg = {"content": "", "tool_calls": [dict(call, index=0)] if stream else [call]}
        else:
            msg = {"content": "Done: see the diagnosis."}
        reply(self, stream, msg)


def main():
    kai = sys.argv[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Model)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    env = dict(os.environ, KAI_API_KEY="bench", NO_COLOR="1")
    subprocess.run([kai, "--base-url", url, "--model", "bench", "-A", "--read-only",
                    "why is something failing"],
                   env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=600, check=False)
    server.shutdown()
    tool = 0
    if len(BODIES) >= 2:
        for m in json.loads(BODIES[1]).get("messages", []):
            if m.get("role") == "tool":
                tool += len((m.get("content") or "").encode())
    print(f"requests={len(BODIES)} sent_bytes={sum(len(b) for b in BODIES)} tool_bytes={tool}")


if __name__ == "__main__":
    main()
