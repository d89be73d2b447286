"""`switchboard run`: the operator process (kopf), its liveness endpoint and its metrics."""

from __future__ import annotations

import argparse
import logging

from lightkube import KubeConfig
from lightkube.core.exceptions import ConfigError

from switchboard.commandline import SubParsers, UsageError, port


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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        KubeConfig.from_env()
    except ConfigError as error:
        raise UsageError(f"no cluster to talk to ({error}); set KUBECONFIG") from None
    # Imported here: registering the handlers is a side effect of the import.
    import kopf
    from prometheus_client import start_http_server

    import switchboard.controllers.handlers  # noqa: F401

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # One line per API request or handled watch event drowns what matters.
        logging.getLogger("httpx2").setLevel(logging.WARNING)
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    start_http_server(args.metrics_port)
    kopf.run(
        standalone=True,  # no peering objects: one operator replica, no writes of its own
        clusterwide=args.all_namespaces,
        namespaces=args.namespaces or (),
        liveness_endpoint=f"http://0.0.0.0:{args.health_port}/healthz",
    )
    return 0
