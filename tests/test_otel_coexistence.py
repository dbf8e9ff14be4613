"""OpenTelemetry's threading instrumentation, installed before or after lsautofix, keeps working."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import lsautofix

otel_threading = pytest.importorskip("opentelemetry.instrumentation.threading")
trace = pytest.importorskip("opentelemetry.trace")
sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")


@pytest.fixture(scope="module")
def tracer():
    provider = sdk_trace.TracerProvider()
    return provider.get_tracer("lsautofix-tests")


def _span_seen_in_workers(tracer) -> list[bool]:
    seen = []
    with tracer.start_as_current_span("parent") as parent:
        want = parent.get_span_context().span_id

        def check() -> None:
            seen.append(trace.get_current_span().get_span_context().span_id == want)

        thread = threading.Thread(target=check)
        thread.start()
        thread.join()
        with ThreadPoolExecutor(1) as pool:
            pool.submit(check).result()
    return seen


@pytest.mark.parametrize("order", ["otel first", "lsautofix first"])
def test_otel_context_still_reaches_threads(tracer, order):
    instrumentor = otel_threading.ThreadingInstrumentor()
    lsautofix.uninstall()
    try:
        if order == "otel first":
            instrumentor.instrument()
            lsautofix.install()
        else:
            lsautofix.install()
            instrumentor.instrument()
        assert _span_seen_in_workers(tracer) == [True, True]
    finally:  # undone in reverse order, as stacked patches must be
        if order == "otel first":
            lsautofix.uninstall()
            instrumentor.uninstrument()
        else:
            instrumentor.uninstrument()
            lsautofix.uninstall()
    assert _span_seen_in_workers(tracer) == [False, False]  # both removed: plain Python again
