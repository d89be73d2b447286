"""The import rules of docs/architecture.md, read from the source with `ast` (nothing is imported):
the pure side of the package does no I/O, so its imports reach nothing that does."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "switchboard"

# The pure side: these packages but their `command` modules (the command line's edge: files,
# stdout), and the simulator's modules that need no clock, network or screen.
PURE_PACKAGES = ("api", "resources", "sizing", "rollout")
PURE_SIMULATOR = ("capacity", "contacts", "engine", "offline", "policies", "report", "traffic")
# The data plane's cores: a conversation's rules, what travels on the bus and under which names,
# the wiring a role reads, routing and handoff decisions, model scoring, protocol checks.
PURE_DATAPLANE = (
    "conversation",
    "envelope",
    "quality",
    "schema",
    "topology",
    "wiring",
    "agents.protocol",
    "agents.routing",
    "agents.rules",
    "bot.classifier",
    "bot.confirmation",
    "bot.corpus",
    "bot.decision",
    "bot.evaluation",
    "bot.model",
    "bot.sentiment",
    "gateway.cursor",
    "gateway.protocol",
    "gateway.ratelimit",
    "gateway.routing",
)
# Top-level pure modules: the metrics contract's declaration.
PURE_MODULES = ("contract",)
# What both sides may use: the root's constants, and the command line's leaf.
SHARED = frozenset({"switchboard", "switchboard.commandline"})
# Clients of the cluster, of Prometheus and of the data plane's services; processes and sockets.
IO_LIBRARIES = (
    "aio_pika",
    "aiohttp",
    "aiormq",
    "asyncio",
    "asyncpg",
    "http.client",
    "http.server",
    "httpx",
    "httpx2",
    "kopf",
    "lightkube",
    "socket",
    "subprocess",
    "urllib.request",
)


@dataclass(frozen=True)
class Module:
    name: str  # switchboard.api.crd
    path: Path

    @property
    def package(self) -> str:
        """The package relative imports in it start from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def all_modules() -> dict[str, Module]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = Module(name, path)
    return modules


def is_pure(name: str) -> bool:
    package, _, rest = name.removeprefix("switchboard.").partition(".")
    if package in PURE_PACKAGES:
        return rest.rpartition(".")[2] != "command"
    if package == "dataplane":
        return rest in PURE_DATAPLANE
    return (package == "simulator" and rest in PURE_SIMULATOR) or (
        not rest and package in PURE_MODULES
    )


MODULES = all_modules()
PURE = {name: module for name, module in MODULES.items() if is_pure(name)}


def imports(module: Module) -> Iterator[tuple[int, str]]:
    """(line, what it imports) for every import in `module`, at any depth (a function's, one
    under TYPE_CHECKING). Of this package, what is imported is a module: `from package import
    name` imports `package.name` if that is a module, else `package`. Of others, it is the
    dotted name (`urllib.request` of `from urllib import request`)."""
    for node in ast.walk(ast.parse(module.path.read_text(), str(module.path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.package.rsplit(".", node.level - 1)[0]
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                dotted = f"{base}.{alias.name}"
                ours = is_within(base, ("switchboard",))
                yield node.lineno, base if ours and dotted not in MODULES else dotted


def is_within(name: str, modules: frozenset[str] | tuple[str, ...]) -> bool:
    return any(name == other or name.startswith(f"{other}.") for other in modules)


def io_imports(module: Module) -> list[tuple[int, str]]:
    """Its imports of the I/O side: modules of the package that are not pure, I/O libraries."""
    found = []
    for line, imported in imports(module):
        if is_within(imported, ("switchboard",)):
            allowed = imported in PURE or imported in SHARED
        else:
            allowed = not is_within(imported, IO_LIBRARIES)
        if not allowed:
            found.append((line, imported))
    return found


def where(module: Module, line: int) -> str:
    return f"{module.path.relative_to(PACKAGE.parent)}:{line}"


def test_the_pure_side_imports_nothing_that_does_io() -> None:
    found = [
        f"{where(module, line)} imports {imported}"
        for module in PURE.values()
        for line, imported in io_imports(module)
    ]
    assert not found, (
        "pure modules import the I/O side (move the pure part out of the edge module, or the "
        "I/O out of the pure one; a new pure module of the simulator or the data plane goes "
        "into this test's table):\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    ("edge", "imported"),
    [
        ("switchboard.controllers.kube", "lightkube"),
        ("switchboard.controllers.reconcile", "switchboard.metrics.operator"),
        ("switchboard.controllers.reconcile", "switchboard.controllers.recorder"),
        ("switchboard.metrics.prometheus", "httpx"),
        ("switchboard.simulator.cluster", "httpx2"),
        ("switchboard.simulator.command", "switchboard.simulator.cluster"),
        ("switchboard.simulator.live", "asyncio"),
        ("switchboard.dataplane.store", "asyncpg"),
        ("switchboard.dataplane.bot.turn", "switchboard.dataplane.store"),
        ("switchboard.dataplane.gateway.accounting", "switchboard.dataplane.store"),
    ],
)
def test_the_rule_would_catch_what_the_io_side_imports(edge: str, imported: str) -> None:
    """Walked as a pure module is, an edge module is caught: the rule is not vacuous."""
    assert edge not in PURE
    caught = [name for _, name in io_imports(MODULES[edge])]
    assert any(is_within(name, (imported,)) for name in caught), caught


def test_every_module_the_table_names_exists() -> None:
    named = [f"switchboard.{package}" for package in PURE_PACKAGES]
    named += [f"switchboard.simulator.{module}" for module in PURE_SIMULATOR]
    named += [f"switchboard.dataplane.{module}" for module in PURE_DATAPLANE]
    named += [f"switchboard.{module}" for module in PURE_MODULES]
    assert [name for name in named if name not in MODULES] == []


def test_sizing_needs_nothing_but_the_standard_library() -> None:
    """The queueing engine runs anywhere Python does; what reads the ContactCenter's models
    for it lives beside its callers (controllers/sla.py)."""
    found = []
    for name, module in MODULES.items():
        if not is_within(name, ("switchboard.sizing",)):
            continue
        for line, imported in imports(module):
            top = imported.partition(".")[0]
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            if is_within(imported, ("switchboard.sizing", "switchboard.commandline")):
                continue
            found.append(f"{where(module, line)} imports {imported}")
    assert not found, "\n".join(found)


def test_the_command_line_leaf_imports_nothing_of_switchboard() -> None:
    """Every `command.py` imports it, and cli.py imports them: it must not import back."""
    leaf = MODULES["switchboard.commandline"]
    assert [name for _, name in imports(leaf) if name.startswith("switchboard")] == []
