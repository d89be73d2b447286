"""A local Prometheus server for tests and the demo (Debian's `prometheus` package), run as our
own process, never as the package's system service.

    python hack/prometheus.py install                   installs the package if it is missing
    python hack/prometheus.py up [--target HOST:PORT ...] [--scrape-interval 2s] [--fresh]
                                 [--port N]
    python hack/prometheus.py down                      stops it
    python hack/prometheus.py kill                      SIGKILL, as a crash (for tests)
    python hack/prometheus.py purge                     stops it and removes its store
    python hack/prometheus.py status                    says what runs and what it scrapes
    python hack/prometheus.py targets add HOST:PORT [--labels k=v ...]
    python hack/prometheus.py targets remove HOST:PORT
    python hack/prometheus.py targets list

State lives in .cluster/ next to the local cluster's: the configuration, the scrape targets (a
file_sd JSON file, .cluster/prometheus/targets.json: targets come and go without a restart,
within about 5 s, as Prometheus batches discovery updates), the store (.cluster/prometheus/data,
kept across restarts unless --fresh), the log (.cluster/logs/prometheus.log) and the URL of the
running server (.cluster/prometheus-url). It listens on a free loopback port, the same one again
on a restart when that one is still free. `--state-dir DIR` runs a second, independent instance.
What the local servers share is in hack/services.py.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import services
from services import Service, State

BINARY = Path(os.environ.get("PROMETHEUS_BINARY", "/usr/bin/prometheus"))
JOB = "switchboard"


def get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Prometheus(Service):
    name = "prometheus"
    package = "prometheus"
    address_file_name = "prometheus-url"
    port_names = ("http",)

    def __init__(self, state_dir: Path, scrape_interval: str = "2s") -> None:
        super().__init__(state_dir)
        self.scrape_interval = scrape_interval

    @property
    def config(self) -> Path:
        return self.home / "prometheus.yml"

    @property
    def targets(self) -> Path:
        return self.home / "targets.json"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def lock(self) -> Path:
        return self.home / "targets.lock"

    @classmethod
    def installed(cls) -> bool:
        return BINARY.exists()

    def address(self, state: State) -> str:
        return f"http://127.0.0.1:{state.ports['http']}"

    def serving(self, state: State) -> bool:
        try:
            status, _ = get(f"{self.address(state)}/-/ready")
        except OSError:
            return False
        return status == 200

    def discard_data(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)

    def launch(self, state: State) -> subprocess.Popen[bytes]:
        if not self.targets.exists():
            with targets_locked(self):
                pass
        write_config(self)
        with open(self.log, "ab") as output:
            return subprocess.Popen(
                [
                    str(BINARY),
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.data}",
                    f"--web.listen-address=127.0.0.1:{state.ports['http']}",
                    "--web.enable-lifecycle",
                    "--storage.tsdb.retention.time=15d",
                    "--log.level=warn",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, stopped as a whole
                cwd=self.home,
            )

    def details(self, state: State) -> list[str]:
        _, body = get(f"{self.address(state)}/api/v1/targets?state=active")
        lines = []
        for target in json.loads(body)["data"]["activeTargets"]:
            error = f" ({target['lastError']})" if target.get("lastError") else ""
            lines.append(
                f"target                   {target['scrapeUrl']} {target['health']}{error}"
            )
        return lines


# --- configuration and targets --------------------------------------------------------------


def write_config(prometheus: Prometheus) -> None:
    # JSON is YAML; Prometheus reads it.
    scrape_interval = prometheus.scrape_interval
    config = {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": scrape_interval,
            "evaluation_interval": scrape_interval,
        },
        "scrape_configs": [
            {
                "job_name": JOB,
                "file_sd_configs": [{"files": [str(prometheus.targets)], "refresh_interval": "5s"}],
            }
        ],
    }
    prometheus.config.write_text(json.dumps(config, indent=2) + "\n")


@contextlib.contextmanager
def targets_locked(prometheus: Prometheus) -> Iterator[list[dict[str, Any]]]:
    """The target groups, read and written back under a lock (replaced atomically, so
    Prometheus never reads half a file)."""
    prometheus.home.mkdir(parents=True, exist_ok=True)
    with open(prometheus.lock, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        groups: list[dict[str, Any]] = (
            json.loads(prometheus.targets.read_text()) if prometheus.targets.exists() else []
        )
        yield groups
        staging = prometheus.targets.with_suffix(".json.tmp")
        staging.write_text(json.dumps(groups, indent=2) + "\n")
        staging.replace(prometheus.targets)


def check_target(target: str) -> str:
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"[prometheus] a target is HOST:PORT, got {target!r}")
    return target


def parse_labels(pairs: list[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.replace("_", "a").isalnum() or name[0].isdigit():
            raise SystemExit(f"[prometheus] a label is NAME=VALUE, got {pair!r}")
        if name.startswith("__"):
            raise SystemExit(f"[prometheus] label names starting with __ are reserved: {name}")
        labels[name] = value
    return labels


def add_target(prometheus: Prometheus, target: str, labels: dict[str, str]) -> None:
    """Scrape `target` (with `labels` on its series); adding it again replaces its labels."""
    check_target(target)
    with targets_locked(prometheus) as groups:
        groups[:] = [group for group in groups if group["targets"] != [target]]
        groups.append({"targets": [target], "labels": labels})


def remove_target(prometheus: Prometheus, target: str) -> bool:
    with targets_locked(prometheus) as groups:
        before = len(groups)
        groups[:] = [group for group in groups if group["targets"] != [target]]
        return len(groups) < before


# --- commands -----------------------------------------------------------------------------


def list_targets(prometheus: Prometheus) -> None:
    groups = json.loads(prometheus.targets.read_text()) if prometheus.targets.exists() else []
    for group in groups:
        labels = ",".join(f"{name}={value}" for name, value in sorted(group["labels"].items()))
        print(" ".join(group["targets"]) + (f" {labels}" if labels else ""))


def main() -> int:
    parser, commands = services.command_line(__doc__)
    up_parser = commands.choices["up"]
    up_parser.add_argument("--target", action="append", default=[], metavar="HOST:PORT")
    up_parser.add_argument("--scrape-interval", default="2s")
    targets = commands.add_parser("targets").add_subparsers(dest="action", required=True)
    add = targets.add_parser("add")
    add.add_argument("target", metavar="HOST:PORT")
    add.add_argument("--labels", nargs="*", default=[], metavar="NAME=VALUE")
    remove = targets.add_parser("remove")
    remove.add_argument("target", metavar="HOST:PORT")
    targets.add_parser("list")
    args = parser.parse_args()
    prometheus = Prometheus(args.state_dir.resolve(), getattr(args, "scrape_interval", "2s"))
    if args.command == "up":
        for target in args.target:
            add_target(prometheus, check_target(target), {})
    if args.command in services.COMMANDS:
        return services.run(prometheus, args)
    if args.action == "add":
        add_target(prometheus, args.target, parse_labels(args.labels))
    elif args.action == "remove":
        if not remove_target(prometheus, args.target):
            prometheus.say(f"{args.target} was not a target")
    else:
        list_targets(prometheus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
