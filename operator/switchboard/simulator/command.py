"""`switchboard simulate`: a simulated day in offline mode, or a live metrics exporter."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import random
import signal
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
from switchboard.simulator.contacts import ContactModel, Exponential, LogNormal
from switchboard.simulator.engine import ContactCenterQueue
from switchboard.simulator.exporter import ExportLabels, MetricsExporter
from switchboard.simulator.live import run_live
from switchboard.simulator.offline import DaySettings, simulate_day
from switchboard.simulator.policies import (
    POLICIES,
    CapacityPolicy,
    FixedPolicy,
    PolicySettings,
    ReplicaBounds,
    build_oracle,
    build_policy,
)
from switchboard.simulator.traffic import (
    ArrivalProfile,
    Trace,
    builtin_trace,
)
from switchboard.sizing.decision import ServiceTarget


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a contact center: a day under a scaling policy, or a live metrics exporter",
        description=(
            "Simulate a contact center (Poisson arrivals, log-normal handle times, exponential "
            "patience, bot containment). Offline (default): capacity follows --policy over one "
            "day and a report is printed. Live (--serve PORT): the metrics contract is served for "
            "Prometheus while capacity follows --servers or a ContactCenter's ready replicas."
        ),
    )
    add_traffic_arguments(parser)
    behaviour = add_contact_arguments(parser)
    behaviour.add_argument(
        "--bot-containment",
        type=fraction_or_zero,
        default=0.3,
        metavar="SHARE",
        help="share of contacts the bot finishes (default: 0.3)",
    )
    behaviour.add_argument(
        "--bot-aht",
        type=positive_number,
        default=90.0,
        metavar="SECONDS",
        help="mean handle time of contacts the bot finishes (default: 90)",
    )
    sla = service_target_arguments(parser)
    sla.add_argument(
        "--max-abandon",
        type=fraction,
        default=0.05,
        metavar="SHARE",
        help="abandonment cap for switchboard and oracle (default: 0.05)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--servers",
        type=non_negative_integer,
        metavar="N",
        help="fixed capacity in servers (offline: instead of --policy)",
    )

    offline = parser.add_argument_group("offline mode")
    offline.add_argument(
        "--policy", choices=POLICIES, help="capacity policy (default: switchboard)"
    )
    offline.add_argument(
        "--interval",
        type=positive_number,
        default=30.0,
        metavar="SECONDS",
        help="control interval of switchboard and oracle (default: 30; hpa "
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
    offline.add_argument("--servers-per-replica", type=positive_integer, default=1)
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
        "--hpa-utilisation",
        type=fraction,
        default=0.75,
        help="hpa target utilisation of seats (default: 0.75)",
    )
    offline.add_argument(
        "--keda-messages-per-replica",
        type=positive_number,
        metavar="N",
        help="keda target of contacts (waiting + in service) per replica "
        "(default: 0.75 x servers per replica)",
    )
    offline.add_argument("--output", choices=("table", "json"), default="table")
    offline.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="write arrivals, capacity and service level over the day",
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
        agent_handle_time=LogNormal(args.aht, args.aht_cv),
        patience=None if math.isinf(args.patience) else Exponential(args.patience),
        bot_containment=args.bot_containment,
        bot_handle_time=LogNormal(args.bot_aht, args.aht_cv),
    )


def _service_target(args: argparse.Namespace) -> ServiceTarget:
    return ServiceTarget(args.target, args.within, max_abandon=args.max_abandon)


# --- offline ----------------------------------------------------------------------------------


def _run_offline(
    args: argparse.Namespace, trace: Trace, contacts: ContactModel, target: ServiceTarget
) -> int:
    if args.servers is not None and args.policy is not None:
        raise UsageError("give either --servers or --policy, not both")
    if args.min_replicas > args.max_replicas:
        raise UsageError(
            f"--min-replicas ({args.min_replicas}) must not exceed "
            f"--max-replicas ({args.max_replicas})"
        )
    bounds = ReplicaBounds(args.min_replicas, args.max_replicas, args.servers_per_replica)
    policy = _policy(args, trace, contacts, target, bounds)
    oracle = build_oracle(trace.day, contacts, target, bounds, _policy_settings(args))
    settings = DaySettings(
        bounds=bounds,
        initial_replicas=oracle.replicas_at(trace.day.start),
        readiness_delay=args.readiness_delay,
        target_service_level=target.target,
        within_seconds=target.within_seconds,
    )
    report = simulate_day(trace.day, contacts, policy, settings, seed=args.seed)
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


def _policy(
    args: argparse.Namespace,
    trace: Trace,
    contacts: ContactModel,
    target: ServiceTarget,
    bounds: ReplicaBounds,
) -> CapacityPolicy:
    if args.servers is not None:
        return FixedPolicy(bounds.replicas_for(args.servers), period_seconds=args.interval)
    return build_policy(
        args.policy or "switchboard", trace, contacts, target, bounds, _policy_settings(args)
    )


def _policy_settings(args: argparse.Namespace) -> PolicySettings:
    return PolicySettings(
        readiness_delay=args.readiness_delay,
        interval_seconds=args.interval,
        forecast_quantile=args.forecast_quantile,
        hpa_utilisation=args.hpa_utilisation,
        keda_messages_per_replica=args.keda_messages_per_replica,
    )


# --- live -------------------------------------------------------------------------------------


def _run_live(args: argparse.Namespace, profile: ArrivalProfile, contacts: ContactModel) -> int:
    capacity = _capacity_source(args)
    exporter = MetricsExporter(
        ExportLabels(args.contact_center or "simulated", args.channel, args.model_version),
        time_scale=args.speed,
    )
    queue = ContactCenterQueue(
        profile,
        contacts,
        seed=args.seed,
        initial_servers=0,
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
    if args.servers is not None:
        if args.namespace is not None:
            raise UsageError("give either --servers or --namespace with --contact-center")
        return FixedCapacity(args.servers)
    if args.contact_center is None or args.namespace is None:
        raise UsageError("live mode needs --servers N, or --contact-center NAME --namespace NS")
    from switchboard.simulator.cluster import (
        ClusterCapacity,  # the Kubernetes client: imported on use
    )

    try:
        return ClusterCapacity.from_environment(args.contact_center, args.namespace)
    except CapacityUnavailable as error:
        raise UsageError(str(error)) from None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
