"""Every series the Grafana dashboard and the Prometheus rules read is one the code exports
(the operator's own metrics, the metrics contract), with the labels it has. A typo, or a metric
renamed in the code, fails here instead of leaving an empty panel or an alert that can never
fire."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from switchboard.contract import ContractMetrics
from switchboard.metrics import operator as operator_metrics
from switchboard.metrics import queries
from switchboard.sizing.workloads import WORKLOADS
from tests.factory import contact_center

CHART = Path(__file__).resolve().parents[3] / "charts" / "switchboard"
DASHBOARD = CHART / "dashboards" / "switchboard.json"
RULES = CHART / "rules" / "switchboard.rules.yaml"

TARGET_LABELS = frozenset({"job", "instance"})  # Prometheus adds them to every scraped series
BUILT_IN: dict[str, frozenset[str]] = {"up": frozenset()}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENTIFIER = re.compile(r"(?<![\w.$:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "group_left", "group_right"}
_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$")


def references(promql: str) -> tuple[dict[str, set[str]], set[str]]:
    """The series an expression reads, each with the labels it matches on, and the labels it
    groups or joins by."""
    text = _STRING.sub('""', promql)
    series: dict[str, set[str]] = {}
    for name, matchers in _SELECTOR.findall(text):
        if name:
            series.setdefault(name, set()).update(_MATCHER.findall(matchers))
    grouping = {
        label.strip() for labels in _GROUPING.findall(text) for label in labels.split(",")
    } - {""}
    bare = _RANGE.sub("", _GROUPING.sub("", _SELECTOR.sub(r"\1", text)))
    for name in _IDENTIFIER.findall(bare):
        if name not in _KEYWORDS:
            series.setdefault(name, set())
    return series, grouping


def test_references_finds_series_matchers_and_grouping() -> None:
    series, grouping = references(
        'histogram_quantile(0.9, sum by (le, namespace) (rate(a_bucket{x="1", y=~"$v"}'
        "[$__rate_interval]))) / on (namespace) group_left max(b) > bool 1e3 or c offset 5m"
    )
    assert series == {"a_bucket": {"x", "y"}, "b": set(), "c": set()}
    assert grouping == {"le", "namespace"}


def _sample_names(name: str, kind: str) -> dict[str, frozenset[str]]:
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
    return {name + suffix: frozenset() for suffix in suffixes.get(kind, [""])}


def _series(metrics: Iterable[object], extra_labels: frozenset[str]) -> dict[str, frozenset[str]]:
    """The series of these metrics and their labels (le on histogram buckets)."""
    found: dict[str, frozenset[str]] = {}
    for metric in metrics:
        if not isinstance(metric, MetricWrapperBase):
            continue
        for family in metric.describe():
            for sample in _sample_names(family.name, family.type):
                extra = {"le"} if sample.endswith("_bucket") else set()
                found[sample] = frozenset(metric._labelnames) | extra | extra_labels
    return found


def operator_series() -> dict[str, frozenset[str]]:
    """The operator's series and their labels."""
    return _series(vars(operator_metrics).values(), frozenset())


def contract_series() -> dict[str, frozenset[str]]:
    """The metrics contract as `ContractMetrics` declares it for every exporter (the data plane
    and the simulator), with the namespace label Kubernetes service discovery adds."""
    contract = ContractMetrics("acme", CollectorRegistry())
    return _series(vars(contract).values(), frozenset({"namespace"}))


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def recorded_series() -> dict[str, frozenset[str]]:
    """Series the recording rules make, labelled by what they aggregate by."""
    return {
        rule["record"]: frozenset(references(rule["expr"])[1])
        for rule in rules()
        if "record" in rule
    }


def dashboard_queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every panel target and template variable of the dashboard."""
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            found = _LABEL_VALUES.match(variable["query"]["query"])
            assert found, f"variable {variable['name']}: only label_values() is expected"
            selector, label = found.groups()
            yield f"variable {variable['name']}", f"max by ({label}) ({selector})"


def all_queries() -> list[tuple[str, str]]:
    rule_queries = [(rule.get("alert") or rule["record"], rule["expr"]) for rule in rules()]
    return [*rule_queries, *dashboard_queries()]


KNOWN = {
    **operator_series(),
    **contract_series(),
    **BUILT_IN,
    **recorded_series(),
}


@pytest.mark.parametrize(("where", "promql"), all_queries(), ids=lambda value: str(value)[:60])
def test_every_series_exists_with_the_labels_used(where: str, promql: str) -> None:
    series, grouping = references(promql)
    assert series, f"{where}: no series found in {promql}"
    for name, matched in series.items():
        assert name in KNOWN, f"{where}: {name} is exported by nothing"
        labels = KNOWN[name] | TARGET_LABELS
        assert matched <= labels, f"{where}: {name} has no label {sorted(matched - labels)}"
    available = set().union(*(KNOWN[name] for name in series)) | TARGET_LABELS
    assert grouping <= available, f"{where}: no series has label {sorted(grouping - available)}"


def test_the_contract_holds_what_the_operator_queries() -> None:
    contract = contract_series()
    for workload in WORKLOADS:
        built = queries.workload_queries(contact_center(), workload)
        texts = [built.arrival_rate, built.aht, built.abandon_rate, built.service_level]
        texts += [built.backlog, built.in_system, *(q for _, q in built.recent_arrival_rates)]
        for promql in texts:
            series, _ = references(promql)
            for name, labels in series.items():
                assert name in contract, f"{workload}: {name} is not in the contract"
                assert labels <= contract[name] | TARGET_LABELS, f"{workload}: {name} {labels}"


def test_the_dashboard_and_rules_read_the_operator_and_the_contract() -> None:
    used = {name for _, promql in all_queries() for name in references(promql)[0]}
    assert used & set(operator_series()), "no operator metric in use"
    assert used & set(contract_series()), "no contract metric in use"


def test_dashboard_queries_parse(tmp_path: Path) -> None:
    """promtool parses each query (Grafana's variables replaced by what they stand for)."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus"
    variables = {"$__rate_interval": "1m", "$__range": "1h"}
    rule_group = []
    for index, (_, promql) in enumerate(dashboard_queries()):
        for variable, value in variables.items():
            promql = promql.replace(variable, value)
        rule_group.append({"record": f"dashboard:query_{index}", "expr": promql})
    path = tmp_path / "dashboard.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rule_group}]}))
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
