"""Prometheus metrics."""

from collections.abc import Iterator, Sequence

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ai_gateway.application.ports.operations import Measurement, MetricsSource

router = APIRouter(tags=["App"], route_class=DishkaRoute)


class _Snapshot(Collector):
    def __init__(self, measurements: Sequence[Measurement]) -> None:
        self._measurements = measurements

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for m in self._measurements:
            yield GaugeMetricFamily(m.name, m.help, value=m.value)


@router.get("/metrics", response_class=Response)
async def metrics(source: FromDishka[MetricsSource]) -> Response:
    """Queue and event backlogs, in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(await source.read()))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
