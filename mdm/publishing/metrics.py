"""Prometheus metrics at /metrics, read from the database at scrape time.

Counting in the database (DeliveryRun rows, the outbox, deliveries) rather than in process memory makes
every web process answer the same totals, whichever Celery worker did the work: no multiprocess setup.
Set MDM_METRICS_TOKEN to require `Authorization: Bearer <token>`.
"""

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from mdm.models import DeliveryRun
from mdm.publishing.relay import LATENCY_BUCKETS
from mdm.publishing.selectors import backlog

OUTCOMES = ("delivered", "unchanged", "business", "technical", "outage", "dead")


class PublishingCollector(Collector):
    """Outbox depth and age, backlog per target, deliveries by outcome, commit-to-delivery latency."""

    def collect(self) -> Iterator[Metric]:
        state = backlog()
        depth = GaugeMetricFamily("mdm_outbox_pending_events", "Outbox events not yet handed to deliveries")
        depth.add_metric([], state["outbox_pending"])
        yield depth
        age = GaugeMetricFamily("mdm_outbox_oldest_event_age_seconds", "Age of the oldest pending outbox event")
        age.add_metric([], state["outbox_oldest_seconds"])
        yield age
        due = GaugeMetricFamily("mdm_deliveries_due", "Records waiting to be delivered", labels=["target"])
        oldest = GaugeMetricFamily(
            "mdm_delivery_oldest_pending_seconds", "Age of the oldest undelivered change", labels=["target"]
        )
        exceptions = GaugeMetricFamily(
            "mdm_delivery_exceptions", "Rejected or dead-lettered records", labels=["target", "state"]
        )
        for row in state["targets"]:
            due.add_metric([row["target"]], row["due"])
            oldest.add_metric([row["target"]], row["oldest_seconds"])
            exceptions.add_metric([row["target"], "rejected"], row["rejected"])
            exceptions.add_metric([row["target"], "dead"], row["dead"])
        yield due
        yield oldest
        yield exceptions

        totals = CounterMetricFamily(
            "mdm_deliveries",
            "Records handed to targets, by outcome (unchanged: skipped, no call)",
            labels=["target", "outcome"],
        )
        sums = {outcome: Sum(outcome) for outcome in OUTCOMES}
        rows = DeliveryRun.objects.values("target__code").annotate(**sums, latency=Sum("latency_sum"))
        for row in rows:
            for outcome in OUTCOMES:
                totals.add_metric([row["target__code"], outcome], row[outcome] or 0)
        yield totals

        histogram = HistogramMetricFamily(
            "mdm_publish_latency_seconds", "Commit-to-delivery time of delivered records", labels=["target"]
        )
        per_target: dict[str, dict[str, float]] = {}
        for code, buckets, total in DeliveryRun.objects.exclude(latency_buckets={}).values_list(
            "target__code", "latency_buckets", "latency_sum"
        ):
            into = per_target.setdefault(code, {"_sum": 0.0})
            into["_sum"] += total
            for bound, count in buckets.items():
                into[bound] = into.get(bound, 0) + count
        for code, counts in per_target.items():
            buckets = [(str(bound), counts.get(str(bound), 0)) for bound in LATENCY_BUCKETS]
            buckets.append(("+Inf", counts.get("+Inf", 0)))
            histogram.add_metric([code], buckets, counts["_sum"])
        yield histogram


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition of the collector above."""
    token = settings.MDM_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given, token):
            return HttpResponse("metrics need a bearer token\n", status=401, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=True)
    registry.register(PublishingCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
