"""The routing file is re-read when the operator changes it; a bad edit keeps the last good one."""

import json
import os
from pathlib import Path

from switchboard.dataplane.gateway.routing_file import RoutingFile


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _write(path: Path, text: str) -> None:
    """As the kubelet updates a mounted ConfigMap: a new file swapped in."""
    staged = path.with_suffix(".new")
    staged.write_text(text)
    os.replace(staged, path)


def _routing(canary: int) -> str:
    tracks = [("stable", "1.0", 100 - canary), ("canary", "1.1", canary)]
    return json.dumps({"bot": [{"track": t, "version": v, "weight": w} for t, v, w in tracks]})


def _weights(routing_file: RoutingFile) -> dict[str, float]:
    routing = routing_file.current()
    assert routing is not None
    return {track.track: track.weight for track in routing.bot}


def test_a_changed_file_is_read_once_the_recheck_interval_passed(tmp_path: Path) -> None:
    path, clock = tmp_path / "routing.json", Clock()
    _write(path, _routing(canary=5))
    routing_file = RoutingFile(str(path), recheck_seconds=1.0, clock=clock)
    assert _weights(routing_file) == {"stable": 95, "canary": 5}
    assert routing_file.problem is None
    _write(path, _routing(canary=25))
    clock.now = 0.5
    assert _weights(routing_file) == {"stable": 95, "canary": 5}  # not looked at yet
    clock.now = 1.5
    assert _weights(routing_file) == {"stable": 75, "canary": 25}


def test_a_bad_edit_or_a_missing_file_keeps_the_last_good_routing_and_says_why(
    tmp_path: Path,
) -> None:
    path, clock = tmp_path / "routing.json", Clock()
    _write(path, _routing(canary=5))
    routing_file = RoutingFile(str(path), recheck_seconds=1.0, clock=clock)
    routing_file.current()
    _write(path, '{"bot": [')
    clock.now = 2.0
    assert _weights(routing_file) == {"stable": 95, "canary": 5}
    assert routing_file.problem is not None and "not JSON" in routing_file.problem
    path.unlink()
    clock.now = 4.0
    assert _weights(routing_file) == {"stable": 95, "canary": 5}
    assert routing_file.problem is not None and "cannot read" in routing_file.problem
    _write(path, _routing(canary=50))
    clock.now = 6.0
    assert _weights(routing_file) == {"stable": 50, "canary": 50}
    assert routing_file.problem is None


def test_without_a_good_file_ever_there_is_no_routing(tmp_path: Path) -> None:
    routing_file = RoutingFile(str(tmp_path / "absent.json"))
    assert routing_file.current() is None
    assert routing_file.problem is not None and "absent.json" in routing_file.problem
