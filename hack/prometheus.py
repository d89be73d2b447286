"""A local Prometheus server for tests and the demo (Debian's `prometheus` package), run as our
own process, never as the package's system service.

    python hack/prometheus.py install                   installs the package if it is missing
    python hack/prometheus.py up [--target HOST:PORT ...] [--scrape-interval 2s] [--fresh]
    python hack/prometheus.py down                      stops it
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
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processes import alive, free_port, stop_group

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO / ".cluster"
BINARY = Path(os.environ.get("PROMETHEUS_BINARY", "/usr/bin/prometheus"))
PACKAGE = "prometheus"
JOB = "switchboard"
START_TIMEOUT_SECONDS = 60.0


def log(message: str) -> None:
    print(f"[prometheus] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Paths:
    """Where one instance keeps its state."""

    state_dir: Path

    @property
    def home(self) -> Path:
        return self.state_dir / "prometheus"

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
    def state(self) -> Path:
        return self.home / "state.json"

    @property
    def lock(self) -> Path:
        return self.home / "targets.lock"

    @property
    def log(self) -> Path:
        return self.state_dir / "logs" / "prometheus.log"

    @property
    def url_file(self) -> Path:
        return self.state_dir / "prometheus-url"


# --- state and processes ------------------------------------------------------------------


@dataclass
class State:
    port: int | None = None
    pid: int | None = None

    @classmethod
    def load(cls, paths: Paths) -> State:
        if not paths.state.exists():
            return cls()
        raw = json.loads(paths.state.read_text())
        return cls(port=raw.get("port"), pid=raw.get("pid"))

    def save(self, paths: Paths) -> None:
        paths.home.mkdir(parents=True, exist_ok=True)
        paths.state.write_text(json.dumps({"port": self.port, "pid": self.pid}, indent=2) + "\n")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As Prometheus binds: a port whose old connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def ready(state: State) -> bool:
    if state.port is None or state.pid is None or not alive(state.pid):
        return False
    try:
        status, _ = get(f"{state.url}/-/ready")
    except OSError:
        return False
    return status == 200


def log_tail(paths: Paths, lines: int = 8) -> str:
    if not paths.log.exists():
        return "(no log)"
    return "\n".join(paths.log.read_text(errors="replace").splitlines()[-lines:])


def stop(paths: Paths, state: State) -> None:
    if state.pid is not None:
        stop_group(state.pid, "prometheus", "prometheus")
    state.pid = None
    state.save(paths)
    paths.url_file.unlink(missing_ok=True)


# --- configuration and targets --------------------------------------------------------------


def write_config(paths: Paths, scrape_interval: str) -> None:
    # JSON is YAML; Prometheus reads it.
    config = {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": scrape_interval,
            "evaluation_interval": scrape_interval,
        },
        "scrape_configs": [
            {
                "job_name": JOB,
                "file_sd_configs": [{"files": [str(paths.targets)], "refresh_interval": "5s"}],
            }
        ],
    }
    paths.config.write_text(json.dumps(config, indent=2) + "\n")


@contextlib.contextmanager
def targets_locked(paths: Paths) -> Iterator[list[dict[str, Any]]]:
    """The target groups, read and written back under a lock (replaced atomically, so
    Prometheus never reads half a file)."""
    paths.home.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        groups: list[dict[str, Any]] = (
            json.loads(paths.targets.read_text()) if paths.targets.exists() else []
        )
        yield groups
        staging = paths.targets.with_suffix(".json.tmp")
        staging.write_text(json.dumps(groups, indent=2) + "\n")
        staging.replace(paths.targets)


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


def add_target(paths: Paths, target: str, labels: dict[str, str]) -> None:
    """Scrape `target` (with `labels` on its series); adding it again replaces its labels."""
    check_target(target)
    with targets_locked(paths) as groups:
        groups[:] = [group for group in groups if group["targets"] != [target]]
        groups.append({"targets": [target], "labels": labels})


def remove_target(paths: Paths, target: str) -> bool:
    with targets_locked(paths) as groups:
        before = len(groups)
        groups[:] = [group for group in groups if group["targets"] != [target]]
        return len(groups) < before


# --- commands -----------------------------------------------------------------------------


def install() -> None:
    """The Debian package, only if the binary is missing; its system service stays off."""
    if BINARY.exists():
        log(f"{BINARY} is installed")
        return
    if os.geteuid() != 0:
        raise SystemExit(
            f"[prometheus] {BINARY} is missing and installing it needs root: run "
            f"`sudo apt-get update && sudo apt-get install -y --no-install-recommends {PACKAGE}`"
        )
    if shutil.which("apt-get") is None:
        raise SystemExit(
            f"[prometheus] {BINARY} is missing and there is no apt-get here: install "
            f"Prometheus 2.x and set PROMETHEUS_BINARY to its path"
        )
    log(f"installing the Debian package {PACKAGE}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-8:])
            raise SystemExit(
                f"[prometheus] `{' '.join(command)}` failed (exit {result.returncode}):\n{tail}"
            )
    disable_system_service()
    if not BINARY.exists():
        raise SystemExit(f"[prometheus] the package {PACKAGE} installed no {BINARY}")
    log(f"installed {BINARY}")


def disable_system_service() -> None:
    """The package enables a system service on port 9090; ours runs on its own port instead."""
    if Path("/run/systemd/system").exists() and shutil.which("systemctl"):
        subprocess.run(
            ["systemctl", "disable", "--now", f"{PACKAGE}.service"],
            capture_output=True,
            check=False,
        )
    elif Path(f"/etc/init.d/{PACKAGE}").exists():
        for command in (["service", PACKAGE, "stop"], ["update-rc.d", PACKAGE, "disable"]):
            if shutil.which(command[0]):
                subprocess.run(command, capture_output=True, check=False)


def up(
    paths: Paths, targets: list[str], scrape_interval: str, fresh: bool, port: int | None
) -> None:
    started = time.monotonic()
    if not BINARY.exists():
        raise SystemExit(
            f"[prometheus] {BINARY} is missing: run `make prometheus` "
            f"(or `python hack/prometheus.py install` as root)"
        )
    paths.home.mkdir(parents=True, exist_ok=True)
    paths.log.parent.mkdir(parents=True, exist_ok=True)
    for target in targets:
        add_target(paths, target, {})
    state = State.load(paths)
    if ready(state) and not fresh and (port is None or port == state.port):
        log(f"already running at {state.url}")
        paths.url_file.write_text(state.url + "\n")
        return
    stop(paths, state)
    if fresh:
        shutil.rmtree(paths.data, ignore_errors=True)
    if port is not None:
        if not port_free(port):
            raise SystemExit(f"[prometheus] port {port} is taken")
        state.port = port
    elif state.port is None or not port_free(state.port):
        state.port = free_port()
    if not paths.targets.exists():
        with targets_locked(paths):
            pass
    write_config(paths, scrape_interval)
    with open(paths.log, "ab") as output:
        process = subprocess.Popen(
            [
                str(BINARY),
                f"--config.file={paths.config}",
                f"--storage.tsdb.path={paths.data}",
                f"--web.listen-address=127.0.0.1:{state.port}",
                "--web.enable-lifecycle",
                "--storage.tsdb.retention.time=15d",
                "--log.level=warn",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as a whole
            cwd=paths.home,
        )
    state.pid = process.pid
    state.save(paths)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready(state):
        if process.poll() is not None:
            raise SystemExit(
                f"[prometheus] exited (code {process.returncode}) during start-up:\n"
                f"{log_tail(paths)}"
            )
        if time.monotonic() > deadline:
            raise SystemExit(
                f"[prometheus] not ready after {START_TIMEOUT_SECONDS:.0f} s; see {paths.log}:\n"
                f"{log_tail(paths)}"
            )
        time.sleep(0.1)
    paths.url_file.write_text(state.url + "\n")
    log(f"up in {time.monotonic() - started:.1f} s at {state.url}")


def down(paths: Paths) -> None:
    stop(paths, State.load(paths))
    log("stopped")


def status(paths: Paths) -> int:
    state = State.load(paths)
    if not ready(state):
        print("prometheus               stopped")
        return 1
    print(f"prometheus               running (pid {state.pid}) at {state.url}")
    _, body = get(f"{state.url}/api/v1/targets?state=active")
    for target in json.loads(body)["data"]["activeTargets"]:
        error = f" ({target['lastError']})" if target.get("lastError") else ""
        print(f"target                   {target['scrapeUrl']} {target['health']}{error}")
    return 0


def list_targets(paths: Paths) -> None:
    groups = json.loads(paths.targets.read_text()) if paths.targets.exists() else []
    for group in groups:
        labels = ",".join(f"{name}={value}" for name, value in sorted(group["labels"].items()))
        print(" ".join(group["targets"]) + (f" {labels}" if labels else ""))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where the instance keeps its state (default: .cluster)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install")
    up_parser = commands.add_parser("up")
    up_parser.add_argument("--target", action="append", default=[], metavar="HOST:PORT")
    up_parser.add_argument("--scrape-interval", default="2s")
    up_parser.add_argument("--port", type=int, help="listen here (default: a free port)")
    up_parser.add_argument("--fresh", action="store_true", help="start with an empty store")
    commands.add_parser("down")
    commands.add_parser("status")
    targets = commands.add_parser("targets").add_subparsers(dest="action", required=True)
    add = targets.add_parser("add")
    add.add_argument("target", metavar="HOST:PORT")
    add.add_argument("--labels", nargs="*", default=[], metavar="NAME=VALUE")
    remove = targets.add_parser("remove")
    remove.add_argument("target", metavar="HOST:PORT")
    targets.add_parser("list")
    args = parser.parse_args()
    paths = Paths(args.state_dir.resolve())
    if args.command == "install":
        install()
    elif args.command == "up":
        up(
            paths,
            [check_target(t) for t in args.target],
            args.scrape_interval,
            args.fresh,
            args.port,
        )
    elif args.command == "down":
        down(paths)
    elif args.command == "status":
        return status(paths)
    elif args.action == "add":
        add_target(paths, args.target, parse_labels(args.labels))
    elif args.action == "remove":
        if not remove_target(paths, args.target):
            log(f"{args.target} was not a target")
    else:
        list_targets(paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
