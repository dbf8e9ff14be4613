"""Decoding what the SDK puts on the wire: JSON, ``multipart/form-data``, zstd; strict and bounded.

Every failure is a :class:`RequestError` carrying the 4xx status to answer with.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from typing import Any, NamedTuple

try:
    import multipart
except ImportError as exc:  # an install without the extra: say which one
    raise ImportError(
        "the lsautofix collector needs the multipart package: pip install 'lsautofix[doctor]'"
    ) from exc

MAX_BODY = 64 * 1024 * 1024
"""Largest request body accepted, as sent (413 above)."""
MAX_DECOMPRESSED = 256 * 1024 * 1024
"""Largest zstd body accepted once decompressed (413 above): no decompression bombs."""

_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^\s;]+))', re.IGNORECASE)


class RequestError(Exception):
    """A request the collector will not take; answered with ``status`` and ``{"detail": ...}``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Part(NamedTuple):
    """One ``multipart/form-data`` part."""

    name: str
    content_type: str
    data: bytes


def loads(data: bytes, what: str = "body") -> Any:
    """JSON from bytes, or a 400 naming ``what``."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RequestError(400, f"{what} is not valid JSON: {exc}") from None


def obj(value: Any, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else a 422."""
    if not isinstance(value, dict):
        raise RequestError(422, f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def canonical_uuid(value: Any, what: str) -> str:
    """The canonical (lower-case, dashed) form of a UUID string, else a 422."""
    if isinstance(value, str) and len(value) <= 64:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise RequestError(422, f"{what} is not a UUID: {str(value)[:80]!r}")


def decompress_zstd(body: bytes, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Decode a zstd stream, all of its frames, refusing output past ``limit``.

    The SDK's compressed buffer can hold more than one frame; a one-shot decompress would stop
    after the first, so this reads across frames with a streaming reader.
    """
    try:
        import zstandard
    except ImportError:  # pragma: no cover - zstandard is a dependency of langsmith
        raise RequestError(415, "zstd bodies need the zstandard package") from None
    # A zstd stream starts with a frame's magic number (or a skippable frame's); anything shorter
    # or different is not one, even if the streaming reader would quietly return nothing for it.
    if len(body) < 4 or not (body[:4] == b"\x28\xb5\x2f\xfd" or (body[0] & 0xF0 == 0x50 and body[1:4] == b"\x2a\x4d\x18")):
        raise RequestError(400, "invalid zstd body: no zstd frame")
    out = io.BytesIO()
    try:
        with zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(body), read_across_frames=True, closefd=False
        ) as reader:
            while True:
                chunk = reader.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
                if out.tell() > limit:
                    raise RequestError(413, f"zstd body decompresses to more than {limit} bytes")
    except zstandard.ZstdError as exc:
        raise RequestError(400, f"invalid zstd body: {exc}") from None
    return out.getvalue()


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` content type, else a 400/415."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise RequestError(415, f"expected multipart/form-data, got {content_type[:80]!r}")
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise RequestError(400, "multipart/form-data without a boundary")
    boundary = (match.group(1) or match.group(2)).encode("latin-1", "replace")
    if not 1 <= len(boundary) <= 200:
        raise RequestError(400, "multipart boundary must be 1 to 200 characters")
    return boundary


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """Split a ``multipart/form-data`` body into parts, with the ``multipart`` package's strict parser.

    The body must end with the closing delimiter, and every part must be ``form-data`` with a name
    (a truncated upload is refused, not half-stored). A part's ``Content-Length``, which the SDK
    sends, must match its data.
    """
    boundary = boundary_of(content_type)
    parts: list[Part] = []
    segment: multipart.MultipartSegment | None = None
    chunks: list[bytes] = []
    try:
        with multipart.PushMultipartParser(boundary, content_length=len(body), strict=True) as parser:
            for event in parser.parse(body):
                if isinstance(event, multipart.MultipartSegment):
                    segment, chunks = event, []
                elif event:
                    chunks.append(event)
                elif segment is not None:
                    parts.append(Part(segment.name or "", segment.header("Content-Type", "") or "", b"".join(chunks)))
                    segment = None
    except multipart.ParserLimitReached as exc:
        raise RequestError(413, f"multipart body over a limit: {exc}") from None
    except multipart.MultipartError as exc:
        raise RequestError(400, f"malformed multipart body: {exc}") from None
    return parts
