#!/usr/bin/env python3
"""A loopback HTTP proxy/stub that injects faults in front of an OpenAI-compatible server, for the
remote-backend fault tests. Listens on 127.0.0.1 only and exits by itself after --lifetime seconds.

    python3 scripts/remote/fault_proxy.py [--upstream http://127.0.0.1:PORT] MODE-OPTIONS

Prints "PORT <n>" on its first stdout line once it listens.
  --delay S          wait S seconds before answering /v1/completions (a slow server; bounded by --lifetime)
  --malformed        answer /v1/completions with 200 and a body that is not JSON
  --fail-first K     answer the first K /v1/completions with --fail-status (then forward)
  --fail-status N    503 by default; 429 adds "Retry-After: 0"
  --reject N         answer every /v1/completions with status N and a body that echoes the request's
                     Authorization header (as some servers do: the client must redact it)
  --die-after K      forward K /v1/completions, then exit at once (a server killed mid-run)
  --huge MB          answer /v1/completions with 200 and MB megabytes of JSON, chunked (no length known upfront)
  --gzip-bomb MB     answer /v1/completions with a small gzip body (Content-Encoding: gzip) that expands to MB megabytes
GET /stub/stats returns {"completions": count, "authorization": last Authorization header seen}.
Without --upstream, /v1/models answers {"data": [{"id": "stub"}]} and completions need a fault mode.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()
stats = {"completions": 0, "authorization": None}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):  # quiet
        pass

    def reply(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def forward(self, body: bytes | None) -> None:
        if not args.upstream:
            self.reply(500, b'{"error": {"message": "stub has no upstream"}}')
            return
        req = urllib.request.Request(args.upstream.rstrip("/") + self.path, data=body, method=self.command)
        for h in ("Content-Type", "Authorization", "Accept"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        try:
            with urllib.request.urlopen(req, timeout=args.lifetime) as r:
                self.reply(r.status, r.read())
        except urllib.error.HTTPError as e:
            self.reply(e.code, e.read())

    def do_GET(self):
        if self.path == "/stub/stats":
            with lock:
                self.reply(200, json.dumps(stats).encode())
            return
        if self.path.rstrip("/").endswith("/models") and not args.upstream:
            self.reply(200, b'{"object": "list", "data": [{"id": "stub", "object": "model"}]}')
            return
        self.forward(None)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        if not self.path.rstrip("/").endswith("/completions"):
            self.forward(body)
            return
        with lock:
            stats["completions"] += 1
            n = stats["completions"]
            stats["authorization"] = self.headers.get("Authorization")
        if args.die_after is not None and n > args.die_after:
            os._exit(0)
        if args.delay:
            time.sleep(min(args.delay, args.lifetime))
        if args.malformed:
            self.reply(200, b'{"id": "cmpl-1", "choices": [{"text": "x", "logprobs": {"tokens": [')
            return
        if args.huge:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b'"' + b"x" * (1 << 20) + b'",'
            try:
                parts = [b'{"choices": [{"text": ['] + [chunk] * args.huge + [b'""]}]}']
                for part in parts:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up once it had enough: that is the point
            return
        if args.gzip_bomb:
            raw = io.BytesIO()
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as z:
                z.write(b'{"choices": [{"text": "')
                block = b" " * (1 << 20)
                for _ in range(args.gzip_bomb):
                    z.write(block)
                z.write(b'"}]}')
            try:
                self.reply(200, raw.getvalue(), {"Content-Encoding": "gzip"})
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if args.reject:
            auth = self.headers.get("Authorization") or ""
            self.reply(args.reject, json.dumps({"error": {"message": f"Incorrect API key provided: {auth}"}}).encode())
            return
        if args.fail_first and n <= args.fail_first:
            headers = {"Retry-After": "0"} if args.fail_status == 429 else None
            self.reply(args.fail_status, b'{"error": {"message": "overloaded, try again"}}', headers)
            return
        self.forward(body)


def main() -> int:
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream")
    ap.add_argument("--delay", type=float, default=0)
    ap.add_argument("--malformed", action="store_true")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--fail-status", type=int, default=503)
    ap.add_argument("--reject", type=int)
    ap.add_argument("--die-after", type=int)
    ap.add_argument("--huge", type=int, default=0)
    ap.add_argument("--gzip-bomb", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=300)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
