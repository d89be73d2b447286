"""The PromQL of a canary's analysis and of the bot tracks' reports: whose series, which
version, over which window, and that promtool parses it. (That it counts what the data plane
did, against a real Prometheus: tests/integration/test_rollouts.py.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, generate_latest

from switchboard.api.bot import AnalysisMetric
from switchboard.contract import BOT_RESPONSE_BUCKETS, ContractMetrics
from switchboard.metrics.rollout import (
    active_conversations_query,
    analysis_seconds,
    bucket_bound,
    count_queries,
    custom_query,
    served_versions_query,
)
from switchboard.rollout.analysis import measurement
from tests.factory import contact_center

CC = contact_center(name="acme", namespace="support")


def metric(**fields: object) -> AnalysisMetric:
    return AnalysisMetric.model_validate(fields)


def queries_of(**fields: object) -> tuple[str, str]:
    found = count_queries(CC, measurement(metric(**fields)), "2.0.0", 600.0)
    assert found is not None
    return found


def test_an_outcome_rate_counts_that_outcome_of_all_outcomes_of_the_version() -> None:
    events, total = queries_of(name="containment-rate", minRelative=-0.05)
    assert events == (
        "sum(increase(switchboard_bot_conversations_total{"
        'contact_center="acme",namespace=~"support|",model_version="2.0.0",outcome="contained"}'
        "[600s]))"
    )
    assert total == (
        "sum(increase(switchboard_bot_conversations_total{"
        'contact_center="acme",namespace=~"support|",model_version="2.0.0"}[600s]))'
    )
    escalated, _ = queries_of(name="escalation-rate", max=0.3)
    failed, _ = queries_of(name="error-rate", maxRelative=0.01)
    assert 'outcome="escalated"' in escalated and 'outcome="failed"' in failed


def test_slow_turns_are_all_turns_minus_those_within_the_bound() -> None:
    slow, turns = queries_of(name="latency-p95", maxSeconds=1)
    assert turns == (
        "sum(increase(switchboard_bot_response_seconds_count{"
        'contact_center="acme",namespace=~"support|",model_version="2.0.0"}[600s]))'
    )
    assert slow == (
        f"{turns} - sum(increase(switchboard_bot_response_seconds_bucket{{"
        'contact_center="acme",namespace=~"support|",model_version="2.0.0",'
        'le=~"1|1\\\\.0"}[600s]))'
    )


def test_the_bucket_bound_matches_how_clients_write_it() -> None:
    registry = CollectorRegistry()
    ContractMetrics("acme", registry).bot_turn("2.0.0", 0.1)
    exported = set(re.findall(r'le="([^"]+)"', generate_latest(registry).decode()))
    for bound in BOT_RESPONSE_BUCKETS:
        pattern = re.compile(bucket_bound(bound))
        assert len([le for le in exported if pattern.fullmatch(le)]) == 1, bound
    # Go's client writes whole bounds without a fraction.
    for go, bound in (("1", 1.0), ("2", 2.0), ("0.5", 0.5), ("0.025", 0.025)):
        assert re.fullmatch(bucket_bound(bound), go)
    assert not re.fullmatch(bucket_bound(1.0), "10")


def test_service_level_has_no_series_per_version() -> None:
    assert count_queries(CC, measurement(metric(name="service-level", min=0.8)), "2", 60) is None


def test_a_custom_query_gets_the_version_and_the_contact_center() -> None:
    query = 'avg(my_csat{contact_center="$contact_center",version="$version",ns="$namespace"})'
    assert custom_query(CC, query, "2.0.0") == (
        'avg(my_csat{contact_center="acme",version="2.0.0",ns="support"})'
    )
    # Values are escaped for a PromQL string and not substituted again.
    assert custom_query(CC, '"$version"', 'x"$contact_center') == '"x\\"$contact_center"'


def test_a_track_s_reports_are_read_by_track_and_version() -> None:
    assert active_conversations_query(CC, "canary", "2.0.0") == (
        "max(switchboard_bot_active_conversations{"
        'contact_center="acme",namespace=~"support|",track="canary",model_version="2.0.0"})'
    )
    assert served_versions_query(CC, "stable") == (
        "count by (model_version) (switchboard_bot_active_conversations{"
        'contact_center="acme",namespace=~"support|",track="stable"})'
    )


def test_counts_are_over_the_whole_seconds_since_the_canary_began() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert analysis_seconds(start, start + timedelta(seconds=90.2)) == 91
    assert analysis_seconds(start, start) == 1


def test_promtool_parses_every_query(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus"
    built = [
        *queries_of(name="containment-rate", minRelative=-0.05),
        *queries_of(name="latency-p95", maxSeconds=0.8),
        active_conversations_query(CC, "canary", "2.0.0"),
        served_versions_query(CC, "stable"),
    ]
    rules = [{"record": f"rollout:query_{i}", "expr": promql} for i, promql in enumerate(built)]
    path = tmp_path / "rollout.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "rollout", "rules": rules}]}))
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
