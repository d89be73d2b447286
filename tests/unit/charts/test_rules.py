"""Every alert is labelled with a severity and links to its own section of docs/runbooks.md.
(`make lint` runs `promtool check rules` and `promtool test rules` on the same file.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "charts/switchboard/rules/switchboard.rules.yaml"
RUNBOOKS = REPO / "docs/runbooks.md"
RUNBOOKS_URL = "https://github.com/switchboard-io/switchboard/blob/main/docs/runbooks.md"


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def runbook_sections() -> set[str]:
    return set(re.findall(r"^## (\S+)$", RUNBOOKS.read_text(), flags=re.MULTILINE))


def test_the_alerts_asked_for_are_there() -> None:
    assert {alert["alert"] for alert in alerts()} == {
        "SwitchboardSLABreached",
        "SwitchboardMetricsUnavailable",
        "SwitchboardRolloutRolledBack",
        "SwitchboardOperatorDown",
        "SwitchboardReconcileErrors",
    }


@pytest.mark.parametrize("alert", alerts(), ids=lambda alert: alert["alert"])
def test_each_alert_has_a_severity_and_its_runbook(alert: dict[str, Any]) -> None:
    assert alert["labels"]["severity"] in {"warning", "critical"}
    assert alert["alert"] in runbook_sections(), f"docs/runbooks.md has no ## {alert['alert']}"
    # GitHub's anchor of a heading is the heading in lower case.
    assert alert["annotations"]["runbook_url"] == f"{RUNBOOKS_URL}#{alert['alert'].lower()}"
    assert alert["annotations"]["summary"] and alert["annotations"]["description"]


def test_every_runbook_section_belongs_to_an_alert() -> None:
    assert runbook_sections() == {alert["alert"] for alert in alerts()}
