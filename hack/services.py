"""What the local servers of hack/ share (hack/prometheus.py, hack/rabbitmq.py,
hack/postgres.py, each from its Debian package): a server runs as our own process group on
free loopback ports, never as the package's system service, with its state under .cluster/
(or `--state-dir DIR`, for a second, independent instance):

    .cluster/NAME/state.json   its ports, process ids and password, kept across restarts
    .cluster/logs/NAME.log     what it prints
    .cluster/NAME-url|-uri     how to reach it, while it runs

and every one has the same commands:

    install                    the Debian package, if it is missing
    up [--fresh] [--port N]    starts it and waits until it serves (a no-op when it does),
                               on the ports of its last run when they are still free;
                               --fresh starts with empty data
    down                       stops it and its helpers
    kill                       SIGKILL to its whole process group, as a crash (for tests);
                               `up` then recovers its data on the same ports
    purge                      stops it and removes everything it keeps
    status                     says whether it runs and where (exit code 1 when it does not)
"""

from __future__ import annotations

import abc
import argparse
import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from processes import (
    alive,
    free_port,
    group_members,
    kill_group,
    port_free,
    start_time,
    stop_group,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO / ".cluster"
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def log(prefix: str, message: str) -> None:
    print(f"[{prefix}] {message}", file=sys.stderr, flush=True)


@dataclass
class State:
    """What is kept of one instance between commands."""

    ports: dict[str, int] = dataclasses.field(default_factory=dict)
    pid: int | None = None  # the server
    group: int | None = None  # its process group, helpers included
    started: int | None = None  # the start time of the group's leader (processes.start_time)
    password: str | None = None

    @classmethod
    def load(cls, path: Path) -> State:
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text())
        raw.setdefault("group", raw.get("pid"))  # as hack/prometheus.py kept it before
        return cls(**{f.name: raw[f.name] for f in dataclasses.fields(cls) if f.name in raw})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    @property
    def ours(self) -> bool:
        """Whether processes of our server's group still run (a group id alone may be
        another's after a reboot)."""
        return (
            self.group is not None
            and (self.started is None or start_time(self.group) == self.started)
            and bool(group_members(self.group))
        )

    def forget_processes(self) -> None:
        self.pid = self.group = self.started = None


def new_password() -> str:
    return secrets.token_hex(16)


def port_open(port: int) -> bool:
    """Whether something accepts connections on the loopback `port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 12) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Service(abc.ABC):
    """One kind of server: what differs between them; what they share is below."""

    name: ClassVar[str]
    package: ClassVar[str]  # the Debian package
    address_file_name: ClassVar[str]  # under the state dir: how to reach the server
    port_names: ClassVar[tuple[str, ...]]  # the first is the one `--port` sets
    start_timeout: ClassVar[float] = 60.0
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    stop_timeout: ClassVar[float] = 10.0

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    @property
    def home(self) -> Path:
        return self.state_dir / self.name

    @property
    def state_file(self) -> Path:
        return self.home / "state.json"

    @property
    def log(self) -> Path:
        return self.state_dir / "logs" / f"{self.name}.log"

    @property
    def address_file(self) -> Path:
        return self.state_dir / self.address_file_name

    def say(self, message: str) -> None:
        log(self.name, message)

    @classmethod
    @abc.abstractmethod
    def installed(cls) -> bool:
        """Whether the server's binaries are here."""

    @abc.abstractmethod
    def launch(self, state: State) -> subprocess.Popen[bytes]:
        """Prepares the configuration and data (on `state.ports`) and starts the server in
        a process group of its own, its output appended to `self.log`."""

    @abc.abstractmethod
    def serving(self, state: State) -> bool:
        """Whether the server answers clients (its process being alive)."""

    @abc.abstractmethod
    def address(self, state: State) -> str:
        """The URL or URI clients use."""

    @abc.abstractmethod
    def discard_data(self) -> None:
        """Removes the stored data, for `up --fresh`."""

    def places(self) -> list[Path]:
        """The directories the instance keeps (`purge` removes them)."""
        return [self.home]

    def after_start(self, state: State) -> None:  # noqa: B027 (most servers need none)
        """What needs the server running (users, databases); done on every start."""

    def publish_address(self, state: State) -> None:
        """Writes how to reach the running server."""
        self.address_file.write_text(self.address(state) + "\n")

    def forget_address(self) -> None:
        self.address_file.unlink(missing_ok=True)

    def details(self, state: State) -> list[str]:
        """Lines `status` adds about a running server."""
        return []


