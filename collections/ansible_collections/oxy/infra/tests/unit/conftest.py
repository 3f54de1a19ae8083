"""A scripted HTTP server that real pydo clients talk to, so unit tests never mock pydo away."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Script:
    """Answers requests from a queue of (status, body, headers); records every request."""

    def __init__(self):
        self.replies = []
        self.requests = []
        self.default = None

    def reply(self, status, body=None, headers=None, times=1):
        for _attempt in range(times):
            self.replies.append((status, body, headers or {}))

    def next(self, method, path):
        if self.replies:
            return self.replies.pop(0)
        if self.default:
            return self.default(method, path)
        raise AssertionError(f"no scripted reply left for {method} {path}")


@pytest.fixture
def api_server():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            script.requests.append((self.command, self.path, json.loads(body) if body else None, dict(self.headers)))
            status, payload, headers = script.next(self.command, self.path)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield script
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_sleep(monkeypatch):
    """Patch time.sleep (azure-core's transport and our own waits use it); record the naps."""
    import time

    naps = []
    monkeypatch.setattr(time, "sleep", naps.append)
    return naps
