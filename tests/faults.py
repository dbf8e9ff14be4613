"""A misbehaving endpoint on 127.0.0.1, in front of the collector: refuse, hang, fail, slow, outage."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import urlsplit


def refused_url() -> str:
    """A loopback URL whose port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class HangingEndpoint:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._conns: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)

    def close(self) -> None:
        self._stop = True
        for c in [self._sock, *self._conns]:
            try:
                c.close()
            except OSError:
                pass


class FaultProxy:
    """Forwards to ``upstream``, but answers ``status`` while failing, after ``delay`` seconds.

    ``fail_for``: seconds from the first request during which every request gets ``status`` (None:
    always). Counted from the first request, not from start: a program that starts late on a
    loaded machine must still meet the outage.
    """

    def __init__(self, upstream: str, *, status: Optional[int] = None, fail_for: Optional[float] = None, delay: float = 0.0) -> None:
        target = urlsplit(upstream)
        proxy = self
        self.status, self.fail_for, self.delay = status, fail_for, delay
        self.started: Optional[float] = None
        self.failed = 0
        self.forwarded = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.delay:
                    time.sleep(proxy.delay)
                if proxy.started is None:
                    proxy.started = time.monotonic()
                failing = proxy.status is not None and (
                    proxy.fail_for is None or time.monotonic() - proxy.started < proxy.fail_for
                )
                if failing:
                    proxy.failed += 1
                    payload = b'{"detail": "injected fault"}'
                    self.send_response(proxy.status or 500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    if proxy.status == 429:
                        self.send_header("Retry-After", "1")
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                proxy.forwarded += 1
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
