"""`switchboard retention`: one retention run against the contact center's store, as the
CronJob the operator renders for `spec.dataProtection.retention` runs it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from switchboard.commandline import SubParsers, UsageError, positive_integer
from switchboard.dataplane.wiring import WiringError, read_database_ca, read_database_uri

logger = logging.getLogger(__name__)


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "retention",
        help="delete conversations that ended more than --days ago",
        description=(
            "Delete the conversations that ended (resolved or abandoned) more than --days days "
            "ago, with their messages and events, from the store at $SWITCHBOARD_DATABASE_URI "
            "(over TLS, its certificate verified against $SWITCHBOARD_DATABASE_CA, when that "
            "is set); open conversations stay. The first run of a store only reports what it would "
            "delete; later runs delete. Every run is recorded in the store's retention_runs."
        ),
    )
    parser.add_argument(
        "--days", type=positive_integer, required=True, help="keep what ended this recently"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=None,
        help="only report what would be deleted (the first run of a store always does)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the data plane's dependencies are an extra the operator alone lacks.
    from switchboard.dataplane.retention.purge import run_retention
    from switchboard.dataplane.store import Store

    try:
        uri = read_database_uri(os.environ)
        ca = read_database_ca(os.environ, uri)
    except WiringError as error:
        raise UsageError(str(error)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def once() -> str:
        store = await Store.connect(uri, ca=ca, min_size=1, max_size=1)
        try:
            await store.migrate()
            return (await run_retention(store, args.days, dry_run=args.dry_run)).report()
        finally:
            await store.close()

    logger.info("%s", asyncio.run(once()))
    return 0
