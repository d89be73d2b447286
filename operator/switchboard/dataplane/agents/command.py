"""`switchboard agents`: the agents tier (routing and the agent workspace), configured by the
wiring the operator renders."""

from __future__ import annotations

import argparse
import os

from switchboard.commandline import SubParsers, UsageError


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "agents",
        help="run the agents tier: routing of handed-off contacts and the agent workspace",
        description=(
            "Run one replica of the agents tier: it offers handed-off conversations to the "
            "longest-idle agent with room, serves the agent workspace (web UI at /, WebSocket "
            "at /ws, REST API at /api/v1) and exports the metrics contract. Configured only by "
            "the environment the operator renders (SWITCHBOARD_* variables)."
        ),
    )
    parser.set_defaults(handler=run)


def run(_: argparse.Namespace) -> int:
    # Imported here so `switchboard --help` does not pay for the data plane's imports.
    from switchboard.dataplane.agents.role import AgentsRole
    from switchboard.dataplane.service import configure_logging, process_environment, serve
    from switchboard.dataplane.wiring import WiringError, read_agents_wiring, read_wiring

    try:
        wiring, agents = (
            read_wiring(process_environment(os.environ)),
            read_agents_wiring(os.environ),
        )
    except WiringError as error:
        raise UsageError(str(error)) from None
    configure_logging(wiring)
    serve(wiring, AgentsRole(agents))
    return 0
