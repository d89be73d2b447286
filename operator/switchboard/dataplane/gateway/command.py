"""`switchboard gateway`: one channel's gateway, configured by the operator's wiring."""

from __future__ import annotations

import argparse
import os

from switchboard.commandline import SubParsers, UsageError


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "gateway",
        help="run a channel gateway (webchat, api, sms, whatsapp, social, email) of the data plane",
        description=(
            "Serve one channel's customers: webchat (WebSocket, the customer page and an "
            "embeddable script), api (REST, long-poll reads, webhooks), sms, whatsapp or social "
            "(a provider's signed webhooks) or email (SMTP in, a relay out). Configured by the "
            "environment the operator renders: SWITCHBOARD_CHANNEL_NAME, "
            "SWITCHBOARD_CHANNEL_TYPE, SWITCHBOARD_ROUTING_FILE, the connection URIs and the "
            "wiring (docs/dataplane.md)."
        ),
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug messages")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the data plane's dependencies are an extra the operator alone lacks.
    from switchboard.dataplane.gateway.role import Gateway
    from switchboard.dataplane.service import configure_logging, process_environment, serve
    from switchboard.dataplane.wiring import WiringError, read_gateway_wiring, read_wiring

    try:
        wiring = read_wiring(process_environment(os.environ))
        channel = read_gateway_wiring(os.environ)
    except WiringError as error:
        raise UsageError(str(error)) from None
    if wiring.routing_file is None:
        raise UsageError(
            "SWITCHBOARD_ROUTING_FILE is not set: the gateway reads the bot tracks from it"
        )
    configure_logging(wiring, verbose=args.verbose)
    serve(wiring, Gateway(channel, wiring.routing_file))
    return 0
