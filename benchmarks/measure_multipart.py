"""Which library parses the SDK's ``multipart/form-data`` uploads in the collector: measurements.

    python benchmarks/measure_multipart.py

Bodies shaped like the SDK's ``/runs/multipart`` (per run: ``post.{id}``, ``.inputs``,
``.outputs``, each with ``Content-Type`` and ``Content-Length``), from one small run to twenty
runs of 200 kB each. For each parser: median time per body, and whether it refuses a truncated
body (the closing delimiter missing), which the collector must answer with a 4xx.

- ``multipart`` (``PushMultipartParser``, strict): what the collector uses.
- ``requests_toolbelt`` (``MultipartDecoder``): comes with langsmith.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable

BOUNDARY = "a1b2c3d4e5f6"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def sdk_body(runs: int, payload: str) -> bytes:
    out = []
    for _ in range(runs):
        rid = str(uuid.uuid4())
        main = {"id": rid, "name": "step", "run_type": "chain", "trace_id": rid, "dotted_order": "x"}
        for name, data in (
            (f"post.{rid}", json.dumps(main).encode()),
            (f"post.{rid}.inputs", json.dumps({"q": payload}).encode()),
            (f"post.{rid}.outputs", json.dumps({"a": payload}).encode()),
        ):
            head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
            out.append(head.encode() + data + b"\r\n")
    return b"".join(out) + f"--{BOUNDARY}--\r\n".encode()


def with_multipart(body: bytes) -> int:
    import multipart

    count = 0
    with multipart.PushMultipartParser(BOUNDARY, content_length=len(body), strict=True) as parser:
        for event in parser.parse(body):
            count += event is None
    return count


def with_toolbelt(body: bytes) -> int:
    from requests_toolbelt.multipart.decoder import MultipartDecoder

    return len(MultipartDecoder(body, CONTENT_TYPE).parts)


def refuses_truncation(parse: Callable[[bytes], int]) -> bool:
    body = sdk_body(2, "x")
    try:
        parse(body[: len(body) - len(f"--{BOUNDARY}--\r\n") - 10])
    except Exception:  # noqa: BLE001 - each library raises its own kind
        return True
    return False


def main() -> None:
    parsers = {"multipart": with_multipart, "requests_toolbelt": with_toolbelt}
    for runs, size in ((1, 50), (100, 200), (1000, 1000), (20, 200_000)):
        body = sdk_body(runs, "x" * size)
        print(f"{runs} runs, {len(body) / 1e6:.2f} MB")
        for name, parse in parsers.items():
            times = []
            for _ in range(max(5, min(300, int(2e7 // len(body))))):
                started = time.perf_counter()
                assert parse(body) == 3 * runs
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            print(f"  {name:18s} {median * 1e3:8.3f} ms  {len(body) / median / 1e6:6.0f} MB/s")
    for name, parse in parsers.items():
        print(f"{name}: refuses a truncated body: {refuses_truncation(parse)}")


if __name__ == "__main__":
    main()
