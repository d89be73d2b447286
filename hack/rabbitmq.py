"""A local RabbitMQ node for tests, the demo and the benchmarks (Debian's `rabbitmq-server`
package), run as our own processes, never as the package's system service.

    python hack/rabbitmq.py install               installs the package if it is missing
    python hack/rabbitmq.py up [--fresh] [--port N]
    python hack/rabbitmq.py down                  stops it
    python hack/rabbitmq.py kill                  SIGKILL, as a crash (for tests)
    python hack/rabbitmq.py purge                 stops it and removes its data
    python hack/rabbitmq.py status                says whether it runs

`up` writes the AMQP URI (amqp://switchboard:PASSWORD@127.0.0.1:PORT/switchboard: a vhost and
an administrator, made on the node's first start) to .cluster/rabbitmq-uri. Everything lives
under .cluster/rabbitmq: the configuration, the Erlang cookie (HOME points there), the node's
data (data/, kept across restarts, so messages in quorum queues survive a `kill`) and the
plugins it loads; the log is .cluster/logs/rabbitmq.log.

The node is started by the package's own script, /usr/lib/rabbitmq/bin/rabbitmq-server (the
/usr/sbin wrapper would switch to the `rabbitmq` user and log to /var/log), with a node name
unique to the state dir, and its own epmd on a private loopback port, started first in the
same process group so that `down` and `kill` leave nothing behind. It listens on loopback only:
AMQP, the management API (.cluster/rabbitmq-management-url, for queue lengths) and Erlang
distribution each on a free port, the same ones again on a restart when they are still free.
It takes AMQP over TLS too, on another port: .cluster/rabbitmq-tls-uri (amqps://...) names it,
and its certificate, for 127.0.0.1 and localhost, is signed by a CA of its own, made once, that
clients trust from .cluster/rabbitmq-ca.crt.
Start-up is quicker with a plugins directory holding only the applications the node loads.
To run rabbitmqctl against it, give it the same HOME, ERL_EPMD_PORT and node name (`-n`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from base64 import b64encode
from pathlib import Path

import services
from pki import loopback_server_tls
from processes import kill_group
from services import Service, State

RABBITMQ_LIB = Path("/usr/lib/rabbitmq")
SERVER_SCRIPT = RABBITMQ_LIB / "bin" / "rabbitmq-server"
EPMD = Path("/usr/bin/epmd")
USER = VHOST = "switchboard"
PLUGINS = ("rabbitmq_management",)


def shipped_plugins_dir() -> Path | None:
    found = sorted(RABBITMQ_LIB.glob("lib/rabbitmq_server-*/plugins"))
    return found[-1] if found else None


def dependencies(app_file: Path) -> list[str]:
    """The applications an Erlang .app file says its application needs."""
    found = re.search(r"\{applications,\s*\[([^\]]*)\]", app_file.read_text())
    return [name for name in re.split(r"[\s,]+", found.group(1)) if name] if found else []


def needed_applications(shipped: Path, roots: tuple[str, ...]) -> dict[str, Path]:
    """The directories of the applications `roots` need, transitively, among those shipped
    in the plugins directory (the rest come with Erlang itself)."""
    by_name = {path.name.rsplit("-", 1)[0]: path for path in shipped.iterdir() if path.is_dir()}
    needed: dict[str, Path] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in needed or name not in by_name:
            continue
        needed[name] = by_name[name]
        pending += dependencies(by_name[name] / "ebin" / f"{name}.app")
    return needed


class RabbitMQ(Service):
    name = "rabbitmq"
    package = "rabbitmq-server"
    address_file_name = "rabbitmq-uri"
    port_names = ("amqp", "management", "distribution", "epmd", "amqps")
    stop_timeout = 30.0  # an orderly shutdown takes several seconds on a busy machine

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def plugins(self) -> Path:
        return self.home / "plugins"

    @property
    def config(self) -> Path:
        return self.home / "rabbitmq.conf"

    @property
    def tls_uri_file(self) -> Path:
        return self.state_dir / "rabbitmq-tls-uri"

    @property
    def ca_file(self) -> Path:
        """The CA clients that verify the node's certificate trust."""
        return self.state_dir / "rabbitmq-ca.crt"

    @property
    def management_url_file(self) -> Path:
        return self.state_dir / "rabbitmq-management-url"

    @property
    def node(self) -> str:
        # Mnesia keys the node's data by its name: the same state dir must give the same name.
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:8]
        return f"switchboard-{digest}@localhost"

    @classmethod
    def installed(cls) -> bool:
        return SERVER_SCRIPT.exists() and EPMD.exists() and shipped_plugins_dir() is not None

    def address(self, state: State) -> str:
        return f"amqp://{USER}:{state.password}@127.0.0.1:{state.ports['amqp']}/{VHOST}"

    def tls_address(self, state: State) -> str:
        return f"amqps://{USER}:{state.password}@127.0.0.1:{state.ports['amqps']}/{VHOST}"

    def management_url(self, state: State) -> str:
        return f"http://127.0.0.1:{state.ports['management']}"

    def serving(self, state: State) -> bool:
        # The management API answers (as our user: the vhost and the user exist) that the
        # AMQP listener is up, which is the last thing the node starts.
        credentials = b64encode(f"{USER}:{state.password}".encode()).decode()
        request = urllib.request.Request(
            f"{self.management_url(state)}/api/health/checks/port-listener/{state.ports['amqp']}",
            headers={"Authorization": f"Basic {credentials}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=2.0) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def discard_data(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)

    def write_config(self, state: State) -> None:
        tls = loopback_server_tls(self.home / "tls", "rabbitmq")
        # default_* make the vhost and the user on the node's first start only; the password
        # therefore stays the one in state.json for as long as the data does.
        self.config.write_text(
            "\n".join(
                [
                    f"listeners.tcp.default = 127.0.0.1:{state.ports['amqp']}",
                    f"listeners.ssl.default = 127.0.0.1:{state.ports['amqps']}",
                    f"ssl_options.cacertfile = {tls.ca}",
                    f"ssl_options.certfile = {tls.certificate}",
                    f"ssl_options.keyfile = {tls.key}",
                    "ssl_options.verify = verify_none",  # clients authenticate by password
                    "ssl_options.fail_if_no_peer_cert = false",
                    "management.tcp.ip = 127.0.0.1",
                    f"management.tcp.port = {state.ports['management']}",
                    f"default_vhost = {VHOST}",
                    f"default_user = {USER}",
                    f"default_pass = {state.password}",
                    "default_user_tags.administrator = true",
                    "default_permissions.configure = .*",
                    "default_permissions.read = .*",
                    "default_permissions.write = .*",
                    "",
                ]
            )
        )
        (self.home / "enabled_plugins").write_text(f"[{','.join(PLUGINS)}].\n")

    def link_plugins(self) -> None:
        """A plugins directory with only what the node loads: the node scans every
        application there at start-up, and the package ships about seventy."""
        shipped = shipped_plugins_dir()
        assert shipped is not None  # installed() checked it
        shutil.rmtree(self.plugins, ignore_errors=True)
        self.plugins.mkdir()
        for path in needed_applications(shipped, ("rabbit", *PLUGINS)).values():
            (self.plugins / path.name).symlink_to(path)

    def environment(self, state: State) -> dict[str, str]:
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.home),  # the Erlang cookie
            "ERL_EPMD_PORT": str(state.ports["epmd"]),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(state.ports["distribution"]),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            # A file that does not exist: the package's /etc/rabbitmq/rabbitmq-env.conf is
            # not read.
            "RABBITMQ_CONF_ENV_FILE": str(self.home / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.config),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.home / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
            "RABBITMQ_PLUGINS_DIR": str(self.plugins),
            "RABBITMQ_MNESIA_BASE": str(self.data),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_LOGS": "-",  # to our log file
        }

    def launch(self, state: State) -> subprocess.Popen[bytes]:
        state.password = state.password or services.new_password()
        self.write_config(state)
        self.link_plugins()
        with open(self.log, "ab") as output:
            epmd = subprocess.Popen(
                [str(EPMD), "-address", "127.0.0.1", "-port", str(state.ports["epmd"])],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # A process group the node joins; not a session of its own, which it could
                # not join.
                process_group=0,
            )
            # The node would start an epmd of its own, outside our group, if ours were late.
            deadline = time.monotonic() + 10.0
            while not services.port_open(state.ports["epmd"]):
                if epmd.poll() is not None or time.monotonic() > deadline:
                    kill_group(epmd.pid)
                    raise SystemExit(
                        f"[rabbitmq] epmd did not start on port {state.ports['epmd']}:\n"
                        f"{services.log_tail(self.log)}"
                    )
                time.sleep(0.02)
            return subprocess.Popen(
                [str(SERVER_SCRIPT)],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                process_group=epmd.pid,
                cwd=self.home,
                env=self.environment(state),
            )

    def details(self, state: State) -> list[str]:
        return [
            f"{'management API':<24} {self.management_url(state)}",
            f"{'rabbitmqctl':<24} HOME={self.home} ERL_EPMD_PORT={state.ports['epmd']} "
            f"rabbitmqctl -n {self.node} ...",
        ]

    def publish_address(self, state: State) -> None:
        super().publish_address(state)
        self.management_url_file.write_text(self.management_url(state) + "\n")
        self.tls_uri_file.write_text(self.tls_address(state) + "\n")
        shutil.copyfile(loopback_server_tls(self.home / "tls", "rabbitmq").ca, self.ca_file)

    def forget_address(self) -> None:
        super().forget_address()
        for published in (self.management_url_file, self.tls_uri_file, self.ca_file):
            published.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(services.main(RabbitMQ, __doc__))