def running(service: Service, state: State) -> bool:
    return state.ours and state.pid is not None and alive(state.pid) and service.serving(state)


def assign_ports(service: Service, state: State, requested: int | None) -> None:
    """The ports of the last run where still free, others picked free; `requested` for the
    first one when given."""
    taken: set[int] = set()
    for index, name in enumerate(service.port_names):
        if index == 0 and requested is not None:
            if not port_free(requested):
                raise SystemExit(f"[{service.name}] port {requested} is taken")
            port = requested
        else:
            previous = state.ports.get(name)
            port = previous if previous is not None and port_free(previous) else free_port()
            while port in taken:
                port = free_port()
        taken.add(port)
        state.ports[name] = port


def up(service: Service, *, fresh: bool = False, port: int | None = None) -> None:
    started = time.monotonic()
    if not service.installed():
        raise SystemExit(
            f"[{service.name}] not installed: run `make packages` (or "
            f"`python hack/{service.name}.py install` as root)"
        )
    service.home.mkdir(parents=True, exist_ok=True)
    service.log.parent.mkdir(parents=True, exist_ok=True)
    state = State.load(service.state_file)
    main_port = state.ports.get(service.port_names[0])
    if running(service, state) and not fresh and port in (None, main_port):
        service.say(f"already running (pid {state.pid}) on port {main_port}")
        service.publish_address(state)
        return
    stop(service, state)
    if fresh:
        service.discard_data()
    assign_ports(service, state, port)
    process = service.launch(state)
    state.pid, state.group = process.pid, os.getpgid(process.pid)
    state.started = start_time(state.group)
    state.save(service.state_file)
    deadline = time.monotonic() + service.start_timeout
    while not service.serving(state):
        if process.poll() is not None or time.monotonic() > deadline:
            problem = (
                f"exited (code {process.returncode}) during start-up"
                if process.returncode is not None
                else f"not serving after {service.start_timeout:.0f} s"
            )
            stop(service, state)
            raise SystemExit(
                f"[{service.name}] {problem}; see {service.log}:\n{log_tail(service.log)}"
            )
        time.sleep(0.05)
    service.after_start(state)
    service.publish_address(state)
    service.say(
        f"up in {time.monotonic() - started:.1f} s on port {state.ports[service.port_names[0]]}"
    )


def stop(service: Service, state: State) -> None:
    if state.ours and state.pid is not None:
        stop_group(
            state.pid,
            service.name,
            service.name,
            group=state.group,
            stop_signal=service.stop_signal,
            timeout=service.stop_timeout,
        )
    state.forget_processes()
    state.save(service.state_file)
    service.forget_address()


def down(service: Service) -> None:
    if service.state_file.exists():
        stop(service, State.load(service.state_file))
    service.say("stopped")


def purge(service: Service) -> None:
    down(service)
    for place in service.places():
        shutil.rmtree(place, ignore_errors=True)
    service.log.unlink(missing_ok=True)
    service.say("purged")


def kill(service: Service) -> None:
    """As a crash: no chance to flush or close anything."""
    state = State.load(service.state_file)
    if state.ours and state.group is not None:
        kill_group(state.group)
        service.say(f"killed process group {state.group}")
    state.forget_processes()
    state.save(service.state_file)
    service.forget_address()


