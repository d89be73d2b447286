"""`switchboard run`: the operator process (kopf), its liveness endpoint and its metrics, and
its leader election when several replicas run."""

from __future__ import annotations

import argparse
import asyncio.sslproto
import logging
import socket
import uuid

from lightkube import KubeConfig
from lightkube.core.exceptions import ConfigError

from switchboard.api.types import duration_seconds
from switchboard.commandline import Bounded, SubParsers, UsageError, port
from switchboard.controllers.leadership import LeaderElection, Timings

DEFAULT_LEASE_NAME = "switchboard"

# kopf watches each kind in each watched namespace over a TLS connection of its own (21 a
# namespace), and asyncio gives every TLS connection a zero-filled, so resident, read buffer of
# 256 KiB: 40 MiB of an operator watching sixteen namespaces (tracemalloc), the most it held of
# anything. A TLS record is at most 16 KiB.
TLS_READ_BUFFER_BYTES = 32 * 1024


def _seconds(text: str) -> float:
    try:
        return duration_seconds(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a duration such as 15s, got {text!r}") from None


positive_duration = Bounded(_seconds, lambda seconds: seconds > 0, "longer than 0")


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the operator",
        description=(
            "Run the operator against the cluster of KUBECONFIG (or the in-cluster config). "
            "Watch the given namespaces, or all of them."
        ),
    )
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument(
        "--namespace",
        "-n",
        action="append",
        dest="namespaces",
        metavar="NS",
        help="a namespace to watch (repeatable; globs allowed)",
    )
    scope.add_argument("--all-namespaces", "-A", action="store_true", help="watch every namespace")
    parser.add_argument(
        "--metrics-port", type=port, default=8080, help="Prometheus metrics port (default 8080)"
    )
    parser.add_argument(
        "--health-port", type=port, default=8081, help="liveness endpoint port (default 8081)"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug messages")
    election = parser.add_argument_group(
        "leader election",
        "With several replicas: only the holder of a coordination.k8s.io Lease reconciles, "
        "scales and rolls out; the others keep their caches warm and take over when it stops "
        "renewing the Lease.",
    )
    election.add_argument(
        "--leader-election", action="store_true", help="elect a leader among the replicas"
    )
    election.add_argument(
        "--leader-election-namespace",
        metavar="NS",
        help="namespace of the Lease (default: the service account's, or the kubeconfig's)",
    )
    election.add_argument(
        "--leader-election-id",
        metavar="NAME",
        help=f"name of the Lease (default: {DEFAULT_LEASE_NAME})",
    )
    defaults = Timings()
    for flag, default, meaning in (
        (
            "--lease-duration",
            defaults.lease_duration,
            "how long candidates wait for a silent leader",
        ),
        (
            "--renew-deadline",
            defaults.renew_deadline,
            "how long the leader tries to renew before it stops acting",
        ),
        ("--retry-period", defaults.retry_period, "how often the leader renews and candidates try"),
    ):
        election.add_argument(
            flag,
            type=positive_duration,
            metavar="DURATION",
            help=f"{meaning} (default: {default:g}s)",
        )
    parser.set_defaults(handler=run)


def election_timings(args: argparse.Namespace) -> Timings | None:
    """The timings of the leader election the flags ask for; None without one."""
    given = [
        flag
        for flag, value in (
            ("--leader-election-namespace", args.leader_election_namespace),
            ("--leader-election-id", args.leader_election_id),
            ("--lease-duration", args.lease_duration),
            ("--renew-deadline", args.renew_deadline),
            ("--retry-period", args.retry_period),
        )
        if value is not None
    ]
    if not args.leader_election:
        if given:
            raise UsageError(f"{given[0]} needs --leader-election")
        return None
    defaults = Timings()
    timings = Timings(
        lease_duration=args.lease_duration or defaults.lease_duration,
        renew_deadline=args.renew_deadline or defaults.renew_deadline,
        retry_period=args.retry_period or defaults.retry_period,
    )
    problem = timings.problem()
    if problem:
        raise UsageError(problem)
    return timings


def identity() -> str:
    """This replica's name in the Lease: its host name (the pod's name) and a random part, as
    client-go's users make it."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def run(args: argparse.Namespace) -> int:
    timings = election_timings(args)  # usage errors first, before looking for a cluster
    try:
        config = KubeConfig.from_env().get()
    except ConfigError as error:
        raise UsageError(f"no cluster to talk to ({error}); set KUBECONFIG") from None
    election = None
    if timings is not None:
        election = LeaderElection(
            namespace=args.leader_election_namespace or (config.namespace if config else "default"),
            name=args.leader_election_id or DEFAULT_LEASE_NAME,
            identity=identity(),
            timings=timings,
        )
    # Imported here: registering the handlers is a side effect of the import.
    import kopf
    from prometheus_client import start_http_server

    from switchboard.controllers.handlers import EventsOnlyMemories
    from switchboard.controllers.namespace_discovery import serve_listed_namespaces

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # One line per API request or handled watch event drowns what matters.
        logging.getLogger("httpx2").setLevel(logging.WARNING)
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    start_http_server(args.metrics_port)
    serve_listed_namespaces()
    asyncio.sslproto.SSLProtocol.max_size = TLS_READ_BUFFER_BYTES
    kopf.run(
        # No kopf peering (it would pause the watches too): the Lease decides who acts.
        standalone=True,
        clusterwide=args.all_namespaces,
        namespaces=args.namespaces or (),
        liveness_endpoint=f"http://0.0.0.0:{args.health_port}/healthz",
        memories=EventsOnlyMemories(),
        memo=kopf.Memo(election=election, identity=election.identity if election else identity()),
    )
    return 0
