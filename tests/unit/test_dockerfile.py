"""The image the operator's pods run: what the builders assume of it holds in the Dockerfile."""

import re
from pathlib import Path

from switchboard.resources.app import USER

DOCKERFILE = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()


def test_it_runs_as_the_user_the_pod_templates_name_never_root() -> None:
    (user,) = re.findall(r"^USER (\S+)$", DOCKERFILE, flags=re.M)
    assert user == f"{USER}:{USER}"


def test_every_role_is_a_subcommand_of_its_entry_point_with_the_data_plane_installed() -> None:
    assert '\nENTRYPOINT ["switchboard"]\n' in DOCKERFILE
    assert "'.[dataplane]'" in DOCKERFILE


def test_the_base_image_is_pinned_to_a_patch_release() -> None:
    (base,) = re.findall(r"^ARG PYTHON=(\S+)$", DOCKERFILE, flags=re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base
