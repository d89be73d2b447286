"""`switchboard crd`: print the ContactCenter CRD or its API reference, both generated."""

from __future__ import annotations

import argparse
import sys

from switchboard.commandline import SubParsers


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "crd",
        help="print the ContactCenter CustomResourceDefinition",
        description=(
            "Print the ContactCenter CustomResourceDefinition generated from the API models "
            "(what crds/switchboard.io_contactcenters.yaml holds), or with --reference the "
            "Markdown API reference (docs/reference.md)."
        ),
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="print the Markdown API reference instead of the CRD",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.reference:
        from switchboard.api.reference import reference_markdown

        sys.stdout.write(reference_markdown())
    else:
        from switchboard.api.crd import crd_yaml

        sys.stdout.write(crd_yaml())
    return 0
