"""`switchboard bot`: the bot runtime of one track, configured by the operator's wiring."""

from __future__ import annotations

import argparse
import os

from switchboard.commandline import SubParsers, UsageError


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "bot",
        help="run the bot of the data plane: a dialogue model answering customers",
        description=(
            "Serve one track's dialogue model: load it from SWITCHBOARD_MODEL_URI (file://, "
            "https://, http:// or configmap://NAME/KEY under SWITCHBOARD_MODEL_DIR), refuse it "
            "unless it is SWITCHBOARD_MODEL_NAME at SWITCHBOARD_MODEL_VERSION, answer up to "
            "SWITCHBOARD_BOT_CONCURRENCY conversations at once and hand off as the "
            "SWITCHBOARD_HANDOFF_* variables say. Configured only by the environment the "
            "operator renders (docs/dataplane.md, docs/models.md)."
        ),
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug messages")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the data plane's dependencies are an extra the operator alone lacks.
    from switchboard.dataplane.bot.role import BotRole
    from switchboard.dataplane.service import configure_logging, process_environment, serve
    from switchboard.dataplane.wiring import (
        WiringError,
        read_bot_wiring,
        read_handoff_wiring,
        read_wiring,
    )

    try:
        wiring = read_wiring(process_environment(os.environ))
        bot, handoff = read_bot_wiring(os.environ), read_handoff_wiring(os.environ)
    except WiringError as error:
        raise UsageError(str(error)) from None
    configure_logging(wiring, verbose=args.verbose)
    serve(wiring, BotRole(bot, handoff))
    return 0
