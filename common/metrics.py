"""Prometheus metrics named ``nova_<service>_<thing>_<unit>``.

Metrics register on a registry passed in (the default one in production), so tests can build
services twice in one process without "duplicated timeseries" errors.
"""

from __future__ import annotations

import re

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Metrics:
    """Factory of one service's metrics, prefixed ``nova_<service>_``."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        if not _NAME.match(service):
            raise ValueError(f"service name {service!r} must be snake_case")
        self.service = service
        self.registry = registry if registry is not None else REGISTRY

    def _name(self, thing: str) -> str:
        if not _NAME.match(thing):
            raise ValueError(f"metric name {thing!r} must be snake_case")
        return f"nova_{self.service}_{thing}"

    def counter(self, thing: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(self._name(thing), doc, labels, registry=self.registry)

    def gauge(self, thing: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(self._name(thing), doc, labels, registry=self.registry)

    def histogram(
        self,
        thing: str,
        doc: str,
        labels: tuple[str, ...] = (),
        buckets: tuple[float, ...] = Histogram.DEFAULT_BUCKETS,
    ) -> Histogram:
        return Histogram(self._name(thing), doc, labels, registry=self.registry, buckets=buckets)


def isolated_registry() -> CollectorRegistry:
    """A fresh registry (tests, or several services in one process)."""
    return CollectorRegistry(auto_describe=True)


def serve_metrics(port: int, registry: CollectorRegistry | None = None) -> None:
    """Expose ``/metrics`` over HTTP on 127.0.0.1-or-all interfaces (port 0 = off)."""
    if port:
        start_http_server(port, registry=registry if registry is not None else REGISTRY)
