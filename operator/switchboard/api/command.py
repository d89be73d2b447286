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
            "Markdown API reference (docs/reference.md), or with --json-schema the JSON Schema "
            "of a ContactCenter manifest for editors (schemas/)."
        ),
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--reference",
        action="store_true",
        help="print the Markdown API reference instead of the CRD",
    )
    output.add_argument(
        "--json-schema",
        action="store_true",
        help="print the JSON Schema of a ContactCenter manifest, for editors, instead of the CRD",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.reference:
        from switchboard.api.reference import reference_markdown

        sys.stdout.write(reference_markdown())
    elif args.json_schema:
        from switchboard.api.crd import editor_json_schema_text

        sys.stdout.write(editor_json_schema_text())
    else:
        from switchboard.api.crd import crd_yaml

        sys.stdout.write(crd_yaml())
    return 0
