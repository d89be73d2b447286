"""`switchboard render -f FILE`: print the objects the operator would create for a ContactCenter."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from switchboard.commandline import SubParsers, UsageError

if TYPE_CHECKING:
    from switchboard.api.contactcenter import ContactCenter

SECRETS_NOTE = (
    "Generated Secrets are not printed: the operator creates them once, with random passwords, "
    "and never shows their values."
)


class KubernetesDumper(yaml.SafeDumper):
    """Quotes the strings kubectl's YAML reader takes for something else, which PyYAML would
    leave bare: booleans of YAML 1.1 (`y`, `n`: a channel named `n` must stay a string) and
    numbers without a dot (`1e5`: a hash such as `868521108186e264` must too)."""


KubernetesDumper.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN")
)
KubernetesDumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "render",
        help="print the objects the operator would create for a ContactCenter manifest",
        description=(
            "Print, as multi-document YAML, the objects the operator would create for each "
            "ContactCenter in FILE (other kinds in it are skipped), for review or `kubectl "
            "apply`. "
            + SECRETS_NOTE
            + " Owner references are included only when the manifest carries metadata.uid "
            "(for example `kubectl get contactcenter NAME -o yaml | switchboard render -f -`)."
        ),
    )
    parser.add_argument(
        "-f",
        "--filename",
        required=True,
        metavar="FILE",
        help="ContactCenter manifest (YAML or JSON; `-` reads standard input)",
    )
    parser.add_argument(
        "-n",
        "--namespace",
        default="default",
        help="namespace of a ContactCenter whose manifest names none (default: %(default)s)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from switchboard.resources import build_all, generated_secret_names

    documents = []
    for cc in _read(args.filename, args.namespace):
        hidden = ", ".join(generated_secret_names(cc).values()) or "none"
        notes = [
            f"Objects the operator creates for ContactCenter {cc.namespace}/{cc.name}.",
            SECRETS_NOTE,
            f"Not printed here: {hidden}.",
        ]
        if not cc.metadata.uid:
            notes.append("No ownerReferences: the manifest has no metadata.uid yet.")
        header = "".join(f"# {note}\n" for note in notes)
        body = yaml.dump_all(
            build_all(cc), Dumper=KubernetesDumper, sort_keys=False, explicit_start=True
        )
        documents.append(header + body)
    sys.stdout.write("".join(documents))
    return 0


def _read(filename: str, namespace: str) -> Iterator[ContactCenter]:
    from switchboard.api.contactcenter import ContactCenter

    try:
        if filename == "-":
            text = sys.stdin.read()
        else:
            with open(filename, encoding="utf-8") as stream:
                text = stream.read()
    except OSError as error:
        raise UsageError(f"cannot read {filename}: {error.strerror}") from None
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise UsageError(f"{filename}: not valid YAML{where}: {problem}") from None
    found = [
        (index, document)
        for index, document in enumerate(documents, start=1)
        if isinstance(document, dict) and document.get("kind") == "ContactCenter"
    ]
    if not found:
        raise UsageError(f"{filename}: no ContactCenter in it")
    for index, document in found:
        where = filename if len(documents) == 1 else f"{filename} (document {index})"
        metadata = document.get("metadata")
        if isinstance(metadata, dict) and not metadata.get("namespace"):
            document = {**document, "metadata": {**metadata, "namespace": namespace}}
        try:
            yield ContactCenter.model_validate(document)
        except ValidationError as error:
            raise UsageError(f"{where}: {_first_problem(error)}") from None


def _first_problem(error: ValidationError) -> str:
    problems: list[Any] = error.errors()
    first = problems[0]
    location = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{location}: {message}{more}" if location else f"{message}{more}"
