"""The Grafana dashboard shows what an SRE asks of a contact center, laid out without overlaps,
on whichever Prometheus data source the viewer picks. (Its queries are checked against the
exported metrics in test_metric_names.py.)"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

DASHBOARD = Path(__file__).resolve().parents[3] / "charts/switchboard/dashboards/switchboard.json"
GRID_COLUMNS = 24


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


@pytest.mark.parametrize(
    ("title", "series"),
    [
        ("Service level vs target", ["switchboard_contacts_answered_total", "objective"]),
        ("Arrivals vs forecast", ["switchboard_contacts_arrived_total", "forecast"]),
        ("Capacity: replicas", ["desired_replicas", "current_replicas"]),
        ("Abandonment vs limit", ["switchboard_contacts_abandoned_total", "max_abandon_rate"]),
        ("Bot containment per model version", ['outcome="contained"', "model_version"]),
        ("Rollout weight", ["switchboard_rollout_weight"]),
        ("Rollout analysis verdicts", ["switchboard_rollout_analysis_total", "verdict"]),
    ],
)
def test_the_panels_asked_for_are_there(title: str, series: list[str]) -> None:
    found = [panel for panel in panels() if panel["title"] == title]
    assert found, f"no panel {title!r}"
    queries = " ".join(target["expr"] for target in found[0]["targets"])
    for part in series:
        assert part in queries, f"{title!r} does not query {part}"


def test_panel_ids_are_unique() -> None:
    ids = [panel["id"] for panel in dashboard()["panels"]]
    assert len(ids) == len(set(ids))


def test_panels_fit_the_grid_without_overlapping() -> None:
    def cells(panel: dict[str, Any]) -> set[tuple[int, int]]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]
        return {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }

    for first, second in itertools.combinations(dashboard()["panels"], 2):
        assert not cells(first) & cells(second), f"{first['title']} overlaps {second['title']}"


def test_every_query_uses_the_chosen_data_source_and_contact_centers() -> None:
    variables = {variable["name"] for variable in dashboard()["templating"]["list"]}
    assert {"datasource", "namespace", "contact_center"} <= variables
    for panel in panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            # Per-ContactCenter series follow the selection; the operator's global ones and
            # `up` have no ContactCenter to select.
            if "contact_center" in target["expr"] or "namespace" in target["expr"]:
                assert 'contact_center=~"$contact_center"' in target["expr"], panel["title"]
