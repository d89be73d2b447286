"""`switchboard simulate`: a simulated day in offline mode, or a live metrics exporter."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import random
import signal
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from switchboard.commandline import (
    SubParsers,
    UsageError,
    fraction,
    fraction_or_zero,
    non_negative_integer,
    non_negative_number,
    port_or_any,
    positive_integer,
    positive_number,
    quantile,
    service_target_arguments,
)
from switchboard.simulator.arguments import (
    add_contact_arguments,
    add_traffic_arguments,
    read_trace,
)
from switchboard.simulator.capacity import CapacitySource, CapacityUnavailable, FixedCapacity
from switchboard.simulator.contacts import ContactModel, ContactStream, Exponential, LogNormal
from switchboard.simulator.engine import ContactCenterQueue
from switchboard.simulator.exporter import ExportLabels, MetricsExporter
from switchboard.simulator.live import run_live
from switchboard.simulator.offline import day_contacts
from switchboard.simulator.policies import (
    POLICIES,
    DayPolicy,
    FixedPolicy,
    PolicySettings,
    ReplicaBounds,
    tier_traffic,
)
from switchboard.simulator.runs import HINDSIGHT, simulate
from switchboard.simulator.traffic import (
    ArrivalProfile,
    Trace,
    builtin_trace,
)
from switchboard.sizing.decision import ServiceTarget
from switchboard.sizing.workloads import WORKLOADS, Workload


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a contact center: a day under a scaling policy, or a live metrics exporter",
        description=(
            "Simulate a contact center: every contact meets the bot's queue first, and those the "
            "bot hands over then meet the agents' queue (Poisson arrivals, log-normal handle "
            "times, exponential patience). Offline (default): the capacity of each tier follows "
            "--policy over one day and a report is printed. Live (--serve PORT): the metrics "
            "contract is served for Prometheus while capacity follows --bot-servers and "
            "--agent-servers or a ContactCenter's ready replicas."
        ),
    )
    add_traffic_arguments(parser)
    behaviour = add_contact_arguments(parser)
    behaviour.add_argument(
        "--bot-containment",
        type=fraction_or_zero,
        default=0.3,
        metavar="SHARE",
        help="share of contacts the bot finishes; it hands the rest to the agents (default: 0.3)",
    )
    behaviour.add_argument(
        "--bot-aht",
        type=positive_number,
        default=90.0,
        metavar="SECONDS",
        help="mean time a contact spends with the bot, finished there or handed over (default: 90)",
    )
    sla = service_target_arguments(parser)
    sla.add_argument(
        "--max-abandon",
        type=fraction,
        default=0.05,
        metavar="SHARE",
        help="abandonment cap of each tier for switchboard, erlang-at-mean and hindsight "
        "(default: 0.05)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    fixed = parser.add_argument_group("fixed capacity (offline: instead of --policy)")
    fixed.add_argument(
        "--bot-servers", type=non_negative_integer, metavar="N", help="bot conversation slots"
    )
    fixed.add_argument(
        "--agent-servers", type=non_negative_integer, metavar="N", help="agent seats"
    )

    offline = parser.add_argument_group("offline mode")
    offline.add_argument(
        "--policy",
        choices=(*POLICIES, HINDSIGHT),
        help="capacity policy of both tiers (default: switchboard)",
    )
    offline.add_argument(
        "--interval",
        type=positive_number,
        default=30.0,
        metavar="SECONDS",
        help="control interval of switchboard and erlang-at-mean (default: 30; hpa "
        "and keda sync every 15 s like the HPA)",
    )
    offline.add_argument(
        "--readiness-delay",
        type=non_negative_number,
        default=60.0,
        metavar="SECONDS",
        help="time a new replica takes to become ready (default: 60)",
    )
    offline.add_argument("--min-replicas", type=non_negative_integer, default=1)
    offline.add_argument("--max-replicas", type=non_negative_integer, default=1000)
    offline.add_argument(
        "--bot-concurrency",
        type=positive_integer,
        default=10,
        help="conversations one bot replica serves at once (default: 10)",
    )
    offline.add_argument(
        "--seats-per-replica",
        type=positive_integer,
        default=1,
        help="agent seats one agents replica serves (default: 1)",
    )
    offline.add_argument(
        "--history-days",
        type=non_negative_integer,
        default=20,
        help="past days drawn from a profile for the forecast (default: 20)",
    )
    offline.add_argument(
        "--forecast-quantile",
        type=quantile,
        default=PolicySettings.forecast_quantile,
        help="quantile of the forecast switchboard sizes for (default: %(default)s)",
    )
    offline.add_argument(
        "--scale-down-window",
        type=non_negative_number,
        default=PolicySettings.scale_down_window_seconds,
        metavar="SECONDS",
        help="switchboard's scale-down stabilization window (default: %(default)g)",
    )
    offline.add_argument(
        "--hpa-utilisation",
        type=fraction,
        default=0.75,
        help="hpa target utilisation of the servers (default: 0.75)",
    )
    offline.add_argument(
        "--keda-messages-per-server",
        type=positive_number,
        default=0.75,
        metavar="F",
        help="keda target of contacts (waiting + in service) per replica, as a multiple of "
        "the servers per replica (default: 0.75)",
    )
    offline.add_argument("--output", choices=("table", "json"), default="table")
    offline.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="write arrivals, capacity and service level of each tier over the day",
    )

    live = parser.add_argument_group("live mode")
    live.add_argument(
        "--serve",
        type=port_or_any,
        metavar="PORT",
        help="serve the metrics contract on this port and run in real time",
    )
    live.add_argument("--address", default="0.0.0.0", help="address to serve on (default: all)")
    live.add_argument(
        "--speed",
        type=positive_number,
        default=1.0,
        help="simulated seconds per wall-clock second (default: 1)",
    )
    live.add_argument(
        "--contact-center",
        metavar="NAME",
        help="ContactCenter to follow, and the contact_center label (default label: simulated)",
    )
    live.add_argument("--namespace", metavar="NS", help="namespace of --contact-center")
    live.add_argument("--channel", default="webchat", help="channel label (default: webchat)")
    live.add_argument("--model-version", default="1.0.0", help="bot model_version label")
    live.add_argument(
        "--duration",
        type=positive_number,
        metavar="SECONDS",
        help="stop after this much simulated time (default: run until stopped)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    trace = _traffic(args)
    contacts = _contacts(args)
    target = _service_target(args)
    if (args.bot_servers is None) != (args.agent_servers is None):
        raise UsageError("give both --bot-servers and --agent-servers, or neither")
    if args.serve is not None:
        return _run_live(args, trace.day, contacts)
    return _run_offline(args, trace, contacts, target)


# --- inputs -----------------------------------------------------------------------------------


def _traffic(args: argparse.Namespace) -> Trace:
    if args.trace is None:
        return builtin_trace(
            args.profile,
            args.peak_rate * args.scale,
            args.history_days,
            random.Random(f"{args.seed}/history"),
        )
    return read_trace(args.trace, args.scale)


def _contacts(args: argparse.Namespace) -> ContactModel:
    return ContactModel(
        bot_handle_time=LogNormal(args.bot_aht, args.aht_cv),
        agent_handle_time=LogNormal(args.aht, args.aht_cv),
        bot_containment=args.bot_containment,
        patience=None if math.isinf(args.patience) else Exponential(args.patience),
    )


def _service_target(args: argparse.Namespace) -> ServiceTarget:
    return ServiceTarget(args.target, args.within, max_abandon=args.max_abandon)


# --- offline ----------------------------------------------------------------------------------


def _run_offline(
    args: argparse.Namespace, trace: Trace, contacts: ContactModel, target: ServiceTarget
) -> int:
    if args.bot_servers is not None and args.policy is not None:
        raise UsageError("give either fixed servers or --policy, not both")
    if args.min_replicas > args.max_replicas:
        raise UsageError(
            f"--min-replicas ({args.min_replicas}) must not exceed "
            f"--max-replicas ({args.max_replicas})"
        )
    bounds: dict[Workload, ReplicaBounds] = {
        "bot": ReplicaBounds(args.min_replicas, args.max_replicas, args.bot_concurrency),
        "agents": ReplicaBounds(args.min_replicas, args.max_replicas, args.seats_per_replica),
    }
    report = simulate(
        _fixed(args, bounds) or args.policy or "switchboard",
        trace.day,
        day_contacts(trace.day, contacts, args.seed),
        tier_traffic(trace, contacts, args.seed),
        contacts,
        target,
        bounds,
        _policy_settings(args),
    )
    if args.output == "json":
        print(json.dumps(report.to_json()))
    else:
        print(report.to_table())
    if args.plot is not None:
        from switchboard.simulator.plot import write_plot  # needs matplotlib: imported on use

        try:
            write_plot(report, args.plot, f"Simulated day, policy {report.policy}")
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install matplotlib") from None
        except OSError as error:
            raise UsageError(f"cannot write {args.plot}: {error.strerror}") from None
    return 0


def _fixed(args: argparse.Namespace, bounds: Mapping[Workload, ReplicaBounds]) -> DayPolicy | None:
    if args.bot_servers is None:
        return None
    servers = {"bot": args.bot_servers, "agents": args.agent_servers}
    return DayPolicy(
        "fixed",
        {
            w: FixedPolicy(bounds[w].replicas_for(servers[w]), period_seconds=args.interval)
            for w in WORKLOADS
        },
    )


def _policy_settings(args: argparse.Namespace) -> PolicySettings:
    return PolicySettings(
        readiness_delay=args.readiness_delay,
        interval_seconds=args.interval,
        forecast_quantile=args.forecast_quantile,
        scale_down_window_seconds=args.scale_down_window,
        hpa_utilisation=args.hpa_utilisation,
        keda_messages_per_server=args.keda_messages_per_server,
    )


# --- live -------------------------------------------------------------------------------------


def _run_live(args: argparse.Namespace, profile: ArrivalProfile, contacts: ContactModel) -> int:
    capacity = _capacity_source(args)
    exporter = MetricsExporter(
        ExportLabels(args.contact_center or "simulated", args.channel, args.model_version),
        within_seconds=args.within,
        time_scale=args.speed,
    )
    queue = ContactCenterQueue(
        ContactStream(profile, contacts, args.seed),
        initial_servers={},
        within_seconds=args.within,
        observers=[exporter],
    )
    try:
        server = exporter.serve(args.serve, args.address)
    except OSError as error:
        raise UsageError(f"cannot serve on {args.address}:{args.serve}: {error.strerror}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.info(
        "serving metrics on %s:%d at %g x real time", args.address, server.port, args.speed
    )
    signal.signal(signal.SIGTERM, _interrupt)
    until = None if args.duration is None else profile.start + args.duration
    try:
        asyncio.run(run_live(queue, exporter, capacity, speed=args.speed, until=until))
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _capacity_source(args: argparse.Namespace) -> CapacitySource:
    if args.bot_servers is not None:
        if args.namespace is not None:
            raise UsageError("give either fixed servers or --namespace with --contact-center")
        return FixedCapacity(args.bot_servers, args.agent_servers)
    if args.contact_center is None or args.namespace is None:
        raise UsageError(
            "live mode needs --bot-servers N --agent-servers N, or --contact-center NAME "
            "--namespace NS"
        )
    from switchboard.simulator.cluster import (
        ClusterCapacity,  # the Kubernetes client: imported on use
    )

    try:
        return ClusterCapacity.from_environment(args.contact_center, args.namespace)
    except CapacityUnavailable as error:
        raise UsageError(str(error)) from None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