def status(service: Service) -> int:
    state = State.load(service.state_file)
    if not running(service, state):
        print(f"{service.name:<24} stopped")
        return 1
    where = service.address(state)
    if state.password:
        where = where.replace(state.password, "***")
    print(f"{service.name:<24} running (pid {state.pid}) at {where}")
    for line in service.details(state):
        print(line)
    return 0


# --- Debian packages -----------------------------------------------------------------------


def install_packages(packages: Sequence[str], prefix: str) -> None:
    """Installs `packages` with apt-get in one go. Their system services are kept from
    starting (our servers run on ports of their own) and disabled."""
    if not packages:
        return
    if os.geteuid() != 0:
        raise SystemExit(
            f"[{prefix}] missing Debian packages, and installing them needs root: run "
            f"`sudo apt-get update && sudo apt-get install -y --no-install-recommends "
            f"{' '.join(packages)}`"
        )
    if shutil.which("apt-get") is None:
        raise SystemExit(
            f"[{prefix}] no apt-get here: install what the Debian packages "
            f"{', '.join(packages)} provide yourself"
        )
    log(prefix, f"installing the Debian packages {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # invoke-rc.d asks this script whether a package may start its service: it may not.
    blocked_services = not POLICY_RC_D.exists()
    if blocked_services:
        POLICY_RC_D.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    try:
        for command in (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "--no-install-recommends", *packages],
        ):
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                tail = "\n".join((result.stdout + result.stderr).splitlines()[-8:])
                raise SystemExit(
                    f"[{prefix}] `{' '.join(command)}` failed (exit {result.returncode}):\n{tail}"
                )
    finally:
        if blocked_services:
            POLICY_RC_D.unlink(missing_ok=True)
    for package in packages:
        disable_system_service(package)
    log(prefix, f"installed {' '.join(packages)}")


def disable_system_service(name: str) -> None:
    """Stops and disables the system service `name`, if there is one."""
    if Path("/run/systemd/system").exists() and shutil.which("systemctl"):
        commands = [["systemctl", "disable", "--now", f"{name}.service"]]
    elif Path(f"/etc/init.d/{name}").exists():
        commands = [["service", name, "stop"], ["update-rc.d", name, "disable"]]
    else:
        return
    for command in commands:
        if shutil.which(command[0]):
            subprocess.run(command, capture_output=True, check=False)


def install(service: Service) -> None:
    if service.installed():
        service.say(f"{service.package} is installed")
        return
    install_packages([service.package], service.name)
    if not service.installed():
        raise SystemExit(f"[{service.name}] the package {service.package} did not install it")


# --- command line -------------------------------------------------------------------------

COMMANDS = ("install", "up", "down", "kill", "purge", "status")


def command_line(
    description: str | None,
) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    """A parser with the commands every service has, and its subcommands for more (options
    of `up` go to `subcommands.choices["up"]`)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where the instance keeps its state (default: .cluster)",
    )
    subcommands = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        subcommands.add_parser(name)
    up_parser = subcommands.choices["up"]
    up_parser.add_argument("--port", type=int, help="listen here (default: a free port)")
    up_parser.add_argument("--fresh", action="store_true", help="start with empty data")
    return parser, subcommands


def run(service: Service, args: argparse.Namespace) -> int:
    """One of COMMANDS; the exit code."""
    if args.command == "install":
        install(service)
    elif args.command == "up":
        up(service, fresh=args.fresh, port=args.port)
    elif args.command == "down":
        down(service)
    elif args.command == "kill":
        kill(service)
    elif args.command == "purge":
        purge(service)
    else:
        return status(service)
    return 0


def main(kind: Callable[[Path], Service], description: str | None) -> int:
    """The command line of a service that has no commands of its own."""
    parser, _ = command_line(description)
    args = parser.parse_args()
    return run(kind(args.state_dir.resolve()), args)
