"""The HTTP side: a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 in front of :class:`Api`.

Every request must carry the collector's API key (``x-api-key``, as the SDK sends it on every
request, ``/info`` included), a random one per collector unless given: the store holds every input
and output received. Bodies are read whole (``Content-Length`` or chunked), capped, and every
failure is answered with a 4xx JSON ``{"detail": ...}``; a request never takes the server down.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from lsautofix_collector.api import VERSION, Api
from lsautofix_collector.store import RunStore
from lsautofix_collector.wire import MAX_BODY, RequestError

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger("lsautofix_collector")



class RemoteHostError(ValueError):
    """A non-loopback address to listen on, without ``allow_remote=True``."""


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (``127.0.0.1``, ``::1``, ``localhost``)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: small for a pool's workers and their upload
    # threads all connecting at once. A real endpoint accepts far more.
    request_queue_size = 128


class _Server6(_Server):
    address_family = socket.AF_INET6


class Collector:
    """A LangSmith-compatible endpoint for the real SDK: ``with Collector() as c:``, run with ``c.env()``.

    ``zstd`` and ``multipart`` set what ``/info`` advertises, and so which ingest path the SDK
    takes: compressed multipart (default), plain multipart, or ``/runs/batch`` JSON. ``api_key``
    defaults to a random one; ``allow_remote`` permits a ``host`` that is not a loopback address.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        zstd: bool = True,
        multipart: bool = True,
        max_body: int = MAX_BODY,
        api_key: str | None = None,
        allow_remote: bool = False,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise RemoteHostError(
                f"{host!r} is not a loopback address: anyone who reaches it could read every run received. "
                "Pass allow_remote=True (--allow-remote) to listen there anyway."
            )
        self.host, self.port = host.strip("[]"), port
        #: What every request must send as ``x-api-key``; :meth:`env` gives it to the SDK.
        self.api_key = api_key or secrets.token_urlsafe(24)
        self.zstd, self.multipart, self.max_body = zstd, multipart, max_body
        self.store = RunStore()
        self.api = Api(self.store, self.info)
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """``http://HOST:PORT``, where the SDK must send; the server must be started."""
        if self._server is None:
            raise RuntimeError("the collector is not started: call start() or use it as a context manager")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Listen and serve on daemon threads; idempotent."""
        with self._lock:
            if self._server is None:
                server_class = _Server6 if ":" in self.host else _Server
                server = server_class((self.host, self.port), _handler_for(self))
                server.daemon_threads = True
                thread = threading.Thread(
                    target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="lsautofix-collector", daemon=True
                )
                thread.start()
                self._server = server
        return self

    def stop(self) -> None:
        """Stop listening; the store keeps what was received."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget everything received so far."""
        self.store.reset()

    def env(self, project: str = "default") -> dict[str, str]:
        """Environment variables that send a program's runs here, and nowhere else.

        Empty values count as unset for the SDK, which is how the overrides that could send runs
        elsewhere (extra run endpoints, OpenTelemetry modes), in both namespaces, are switched off.
        """
        url = self.url
        return {
            "LANGSMITH_ENDPOINT": url,
            "LANGCHAIN_ENDPOINT": url,
            "LANGSMITH_API_KEY": self.api_key,
            "LANGCHAIN_API_KEY": self.api_key,
            "LANGSMITH_TRACING": "true",
            "LANGSMITH_TRACING_V2": "true",
            "LANGCHAIN_TRACING_V2": "true",
            "LANGSMITH_PROJECT": project,
            "LANGCHAIN_PROJECT": project,
            "LANGSMITH_RUNS_ENDPOINTS": "",
            "LANGCHAIN_RUNS_ENDPOINTS": "",
            "LANGSMITH_OTEL_ENABLED": "",
            "LANGCHAIN_OTEL_ENABLED": "",
            "LANGSMITH_OTEL_ONLY": "",
            "LANGCHAIN_OTEL_ONLY": "",
            "LANGSMITH_TRACING_MODE": "",
            "LANGCHAIN_TRACING_MODE": "",
        }

    def info(self) -> dict[str, Any]:
        """What ``GET /info`` answers; the SDK reads the batch config and the instance flags."""
        return {
            "version": VERSION,
            "license_expiration_time": None,
            "batch_ingest_config": {
                "use_multipart_endpoint": self.multipart,
                "scale_up_qsize_trigger": 1000,
                "scale_up_nthreads_limit": 16,
                "scale_down_nempty_trigger": 4,
                "size_limit": 100,
                "size_limit_bytes": 20971520,
            },
            "instance_flags": {"zstd_compression_enabled": self.zstd},
        }


