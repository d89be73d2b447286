"""A local PostgreSQL server for tests, the demo and the benchmarks (Debian's `postgresql`
package, whichever major version it installs), run as our own process, never as the
package's system service or cluster.

    python hack/postgres.py install               installs the package if it is missing
    python hack/postgres.py up [--fresh] [--port N]
    python hack/postgres.py down                  stops it (a fast shutdown)
    python hack/postgres.py kill                  SIGKILL, as a crash (for tests)
    python hack/postgres.py purge                 stops it and removes its data
    python hack/postgres.py status                says whether it runs

`up` initialises the data directory on first use (.cluster/postgres/data, kept across
restarts, so committed rows survive a `kill`), starts the server on 127.0.0.1 and a free port
(the same again on a restart when it is still free), makes a database and a user owning it
with a password, and writes its URI (postgresql://switchboard:PASSWORD@127.0.0.1:PORT/
switchboard) to .cluster/postgres-uri. The log is .cluster/logs/postgres.log.

The server also takes TLS on the same port (plain connections stay allowed): its certificate,
for 127.0.0.1 and localhost, is signed by a CA of its own, made once; clients that verify it
trust .cluster/postgres-ca.crt (`sslmode=verify-full`).

TCP clients authenticate with a password (scram-sha-256). The superuser `postgres` has none:
it connects only through the Unix socket, which lives in the state dir (never /var/run) and
only the server's own user may open. fsync stays on: the data plane's no-loss guarantee is
tested by killing the server.

PostgreSQL refuses to run as root. As root (how tests run here), the server runs as the
package's unprivileged `postgres` user: the data and socket directories are created for it
(owned by it, mode 0700), and the server is started with its uid and gid. When that user
cannot reach the state dir (a checkout under /root, say), those two directories move to
/var/tmp/switchboard-postgres-HASH; state.json, the log and the URI stay in the state dir.
As any other user, the server runs as that user.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import services
from pki import ServerTls, loopback_server_tls
from processes import alive
from services import Service, State

POSTGRESQL_LIB = Path("/usr/lib/postgresql")
USER = DATABASE = "switchboard"
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_permissions": "0700",
    "max_connections": "200",  # several data-plane processes, each with a pool
    # Small, for a 2-core test machine shared with a cluster and the data plane.
    "shared_buffers": "64MB",
    "work_mem": "4MB",
    "maintenance_work_mem": "32MB",
    "effective_cache_size": "512MB",
    "max_wal_size": "256MB",
    "min_wal_size": "64MB",
    "max_worker_processes": "4",
    "max_parallel_workers": "2",
    "max_parallel_workers_per_gather": "1",
    "huge_pages": "off",
    # Durability as in production: a kill must not lose a committed row.
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    # After a crash, one syncfs() of the data's file system rather than an fsync() per file
    # before recovery: as durable, and seconds quicker back up after a kill.
    "recovery_init_sync_method": "syncfs",
    "TimeZone": "UTC",
    "log_timezone": "UTC",
    "logging_collector": "off",  # to stderr, which is our log file
    "log_line_prefix": "%m [%p] %q%u@%d ",
}


def bindir() -> Path | None:
    """The binaries of the newest major version installed."""
    found = [path.parent for path in POSTGRESQL_LIB.glob("*/bin/postgres")]
    return max(found, key=lambda path: int(path.parent.name)) if found else None


@dataclass(frozen=True)
class Account:
    """The operating-system user the server runs as."""

    uid: int
    gid: int

    @classmethod
    def for_server(cls) -> Account:
        if os.geteuid() != 0:
            return cls(os.geteuid(), os.getegid())
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError as missing:
            raise SystemExit(
                "[postgres] running as root needs the `postgres` user the package creates"
            ) from missing
        return cls(entry.pw_uid, entry.pw_gid)

    @property
    def switches(self) -> bool:
        return self.uid != os.geteuid()

    def popen_options(self) -> dict[str, Any]:
        """What subprocess needs to run a command as this user."""
        if not self.switches:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def can_reach(self, directory: Path) -> bool:
        if not self.switches:
            return True
        probe = ["test", "-x", str(directory)]
        return subprocess.run(probe, check=False, **self.popen_options()).returncode == 0

    def owned_directory(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        path.chmod(0o700)


def remove_stale_lock(lock: Path) -> None:
    """Removes a lock file whose server is gone. PostgreSQL checks that itself, but a server
    killed a moment ago can linger as a zombie its new parent has not reaped yet, which it
    takes for a live server."""
    if not lock.exists():
        return
    pid = abs(int(lock.read_text().split()[0]))  # negative for a single-user backend
    if not alive(pid):
        lock.unlink()


class Postgres(Service):
    name = "postgres"
    package = "postgresql"
    address_file_name = "postgres-uri"
    port_names = ("postgres",)
    stop_signal = signal.SIGINT  # a fast shutdown: sessions end, committed work is flushed

    @functools.cached_property
    def account(self) -> Account:
        return Account.for_server()

    @functools.cached_property
    def server_dir(self) -> Path:
        """Where the data and the socket live: in the state dir, if the server's user can
        reach it."""
        if self.account.can_reach(self.state_dir):
            return self.home
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:8]
        return Path("/var/tmp") / f"switchboard-postgres-{digest}"

    @classmethod
    def installed(cls) -> bool:
        binaries = bindir()
        return binaries is not None and all(
            (binaries / name).exists() for name in ("initdb", "postgres", "psql")
        )

    def binary(self, name: str) -> str:
        binaries = bindir()
        assert binaries is not None  # installed() checked it
        return str(binaries / name)

    def address(self, state: State) -> str:
        port = state.ports["postgres"]
        return f"postgresql://{USER}:{state.password}@127.0.0.1:{port}/{DATABASE}"

    def serving(self, state: State) -> bool:
        # The server's lock file says when it accepts connections (its 8th line, "ready"):
        # polling it, unlike connecting, fills no log with "the database system is starting up".
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return (
            len(lines) >= 8
            and lines[0] == str(state.pid)
            and lines[7].strip() == "ready"
            and services.port_open(state.ports["postgres"])
        )

    @property
    def data(self) -> Path:
        return self.server_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.server_dir / "socket"

    def discard_data(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)

    def places(self) -> list[Path]:
        return [self.home, self.server_dir]

    def initdb(self) -> None:
        self.account.owned_directory(self.data)
        with open(self.log, "ab") as output:
            result = subprocess.run(
                [
                    self.binary("initdb"),
                    f"--pgdata={self.data}",
                    "--username=postgres",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=False,
                **self.account.popen_options(),
            )
        if result.returncode != 0:
            shutil.rmtree(self.data, ignore_errors=True)
            raise SystemExit(
                f"[postgres] initdb failed (exit {result.returncode}):\n"
                f"{services.log_tail(self.log)}"
            )

    @property
    def ca_file(self) -> Path:
        """The CA clients that verify the server's certificate trust."""
        return self.state_dir / "postgres-ca.crt"

    def tls_files(self) -> ServerTls:
        """The server's certificate and key, its user's own (PostgreSQL refuses a key that
        others may read)."""
        files = loopback_server_tls(self.server_dir / "tls", "postgres")
        for path in (files.certificate.parent, files.certificate, files.key):
            os.chown(path, self.account.uid, self.account.gid)
        return files

    def publish_address(self, state: State) -> None:
        super().publish_address(state)
        shutil.copyfile(self.tls_files().ca, self.ca_file)

    def forget_address(self) -> None:
        super().forget_address()
        self.ca_file.unlink(missing_ok=True)

    def write_hba(self) -> Path:
        """Who may connect how: the socket (only the server's user can open it) without a
        password, TCP on loopback with one."""
        hba = self.server_dir / "pg_hba.conf"
        hba.write_text(
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all       all                 trust\n"
            "host    all       all   127.0.0.1/32  scram-sha-256\n"
        )
        hba.chmod(0o644)
        return hba

    def launch(self, state: State) -> subprocess.Popen[bytes]:
        state.password = state.password or services.new_password()
        if self.server_dir != self.home:
            self.say(f"data in {self.server_dir}: the postgres user cannot reach {self.state_dir}")
        self.account.owned_directory(self.server_dir)
        self.account.owned_directory(self.socket_dir)
        if not (self.data / "PG_VERSION").exists():
            self.initdb()
        for lock in (
            self.data / "postmaster.pid",
            self.socket_dir / f".s.PGSQL.{state.ports['postgres']}.lock",
        ):
            remove_stale_lock(lock)
        tls = self.tls_files()
        settings = {
            **SETTINGS,
            "port": str(state.ports["postgres"]),
            "unix_socket_directories": str(self.socket_dir),
            "hba_file": str(self.write_hba()),
            "ssl": "on",
            "ssl_cert_file": str(tls.certificate),
            "ssl_key_file": str(tls.key),
        }
        command = [self.binary("postgres"), "-D", str(self.data)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with open(self.log, "ab") as output:
            return subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, stopped as a whole
                cwd=self.server_dir,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                **self.account.popen_options(),
            )

    def psql(self, state: State, sql: str) -> None:
        """Runs `sql` as the superuser, through the socket."""
        command = [self.binary("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"]
        command += [f"--host={self.socket_dir}", f"--port={state.ports['postgres']}"]
        command += ["--username=postgres", "--dbname=postgres"]
        result = subprocess.run(command, input=sql, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"[postgres] psql failed:\n{result.stderr}")

    def after_start(self, state: State) -> None:
        """The user (its password set again: state.json holds the one in the URI) and its
        database, made when missing."""
        self.psql(
            state,
            f"""
            SELECT format('CREATE ROLE %I LOGIN CREATEDB', '{USER}')
             WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{USER}') \\gexec
            ALTER ROLE {USER} PASSWORD '{state.password}';
            SELECT format('CREATE DATABASE %I OWNER %I', '{DATABASE}', '{USER}')
             WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}') \\gexec
            """,
        )


if __name__ == "__main__":
    sys.exit(services.main(Postgres, __doc__))
