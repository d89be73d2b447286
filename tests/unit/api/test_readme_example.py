"""The README's annotated ContactCenter is one the API accepts, and builds."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources import build_all

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_s_annotated_contact_center_is_valid() -> None:
    section = README.read_text().split("## A ContactCenter, annotated", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the section has a yaml block"
    manifest = yaml.safe_load(block.group(1))
    manifest["metadata"]["namespace"] = "support"
    cc = ContactCenter.model_validate(manifest)
    assert cc.spec.bot.autoscaling is not None and cc.spec.agents.autoscaling is not None
    assert {obj["kind"] for obj in build_all(cc)} >= {"Deployment", "StatefulSet", "Service"}