class _BodyError(RequestError):
    """The body could not be read to its end: answer, then close the connection."""


def _handler_for(collector: Collector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "lsautofix-collector"
        timeout = 60  # a client that stalls mid-request frees its thread after this

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

        def _target(self) -> tuple[str, str]:
            """(path, query) of the request target; absolute-form targets keep only their path."""
            target = str(getattr(self, "path", "") or "")
            if target.lower().startswith(("http://", "https://")):
                target = "/" + target.split("/", 3)[-1] if target.count("/") >= 3 else "/"
            path, _, query = target.partition("#")[0].partition("?")
            return path, query

        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload, default=str).encode()
            collector.store.log_request(str(self.command or ""), self._target()[0], status)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """Protocol errors from ``http.server`` as JSON 4xx (501 unknown method -> 405)."""
            if code >= 500:
                code = HTTPStatus.METHOD_NOT_ALLOWED if code == HTTPStatus.NOT_IMPLEMENTED else HTTPStatus.BAD_REQUEST
            self.close_connection = True
            self.request_version = "HTTP/1.1"  # a garbage request line leaves it at 0.9: no status line
            self._send(int(code), {"detail": message or explain or HTTPStatus(code).phrase})

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._read_chunked()
            raw = self.headers.get("Content-Length")
            if raw is None:
                return b""
            try:
                length = int(raw.strip())
            except ValueError:
                raise _BodyError(400, f"invalid Content-Length {raw[:40]!r}") from None
            if length < 0:
                raise _BodyError(400, "negative Content-Length")
            if length > collector.max_body:
                raise _BodyError(413, f"body of {length} bytes is larger than {collector.max_body}")
            body = self.rfile.read(length)
            if len(body) != length:
                raise _BodyError(400, "body shorter than its Content-Length")
            return body

        def _read_chunked(self) -> bytes:
            out = bytearray()
            while True:
                line = self.rfile.readline(1026)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise _BodyError(400, "malformed chunked body") from None
                if size < 0 or len(out) + size > collector.max_body:
                    raise _BodyError(413 if size > 0 else 400, "chunked body too large or malformed")
                if size == 0:
                    while self.rfile.readline(1026) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(out)
                chunk = self.rfile.read(size)
                if len(chunk) != size or self.rfile.readline(1026) not in (b"\r\n", b"\n"):
                    raise _BodyError(400, "malformed chunked body")
                out += chunk

        def _authorized(self) -> bool:
            sent = self.headers.get("x-api-key", "").strip().encode("utf-8", "surrogateescape")
            return hmac.compare_digest(sent, collector.api_key.encode())

        def _handle(self) -> None:
            path, query_string = self._target()
            if not self._authorized():
                self.close_connection = True  # the body stays unread: nothing of it is trusted
                self._send(401, {"detail": "missing or wrong x-api-key: use the key the collector printed (env())"})
                return
            try:
                body = self._read_body()
            except _BodyError as exc:
                self.close_connection = True
                self._send(exc.status, {"detail": exc.detail})
                return
            except (OSError, ValueError) as exc:  # the client went away or stalled mid-body
                logger.debug("collector: %s %s: %r", self.command, path, exc)
                self.close_connection = True
                return
            try:
                headers = {k.lower(): v for k, v in self.headers.items()}
                query = parse_qs(query_string, keep_blank_values=True)
                status, payload = collector.api.handle(self.command, path, query, headers, body)
            except RequestError as exc:
                status, payload = exc.status, {"detail": exc.detail}
            except Exception as exc:  # a collector bug: say so, loudly, and keep serving
                logger.exception("collector: error handling %s %s", self.command, path)
                status, payload = 500, {"detail": f"lsautofix collector bug: {exc!r}"}
            self._send(status, payload)

        def _send(self, status: int, payload: Any) -> None:
            try:
                self._reply(status, payload)
            except OSError:
                self.close_connection = True

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    return Handler
