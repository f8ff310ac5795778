"""The Prometheus text a ``/metrics`` answers: this process's metrics (or, in a worker's
supervisor, its processes' added up) followed by the gauges read at scrape time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ai_gateway import __version__
from ai_gateway.application.ports.operations import Measurement


class BuildInfo(Collector):
    """``ai_gateway_build_info{version, revision, component} 1``: which build answers."""

    def __init__(self, revision: str, component: str) -> None:
        self.revision = revision
        self.component = component

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "ai_gateway_build_info",
            "The running build: version, revision and component (api, worker).",
            labels=["version", "revision", "component"],
        )
        family.add_metric([__version__, self.revision, self.component], 1)
        yield family


class Snapshot(Collector):
    """Measurements read at scrape time, as gauges; those sharing a name form one family."""

    def __init__(self, measurements: Iterable[Measurement]) -> None:
        self._measurements = tuple(measurements)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for m in self._measurements:
            family = families.get(m.name)
            if family is None:
                names = [name for name, _ in m.labels]
                family = families[m.name] = GaugeMetricFamily(m.name, m.help, labels=names)
            family.add_metric([value for _, value in m.labels], m.value)
        yield from families.values()


def render(collectors: Sequence[Collector], multiprocess_dir: str | None = None) -> bytes:
    """This process's metrics, or those kept in ``multiprocess_dir`` by worker processes,
    then ``collectors``."""
    if multiprocess_dir is None:
        own: CollectorRegistry = REGISTRY
    else:
        own = CollectorRegistry()
        MultiProcessCollector(own, multiprocess_dir)  # type: ignore[no-untyped-call]
    extra = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        extra.register(collector)
    return generate_latest(own) + generate_latest(extra)
