"""Canary rollouts of dialogue models end to end: the real operator, the real data plane
(hack/pods.py runs the bot tracks it asks for, each serving its model from the example
ConfigMaps), a real Prometheus scraping the pods, and `switchboard loadgen` playing customers
and agents throughout.

Time is compressed (steps of seconds, the shortest analysis interval, short drains), not
faked: every decision is the controller's, on what Prometheus scraped from the bots.

The example models differ by design: telco-support 2.0.0 contains about twice the
conversations 1.0.0 does (docs/models.md). So 2.0.0 is promoted over 1.0.0 through every
step, and 1.0.0 is rolled back against 2.0.0. Whatever happens, no conversation is ever
answered by a model other than the one it started on, which the store shows.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Event

from tests.integration.contactcenters import EXAMPLES, apply, condition, contact_center
from tests.integration.kube import REPO, kubectl, wait_until
from tests.integration.operated import Operated, quickstart
from tests.integration.operator import Operator, metric_sum

SWITCHBOARD = REPO / ".venv" / "bin" / "switchboard"
MODELS = EXAMPLES / "models"
RATE = 2.0  # conversations per second
PLAY_SECONDS = 600  # longer than any test: each stops it when done


def model(version: str, holds: str | None = None) -> dict[str, str]:
    """The example model `version`, from the ConfigMap of `holds` (default: its own)."""
    return {
        "name": "telco-support",
        "version": version,
        "uri": f"configmap://telco-support-{holds or version}/model.yaml",
    }


def canary(**changes: Any) -> dict[str, Any]:
    """Two short steps, the shortest analysis interval, containment at most 10 points worse
    (a margin the test can decide on with the hundred-odd conversations a minute brings)."""
    return {
        "strategy": "Canary",
        "steps": [{"weight": 40, "pause": "20s"}, {"weight": 70, "pause": "20s"}],
        "analysis": {
            "interval": "10s",
            "metrics": [{"name": "containment-rate", "minRelative": -0.1}],
        },
        "progressDeadline": "3m",
        "drainTimeout": "45s",
        **changes,
    }


def center(version: str, prometheus_url: str, **rollout: Any) -> dict[str, Any]:
    manifest = quickstart(metrics={"prometheusURL": prometheus_url})
    manifest["spec"]["bot"] |= {"model": model(version), "rollout": canary(**rollout)}
    return manifest


def roll_to(running: Operated, manifest: dict[str, Any], bot_model: dict[str, str]) -> None:
    manifest["spec"]["bot"]["model"] = bot_model
    apply(running.namespace, manifest)


def annotate(running: Operated, value: str | None) -> None:
    change = f"switchboard.io/rollout={value}" if value else "switchboard.io/rollout-"
    done = kubectl(
        "annotate", "--overwrite", "contactcenter", running.name, "-n", running.namespace, change
    )
    assert done.returncode == 0, done.stderr


# --- what the operator shows ------------------------------------------------------------------


def rollout_status(running: Operated) -> dict[str, Any]:
    body = contact_center(running.client, running.namespace, running.name)
    status: dict[str, Any] = body.get("status", {}).get("rollout", {})
    return status


def healthy(running: Operated) -> dict[str, Any] | None:
    body = contact_center(running.client, running.namespace, running.name)
    return condition(body, "RolloutHealthy")


def reasons(running: Operated) -> list[str]:
    """The reasons of the ContactCenter's events in the order the operator created them: its
    timestamps have whole seconds, the apiserver's revisions (etcd's) do not tie."""
    events = [
        e
        for e in running.client.list(Event, namespace=running.namespace)
        if e.involvedObject.kind == "ContactCenter" and e.involvedObject.name == running.name
    ]
    events.sort(key=lambda e: int(e.metadata.resourceVersion))
    return [e.reason or "" for e in events]


def routing(running: Operated) -> dict[str, tuple[str, int]]:
    found = kubectl(
        "get", "configmap", f"{running.name}-routing", "-n", running.namespace, "-o", "json"
    )
    assert found.returncode == 0, found.stderr
    document = json.loads(json.loads(found.stdout)["data"]["routing.json"])
    return {entry["track"]: (entry["version"], entry["weight"]) for entry in document["bot"]}


def canary_deployment(running: Operated) -> Deployment | None:
    found = [
        d
        for d in running.client.list(Deployment, namespace=running.namespace)
        if d.metadata is not None and d.metadata.name == f"{running.name}-bot-canary"
    ]
    return found[0] if found else None


class Watch:
    """Samples of status.rollout (phase, step, weight) in the order they were seen."""

    def __init__(self, running: Operated) -> None:
        self.running = running
        self.seen: list[tuple[str, int, int]] = []

    def sample(self) -> dict[str, Any]:
        status = rollout_status(self.running)
        now = (status.get("phase", ""), status.get("step", 0), status.get("weight", 0))
        if not self.seen or self.seen[-1] != now:
            self.seen.append(now)
        return status

    def until(
        self, what: str, done: Callable[[dict[str, Any]], bool], timeout: float = 180
    ) -> dict[str, Any]:
        found: dict[str, Any] = wait_until(
            f"{what} (seen: {self.seen}, events: {reasons(self.running)})",
            lambda: (lambda s: s if done(s) else None)(self.sample()),
            timeout=timeout,
            interval=0.5,
        )
        return found


# --- the load -------------------------------------------------------------------------------


@contextmanager
def load(running: Operated, directory: Path, patience: str = "inf") -> Iterator[Path]:
    """`switchboard loadgen` playing RATE conversations a second on the webchat channel, judged
    against both example models, with agents for those the bot hands off; yields its report's
    path, written once it stopped (SIGINT ends the arrivals and lets customers finish)."""
    trace, token, report = directory / "trace.csv", directory / "token", directory / "report.json"
    rows = ["start,arrivals"] + [
        f"09:{minute:02d}:00,{RATE * 60:g}" for minute in range(PLAY_SECONDS // 60)
    ]
    trace.write_text("\n".join(rows) + "\n")
    token.write_text(running.token("agents-token"))
    log_path = directory / "loadgen.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                str(SWITCHBOARD),
                "loadgen",
                f"--webchat={running.url('web')}",
                f"--agents-url={running.url('agents')}",
                f"--agents-token-file={token}",
                f"--trace={trace}",
                "--think=1",
                f"--corpus={MODELS / 'telco-corpus.yaml'}",
                f"--model={MODELS / 'telco-support-1.0.0.yaml'}",
                f"--model={MODELS / 'telco-support-2.0.0.yaml'}",
                f"--patience={patience}",
                "--agents=6",
                "--agent-capacity=5",
                "--aht=3",
                "--agent-reply=1",
                "--drain=30",
                f"--report={report}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            "the load generator to begin",
            lambda: (
                process.poll() is None
                and re.search(r"^\s*\d+s\s", log_path.read_text(), re.MULTILINE)
            ),
            timeout=60,
        )
        yield report
    finally:
        if process.poll() is None:
            process.send_signal(2)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert report.exists(), log_path.read_text()[-3000:]


async def conversations(running: Operated) -> list[dict[str, Any]]:
    """Every conversation with the model it started on and the model of each bot answer."""
    database = await asyncpg.connect(running.database_uri)
    try:
        rows = await database.fetch(
            """
            SELECT c.id, c.track, c.model_version, c.state,
                   coalesce(array_agg(e.data->>'model_version')
                            FILTER (WHERE e.type = 'bot_answered'), '{}') AS answered_by
            FROM conversations c LEFT JOIN events e ON e.conversation_id = c.id
            GROUP BY c.id
            """
        )
    finally:
        await database.close()
    return [dict(row) for row in rows]


def assert_no_conversation_changed_model(found: list[dict[str, Any]]) -> None:
    changed = [c for c in found if set(c["answered_by"]) - {c["model_version"]}]
    assert not changed, f"{len(changed)} conversations answered by another model: {changed[:3]}"


def assert_nothing_lost(report: Path) -> None:
    done = json.loads(report.read_text())
    assert (done["lost_messages"], done["duplicated_messages"]) == (0, 0), done


# --- the tests ----------------------------------------------------------------------------------


def in_order(seen: list[str], expected: list[str]) -> bool:
    """Whether `expected` occurs in `seen` in that order (other items between)."""
    remaining = iter(seen)
    return all(item in remaining for item in expected)


async def test_the_better_model_is_promoted_through_every_step(
    operate: Any, prometheus: Any, operator: Operator, tmp_path: Path
) -> None:
    manifest = center("1.0.0", prometheus.url)
    running: Operated = operate(manifest, scrape=True)
    watch = Watch(running)
    start = watch.until("the stable model in status", lambda s: s.get("phase") == "Stable")
    assert start["stable"]["version"] == "1.0.0"
    with load(running, tmp_path) as report:
        await asyncio.sleep(10)  # the stable model's outcomes, to compare with
        roll_to(running, manifest, model("2.0.0"))
        watch.until("the canary's first step", lambda s: s.get("weight") == 40, timeout=90)
        assert routing(running) == {"stable": ("1.0.0", 60), "canary": ("2.0.0", 40)}
        second = watch.until("the second step", lambda s: s.get("weight") == 70)
        assert routing(running) == {"stable": ("1.0.0", 30), "canary": ("2.0.0", 70)}
        assert second["step"] == 1
        promoted = watch.until(
            "the promotion",
            lambda s: s.get("phase") == "Stable" and s["stable"]["version"] == "2.0.0",
            timeout=300,
        )
        await asyncio.sleep(15)  # new conversations on the promoted stable track
    wait_until("the canary drained and gone", lambda: canary_deployment(running) is None, 120)

    assert in_order(
        [f"{phase}/{weight}" for phase, _, weight in watch.seen],
        ["Stable/0", "Progressing/40", "Progressing/70", "Promoting/100", "Stable/0"],
    ), watch.seen
    assert in_order(
        reasons(running),
        [
            "RolloutStarted",
            "CanaryStarted",
            "RolloutStepAdvanced",
            "PromotionStarted",
            "StableModelUpdated",
            "RolloutPromoted",
        ],
    ), reasons(running)
    (verdict,) = promoted["analysis"]
    assert verdict["metric"] == "containment-rate" and verdict["verdict"] == "Pass", verdict
    assert verdict["canary"] > verdict["stable"], verdict
    assert routing(running) == {"stable": ("2.0.0", 100)}
    health = healthy(running)
    assert health is not None and health["status"] == "True", health

    found = await conversations(running)
    on = {(c["track"], c["model_version"]) for c in found}
    assert {("stable", "1.0.0"), ("canary", "2.0.0"), ("stable", "2.0.0")} <= on, on
    assert_no_conversation_changed_model(found)
    assert_nothing_lost(report)
    # The counts the analysis judged are the store's: within what increase() extrapolates.
    canary_ended = [c for c in found if c["model_version"] == "2.0.0" and c["state"] != "bot"]
    assert 10 <= verdict["canaryCount"] <= len(canary_ended) * 1.2, (verdict, len(canary_ended))

    exported = operator.metrics()
    labels = {"namespace": running.namespace, "contact_center": running.name}
    assert metric_sum(exported, "switchboard_rollout_phase", **labels, phase="Stable") == 1
    assert metric_sum(exported, "switchboard_rollout_weight", **labels) == 0
    passes = metric_sum(exported, "switchboard_rollout_analysis_total", **labels, verdict="Pass")
    assert passes >= 1


async def test_the_worse_model_is_rolled_back_and_nothing_writes_spec(
    operate: Any, prometheus: Any, tmp_path: Path
) -> None:
    manifest = center("2.0.0", prometheus.url)
    running: Operated = operate(manifest, scrape=True)
    watch = Watch(running)
    watch.until("the stable model in status", lambda s: s.get("phase") == "Stable")
    with load(running, tmp_path) as report:
        await asyncio.sleep(10)
        roll_to(running, manifest, model("1.0.0"))
        rolled_back = watch.until(
            "the rollback", lambda s: s.get("phase") == "RolledBack", timeout=300
        )
    assert rolled_back["reason"] == "AnalysisFailed"
    assert rolled_back["rejected"]["version"] == "1.0.0"
    assert rolled_back["stable"]["version"] == "2.0.0"
    assert routing(running) == {"stable": ("2.0.0", 100)}
    health = healthy(running)
    assert health is not None and health["status"] == "False", health
    assert health["reason"] == "AnalysisFailed" and "containment-rate" in health["message"]
    body = contact_center(running.client, running.namespace, running.name)
    assert body["spec"]["bot"]["model"]["version"] == "1.0.0"  # the user's, untouched
    assert "RolloutRolledBack" in reasons(running)
    wait_until("the canary drained and gone", lambda: canary_deployment(running) is None, 120)
    stable = running.client.get(Deployment, f"{running.name}-bot", namespace=running.namespace)
    assert stable.spec is not None and stable.spec.template.metadata is not None
    labels = stable.spec.template.metadata.labels or {}
    assert labels["switchboard.io/model-version"] == "2.0.0"

    found = await conversations(running)
    assert {c["model_version"] for c in found if c["track"] == "canary"} == {"1.0.0"}
    assert_no_conversation_changed_model(found)
    assert_nothing_lost(report)


async def test_a_model_whose_metrics_never_appear_is_aborted_at_the_deadline(
    operate: Any, prometheus: Any, tmp_path: Path
) -> None:
    """Version 3.0.0 named with the ConfigMap of 2.0.0: its bot refuses to serve what it finds
    there (the identity does not match), so the canary's conversations are never answered and
    no outcome of 3.0.0 ever reaches Prometheus. No data is not a failure: the step waits, and
    the progress deadline ends it."""
    deadline = "40s"
    manifest = center("2.0.0", prometheus.url, progressDeadline=deadline, drainTimeout="20s")
    manifest["spec"]["bot"]["rollout"]["steps"] = [{"weight": 20, "pause": "10s"}]
    running: Operated = operate(manifest, scrape=True)
    watch = Watch(running)
    watch.until("the stable model in status", lambda s: s.get("phase") == "Stable")
    with load(running, tmp_path, patience="15") as report:
        roll_to(running, manifest, model("3.0.0", holds="2.0.0"))
        watch.until("the canary's step", lambda s: s.get("weight") == 20, timeout=90)
        began = time.monotonic()
        aborted = watch.until("the abort", lambda s: s.get("phase") == "Aborted", timeout=180)
    # Not before the step's pause (10 s) and the deadline (40 s) have passed.
    assert time.monotonic() - began >= 48
    assert aborted["reason"] == "NoData", aborted
    assert "no data for containment-rate" in aborted["message"]
    (verdict,) = aborted["analysis"]
    assert verdict["verdict"] == "Inconclusive" and "canary" not in verdict, verdict
    health = healthy(running)
    assert health is not None and (health["status"], health["reason"]) == ("False", "NoData")
    assert routing(running) == {"stable": ("2.0.0", 100)}
    assert_nothing_lost(report)


async def test_pause_resume_promote_abort_and_a_restart_mid_rollout(
    operate: Any, prometheus: Any, operator: Operator
) -> None:
    """Manual control by annotation, within one interval each, recorded in status and events;
    and an operator stopped and started again mid-rollout carries on from status.rollout at the
    same step and weight. No analysis: the steps advance on their pauses alone."""
    manifest = center("1.0.0", prometheus.url)
    rollout = manifest["spec"]["bot"]["rollout"]
    del rollout["analysis"]
    rollout["steps"] = [{"weight": 25, "pause": "15s"}, {"weight": 50, "pause": "1h"}]
    running: Operated = operate(manifest, scrape=True)
    watch = Watch(running)
    watch.until("the stable model in status", lambda s: s.get("phase") == "Stable")
    roll_to(running, manifest, model("2.0.0"))
    watch.until("the first step", lambda s: s.get("weight") == 25, timeout=90)

    annotate(running, "pause")
    paused = watch.until("paused", lambda s: s.get("phase") == "Paused", timeout=15)
    assert paused["control"] == "pause" and paused["weight"] == 25
    await asyncio.sleep(20)  # longer than the step's pause: paused, it does not advance
    assert watch.sample()["phase"] == "Paused"
    assert routing(running) == {"stable": ("1.0.0", 75), "canary": ("2.0.0", 25)}
    annotate(running, "resume")
    watch.until(
        "resumed", lambda s: s.get("phase") == "Progressing" and s.get("control") == "resume", 15
    )
    at_step_two = watch.until(
        "the second step after the pause starts over", lambda s: s.get("weight") == 50, 60
    )

    operator.stop()
    await asyncio.sleep(3)
    operator.start()
    await asyncio.sleep(10)  # the restarted operator has decided and reconciled by now
    resumed = watch.sample()
    for field in ("phase", "step", "weight", "startedAt", "stepStartedAt", "canary", "stable"):
        assert resumed.get(field) == at_step_two.get(field), field
    assert routing(running) == {"stable": ("1.0.0", 50), "canary": ("2.0.0", 50)}
    assert reasons(running).count("RolloutStarted") == 1
    assert reasons(running).count("CanaryStarted") == 1

    annotate(running, "promote")
    promoted = watch.until(
        "the promotion by annotation",
        lambda s: s.get("phase") == "Stable" and s["stable"]["version"] == "2.0.0",
        timeout=120,
    )
    assert promoted["control"] == "promote"
    annotate(running, None)
    wait_until("the canary drained and gone", lambda: canary_deployment(running) is None, 90)

    roll_to(running, manifest, model("1.0.0"))
    watch.until("a new rollout's first step", lambda s: s.get("weight") == 25, timeout=90)
    annotate(running, "abort")
    aborted = watch.until("aborted", lambda s: s.get("phase") == "Aborted", timeout=15)
    assert (aborted["reason"], aborted["rejected"]["version"]) == ("Aborted", "1.0.0")
    assert aborted["stable"]["version"] == "2.0.0"
    assert routing(running) == {"stable": ("2.0.0", 100)}
    assert in_order(
        reasons(running),
        [
            "RolloutStarted",
            "CanaryStarted",
            "RolloutControl",
            "RolloutPaused",
            "RolloutControl",
            "RolloutResumed",
            "RolloutStepAdvanced",
            "RolloutControl",
            "PromotionStarted",
            "RolloutPromoted",
            "RolloutControl",
            "RolloutStarted",
            "RolloutControl",
            "RolloutAborted",
        ],
    ), reasons(running)
